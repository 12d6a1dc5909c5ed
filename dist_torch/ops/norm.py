"""Normalization primitives: batch_norm, layer_norm and group_norm with fused backward.

Each one normalizes ``x`` to ``xhat = (x - mean) * invstd`` over some axes and applies a
per-feature affine map. Statistics are computed in two passes (mean, then the mean of squared
deviations), so large offsets do not cancel; float16/bfloat16 inputs are computed in float32 and
rounded once, as torch's CPU kernels do. Backward uses the closed form

    grad_x = invstd * (g - mean(g) - xhat * mean(g * xhat)),   g = grad_out * weight,

one pass over the data instead of a graph of a dozen small ops.

The public functions here are torch's top-level ``torch.batch_norm``, ``torch.layer_norm``,
``torch.group_norm``, ``torch.instance_norm`` and ``torch.rms_norm``; they delegate to
:mod:`dist_torch.nn.functional.normalization`, where the argument checks live.
"""

from __future__ import annotations

import numpy as np

from dist_torch import backend as _backend
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import LOW_FLOATS

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"]

_FLOAT32 = np.dtype(np.float32)


def _widen(a):
    return a.astype(_FLOAT32) if a.dtype in LOW_FLOATS else a


def _narrow(a, np_dtype):
    return a if a.dtype == np_dtype else a.astype(np_dtype)


def _long_float32(a) -> bool:
    # einsum and BLAS accumulate a row with a rounding error that grows with its length;
    # NumPy's own reductions sum pairwise
    return a.shape[1] > 4096 and a.dtype == _FLOAT32


def _row_sum(a):
    """Per-row sums of a 2-D array (a GEMV: far faster than a reduction over short rows)."""
    if _long_float32(a):
        return a.sum(axis=1, keepdims=True)
    return array_module(a).matmul(a, array_module(a).ones((a.shape[1], 1), a.dtype))


def _row_dot(a, b):
    """Per-row dot products ``(rows, 1)``."""
    if _long_float32(a):
        return (a * b).sum(axis=1, keepdims=True)
    return array_module(a).einsum("ij,ij->i", a, b)[:, None]


def _rows_normalize(x2, eps):
    """``x2`` (rows, k) normalized per row: ``(xhat, invstd (rows, 1))``; ``x2`` is kept."""
    xp = array_module(x2)
    k = x2.shape[1]
    if not k:
        return x2.copy(), xp.full((x2.shape[0], 1), 1.0 / np.sqrt(eps), x2.dtype)
    mean = _row_sum(x2)
    mean /= k
    xhat = x2 - mean
    var = _row_dot(xhat, xhat)
    var /= k
    var += eps
    invstd = xp.sqrt(var, out=var)
    xp.divide(1.0, invstd, out=invstd)
    xhat *= invstd
    return xhat, invstd


def _rows_backward(gxhat, xhat, invstd):
    """Gradient w.r.t. rows of ``x`` given the gradient w.r.t. their normalized values:
    ``invstd * (g - mean(g) - xhat * mean(g * xhat))``."""
    xp = array_module(gxhat)
    k = gxhat.shape[1]
    if not k:
        return gxhat
    mean_g = _row_sum(gxhat)
    mean_g /= k
    mean_gx = _row_dot(gxhat, xhat)
    mean_gx /= k
    out = xhat * mean_gx
    xp.subtract(gxhat, out, out=out)
    out -= mean_g
    out *= invstd
    return out


# --------------------------------------------------------------------------- batch norm


def update_running_stats(running_mean, running_var, mean, unbiased_var, momentum) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, in place (either may be
    None)."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean.astype(running_mean.dtype, copy=False)
    if running_var is not None:
        running_var *= 1 - momentum
        running_var += momentum * unbiased_var.astype(running_var.dtype, copy=False)

class BatchNorm(Primitive):
    """``native_batch_norm``: input ``(N, C, *)``, statistics per channel over all other dims.

    In training mode the batch statistics normalize the input and, when running buffers are
    given, update them in place (unbiased variance, as torch); otherwise the running statistics
    normalize it.
    """

    _name = "NativeBatchNormBackward0"

    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        xp = array_module(x)
        c = x.shape[1] if x.ndim > 1 else 1
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        ctx.axes, ctx.shape, ctx.training = axes, shape, training
        work = _widen(x)
        needs = ctx.needs_input_grad
        if training:
            n = x.size // c if c else 0
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = work.mean(axis=axes)
                xhat = work - mean.reshape(shape)
                var = (xhat * xhat).mean(axis=axes)
                invstd = 1.0 / xp.sqrt(var + eps)
            xhat *= invstd.reshape(shape)
            unbiased = var * (n / (n - 1)) if n > 1 else var * np.inf
            update_running_stats(running_mean, running_var, mean, unbiased, momentum)
            out = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
            if bias is not None:
                out += bias.reshape(shape)
            ctx.n = n
            ctx.save_for_backward(xhat, invstd, weight)
            return _narrow(out, x.dtype)
        invstd = 1.0 / xp.sqrt(_widen(running_var) + eps)
        scale = invstd if weight is None else weight * invstd
        shift = -_widen(running_mean) * scale
        if bias is not None:
            shift = shift + bias
        out = work * scale.reshape(shape)
        out += shift.reshape(shape)
        ctx.save_for_backward(x if needs[1] else None, running_mean if needs[1] else None,
                              invstd, weight)
        return _narrow(out, x.dtype)

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        axes, shape = ctx.axes, ctx.shape
        g = _widen(grad)
        gx = gw = gb = None
        if ctx.training:
            xhat, invstd, weight = ctx.saved_tensors
            sum_g = g.sum(axis=axes)
            sum_gx = (g * xhat).sum(axis=axes)
            if needs[0]:
                n = ctx.n
                scale = invstd if weight is None else weight * invstd
                gx = xhat * (sum_gx / n).reshape(shape)
                gx += (sum_g / n).reshape(shape)
                array_module(g).subtract(g, gx, out=gx)
                gx *= scale.reshape(shape)
            gw = sum_gx if needs[1] else None
            gb = sum_g if len(needs) > 2 and needs[2] else None
            return gx, gw, gb
        x, running_mean, invstd, weight = ctx.saved_tensors
        if needs[0]:
            scale = invstd if weight is None else weight * invstd
            gx = g * scale.reshape(shape)
        if needs[1]:
            xhat = (_widen(x) - _widen(running_mean).reshape(shape)) * invstd.reshape(shape)
            gw = (g * xhat).sum(axis=axes)
        if len(needs) > 2 and needs[2]:
            gb = g.sum(axis=axes)
        return gx, gw, gb


# --------------------------------------------------------------------------- layer norm

def _flat(a):
    return None if a is None else a.reshape(-1)


def _ln_on_gpu(x, weight, bias):
    """Whether layer norm runs on the CUDA kernel (parameters, if any, in ``x``'s dtype)."""
    return x.size > 0 and _backend.use_kernels(x, "layernorm") and all(
        p is None or p.dtype == x.dtype for p in (weight, bias))


class LayerNorm(Primitive):
    """``native_layer_norm``: statistics over the last ``ndim`` dims of ``x``."""

    _name = "NativeLayerNormBackward0"
    _kernel = False  # forward ran the CUDA kernel

    def forward(ctx, x, weight, bias, ndim, eps):
        if _ln_on_gpu(x, weight, bias):
            return ctx._kernel_forward(x, weight, bias, ndim, eps)
        k = 1
        for s in x.shape[x.ndim - ndim:]:
            k *= s
        rows = x.size // k if k else int(np.prod(x.shape[:x.ndim - ndim]))
        x2 = _widen(x).reshape(rows, k)
        xhat, invstd = _rows_normalize(x2, eps)
        out = xhat * weight.reshape(-1) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(-1)
        ctx.param_shape = x.shape[x.ndim - ndim:]
        ctx.save_for_backward(xhat, invstd, weight)
        return _narrow(out.reshape(x.shape), x.dtype)

    def backward(ctx, grad):
        if ctx._kernel:
            return ctx._kernel_backward(grad)
        xhat, invstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g = _widen(grad).reshape(xhat.shape)
        gx = gw = gb = None
        if needs[0]:
            gxhat = g * weight.reshape(-1) if weight is not None else g
            gx = _rows_backward(gxhat, xhat, invstd).reshape(grad.shape)
        if needs[1]:
            gw = array_module(g).einsum("ij,ij->j", g, xhat).reshape(ctx.param_shape)
        if len(needs) > 2 and needs[2]:
            gb = g.sum(axis=0).reshape(ctx.param_shape)
        return gx, gw, gb

    def _kernel_forward(ctx, x, weight, bias, ndim, eps):
        """The CUDA path: ``x`` as rows of the normalized size, one block per row."""
        ctx.param_shape = x.shape[x.ndim - ndim:]
        x2 = x.reshape(-1, int(np.prod(ctx.param_shape)))  # x.size > 0
        y, mean, rstd = _backend.kernels().layer_norm_forward(x2, _flat(weight), _flat(bias),
                                                              eps)
        ctx._kernel = True
        ctx.kernel_bias = _flat(bias)
        ctx.save_for_backward(x2, mean, rstd, weight)
        return y.reshape(x.shape)

    def _kernel_backward(ctx, grad):
        x2, mean, rstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        bias = ctx.kernel_bias if len(needs) > 2 and needs[2] else None
        gx, gw, gb = _backend.kernels().layer_norm_backward(
            grad.reshape(x2.shape), x2, mean, rstd, _flat(weight), bias)
        return (gx.reshape(grad.shape) if needs[0] else None,
                gw.reshape(ctx.param_shape) if needs[1] and gw is not None else None,
                gb.reshape(ctx.param_shape) if gb is not None else None)


# --------------------------------------------------------------------------- group norm

class GroupNorm(Primitive):
    """``native_group_norm``: input ``(N, C, *)``; statistics per sample and channel group."""

    _name = "NativeGroupNormBackward0"

    def forward(ctx, x, weight, bias, groups, eps):
        n, c = x.shape[0], x.shape[1]
        spatial = x.size // (n * c) if n * c else int(np.prod(x.shape[2:]))
        work = _widen(x)
        xhat, invstd = _rows_normalize(work.reshape(n * groups, -1) if n * c else
                                       work.reshape(0, 0), eps)
        xhat3 = xhat.reshape(n, c, spatial)
        if weight is not None:
            out = xhat3 * weight[:, None]
        else:
            out = xhat3.copy()
        if bias is not None:
            out += bias[:, None]
        ctx.spatial = spatial
        ctx.save_for_backward(xhat, invstd, weight)
        return _narrow(out.reshape(x.shape), x.dtype)

    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        n, c = grad.shape[0], grad.shape[1]
        g3 = _widen(grad).reshape(n, c, ctx.spatial)
        xhat3 = xhat.reshape(g3.shape)
        gx = gw = gb = None
        if needs[0]:
            gxhat = g3 * weight[:, None] if weight is not None else g3
            gx = _rows_backward(gxhat.reshape(xhat.shape), xhat, invstd).reshape(grad.shape)
        if needs[1]:
            gw = array_module(g3).einsum("ncl,ncl->c", g3, xhat3)
        if len(needs) > 2 and needs[2]:
            gb = g3.sum(axis=(0, 2))
        return gx, gw, gb


# --------------------------------------------------------------------------- torch.* forms

def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    """``torch.batch_norm`` (argument order of the ATen op); see ``F.batch_norm``."""
    from dist_torch.nn.functional.normalization import batch_norm as fn
    return fn(input, running_mean, running_var, weight, bias, training, momentum, eps)


@autocast_op("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True):
    """``torch.layer_norm``; see ``F.layer_norm``."""
    from dist_torch.nn.functional.normalization import layer_norm as fn
    return fn(input, normalized_shape, weight, bias, eps)


@autocast_op("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    """``torch.group_norm``; see ``F.group_norm``."""
    from dist_torch.nn.functional.normalization import group_norm as fn
    return fn(input, num_groups, weight, bias, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    """``torch.instance_norm`` (argument order of the ATen op); see ``F.instance_norm``."""
    from dist_torch.nn.functional.normalization import instance_norm as fn
    return fn(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``torch.rms_norm``; see ``F.rms_norm``."""
    from dist_torch.nn.functional.normalization import rms_norm as fn
    return fn(input, normalized_shape, weight, eps)
