"""Margin, embedding and likelihood losses of ``torch.nn.functional`` (composites of tensor
ops): cosine_embedding, margin_ranking, hinge_embedding, soft_margin, multilabel_soft_margin,
multi_margin, multilabel_margin, triplet_margin (+ with_distance), poisson_nll, gaussian_nll.
"""

from __future__ import annotations

import math

import numpy as np

from dist_torch._tensor import Tensor, _wrap
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd import grad_mode
from dist_torch.backend import array_module
from dist_torch.ops import activation as _act
from dist_torch.ops._pointwise import type_name

__all__ = [
    "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
    "triplet_margin_loss", "triplet_margin_with_distance_loss", "poisson_nll_loss",
    "gaussian_nll_loss",
]

_EPSILON = 1e-12


def _reduction(reduction, size_average=None, reduce=None):
    from dist_torch.nn.functional.loss import check_reduction
    return check_reduction(reduction, size_average, reduce)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``; ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1``. Inputs ``(N, D)`` or ``(D,)``, target ``(N,)`` or ``()``."""
    reduction = _reduction(reduction, size_average, reduce)
    d1, d2, dt = input1.dim(), input2.dim(), target.dim()
    sizes = f"sizes {list(input1.shape)} and {list(input2.shape)}."
    if dt > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if dt == 1 and (d1 != 2 or d2 != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"{sizes}")
    if dt == 0 and (d1 != 1 or d2 != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"{sizes}")
    dim = d1 - 1
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + _EPSILON
    mag2 = (input2 * input2).sum(dim) + _EPSILON
    cos = prod / (mag1 * mag2).sqrt()
    pos = (1 - cos).where(target == 1, 0.0)
    neg = (cos - margin).clamp_min(0).where(target == -1, 0.0)
    return _reduce(pos + neg, reduction)


@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _reduction(reduction, size_average, reduce)
    if not input1.dim() == input2.dim() == target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    reduction = _reduction(reduction, size_average, reduce)
    margin_part = (margin - input).clamp_min(0).where(target != 1, 0.0)
    self_part = input.where(target != -1, 0.0)
    return _reduce(margin_part + self_part, reduction)


@autocast_op("soft_margin_loss")
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))`` (two-class logistic loss for targets +-1)."""
    reduction = _reduction(reduction, size_average, reduce)
    from dist_torch.nn.functional.loss import check_constant_weight
    check_constant_weight("soft_margin_loss", "target", target)
    return _reduce(_act.Softplus.apply(-target * input, 1.0, math.inf), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """One-vs-all logistic loss averaged over the ``C`` classes of ``(N, C)`` inputs."""
    reduction = _reduction(reduction, size_average, reduce)
    loss = -(target * _act.LogSigmoid.apply(input) + (1 - target) *
             _act.LogSigmoid.apply(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.size(class_dim)
    return _reduce(loss, reduction)


def _check_multi_margin(input, target, weight):
    x, t = input._data, target._data
    if t.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found {type_name(t.dtype)}")
    batch = x.shape[0] if x.ndim == 2 else 1
    if t.size != batch or t.ndim > 1:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to "
                           f"the number of input samples (batch size). Expected target size "
                           f"[{batch}], but got {list(t.shape)}. Input has shape "
                           f"{list(x.shape)}.")
    if weight is not None and weight._data.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {type_name(x.dtype)} but found "
                           f"{type_name(weight._data.dtype)}")


@autocast_op("multi_margin_loss")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])**p / C``."""
    reduction = _reduction(reduction, size_average, reduce)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _check_multi_margin(input, target, weight)
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target.reshape(-1, 1)
    n_classes = x.shape[1]
    if t._data.size and (t._data.min() < 0 or t._data.max() >= n_classes):
        raise RuntimeError("target out of range")
    z = (margin - x.gather(1, t) + x).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, t.reshape(-1)).reshape(-1, 1)
    xp = array_module(x._data)
    not_target = xp.ones(x._data.shape, dtype=bool)
    not_target[xp.arange(x.shape[0]), t._data.reshape(-1)] = False
    z = z * _wrap(not_target.astype(x._data.dtype))
    loss = z.sum(1) / n_classes
    if input.dim() == 1 and reduction == "none":
        loss = loss.reshape(target.shape)
    return _reduce(loss, reduction)


@autocast_op("multilabel_margin_loss")
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss. ``target`` holds class indices padded with -1 after the last
    one; each (target j, non-target i) pair adds ``max(0, 1 - (x[j] - x[i])) / C``."""
    reduction = _reduction(reduction, size_average, reduce)
    if target._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{type_name(target._data.dtype)}")
    if input.shape != target.shape:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target._data.reshape(x.shape)
    n, c = x.shape
    xp = array_module(t)
    valid = xp.cumprod(t != -1, axis=1).astype(bool)  # the targets before the first -1
    if (((t < -1) | (t >= c)) & valid).any():
        raise RuntimeError("argument #2 'target' is out of range")
    safe = xp.where(valid, t, 0)
    is_target = xp.zeros((n, c), dtype=bool)
    rows = xp.repeat(xp.arange(n), c)
    is_target[rows[valid.ravel()], safe[valid]] = True
    xt = x.gather(1, _wrap(safe))
    pair = (1 - xt.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    keep = valid[:, :, None] & ~is_target[:, None, :]
    loss = (pair * _wrap(keep.astype(x._data.dtype))).sum((1, 2)) / c
    if input.dim() == 1 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the p-norm pairwise distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _reduction(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    from dist_torch.nn.functional.distance import pairwise_distance
    da, dp, dn = anchor.dim(), positive.dim(), negative.dim()
    if not da == dp == dn:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {da}D, positive {dp}D, "
                           f"and negative {dn}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """Triplet loss with a custom ``distance_function(x, y)`` (default pairwise_distance)."""
    reduction = _reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    from dist_torch.nn.functional.distance import pairwise_distance
    distance = distance_function if distance_function is not None else pairwise_distance
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


@autocast_op("poisson_nll_loss")
def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: ``exp(input) - target * input`` (``log_input``) or
    ``input - target * log(input + eps)``; ``full`` adds the Stirling term for targets > 1."""
    reduction = _reduction(reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) where target <= 1
            stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood ``0.5 * (log(var) + (input - target)**2 / var)`` (plus
    ``0.5 * log(2 * pi)`` when ``full``); ``var`` is clamped to ``eps`` without gradient."""
    if not isinstance(var, Tensor):
        from dist_torch._creation import full_like
        var_value = float(var)
        if var_value < 0:
            raise ValueError("var has negative entry/entries")
        var = full_like(input, var_value)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    clamped = var.clone()
    with grad_mode.no_grad():
        clamped.clamp_(min=eps)
    loss = 0.5 * (clamped.log() + (input - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
