"""Normalization functions: batch_norm, instance_norm, layer_norm, group_norm, rms_norm and
local_response_norm (``normalize`` lives in :mod:`.distance`).

batch/layer/group norm run fused primitives (:mod:`dist_torch.ops.norm`); the others are
composites of tensor ops.
"""

from __future__ import annotations

import numpy as np

from dist_torch._finfo import finfo
from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.ops._reduce import LOW_FLOATS, is_floating, type_name
from dist_torch.ops._util import check_same_device
from dist_torch.ops.norm import BatchNorm, GroupNorm, LayerNorm

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
           "local_response_norm"]

_FLOAT32 = np.dtype(np.float32)


def _check_input(input, fname, kernel):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not is_floating(input._data.dtype):
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{type_name(input._data.dtype)}'")


def _check_dtypes(input, *params):
    """torch CPU's mixed-dtype rule: parameters of another dtype than the input are allowed
    only as float32 parameters of a float16/bfloat16 input."""
    in_dtype = input._data.dtype
    if all(p is None or p._data.dtype == in_dtype for p in params):
        return
    for p in params:
        if p is not None and p._data.dtype != _FLOAT32:
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of "
                               "Float")
    if in_dtype not in LOW_FLOATS:
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _check_numel(t, name, expected):
    if t is not None and t._data.size != expected:
        raise RuntimeError(f"{name} should contain {expected} elements not {t._data.size}")


def _verify_batch_size(size):
    n = 1
    for i, s in enumerate(size):
        if i != 1:
            n *= s
    if n == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {size}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5) -> Tensor:
    """Normalize each channel of ``input`` ``(N, C, *)`` over the batch and spatial dims.

    With ``training`` the batch statistics are used and, when given, ``running_mean`` and
    ``running_var`` are updated in place: ``running = (1 - momentum) * running + momentum *
    batch`` (unbiased variance). Otherwise the running statistics are used.
    """
    _check_input(input, "batch_norm", "batch_norm")
    if training:
        _verify_batch_size(input.size())
    else:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
    x = input._data
    c = x.shape[1] if x.ndim > 1 else 0
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_numel(t, name, c)
    _check_dtypes(input, weight, bias, running_mean, running_var)
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, training=training,
                           momentum=momentum, eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5) -> Tensor:
    """Normalize each channel of each sample of ``input`` ``(N, C, *)`` over its spatial dims.

    With ``use_input_stats`` the per-instance statistics are used (and the running buffers,
    when given, move toward their batch average); otherwise the running statistics are used.
    """
    _check_input(input, "instance_norm", "batch_norm")
    x = input._data
    if use_input_stats:
        spatial = 1
        for s in x.shape[2:]:
            spatial *= s
        if spatial == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {input.size()}")
    c = x.shape[1] if x.ndim > 1 else 0
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_numel(t, name, c)
    _check_dtypes(input, weight, bias, running_mean, running_var)
    if not use_input_stats:
        return BatchNorm.apply(input, weight, bias, running_mean, running_var, training=False,
                               momentum=momentum, eps=eps)
    out = GroupNorm.apply(input, weight, bias, groups=c, eps=eps)
    if running_mean is not None or running_var is not None:
        _update_instance_stats(x, running_mean, running_var, momentum)
    return out


def _update_instance_stats(x, running_mean, running_var, momentum):
    n, c = x.shape[0], x.shape[1]
    flat = x.reshape(n, c, -1)
    work = flat.astype(_FLOAT32) if flat.dtype in LOW_FLOATS else flat
    if running_mean is not None:
        mean = work.mean(axis=2).mean(axis=0)
        running_mean._data *= 1 - momentum
        running_mean._data += momentum * mean.astype(running_mean._data.dtype)
    if running_var is not None:
        var = work.var(axis=2, ddof=1).mean(axis=0)
        running_var._data *= 1 - momentum
        running_var._data += momentum * var.astype(running_var._data.dtype)


def _normalized_shape(normalized_shape, fname):
    if isinstance(normalized_shape, int) and not isinstance(normalized_shape, bool):
        raise TypeError(f"{fname}(): argument 'normalized_shape' (position 2) must be tuple of "
                        f"ints, not int")
    if isinstance(normalized_shape, Tensor):
        normalized_shape = normalized_shape.tolist()
    return [int(s) for s in normalized_shape]


@autocast_op("layer_norm")
def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Normalize ``input`` over its last ``len(normalized_shape)`` dims, then scale by
    ``weight`` and shift by ``bias`` (both of shape ``normalized_shape``)."""
    _check_input(input, "layer_norm", "LayerNormKernelImpl")
    for param in (weight, bias):
        if param is not None:
            check_same_device(input, param)
    shape = _normalized_shape(normalized_shape, "layer_norm")
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and list(t._data.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t._data.shape)} and "
                               f"normalized_shape = {shape}")
    x_shape = list(input._data.shape)
    if len(x_shape) < len(shape) or x_shape[len(x_shape) - len(shape):] != shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{x_shape}")
    if weight is not None and bias is not None and weight._data.dtype == input._data.dtype \
            and bias._data.dtype != weight._data.dtype:
        raise RuntimeError(f"expected scalar type {type_name(weight._data.dtype)} but found "
                           f"{type_name(bias._data.dtype)}")
    _check_dtypes(input, weight, bias)
    return LayerNorm.apply(input, weight, bias, ndim=len(shape), eps=eps)


@autocast_op("group_norm")
def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5) -> Tensor:
    """Normalize ``input`` ``(N, C, *)`` over each group of ``C // num_groups`` channels (and
    the spatial dims), then apply a per-channel ``weight`` and ``bias``."""
    _check_input(input, "group_norm", "GroupNormKernelImpl")
    x = input._data
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    c = x.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t._data.ndim != 1 or t._data.size != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{list(t._data.shape)} and input of shape {list(x.shape)}")
    _check_dtypes(input, weight, bias)
    return GroupNorm.apply(input, weight, bias, groups=num_groups, eps=eps)


def rms_norm(input, normalized_shape, weight=None, eps=None) -> Tensor:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the last
    ``len(normalized_shape)`` dims; ``eps`` defaults to ``torch.finfo(input.dtype).eps``."""
    _check_input(input, "rms_norm", "rms_norm")
    shape = _normalized_shape(normalized_shape, "rms_norm")
    if weight is not None and list(weight._data.shape) != shape:
        raise RuntimeError("Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight._data.shape)} and normalized_shape = "
                           f"{shape}")
    x_shape = list(input._data.shape)
    if len(x_shape) < len(shape) or x_shape[len(x_shape) - len(shape):] != shape:
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size{x_shape}")
    if eps is None:
        eps = finfo(input.dtype).eps
    dims = tuple(range(-len(shape), 0))
    work = input if input._data.dtype not in LOW_FLOATS else input.float()
    scale = work.pow(2).mean(dims, keepdim=True).add(eps).rsqrt()
    out = work * scale
    if out._data.dtype != input._data.dtype:
        out = out.to(input.dtype)
    if weight is not None:
        out = out * weight
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0) -> Tensor:
    """Divide each channel by ``(k + alpha / size * sum of squares of the ``size``
    neighbouring channels) ** beta`` (input ``(N, C, *)``, zero-padded across channels)."""
    from dist_torch.ops.join import cat
    x = input._data
    if x.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {x.ndim} "
                         "dimensions)")
    if input.numel() == 0:
        return input
    sq = input * input
    before, after = size // 2, (size - 1) // 2
    c = x.shape[1]
    pad_shape = list(x.shape)
    parts = []
    if before:
        pad_shape[1] = before
        parts.append(input.new_zeros(pad_shape))
    parts.append(sq)
    if after:
        pad_shape[1] = after
        parts.append(input.new_zeros(pad_shape))
    padded = cat(parts, 1) if len(parts) > 1 else sq
    total = padded.narrow(1, 0, c)
    for shift in range(1, size):
        total = total + padded.narrow(1, shift, c)
    div = (total / size * alpha + k).pow(beta)
    return input / div
