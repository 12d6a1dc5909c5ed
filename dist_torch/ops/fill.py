"""Generic in-place writes: ``zero_``, ``fill_`` and ``copy_``, with torch's autograd meaning
(the overwritten values get a zero gradient; ``fill_``/``copy_`` route theirs to the value)."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd import grad_mode
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module, device_of, to_device
from dist_torch.ops._indexing_util import check_inplace, check_no_overlap, inplace_apply

__all__ = []

_state = grad_mode.state


class Zero(Primitive):
    def forward(ctx, a):
        a.fill(0)
        return a

    def backward(ctx, grad):
        return array_module(grad).zeros_like(grad)


class Fill(Primitive):
    """``fill_``: a number (FillBackward2) or a 0-dim tensor (FillBackward3)."""

    _name = "FillBackward2"

    def forward(ctx, a, value):
        a[...] = value
        return a

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return (array_module(grad).zeros_like(grad) if needs[0] else None,
                grad.sum() if len(needs) > 1 and needs[1] else None)


class FillTensor(Fill):
    _name = "FillBackward3"


class Copy(Primitive):
    """``copy_``: the gradient goes to ``src`` (summed to its shape); the old values get 0."""

    _name = "CopyBackwards"

    def forward(ctx, dst, src):
        xp = array_module(dst)
        if type(src) is not type(dst) and hasattr(src, "shape"):
            src = to_device(src, device_of(dst))
        xp.copyto(dst, src, casting="unsafe")
        return dst

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return (array_module(grad).zeros_like(grad) if needs[0] else None,
                grad if needs[1] else None)


def zero_(self: Tensor) -> Tensor:
    """Fill ``self`` with zeros in place."""
    check_inplace(self)
    if not (_state.grad_enabled and self._requires_grad):
        self._data.fill(0)
        self._bump_version()
        return self
    return inplace_apply(self, Zero)


def fill_(self: Tensor, value) -> Tensor:
    """Fill ``self`` with ``value`` (a number or a 0-dim tensor) in place."""
    check_inplace(self)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")
        if not (_state.grad_enabled and (self._requires_grad or value._requires_grad)):
            self._data[...] = value._data
            self._bump_version()
            return self
        return inplace_apply(self, FillTensor, value)
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (bool, int, float)):
        raise TypeError(f"fill_(): argument 'value' (position 1) must be Number, not "
                        f"{type(value).__name__}")
    if not (_state.grad_enabled and self._requires_grad):
        self._data.fill(value)
        self._bump_version()
        return self
    return inplace_apply(self, Fill, value)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to ``self``'s shape, cast to its dtype) into ``self``.

    Differentiable with respect to ``src``; the overwritten values get a zero gradient.
    """
    check_inplace(self)
    if not isinstance(src, Tensor):
        if isinstance(src, (bool, int, float, np.generic)):
            return fill_(self, src)
        raise TypeError(f"copy_(): argument 'src' (position 1) must be Tensor, not "
                        f"{type(src).__name__}")
    shape = self._data.shape
    sshape = src._data.shape
    check_no_overlap(self._data, src._data, allow_same=True)
    if sshape != shape:
        from dist_torch._broadcast import broadcast_shapes
        out = broadcast_shapes(shape, sshape)
        if out != shape:
            raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast "
                               f"shape {list(out)}")
    if not (_state.grad_enabled and (self._requires_grad or src._requires_grad)):
        Copy.forward(None, self._data, src._data)
        self._bump_version()
        return self
    return inplace_apply(self, Copy, src)


bind_methods({"zero_": zero_, "fill_": fill_, "copy_": copy_})
