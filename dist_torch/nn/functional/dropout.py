"""Dropout of ``torch.nn.functional``: elementwise (dropout, alpha_dropout) and channel-wise
(dropout1d/2d/3d, feature_alpha_dropout).

Masks are drawn from dist_torch's default generator (so ``manual_seed`` makes them
reproducible) and kept values are scaled by ``1 / (1 - p)``. The output is ``input * mask``,
one ``MulBackward0`` node as in torch; evaluation mode (``training=False``) and ``p=0`` return
the input itself.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import type_name
from dist_torch.ops.dropout import NativeDropout, dropout_on_gpu
from dist_torch.ops.elementwise import Add, Mul
from dist_torch.ops.inplace import inplace as _inplace

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
]

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)
# -SELU_SCALE * SELU_ALPHA: the value a dropped unit takes in alpha dropout
_ALPHA_PRIME = -1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _check_p(p) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep(input: Tensor, p: float, shape) -> object:
    """A boolean array of ``shape``: True (kept) with probability ``1 - p``."""
    from dist_torch.random import on_device_of, rng_of
    a = input._data
    if a.dtype.kind in "biu":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{type_name(a.dtype)}")
    u = rng_of(None).random(shape, dtype=_F64 if a.dtype == _F64 else _F32)
    return on_device_of(u >= p, a)


def _scaled_mask(input: Tensor, p: float, shape):
    """``keep / (1 - p)`` in ``input``'s dtype (all zeros when ``p == 1``)."""
    keep = _keep(input, p, shape)
    dtype = input._data.dtype
    if p == 1:
        return keep.astype(dtype)  # all False
    return keep * dtype.type(1.0 / (1.0 - p))


def _apply_mask(input: Tensor, mask, inplace: bool) -> Tensor:
    if inplace:
        return _inplace(input, lambda x: Mul.apply(x, mask))
    return Mul.apply(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Example::

        >>> torch.manual_seed(0)
        >>> F.dropout(torch.ones(6), 0.5)   # about half the values are 2, the rest 0
    """
    _check_p(p)
    if not training or p == 0:
        return input
    if dropout_on_gpu(input._data):  # one fused CUDA kernel draws the mask and scales
        if inplace:
            return _inplace(input, lambda x: NativeDropout.apply(x, p=p))
        return NativeDropout.apply(input, p=p)
    return _apply_mask(input, _scaled_mask(input, p, input._data.shape), inplace)


def _feature_shape(input: Tensor) -> tuple:
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return shape[:2] + (1,) * (len(shape) - 2)


def _feature_dropout(input, p, training, inplace):
    if not training or p == 0:
        return input
    return _apply_mask(input, _scaled_mask(input, p, _feature_shape(input)), inplace)


def _unbatched(fn, input, p, training, inplace):
    """Run channel-wise dropout on an input without batch dim (as a batch of one)."""
    if inplace:
        return _inplace(input, lambda x: fn(x.unsqueeze(0), p, training, False).squeeze(0))
    return fn(input.unsqueeze(0), p, training, False).squeeze(0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` inputs with probability ``p``."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. "
                           "Note that dropout1d exists to provide channel-wise dropout on inputs "
                           "with 1 spatial dimension, a channel dimension, and an optional batch "
                           "dimension (i.e. 2D or 3D inputs).")
    if ndim == 2:
        return _unbatched(_feature_dropout, input, p, training, inplace)
    return _feature_dropout(input, p, training, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` inputs with probability ``p``.

    As in torch, a 3-D input is taken as ``(N, C, L)`` (with a warning), and other ranks are
    deprecated but still dropped per ``(N, C)`` entry.
    """
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that dropout2d "
                      "exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, H, "
                      "W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs with probability
    ``p``."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that dropout3d "
                      "exists to provide channel-wise dropout on inputs with 3 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D "
                      "or 5D inputs).", stacklevel=2)
    if ndim != 5:
        return _unbatched(_feature_dropout, input, p, training, inplace)
    return _feature_dropout(input, p, training, inplace)


def _alpha(input, p, training, inplace, shape_fn):
    _check_p(p)
    if not training or p == 0:
        return input
    if p == 1:
        zeros = input._data.dtype.type(0)
        if inplace:
            return _inplace(input, lambda x: Mul.apply(x, zeros))
        return Mul.apply(input, zeros)
    shape = shape_fn(input)
    keep = _keep(input, p, shape)
    dtype = input._data.dtype
    a = 1.0 / math.sqrt((_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
    b = -a * _ALPHA_PRIME * p
    mult = keep * dtype.type(a)
    add = array_module(keep).where(keep, b, a * _ALPHA_PRIME + b).astype(dtype)

    def apply(x):
        return Add.apply(Mul.apply(x, mult), add)
    return _inplace(input, apply) if inplace else apply(input)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps the self-normalizing property (zero mean, unit variance) of SELU
    activations: dropped units take SELU's negative saturation value, then an affine map
    restores the statistics."""
    return _alpha(input, p, training, inplace, lambda x: x._data.shape)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1)."""
    return _alpha(input, p, training, inplace, _feature_shape)
