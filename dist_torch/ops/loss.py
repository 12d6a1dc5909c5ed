"""Loss primitives: fused cross-entropy and NLL over class indices, and the pointwise losses
(MSE, smooth L1, Huber, binary cross-entropy with and without logits).

Each primitive applies its reduction (``'none'``, ``'mean'``, ``'sum'``) inside forward and
backward, so a loss is one graph node. Class weights are constants (torch refuses weights
that require grad). float16/bfloat16 inputs are computed in float32 and rounded once.
The ``nn.functional`` wrappers in ``dist_torch/nn/functional/loss.py`` validate arguments.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch import backend as _backend
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import LOW_FLOATS
from dist_torch.ops.activation import log1p

__all__ = []

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.loss")

_F32 = np.dtype(np.float32)


def _widen(a):
    return a.astype(_F32) if a.dtype in LOW_FLOATS else a


def _finish(out, like_dtype):
    out = array_module(out).asarray(out)
    return out if out.dtype == like_dtype else out.astype(like_dtype)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    total = loss.sum()
    return total if reduction == "sum" else _mean(total, loss.size)


def _mean(total, denom):
    """``total / denom``; NaN (without NumPy's warning) when nothing was counted, as torch."""
    return total / denom if denom else total * np.nan


def _upstream(grad, reduction, size):
    """The gradient reaching each element of the unreduced loss."""
    if reduction == "mean":
        return grad / size if size else grad
    return grad


# --------------------------------------------------------------------------- class-index losses

def _flat_index(xp, x, t):
    """Positions of ``x[i, t[i, s], s]`` in the flattened ``(N, C, *S)`` array, shaped like
    ``t``: one gather/scatter for any number of spatial dims, on NumPy and CuPy alike."""
    n, c = x.shape[:2]
    if x.ndim == 2:
        return xp.arange(0, n * c, c) + t
    spatial = math.prod(x.shape[2:])
    base = (xp.arange(n) * (c * spatial)).reshape((n,) + (1,) * (t.ndim - 1))
    return base + t * spatial + xp.arange(spatial).reshape(t.shape[1:])


def _gather(a, flat):
    """``a[i, t[i], ...]`` for every sample (and spatial position)."""
    return a.reshape(-1)[flat]


def _xent_on_gpu(x):
    """Whether cross-entropy of ``x`` runs on the fused CUDA kernel: 2-D ``(N, C)`` logits."""
    return x.ndim == 2 and x.size > 0 and _backend.use_kernels(x, "softmax")


def _xent_kernel_forward(ctx, x, target, weight, reduction, smoothing, mask):
    xp = array_module(x)
    t = target if mask is None else xp.where(mask, target.astype(np.int64), -1)  # -1: ignored
    loss, lse, row_weight = _backend.kernels().cross_entropy_forward(
        x, t, weight, ignore_index=-1, label_smoothing=smoothing, reduction=reduction)
    if ctx.needs_input_grad[0]:
        ctx._kernel = True
        ctx.params = (t, weight, reduction, smoothing, lse, row_weight)
        ctx.save_for_backward(x)
    return loss


def _xent_kernel_backward(ctx, grad):
    (x,) = ctx.saved_tensors
    t, weight, reduction, smoothing, lse, row_weight = ctx.params
    if reduction == "mean" and not _backend.capturing() and not bool(row_weight.sum()):
        return array_module(x).zeros(x.shape, dtype=x.dtype)  # nothing counted, as torch
    return _backend.kernels().cross_entropy_backward(
        grad, x, t, lse, row_weight, weight, ignore_index=-1, label_smoothing=smoothing,
        reduction=reduction)


class CrossEntropy(Primitive):
    """``nll_loss(log_softmax(x, 1), target)`` with label smoothing, as one node.

    Per sample ``i`` (and spatial position), with ``p = softmax(x[i])`` and target ``t``:
    ``loss = (1 - eps) * w[t] * -log p[t] + eps / C * sum_c w[c] * -log p[c]``; ignored
    targets contribute nothing, and ``'mean'`` divides by the summed weights ``w[t]`` of the
    targets that are not ignored. The gradient is ``A * p - a`` where ``a`` holds the
    coefficients of the log-probabilities and ``A`` their sum.
    """

    _name = "NllLossBackward0"
    _kernel = False  # forward ran the fused CUDA kernel

    def forward(ctx, x, target, weight=None, reduction="mean", smoothing=0.0, mask=None):
        if _xent_on_gpu(x):
            return _xent_kernel_forward(ctx, x, target, weight, reduction, smoothing, mask)
        xp = array_module(x)
        ctx.x_shape = x.shape
        if x.ndim == 1:
            x, target = x[None], target.reshape(1)
            mask = None if mask is None else mask.reshape(1)
        work = _widen(x)
        n_classes = x.shape[1]
        t = target if mask is None else xp.where(mask, target, 0)
        if t.dtype != np.intp:
            t = t.astype(np.intp)
        flat = _flat_index(xp, x, t)
        shifted = work - work.max(axis=1, keepdims=True)
        picked = _gather(shifted, flat)
        if smoothing > 0:  # sum_c w[c] * shifted[c], before shifted becomes exp(shifted)
            if weight is None:
                shifted_sum = shifted.sum(axis=1)
            else:
                wb = weight.reshape((1, n_classes) + (1,) * (x.ndim - 2))
                shifted_sum = (shifted * wb).sum(axis=1)
        e = xp.exp(shifted, out=shifted)
        s = e.sum(axis=1, keepdims=True)
        lse = xp.log(s[:, 0])
        loss = lse - picked
        wt = None
        if weight is not None:
            wt = weight[t]
            if mask is not None:
                wt *= mask
        elif mask is not None:
            wt = mask.astype(work.dtype)
        if wt is not None:
            loss *= wt
        if smoothing > 0:
            total_w = n_classes if weight is None else weight.sum()
            smooth = total_w * lse - shifted_sum
            if mask is not None:
                smooth *= mask
            loss = (1 - smoothing) * loss + (smoothing / n_classes) * smooth
        denom = None
        if reduction == "none":
            out = loss.reshape(()) if len(ctx.x_shape) == 1 else loss
        elif reduction == "sum":
            out = loss.sum()
        else:
            denom = wt.sum() if wt is not None else loss.size
            out = _mean(loss.sum(), denom)
        if ctx.needs_input_grad[0]:
            # the targets, weights and mask are per-sample metadata; e and s are the big arrays
            ctx.params = (reduction, smoothing, denom, flat, wt, mask, weight)
            ctx.save_for_backward(e, s)
        return _finish(out, x.dtype)

    def backward(ctx, grad):
        if ctx._kernel:
            return _xent_kernel_backward(ctx, grad)
        e, s = ctx.saved_tensors
        reduction, eps, denom, flat, wt, mask, weight = ctx.params
        xp = array_module(e)
        if reduction == "mean":
            if not denom:
                return xp.zeros(ctx.x_shape, dtype=e.dtype)
            g = grad / denom
        elif reduction == "none" and len(ctx.x_shape) == 1:
            g = grad.reshape(1)
        else:
            g = grad
        if wt is None and eps == 0 and g.ndim == 0:
            gx = e * (g / s)  # the common case: softmax - onehot, scaled
            gx.reshape(-1)[flat] -= g
            return gx if len(ctx.x_shape) == 2 else gx.reshape(ctx.x_shape)
        c = g * wt if wt is not None else g  # coefficient of -log p[target]
        if eps > 0:
            n_classes = e.shape[1]
            total_w = n_classes if weight is None else weight.sum()
            spread = g * (eps / n_classes)
            if mask is not None:
                spread = spread * mask
            c = c * (1 - eps)
            row_sum = xp.asarray(c + spread * total_w)
        else:
            row_sum = xp.asarray(c)
        gx = e * ((row_sum[:, None] if row_sum.ndim else row_sum) / s)
        gx.reshape(-1)[flat] -= c  # gx is fresh and contiguous: the reshape is a view
        if eps > 0:
            spread = xp.asarray(spread)
            spread = spread[:, None] if spread.ndim else spread
            if weight is not None:
                spread = spread * weight.reshape((1, -1) + (1,) * (e.ndim - 2))
            gx -= spread
        return gx.reshape(ctx.x_shape)


class CrossEntropy2d(CrossEntropy):
    _name = "NllLoss2DBackward0"


class NllLoss(Primitive):
    """``-w[t] * input[t]`` per sample (input holds log-probabilities), reduced."""

    def forward(ctx, x, target, weight=None, reduction="mean", mask=None):
        xp = array_module(x)
        ctx.x_shape = x.shape
        if x.ndim == 1:
            x, target = x[None], target.reshape(1)
            mask = None if mask is None else mask.reshape(1)
        t = target if mask is None else xp.where(mask, target, 0)
        if t.dtype != np.intp:
            t = t.astype(np.intp)
        flat = _flat_index(xp, x, t)
        work = _widen(x)
        loss = -_gather(work, flat)
        wt = None
        if weight is not None:
            wt = weight[t]
            if mask is not None:
                wt *= mask
        elif mask is not None:
            wt = mask.astype(work.dtype)
        if wt is not None:
            loss *= wt
        if reduction == "none":
            out = loss.reshape(()) if len(ctx.x_shape) == 1 else loss
            denom = None
        elif reduction == "sum":
            out = loss.sum()
            denom = None
        else:
            denom = wt.sum() if wt is not None else loss.size
            out = _mean(loss.sum(), denom)
        # backward needs only the per-sample targets and weights (no input values)
        ctx.params = (reduction, denom, flat, x.shape, work.dtype, wt)
        return _finish(out, x.dtype)

    def backward(ctx, grad):
        reduction, denom, flat, shape, dtype, wt = ctx.params
        xp = array_module(flat)
        gx = xp.zeros(shape, dtype=dtype)
        if reduction == "mean":
            if not denom:
                return gx.reshape(ctx.x_shape)
            g = grad / denom
        elif reduction == "none" and len(ctx.x_shape) == 1:
            g = grad.reshape(1)
        else:
            g = grad
        c = g * wt if wt is not None else g
        gx.reshape(-1)[flat] = -c  # gx is zero and each position is hit once
        return gx.reshape(ctx.x_shape)


class NllLoss2d(NllLoss):
    _name = "NllLoss2DBackward0"


# --------------------------------------------------------------------------- pointwise losses

class MseLoss(Primitive):
    def forward(ctx, a, b, reduction="mean"):
        d = _widen(a) - _widen(b)
        ctx.reduction = reduction
        ctx.save_for_backward(d)
        return _finish(_reduce(d * d, reduction), a.dtype)

    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        g = _upstream(grad, ctx.reduction, d.size)
        ga = d * (2 * g)
        needs = ctx.needs_input_grad
        return (ga if needs[0] else None), (-ga if needs[1] else None)


class SmoothL1Loss(Primitive):
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``."""

    def forward(ctx, a, b, reduction="mean", beta=1.0):
        xp = array_module(a)
        d = _widen(a) - _widen(b)
        ad = xp.abs(d)
        ctx.params = (reduction, beta)
        ctx.save_for_backward(d)
        if beta == 0:
            loss = ad
        else:
            loss = xp.where(ad < beta, (0.5 / beta) * d * d, ad - 0.5 * beta)
        return _finish(_reduce(loss, reduction), a.dtype)

    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        reduction, beta = ctx.params
        xp = array_module(d)
        g = _upstream(grad, reduction, d.size)
        sign = xp.sign(d)
        slope = sign if beta == 0 else xp.where(xp.abs(d) < beta, d / beta, sign)
        ga = slope * g
        needs = ctx.needs_input_grad
        return (ga if needs[0] else None), (-ga if needs[1] else None)


class HuberLoss(Primitive):
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``."""

    def forward(ctx, a, b, reduction="mean", delta=1.0):
        xp = array_module(a)
        d = _widen(a) - _widen(b)
        ad = xp.abs(d)
        ctx.params = (reduction, delta)
        ctx.save_for_backward(d)
        loss = xp.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
        return _finish(_reduce(loss, reduction), a.dtype)

    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        reduction, delta = ctx.params
        g = _upstream(grad, reduction, d.size)
        ga = array_module(d).clip(d, -delta, delta) * g
        needs = ctx.needs_input_grad
        return (ga if needs[0] else None), (-ga if needs[1] else None)


class BinaryCrossEntropy(Primitive):
    """``-w * (t * log(x) + (1 - t) * log(1 - x))`` with the logs clamped to >= -100."""

    def forward(ctx, x, t, weight=None, reduction="mean"):
        xp = array_module(x)
        xw, tw = _widen(x), _widen(t)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
            raw_log_x, raw_log_1mx = xp.log(xw), xp.log(1 - xw)
        log_x = xp.maximum(raw_log_x, -100)
        log_1mx = xp.maximum(raw_log_1mx, -100)
        loss = -(tw * (log_x - log_1mx) + log_1mx)
        if weight is not None:
            loss = loss * weight
        ctx.reduction = reduction
        ctx.size = loss.size
        needs = ctx.needs_input_grad
        # torch's target gradient uses the unclamped logs
        ctx.save_for_backward(xw if needs[0] else None, tw if needs[0] else None, weight,
                              (raw_log_x - raw_log_1mx) if needs[1] else None)
        return _finish(_reduce(loss, ctx.reduction), x.dtype)

    def backward(ctx, grad):
        xw, tw, weight, log_ratio = ctx.saved_tensors
        xp = array_module(grad)
        g = _upstream(grad, ctx.reduction, ctx.size)
        if weight is not None:
            g = g * weight
        gx = gt = None
        if xw is not None:
            gx = g * (xw - tw) / xp.maximum(xw * (1 - xw), 1e-12)
        if log_ratio is not None:
            gt = -g * log_ratio
        return gx, gt


class BinaryCrossEntropyWithLogits(Primitive):
    """``w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus(-x))``, computed stably."""

    def forward(ctx, x, t, weight=None, pos_weight=None, reduction="mean"):
        xp = array_module(x)
        xw, tw = _widen(x), _widen(t)
        sp = xp.maximum(-xw, 0) + log1p(xp, xp.exp(-xp.abs(xw)))  # softplus(-x)
        if pos_weight is None:
            loss = (1 - tw) * xw + sp
        else:
            loss = (1 - tw) * xw + (1 + (pos_weight - 1) * tw) * sp
        if weight is not None:
            loss = loss * weight
        ctx.reduction = reduction
        ctx.size = loss.size
        ctx.save_for_backward(xw, tw, weight, pos_weight,
                              sp if ctx.needs_input_grad[1] and pos_weight is not None else None)
        return _finish(_reduce(loss, reduction), x.dtype)

    def backward(ctx, grad):
        xw, tw, weight, pos_weight, sp = ctx.saved_tensors
        xp = array_module(grad)
        g = _upstream(grad, ctx.reduction, ctx.size)
        if weight is not None:
            g = g * weight
        needs = ctx.needs_input_grad
        gx = gt = None
        if needs[0]:
            with np.errstate(over="ignore"):
                s = 1 / (1 + xp.exp(-xw))
            if pos_weight is None:
                gx = (s - tw) * g
            else:
                gx = ((1 + (pos_weight - 1) * tw) * s - pos_weight * tw) * g
        if needs[1]:
            gt = -xw * g if pos_weight is None else ((pos_weight - 1) * sp - xw) * g
        return gx, gt


class KlDiv(Primitive):
    """Pointwise ``target * (log(target) - input)`` (``xlogy`` at 0), or with ``log_target``
    ``exp(target) * (target - input)``; ``'batchmean'`` divides the sum by the batch size."""

    _name = "SubBackward0"

    def forward(ctx, x, t, reduction="mean", log_target=False):
        xp = array_module(x)
        xw, tw = _widen(x), _widen(t)
        if log_target:
            et = xp.exp(tw)
            loss = et * (tw - xw)
        else:
            et = None
            with np.errstate(divide="ignore", invalid="ignore"):
                loss = xp.where(tw == 0, 0, tw * xp.log(tw)) - tw * xw
            loss = xp.where(xp.isnan(tw), tw, loss)
        ctx.params = (reduction, log_target, loss.size, x.shape[0] if x.ndim else 1)
        ctx.save_for_backward(xw, tw, et)
        if reduction == "batchmean":
            out = loss.sum() / ctx.params[3]
        else:
            out = _reduce(loss, reduction)
        return _finish(out, x.dtype)

    def backward(ctx, grad):
        xw, tw, et = ctx.saved_tensors
        reduction, log_target, size, batch = ctx.params
        xp = array_module(grad)
        g = grad / batch if reduction == "batchmean" else _upstream(grad, reduction, size)
        needs = ctx.needs_input_grad
        gx = gt = None
        if needs[0]:
            gx = -(et if log_target else tw) * g
        if needs[1]:
            if log_target:
                gt = et * (tw - xw + 1) * g
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    gt = (xp.where(tw != 0, xp.log(tw), 0) + tw / tw - xw) * g
        return gx, gt
