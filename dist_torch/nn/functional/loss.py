"""Loss functions of ``torch.nn.functional``: classification (cross_entropy, nll_loss, binary
cross-entropy), regression (mse, l1, smooth L1, Huber) and kl_div, with torch's signatures,
reductions, legacy ``size_average``/``reduce`` arguments, warnings and errors.

``cross_entropy`` with class-index targets and ``nll_loss`` are fused primitives from
:mod:`dist_torch.ops.loss`. Margin, embedding and likelihood losses are in
:mod:`dist_torch.nn.functional.loss_extra` (re-exported here).
"""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch import backend as _backend
from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd import grad_mode
from dist_torch.ops import loss as _loss
from dist_torch.ops import softmax as _softmax
from dist_torch.ops._pointwise import apply_broadcasting, type_name
from dist_torch.ops._util import cast, check_same_device, promote

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

_state = grad_mode.state
_INT64 = np.dtype(np.int64)
_UINT8 = np.dtype(np.uint8)


# --------------------------------------------------------------------------- shared checks

def legacy_reduction(size_average, reduce, emit_warning: bool = True) -> str:
    """The ``reduction`` string equivalent to the deprecated ``size_average``/``reduce``."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      f"reduction='{result}' instead.", stacklevel=3)
    return result


def check_reduction(reduction, size_average=None, reduce=None, extra=()) -> str:
    """Validate ``reduction`` (or derive it from the legacy arguments)."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction not in ("mean", "sum", "none") and reduction not in extra:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def check_constant_weight(fname: str, argname: str, weight) -> None:
    """torch refuses class weights that require grad (they are not differentiable)."""
    if weight is not None and weight._requires_grad and _state.grad_enabled:
        raise RuntimeError(f"The function '{fname}' is not differentiable with respect to "
                           f"argument '{argname}'. This input cannot have requires_grad True.")


def warn_target_size(input: Tensor, target: Tensor) -> None:
    if input._data.shape != target._data.shape:
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input "
                      f"size ({input.size()}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _floating_input(input: Tensor, kernel: str) -> None:
    a = input._data
    if a.dtype.kind in "biu":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(a.dtype)}\'')


# --------------------------------------------------------------------------- class-index targets

def _class_targets(input: Tensor, target: Tensor, weight, ignore_index: int):
    """Check class-index targets against ``input`` (torch's errors and their order); return the
    weight array (or None) and the mask of targets that are not ignored (None if all count)."""
    check_same_device(input, target)
    if weight is not None:
        check_same_device(input, weight)
    x, t = input._data, target._data
    ndim = x.ndim
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    if ndim != 1 and x.shape[0] != (t.shape[0] if t.ndim else 0):
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                         f"batch_size ({t.shape[0] if t.ndim else 0}).")
    if ndim <= 2:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if ndim == 1 and t.ndim == 1 and t.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{t.shape[0]}")
    elif ndim == 4:
        if t.ndim != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {t.ndim}")
        if t.shape != (x.shape[0],) + x.shape[2:]:
            raise RuntimeError(f"size mismatch (got input: {list(x.shape)} , target: "
                               f"{list(t.shape)}")
    elif t.shape != (x.shape[0],) + x.shape[2:]:
        raise RuntimeError(f"Expected target size {[x.shape[0], *x.shape[2:]]}, got "
                           f"{list(t.shape)}")
    if t.dtype != _INT64 and t.dtype != _UINT8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{type_name(t.dtype)}")
    n_classes = x.shape[0] if ndim == 1 else x.shape[1]
    w = None
    if weight is not None:
        w = weight._data
        if w.size != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(w.shape)}")
        if w.dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {type_name(x.dtype)} but found "
                               f"{type_name(w.dtype)}")
        if w.ndim != 1:
            w = w.reshape(-1)
    mask = None
    if t.size and _backend.capturing():  # no host check inside a CUDA graph, as torch
        mask = t != ignore_index
    elif t.size:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or hi >= n_classes:
            mask = t != ignore_index
            bad = mask & ((t < 0) | (t >= n_classes))
            if bad.any():
                raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
        elif lo <= ignore_index <= hi:
            mask = t != ignore_index
        if mask is not None and mask.all():
            mask = None
    return w, mask


@autocast_op("cross_entropy_loss")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between ``input`` logits and class-index or class-probability targets.

    Args:
        input: unnormalized logits ``(N, C)``, ``(C,)`` or ``(N, C, d1, ..., dk)``.
        target: class indices (int64 or uint8) of shape ``(N,)``, ``()`` or
            ``(N, d1, ..., dk)``, or class probabilities of ``input``'s shape.
        weight: a rescaling weight per class, shape ``(C,)``.
        ignore_index: class index that contributes neither loss nor gradient (index targets).
        reduction: ``'none'``, ``'mean'`` (by the summed weights of the counted targets) or
            ``'sum'``.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Example::

        >>> loss = F.cross_entropy(torch.randn(3, 5, requires_grad=True),
        ...                        torch.tensor([1, 0, 4]))
        >>> loss.backward()
    """
    reduction = check_reduction(reduction, size_average, reduce)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{float(label_smoothing)}")
    x = input._data
    if x.ndim == 0 and target._data.ndim:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if x.dtype.kind in "biu":
        kernel = "log_softmax_lastdim_kernel_impl" if x.ndim <= 2 else \
            "log_softmax_kernel_impl"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(x.dtype)}\'')
    if x.shape == target._data.shape:
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    check_constant_weight("nll_loss_forward", "weight", weight)
    w, mask = _class_targets(input, target, weight, ignore_index)
    op = _loss.CrossEntropy2d if x.ndim > 2 else _loss.CrossEntropy
    return op.apply(input, target._data, w, reduction,
                    label_smoothing if label_smoothing > 0 else 0.0, mask)


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    t = target._data
    if not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {type_name(t.dtype)}")
    x = input._data
    class_dim = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_dim]
    logp = _softmax.log_softmax(input, class_dim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        w = weight._data
        if w.size != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(w.shape)}")
        prod = prod * weight.reshape((n_classes,) + (1,) * (x.ndim - class_dim - 1))
    loss = -prod.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / (x.size // n_classes if n_classes else 0)
    return loss.sum() if reduction == "sum" else loss


@autocast_op("nll_loss")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets given log-probabilities ``input``.

    Shapes and options as :func:`cross_entropy` with index targets; ``input`` is expected to
    hold log-probabilities (e.g. the output of ``log_softmax``).
    """
    reduction = check_reduction(reduction, size_average, reduce)
    check_constant_weight("nll_loss_forward", "weight", weight)
    w, mask = _class_targets(input, target, weight, ignore_index)
    x = input._data
    if x.dtype.kind in "biu":
        kernel = "nll_loss2d_forward_out_frame" if x.ndim > 2 else "nll_loss_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_name(x.dtype)}\'')
    op = _loss.NllLoss2d if x.ndim > 2 else _loss.NllLoss
    return op.apply(input, target._data, w, reduction, mask)


# --------------------------------------------------------------------------- regression losses

def _regression(op, kernel, input, target, reduction, *params):
    a, b = promote(input, target)
    _floating_input(a, kernel)
    return apply_broadcasting(op, a, b, reduction, *params)


def _weighted(loss, weight, reduction, mean_by_weight):
    """Apply per-element ``weight`` (input's shape) to an unreduced ``loss``, then reduce."""
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum() if mean_by_weight else loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _check_weight_shape(input: Tensor, weight) -> None:
    if weight is not None and weight._data.shape != input._data.shape:
        raise ValueError("Weights and input must have the same size.")


@autocast_op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced.

    ``weight`` (``input``'s shape) weights each element; the mean is then the weighted mean.
    """
    reduction = check_reduction(reduction, size_average, reduce)
    warn_target_size(input, target)
    _check_weight_shape(input, weight)
    if weight is not None:
        loss = _regression(_loss.MseLoss, "mse_cpu", input, target, "none")
        return _weighted(loss, weight, reduction, True)
    return _regression(_loss.MseLoss, "mse_cpu", input, target, reduction)


@autocast_op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced (optionally weighted)."""
    reduction = check_reduction(reduction, size_average, reduce)
    warn_target_size(input, target)
    _check_weight_shape(input, weight)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, reduction, True)
    return apply_reduction(loss, reduction)


@autocast_op("smooth_l1_loss")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (``d`` the error);
    ``beta=0`` is the L1 loss."""
    reduction = check_reduction(reduction, size_average, reduce)
    warn_target_size(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _regression(_loss.SmoothL1Loss, "smooth_l1_cpu", input, target, reduction, beta)


@autocast_op("huber_loss")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``."""
    reduction = check_reduction(reduction)
    warn_target_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_weight_shape(input, weight)
    x, t = input._data, target._data
    if x.dtype != t.dtype and x.dtype.kind == "f" and t.dtype.kind == "f":
        target = cast(target, x.dtype)  # torch's huber_loss keeps the input's dtype
    if weight is not None:
        loss = _regression(_loss.HuberLoss, "huber_cpu", input, target, "none", delta)
        return _weighted(loss, weight, reduction, False)
    return _regression(_loss.HuberLoss, "huber_cpu", input, target, reduction, delta)


# --------------------------------------------------------------------------- binary targets

def _broadcast_weight(weight: Tensor, shape: tuple, index: int = 1):
    """``weight``'s array, checked to broadcast to ``shape`` (torch's expand error if not)."""
    w = weight._data
    ws = w.shape
    if len(ws) <= len(shape):
        for k in range(1, len(ws) + 1):
            if ws[-k] != 1 and ws[-k] != shape[-k]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {ws[-k]} at {-k}! "
                    f"Mismatching argument at index {index} had {weight.size()}; but expected "
                    f"shape should be broadcastable to {list(shape)}")
        return w
    raise RuntimeError(f"The expanded size of the tensor ({shape[-1] if shape else 1}) must "
                       f"match the existing size ({ws[-1]}) at non-singleton dimension "
                       f"{len(ws) - 1}.  Target sizes: {list(shape)}.  Tensor sizes: "
                       f"{list(ws)}")


@autocast_op("binary_cross_entropy")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``-w * (t * log(x) + (1 - t) * log(1 - x))`` for probabilities ``x`` in [0, 1]; the
    logs are clamped to >= -100 so that 0 and 1 give finite losses, as in torch."""
    reduction = check_reduction(reduction, size_average, reduce)
    x, t = input._data, target._data
    if t.shape != x.shape:
        raise ValueError(f"Using a target size ({target.size()}) that is different to the "
                         f"input size ({input.size()}) is deprecated. Please ensure they have "
                         "the same size.")
    w = None
    if weight is not None:
        w = _broadcast_weight(weight, x.shape)
    if t.dtype != x.dtype:
        raise RuntimeError(f"Found dtype {type_name(t.dtype)} but expected "
                           f"{type_name(x.dtype)}")
    _floating_input(input, "binary_cross_entropy")
    check_constant_weight("binary_cross_entropy", "weight", weight)
    if w is not None and w.dtype != x.dtype:
        w = w.astype(x.dtype)
    if not ((x >= 0) & (x <= 1)).all():
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not ((t >= 0) & (t <= 1)).all():
        raise RuntimeError("all elements of target should be between 0 and 1")
    return _loss.BinaryCrossEntropy.apply(input, target, w, reduction)


@autocast_op("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    Args:
        weight: rescales each element's loss (broadcast to ``input``).
        pos_weight: weight of the positive term per class (broadcast along the last dim).
    """
    reduction = check_reduction(reduction, size_average, reduce)
    x, t = input._data, target._data
    if t.shape != x.shape:
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    check_constant_weight("binary_cross_entropy_with_logits", "weight", weight)
    check_constant_weight("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    if t.dtype.kind in "biu" and x.dtype.kind == "f":
        raise RuntimeError(f"result type {type_name(x.dtype)} can't be cast to the desired "
                           f"output type {type_name(t.dtype)}")
    a, b = promote(input, target)
    _floating_input(a, "binary_cross_entropy_with_logits")
    dtype = a._data.dtype
    w = pw = None
    if weight is not None:
        w = weight._data
        _shape_check(w.shape, x.shape)
        w = w.astype(dtype, copy=False)
    if pos_weight is not None:
        pw = pos_weight._data
        _shape_check(pw.shape, x.shape)
        pw = pw.astype(dtype, copy=False)
    return _loss.BinaryCrossEntropyWithLogits.apply(a, b, w, pw, reduction)


def _shape_check(shape, target_shape):
    from dist_torch._broadcast import broadcast_shapes
    broadcast_shapes(shape, target_shape)


# --------------------------------------------------------------------------- distributions

@autocast_op("kl_div")
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log(target) - input)`` for log-probabilities
    ``input``; ``reduction='batchmean'`` gives the mathematical KL (sum over the batch size).
    ``log_target=True`` takes ``target`` as log-probabilities too."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
        check_reduction(reduction, extra=("batchmean",))
    if input._data.dtype.kind in "biu" or target._data.dtype.kind in "biu":
        raise RuntimeError("kl_div: Integral inputs not supported.")
    a, b = promote(input, target)
    return apply_broadcasting(_loss.KlDiv, a, b, reduction, log_target)


from dist_torch.nn.functional import loss_extra as _extra  # noqa: E402
from dist_torch.nn.functional.loss_extra import *  # noqa: E402, F403

__all__ += _extra.__all__
