"""NumPy twins of the CUDA kernel wrappers in :mod:`dist_torch.backend.cuda_kernels`.

Every public function here has the signature and outputs of the wrapper of the same name, on
NumPy arrays, and follows the kernel's arithmetic (compute dtype, formula, and where it is
cheap, the order of summation), so the GPU tests can compare the two closely and the CPU
tests can pin the twins to PyTorch. Dropout uses the same counter-based RNG (Philox-4x32-10,
vectorised with uint64 arithmetic), so twin and kernel masks are bit-identical.

This module holds the shared helpers and the row-wise families (softmax, cross-entropy, layer
norm, bias + activation, dropout); the pooling/im2col twins with their window geometry are in
:mod:`.kernel_twins_pool` and the optimizer twins in :mod:`.kernel_twins_optim`, re-exported
here.

All functions are vectorised: loops run over kernel offsets, row chunks or parameters, never
over elements or pixels. The geometry and table helpers are shared with the wrappers.
"""

from __future__ import annotations

import math

import numpy as np

# The twins of the pooling, im2col and optimizer wrappers and the helpers the wrappers share,
# re-exported (``as``) so that every twin is reachable as ``kernel_twins.<name>``.
from dist_torch.backend.kernel_twins_optim import adam_step as adam_step
from dist_torch.backend.kernel_twins_optim import multi_tensor_chunks as multi_tensor_chunks
from dist_torch.backend.kernel_twins_optim import sgd_step as sgd_step
from dist_torch.backend.kernel_twins_pool import LAYOUTS as LAYOUTS
from dist_torch.backend.kernel_twins_pool import Pool2d as Pool2d
from dist_torch.backend.kernel_twins_pool import avg_pool2d_backward as avg_pool2d_backward
from dist_torch.backend.kernel_twins_pool import avg_pool2d_forward as avg_pool2d_forward
from dist_torch.backend.kernel_twins_pool import avg_pool_divisor as avg_pool_divisor
from dist_torch.backend.kernel_twins_pool import col2im as col2im
from dist_torch.backend.kernel_twins_pool import conv2d_geometry as conv2d_geometry
from dist_torch.backend.kernel_twins_pool import im2col as im2col
from dist_torch.backend.kernel_twins_pool import layout_code as layout_code
from dist_torch.backend.kernel_twins_pool import max_pool2d_backward as max_pool2d_backward
from dist_torch.backend.kernel_twins_pool import max_pool2d_forward as max_pool2d_forward
from dist_torch.backend.kernel_twins_pool import pool2d_geometry as pool2d_geometry
from dist_torch.ops._erf import erf_array

__all__ = [
    "softmax_forward", "softmax_backward", "cross_entropy_forward", "cross_entropy_backward",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "im2col", "col2im", "layer_norm_forward", "layer_norm_backward", "bias_act_forward",
    "bias_act_backward", "philox4x32", "philox_words", "dropout_forward", "dropout_backward",
    "sgd_step", "adam_step",
]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

ACTIVATIONS = {"relu": 0, "gelu": 1, "gelu_tanh": 2, "silu": 3, "tanh": 4, "sigmoid": 5,
               "identity": 6}
REDUCTIONS = ("none", "mean", "sum")


# --------------------------------------------------------------------------- shared helpers

def acc_dtype(dtype) -> np.dtype:
    """The compute dtype of the kernels: float64 for float64, float32 for everything else."""
    return _F64 if np.dtype(dtype) == _F64 else _F32


def rows_cols(shape) -> tuple[int, int]:
    """``(rows, cols)`` of an array taken as a stack of rows along its last dim."""
    cols = shape[-1] if len(shape) else 1
    return (math.prod(shape) // cols if cols else math.prod(shape[:-1])), cols


def _widen(a):
    return a.astype(_F32) if a.dtype not in (_F32, _F64) else a


def activation_code(act: str) -> int:
    try:
        return ACTIVATIONS[act]
    except KeyError:
        raise ValueError(f"unknown activation {act!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}") from None


def check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def dropout_threshold(p: float) -> int:
    """A 32-bit Philox word keeps its element when it is ``>=`` this (``ceil(p * 2**32)``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return min(1 << 32, math.ceil(p * 4294967296.0))


def dropout_scale(p: float) -> float:
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)


def reduce_loss(loss, row_weight, reduction, dtype):
    """Cross-entropy's reduction of per-row losses (``'mean'`` divides by the row weights)."""
    xp = _xp(loss)
    if reduction == "none":
        return loss.astype(dtype)
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total).astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.asarray(total / row_weight.sum()).astype(dtype)


def upstream_rows(grad, row_weight, reduction, acc):
    """Cross-entropy backward's per-row upstream gradient and its stride (0: broadcast)."""
    xp = _xp(row_weight)
    g = xp.asarray(grad).astype(acc)
    if reduction == "none":
        return xp.ascontiguousarray(g.reshape(-1)), 1
    if reduction == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            g = g / row_weight.sum()
    return g.reshape(1), 0


def _xp(a):
    from dist_torch.backend import array_module
    return array_module(a)


# --------------------------------------------------------------------------- softmax, loss

def softmax_forward(x, log=False):
    """Softmax (or log-softmax) over the last dim, computed in float for half inputs."""
    if x.size == 0:
        return x.copy()
    work = _widen(x)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = work - work.max(axis=-1, keepdims=True)
        if log:
            y = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        else:
            e = np.exp(shifted)
            y = e / e.sum(axis=-1, keepdims=True)
    return y.astype(x.dtype)


def softmax_backward(grad, y, log=False):
    """Gradient of :func:`softmax_forward` given its output ``y``."""
    g, v = _widen(grad), _widen(y)
    with np.errstate(invalid="ignore", over="ignore"):
        if log:
            gx = g - np.exp(v) * g.sum(axis=-1, keepdims=True)
        else:
            gx = g * v - v * (g * v).sum(axis=-1, keepdims=True)
    return gx.astype(grad.dtype)


def _class_weights(weight, cols, acc):
    return np.ones(cols, dtype=acc) if weight is None else weight.astype(acc)


def cross_entropy_forward(x, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                          reduction="mean"):
    """Cross-entropy of ``(rows, C)`` logits with integer targets.

    Returns ``(loss, lse, row_weight)``: the reduced loss in ``x``'s dtype, and per row the
    log-sum-exp and the target's class weight (0 for ignored rows) in the compute dtype, which
    is what the backward needs. Targets outside ``[0, C)`` (other than ``ignore_index``) give
    NaN (the caller validates targets).
    """
    check_reduction(reduction)
    rows, cols = x.shape
    acc = acc_dtype(x.dtype)
    work = x.astype(acc)
    t = np.asarray(target).reshape(-1).astype(np.int64)
    ignored = t == ignore_index
    valid = ~ignored & (t >= 0) & (t < cols)
    tc = np.where(valid, t, 0)
    wc = _class_weights(weight, cols, acc)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if rows and cols:
            shifted = work - work.max(axis=1, keepdims=True)
        else:
            shifted = work.copy()
        ls = np.log(np.exp(shifted).sum(axis=1))
        lse = work.max(axis=1, initial=-np.inf) + ls
        wt = wc[tc] if cols else np.ones(rows, acc)
        picked = shifted[np.arange(rows), tc] if cols else np.zeros(rows, acc)
        loss = (ls - picked) * wt
        if label_smoothing > 0:
            eps = acc.type(label_smoothing)
            smooth = wc.sum() * ls - (shifted * wc).sum(axis=1)
            loss = (acc.type(1) - eps) * loss + (eps / acc.type(cols)) * smooth
    nan = acc.type(np.nan)
    loss = np.where(ignored, acc.type(0), np.where(valid, loss, nan)).astype(acc)
    row_weight = np.where(ignored, acc.type(0), np.where(valid, wt, nan)).astype(acc)
    return reduce_loss(loss, row_weight, reduction, x.dtype), lse.astype(acc), row_weight


def cross_entropy_backward(grad, x, target, lse, row_weight, weight=None, ignore_index=-100,
                           label_smoothing=0.0, reduction="mean"):
    """Gradient of :func:`cross_entropy_forward` w.r.t. the logits ``x``."""
    check_reduction(reduction)
    rows, cols = x.shape
    acc = acc_dtype(x.dtype)
    g, _ = upstream_rows(grad, row_weight, reduction, acc)
    g = np.broadcast_to(g, (rows,))
    t = np.asarray(target).reshape(-1).astype(np.int64)
    valid = (t != ignore_index) & (t >= 0) & (t < cols)
    tc = np.where(valid, t, 0)
    wc = _class_weights(weight, cols, acc)
    with np.errstate(invalid="ignore", over="ignore"):
        p = np.exp(x.astype(acc) - lse[:, None])
        coef = g * (wc[tc] if cols else acc.type(1))
        total = coef
        if label_smoothing > 0:
            eps = acc.type(label_smoothing)
            spread = g * (eps / acc.type(cols))
            coef = coef * (acc.type(1) - eps)
            total = coef + spread * wc.sum()
        gx = p * total[:, None]
        if cols:
            gx[np.arange(rows), tc] -= coef
        if label_smoothing > 0:
            gx -= spread[:, None] * wc[None, :]
    gx = np.where(valid[:, None], gx, acc.type(0))
    return gx.astype(x.dtype)


# --------------------------------------------------------------------------- layer norm

def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Layer norm over the last dim: ``(y, mean, rstd)``, statistics ``(rows,)`` in the
    compute dtype."""
    rows, cols = rows_cols(x.shape)
    acc = acc_dtype(x.dtype)
    x2 = x.astype(acc).reshape(rows, cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = x2.sum(axis=1) / acc.type(cols)
        d = x2 - mean[:, None]
        var = (d * d).sum(axis=1) / acc.type(cols)
        rstd = acc.type(1) / np.sqrt(var + acc.type(eps))
    y = d * rstd[:, None]
    if weight is not None:
        y = y * weight.astype(acc)
    if bias is not None:
        y = y + bias.astype(acc)
    return y.astype(x.dtype).reshape(x.shape), mean, rstd


def layer_norm_backward(grad, x, mean, rstd, weight=None, bias=None):
    """``(gx, gweight, gbias)`` in ``x``'s dtype; ``gweight`` (``gbias``) is None when
    ``weight`` (``bias``) is (only its presence matters for ``bias``)."""
    rows, cols = rows_cols(x.shape)
    acc = acc_dtype(x.dtype)
    g2 = grad.astype(acc).reshape(rows, cols)
    xhat = (x.astype(acc).reshape(rows, cols) - mean[:, None]) * rstd[:, None]
    gw = g2 if weight is None else g2 * weight.astype(acc)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_g = gw.sum(axis=1, keepdims=True) / acc.type(cols)
        mean_gx = (gw * xhat).sum(axis=1, keepdims=True) / acc.type(cols)
    gx = ((gw - xhat * mean_gx) - mean_g) * rstd[:, None]
    gweight = None if weight is None else (g2 * xhat).sum(axis=0).astype(x.dtype)
    gbias = None if bias is None else g2.sum(axis=0).astype(x.dtype)
    return gx.astype(x.dtype).reshape(x.shape), gweight, gbias


# --------------------------------------------------------------------------- bias + activation

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)
_TANH_C = 0.044715


def _sigmoid(v):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-v))


def _act_forward(v, code):
    one = v.dtype.type(1)
    if code == 0:
        return np.where(v > 0, v, np.where(np.isnan(v), v, v.dtype.type(0)))
    if code == 1:
        return v * (v.dtype.type(0.5) * (one + erf_array(v * v.dtype.type(_SQRT_HALF))))
    if code == 2:
        inner = v.dtype.type(_TANH_K) * (v + v.dtype.type(_TANH_C) * v * v * v)
        return v.dtype.type(0.5) * v * (one + np.tanh(inner))
    if code == 3:
        return v * _sigmoid(v)
    if code == 4:
        return np.tanh(v)
    if code == 5:
        return _sigmoid(v)
    return v


def _act_grad(v, code):
    t = v.dtype.type
    if code == 0:
        return np.where(v <= 0, t(0), t(1))
    if code == 1:
        cdf = t(0.5) * (t(1) + erf_array(v * t(_SQRT_HALF)))
        return cdf + v * (t(_INV_SQRT_2PI) * np.exp(t(-0.5) * v * v))
    if code == 2:
        th = np.tanh(t(_TANH_K) * (v + t(_TANH_C) * v * v * v))
        dinner = t(_TANH_K) * (t(1) + t(3) * t(_TANH_C) * v * v)
        return t(0.5) * (t(1) + th) + t(0.5) * v * (t(1) - th * th) * dinner
    if code == 3:
        s = _sigmoid(v)
        return s * (t(1) + v * (t(1) - s))
    if code == 4:
        th = np.tanh(v)
        return t(1) - th * th
    if code == 5:
        s = _sigmoid(v)
        return s * (t(1) - s)
    return np.ones_like(v)


def _biased(x, bias):
    v = x.astype(acc_dtype(x.dtype))
    return v if bias is None else v + bias.astype(v.dtype)


def bias_act_forward(x, bias=None, act="relu"):
    """``act(x + bias)`` with ``bias`` ``(cols,)`` broadcast over the rows of ``x``."""
    code = activation_code(act)
    return _act_forward(_biased(x, bias), code).astype(x.dtype)


def bias_act_backward(grad, x, bias=None, act="relu"):
    """``(gx, gbias)``: ``grad * act'(x + bias)`` and its column sum (None without bias)."""
    code = activation_code(act)
    v = _biased(x, bias)
    gx = (grad.astype(v.dtype) * _act_grad(v, code)).astype(x.dtype)
    if bias is None:
        return gx, None
    rows, cols = rows_cols(x.shape)
    gb = gx.reshape(rows, cols).sum(axis=0, dtype=v.dtype).astype(bias.dtype)
    return gx, gb


# --------------------------------------------------------------------------- Philox, dropout

_MASK32 = np.uint64(0xFFFFFFFF)
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85


def philox4x32(counter, key):
    """Philox-4x32-10 of ``counter`` ``(..., 4)`` (32-bit words) under ``key`` ``(k0, k1)``:
    the four output words ``(..., 4)`` as uint32 (Salmon et al., SC'11; Random123)."""
    c = np.asarray(counter, dtype=np.uint64) & _MASK32
    c0, c1, c2, c3 = (c[..., k] for k in range(4))
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        if r:
            k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
        p0 = c0 * _M0  # both factors < 2**32: the product fits in uint64
        p1 = c2 * _M1
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & _MASK32,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & _MASK32)
    return np.stack([c0, c1, c2, c3], axis=-1).astype(np.uint32)


def philox_words(n, seed, offset=0):
    """The ``n`` 32-bit words the dropout kernel draws for elements ``0..n-1``: element ``i``
    is word ``i % 4`` of ``philox4x32((lo(i//4), hi(i//4), lo(offset), hi(offset)),
    (lo(seed), hi(seed)))``."""
    seed, offset = int(seed) & (2**64 - 1), int(offset) & (2**64 - 1)
    q = np.arange(-(-int(n) // 4), dtype=np.uint64)
    counter = np.stack([q & _MASK32, q >> np.uint64(32),
                        np.full_like(q, offset & 0xFFFFFFFF), np.full_like(q, offset >> 32)],
                       axis=-1)
    words = philox4x32(counter, (seed & 0xFFFFFFFF, seed >> 32))
    return words.reshape(-1)[:n]


def dropout_forward(x, p, seed, offset=0, state=None):
    """``(y, mask)``: ``y = x * mask / (1 - p)`` with ``mask`` (uint8, shaped like ``x``) a
    pure function of ``(seed, offset, element index)``; each element is kept with
    probability ``1 - p``. ``state``: None, or a uint64 array ``(seed, base)`` that replaces
    ``seed`` and is added to ``offset`` (how a CUDA graph replay passes fresh values)."""
    threshold = dropout_threshold(p)
    if state is not None:
        seed, offset = int(state[0]), (int(state[1]) + int(offset)) & (2**64 - 1)
    acc = acc_dtype(x.dtype)
    keep = philox_words(x.size, seed, offset).astype(np.uint64) >= np.uint64(threshold)
    keep = keep.reshape(x.shape)
    factor = np.where(keep, acc.type(dropout_scale(p)), acc.type(0))
    return (x.astype(acc) * factor).astype(x.dtype), keep.astype(np.uint8)


def dropout_backward(grad, mask, p):
    """``grad * mask / (1 - p)``."""
    acc = acc_dtype(grad.dtype)
    factor = np.where(mask != 0, acc.type(dropout_scale(p)), acc.type(0))
    return (grad.astype(acc) * factor).astype(grad.dtype)
