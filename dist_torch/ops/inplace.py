"""In-place ops: write an out-of-place result back into ``self`` and rewrite its history.

``x.op_(...)`` computes ``op(x, ...)``, copies it into ``x``'s storage, bumps the storage's
version counter (so a backward that saved the old value fails loudly), and makes ``x`` the
output of the new node. When ``x`` is a view, the base's history is rewritten instead
(``CopySlices``): the base's gradient flows to the new value inside the view's window and
to the old base everywhere else, as in torch.
"""

from __future__ import annotations

from dist_torch._tensor import Tensor
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
    array_module(self._data).copyto(self._data, out, casting="unsafe")
    self._bump_version()
    if result._requires_grad:
        rebase_history(self, result)
    return self


def rebase_history(self: Tensor, result: Tensor) -> None:
    """Make ``self`` (whose storage now holds ``result``'s values) the output of its graph."""
    if self._base is None:
        self._grad_fn, self._output_nr = result._grad_fn, result._output_nr
        self._requires_grad = True
        if self._retains_grad:  # retain_grad follows the tensor to its new node, as in torch
            self._grad_fn._retain_grad_of(self._output_nr, self)
        return
    base = self._base
    written = CopySlices.apply(base, result, view_fn=self._view_fn)
    base._grad_fn, base._output_nr, base._requires_grad = written._grad_fn, 0, True
    view = AsView.apply(base, view_fn=self._view_fn)
    self._grad_fn, self._output_nr, self._requires_grad = view._grad_fn, 0, True
    self._view_version = self._vc.value


class CopySlices(Primitive):
    """``base`` with the window ``view_fn(base)`` replaced by ``value`` (already written)."""

    def forward(ctx, base, value, view_fn):
        ctx.view_fn = view_fn
        return base

    def backward(ctx, grad):
        grad_base = None
        if ctx.needs_input_grad[0]:
            grad_base = grad.copy()
            ctx.view_fn(grad_base)[...] = 0
        grad_value = ctx.view_fn(grad) if ctx.needs_input_grad[1] else None
        return grad_base, grad_value


class AsView(Primitive):
    """A view of ``base`` re-derived after an in-place write changed the base's history."""

    def forward(ctx, base, view_fn):
        ctx.view_fn = view_fn
        ctx.base_shape = base.shape
        return view_fn(base)

    def backward(ctx, grad):
        xp = array_module(grad)
        grad_base = xp.zeros(ctx.base_shape, dtype=grad.dtype)
        ctx.view_fn(grad_base)[...] = grad
        return grad_base
