"""Indexing: ``Tensor.__getitem__`` / ``__setitem__`` and index_put.

A torch index is split once into a NumPy *basic* key (ints, slices, None: a view) and the
*advanced* entries (integer and boolean arrays) applied to that view, which is how torch
applies it: ints select first, so ``x[0, :, [0, 1]]`` has shape ``[n, 2]`` as in torch (NumPy
would give ``[2, n]``). Basic indexing returns a view; advanced indexing copies and its
backward scatter-adds (duplicate indices accumulate).
"""

from __future__ import annotations

import operator

import numpy as np

from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd import grad_mode
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive, _make_view
from dist_torch.backend import array_module, to_device
from dist_torch.backend.compat import ufunc_at
from dist_torch.ops import _indexing_util as U
from dist_torch.ops import inplace as _inplace
from dist_torch.ops.inplace import check_inplace_allowed, check_writable

__all__ = ["index_put"]

_state = grad_mode.state
_ALL = U.ALL


# --------------------------------------------------------------------------- __getitem__

class _BasicIndex(Primitive):
    """Ints, slices and None: a view of the input."""

    _is_view = True

    def forward(ctx, a, key):
        ctx.key, ctx.shape = key, a.shape
        ctx.view_fn = operator.itemgetter(key)
        return a[key]

    def backward(ctx, grad):
        g = array_module(grad).zeros(ctx.shape, dtype=grad.dtype)
        g[ctx.key] = grad
        return g


class _Select(_BasicIndex):
    _name = "SelectBackward0"


class _Slice(_BasicIndex):
    _name = "SliceBackward0"


class _Unsqueeze(_BasicIndex):
    _name = "UnsqueezeBackward0"


class _Alias(_BasicIndex):
    _name = "AliasBackward0"


# torch names a basic-indexing node after the last view op it applied
_BASIC_NODES = {"select": _Select, "slice": _Slice, "unsqueeze": _Unsqueeze, "alias": _Alias}


class Index(Primitive):
    """Advanced indexing (a copy); backward scatter-adds so duplicate indices accumulate."""

    _name = "IndexBackward0"

    def forward(ctx, a, key):
        ctx.key, ctx.shape = key, a.shape
        view = a[key.basic]
        try:
            return view[key.adv]
        except IndexError:
            U.advanced_error(view.shape, key.entries)
            raise

    def backward(ctx, grad):
        key = ctx.key
        xp = array_module(grad)
        entries = key.entries
        if len(entries) == 1 and not entries[0][2] and \
                all(b is _ALL or b is Ellipsis for b in key.basic):
            # x[..., idx, ...] (e.g. an embedding lookup): one bincount over flat positions
            dim = entries[0][0]
            lin = U.linear_along(ctx.shape, dim, entries[0][1])
            shape = ctx.shape[:dim] + (lin.shape[dim],) + ctx.shape[dim + 1:]
            return U.scatter_add_new(ctx.shape, grad.dtype, lin, grad.reshape(shape))
        g = xp.zeros(ctx.shape, dtype=grad.dtype)
        window = g[key.basic]
        if key.all_masks:  # masks select each element once: a plain write is enough
            window[key.adv] = grad
        else:
            ufunc_at("add", window, key.adv, grad)
        return g


def getitem(self: Tensor, key) -> Tensor:
    """``self[key]`` with torch's semantics (see the module docstring)."""
    if type(key) is int:  # the hot path: x[i]
        shape = self._data.shape
        if shape:
            if -shape[0] <= key < shape[0]:
                if self._base is not None and self._view_version != self._vc.value:
                    self._refresh_view_history()
                basic = (key, Ellipsis)
                if self._requires_grad and _state.grad_enabled:
                    return _Select.apply(self, key=basic)
                out = _wrap(self._data[basic])  # no graph: skip the node entirely
                _make_view(out, self, operator.itemgetter(basic))
                return out
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size "
                             f"{shape[0]}")
    parsed = U.parse_key(self._data.shape, key, self._data)
    if parsed.adv is None:
        return _BASIC_NODES[parsed.name].apply(self, key=parsed.basic)
    return Index.apply(self, key=parsed)


# --------------------------------------------------------------------------- __setitem__

def _window(a, pre, key):
    """The basic view of ``a`` selected by ``pre`` (a view function or None) and ``key``."""
    if pre is not None:
        a = pre(a)
    return a[key.basic]


def _write(a, pre, key, value, accumulate=False):
    """Write ``value`` into ``a`` at ``key``; torch's errors for bad indices and shapes."""
    view = _window(a, pre, key)
    try:
        if key.adv is None:
            if accumulate:
                view += value
            else:
                view[...] = value
        elif accumulate:
            ufunc_at("add", view, key.adv, value)
        else:
            view[key.adv] = value
    except IndexError:
        U.advanced_error(view.shape, key.entries)
        raise
    except ValueError:
        err = U.value_error(a if pre is None else pre(a), key, np.shape(value))
        if err is None:
            raise
        raise err from None


class IndexPut(Primitive):
    """``base[key] = value`` written in place (forward returns ``base``'s own array).

    The gradient to the old ``base`` is zero in the written window; ``value`` gets the window's
    gradient (every duplicate index receives it, as in torch).
    """

    _name = "IndexPutBackward0"

    def forward(ctx, base, value, pre, key, accumulate=False):
        ctx.pre, ctx.key, ctx.accumulate = pre, key, accumulate
        ctx.value_ndim = np.ndim(value)
        _write(base, pre, key, value, accumulate)
        return base

    def backward(ctx, grad):
        key, pre = ctx.key, ctx.pre
        grad_base = grad_value = None
        if ctx.needs_input_grad[0]:
            if ctx.accumulate:
                grad_base = grad
            else:
                grad_base = grad.copy()
                window = _window(grad_base, pre, key)
                if key.adv is None:
                    window[...] = 0
                else:
                    window[key.adv] = 0
        if ctx.needs_input_grad[1]:
            window = _window(grad, pre, key)
            grad_value = window if key.adv is None else window[key.adv]
            extra = ctx.value_ndim - grad_value.ndim
            if extra > 0:  # the value had leading 1s that torch strips before writing
                grad_value = grad_value.reshape((1,) * extra + grad_value.shape)
        return grad_base, grad_value


class SetItem(IndexPut):
    _name = "CopySlices"


def _setitem_value(self, value):
    """The value to write: a Tensor (of self's dtype) or a Python number."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    name = "numpy.ndarray" if isinstance(value, np.ndarray) else type(value).__name__
    raise TypeError(f"can't assign a {name} to a {U.type_name(self._data)}")


def setitem(self: Tensor, key, value) -> None:
    """``self[key] = value``: an in-place write, recorded by autograd as in torch."""
    value = _setitem_value(self, value)
    parsed = U.parse_key(self._data.shape, key, self._data)
    if isinstance(value, Tensor):
        if parsed.adv is None:
            U.check_no_overlap(self._data[parsed.basic], value._data, allow_same=True)
        else:
            U.check_no_overlap(self._data, value._data)
    if _state.grad_enabled:
        U.refresh_view(self)
        if self._requires_grad and self._grad_fn is None and self._base is None:
            raise RuntimeError(("a view of a leaf Variable" if parsed.adv is None else
                                "a leaf Variable") + " that requires grad is being used in an "
                               "in-place operation.")
        check_inplace_allowed(self)
        value_grad = isinstance(value, Tensor) and value._requires_grad
        record = self._requires_grad or value_grad
    else:
        record = False
    check_writable(self)
    if not record:
        if isinstance(value, Tensor):
            value = value._data
            if type(value) is not type(self._data):
                value = to_device(value, self.device)
        _write(self._data, None, parsed, value)
        self._bump_version()
        return
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        from dist_torch.ops._util import cast
        value = cast(value, self._data.dtype)
    if self._base is None:
        root, pre = self, None
        cls = SetItem if parsed.adv is None else IndexPut
    else:
        root, pre, cls = self._base, self._view_fn, SetItem
    out = cls.apply(root, value, pre=pre, key=parsed)
    self._bump_version()
    if out._requires_grad:
        _take_history(root, out)
        if self._base is not None:
            self._refresh_view_history()


def _take_history(t: Tensor, out: Tensor) -> None:
    """Make ``t`` (whose storage ``out`` aliases) the output of ``out``'s node."""
    _inplace.move_retained_grad(t, out._grad_fn, 0)
    t._grad_fn, t._output_nr, t._requires_grad = out._grad_fn, 0, True


@autocast_op("index_put")
def index_put(input: Tensor, indices, values, accumulate=False) -> Tensor:
    """A copy of ``input`` with ``values`` written at ``indices`` (a tuple of index tensors);
    ``accumulate=True`` adds instead (duplicates accumulate)."""
    from dist_torch.ops.conversion import clone
    return _index_put_into(clone(input), indices, values, accumulate)


def index_put_(self: Tensor, indices, values, accumulate=False) -> Tensor:
    """In-place :func:`index_put`."""
    check_inplace_allowed(self)
    check_writable(self)
    if isinstance(values, Tensor):
        U.check_no_overlap(self._data, values._data)
    return _index_put_into(self, indices, values, accumulate)


def _index_put_into(self, indices, values, accumulate):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"index_put(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if values._data.dtype != self._data.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{_LEGACY_TYPE_NAMES[self.dtype.name]} for the destination and "
                           f"{_LEGACY_TYPE_NAMES[values.dtype.name]} for the source.")
    for i, index in enumerate(indices):
        if not isinstance(index, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(index).__name__}")
    parsed = U.parse_key(self._data.shape, tuple(indices), self._data)
    return U.inplace_apply(self, IndexPut, values, pre=None, key=parsed, accumulate=accumulate)


bind_methods({
    "__getitem__": getitem, "__setitem__": setitem, "index_put": index_put,
    "index_put_": index_put_,
})
