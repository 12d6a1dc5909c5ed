"""In-place ops: write an out-of-place result back into ``self`` and rewrite its history.

``x.op_(...)`` computes ``op(x, ...)``, copies it into ``x``'s storage, bumps the storage's
version counter (so a backward that saved the old value fails loudly), and makes ``x`` the
output of the new node. When ``x`` is a view, the base's history is rewritten instead
(``CopySlices``): the base's gradient flows to the new value inside the view's window and
to the old base everywhere else, as in torch.
"""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import no_autocast
from dist_torch.autograd import grad_mode
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module

_state = grad_mode.state


def _type_name(np_dtype):
    from dist_torch._dtype import from_numpy_dtype
    return _LEGACY_TYPE_NAMES[from_numpy_dtype(np_dtype).name]


def _category(np_dtype):
    return {"b": 0, "u": 1, "i": 1}.get(np_dtype.kind, 2)


def check_inplace_allowed(self: Tensor) -> None:
    """torch refuses in-place writes to leaves (and views of leaves) that require grad."""
    if not _state.grad_enabled:
        return
    if self._requires_grad and self._grad_fn is None and self._base is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    base = self._base
    if base is not None and base._requires_grad and base._grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                           "in-place operation.")


def check_writable(self: Tensor) -> None:
    if not self._data.flags.writeable:
        raise RuntimeError("unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location. Please clone() the "
                           "tensor before performing the operation.")


@no_autocast
def inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    """Run ``fn(self, *args, **kwargs)`` (an out-of-place op) and store the result in ``self``."""
    check_inplace_allowed(self)
    check_writable(self)
    result = fn(self, *args, **kwargs)
    out = result._data
    if out.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                           f"broadcast shape {list(out.shape)}")
    if out.dtype != self._data.dtype and _category(out.dtype) > _category(self._data.dtype):
        raise RuntimeError(f"result type {_type_name(out.dtype)} can't be cast to the desired "
                           f"output type {_type_name(self._data.dtype)}")
    if result._grad_fn is not None and result._grad_fn._saved:
        _keep_saved_self(result._grad_fn, self)
    array_module(self._data).copyto(self._data, out, casting="unsafe")
    self._bump_version()
    if result._requires_grad:
        rebase_history(self, result)
    return self


def _keep_saved_self(node, self: Tensor) -> None:
    """The op may have saved ``self``'s storage (``y.mul_(w)`` needs the old ``y``): give its
    backward a private copy of the values about to be overwritten, as torch does."""
    old = self._data
    if not any(v is old for v in node._saved):
        return
    copy = old.copy()
    node._saved = tuple(copy if v is old else v for v in node._saved)
    if node._saved_versions and self._vc is not None:
        node._saved_versions = [r for r in node._saved_versions if r[0] is not self._vc]


def rebase_history(self: Tensor, result: Tensor) -> None:
    """Make ``self`` (whose storage now holds ``result``'s values) the output of its graph."""
    if self._base is None:
        move_retained_grad(self, result._grad_fn, result._output_nr)
        self._grad_fn, self._output_nr = result._grad_fn, result._output_nr
        self._requires_grad = True
        return
    base = self._base
    written = CopySlices.apply(base, result, view_fn=self._view_fn)
    move_retained_grad(base, written._grad_fn, 0)
    base._grad_fn, base._output_nr, base._requires_grad = written._grad_fn, 0, True
    view = AsView.apply(base, view_fn=self._view_fn)
    move_retained_grad(self, view._grad_fn, 0)
    self._grad_fn, self._output_nr, self._requires_grad = view._grad_fn, 0, True
    self._view_version = self._vc.value


def move_retained_grad(t: Tensor, node, output_nr: int) -> None:
    """retain_grad follows a tensor to its new node (and leaves the old one), as in torch."""
    if not t._retains_grad:
        return
    old = t._grad_fn
    if old is not None and old._retained:
        old._retained.pop(t._output_nr, None)
    node._retain_grad_of(output_nr, t)


def _zeros_laid_out(shape, strides, dtype, like):
    """Zeros whose dims lie in memory in the order of ``strides`` (a non-contiguous base's), so
    that a view function (e.g. a reshape after a transpose) replays as a view, as on the base."""
    order = sorted(range(len(shape)), key=lambda d: -abs(strides[d]))
    out = array_module(like).zeros([shape[d] for d in order], dtype=dtype)
    return out.transpose([order.index(d) for d in range(len(shape))])


class CopySlices(Primitive):
    """``base`` with the window ``view_fn(base)`` replaced by ``value`` (already written)."""

    _name = "CopySlices"

    def forward(ctx, base, value, view_fn):
        ctx.view_fn = view_fn
        ctx.strides = None if base.flags.c_contiguous else base.strides
        return base

    def backward(ctx, grad):
        grad_base = None
        if ctx.needs_input_grad[0]:
            if ctx.strides is None:
                grad_base = grad.copy()
            else:
                grad_base = _zeros_laid_out(grad.shape, ctx.strides, grad.dtype, grad)
                grad_base[...] = grad
            ctx.view_fn(grad_base)[...] = 0
        grad_value = ctx.view_fn(grad) if ctx.needs_input_grad[1] else None
        return grad_base, grad_value


class AsView(Primitive):
    """A view of ``base`` re-derived after an in-place write changed the base's history."""

    _name = "AsStridedBackward0"

    def forward(ctx, base, view_fn):
        ctx.view_fn = view_fn
        ctx.base_shape = base.shape
        ctx.strides = None if base.flags.c_contiguous else base.strides
        return view_fn(base)

    def backward(ctx, grad):
        xp = array_module(grad)
        grad_base = xp.zeros(ctx.base_shape, dtype=grad.dtype) if ctx.strides is None else \
            _zeros_laid_out(ctx.base_shape, ctx.strides, grad.dtype, grad)
        window = ctx.view_fn(grad_base)
        if window.flags.writeable if xp is np else 0 not in window.strides:
            window[...] = grad
            return grad_base
        # The view repeats base elements (expand, overlapping unfold): sum into each one.
        index = ctx.view_fn(xp.arange(grad_base.size).reshape(ctx.base_shape))
        summed = xp.bincount(index.ravel(), weights=grad.ravel(), minlength=grad_base.size)
        return summed.reshape(ctx.base_shape)
