"""Helpers shared by the indexing ops: parsing torch index keys, torch's indexing errors,
vectorized scatter-add, argument checks, and running primitives that write in place."""

from __future__ import annotations

import numbers
import operator
import warnings

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
from dist_torch.backend import array_module, device_of, to_device
from dist_torch.backend.compat import ufunc_at
from dist_torch.ops._util import check_same_device
from dist_torch.ops.inplace import check_inplace_allowed, check_writable, rebase_history

ALL = slice(None)
INT64 = np.dtype(np.int64)
INDEX_TYPES = (INT64, np.dtype(np.int32))

# --------------------------------------------------------------------------- key parsing

class Key:
    """A parsed index: ``view = a[basic]``; then ``view[adv]`` when ``adv`` is not None.

    ``entries`` lists the advanced entries as ``(view_dim, array, is_mask)``.
    """

    __slots__ = ("basic", "adv", "entries", "name", "all_masks")

    def __init__(self, basic, entries, name):
        self.basic = basic
        self.entries = entries
        self.name = name
        if entries:
            adv, cur = [], 0
            for vdim, arr, is_mask in entries:
                adv.extend([ALL] * (vdim - cur))
                adv.append(arr)
                cur = vdim + (arr.ndim if is_mask else 1)
            self.adv = tuple(adv)
            self.all_masks = all(e[2] for e in entries)
        else:
            self.adv = None


def type_name(a) -> str:
    """``torch.FloatTensor`` and the like, for an array's dtype."""
    from dist_torch._dtype import from_numpy_dtype
    return f"torch.{_LEGACY_TYPE_NAMES[from_numpy_dtype(a.dtype).name]}Tensor"


def _bad_index(item):
    if isinstance(item, str):
        return TypeError("new(): invalid data type 'str'")
    return IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                      f"Variables are valid indices (got {type(item).__name__})")


def _index_array(arr):
    """Validate an index array; returns ``(array, is_mask)`` with uint8 masks made bool."""
    kind = arr.dtype.kind
    if kind == "b":
        return arr, True
    if arr.dtype in INDEX_TYPES:
        return arr, False
    if arr.dtype == np.uint8:
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=4)
        return arr.astype(bool), True
    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")


def _sequence_index(seq, like):
    """A list (or tuple inside a tuple key) used as an index: an int64 or bool array."""
    try:
        arr = np.asarray(_plain(seq))
    except ValueError:
        raise IndexError("too many indices") from None
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    elif arr.dtype.kind != "b":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    xp = array_module(like)
    if xp is not np:
        arr = xp.asarray(arr)
    return arr, arr.dtype.kind == "b"


def _plain(seq):
    """Nested lists with tensors inside, as what ``np.asarray`` accepts."""
    if isinstance(seq, Tensor):
        return np.asarray(seq)
    if isinstance(seq, (list, tuple)):
        return [_plain(x) for x in seq]
    return seq


def _list_is_tuple(seq) -> bool:
    """NumPy's legacy rule (kept by torch): a short list holding sequences, slices, None,
    Ellipsis or tensors indexes like a tuple."""
    if len(seq) >= 32:
        return False
    for x in seq:
        if x is None or x is Ellipsis or isinstance(x, (slice, list, tuple, Tensor, np.ndarray)):
            return True
    return False


def _normalize(item, like):
    """One key item as ``(kind, value, ndim_consumed)``."""
    t = type(item)
    if t is int:
        return "int", item, 1
    if t is slice:
        return "slice", _check_slice(item), 1
    if item is None:
        return "none", None, 0
    if item is Ellipsis:
        return "ellipsis", None, 0
    if t is bool or t is np.bool_:
        return "bool", bool(item), 0
    if isinstance(item, Tensor) or isinstance(item, np.ndarray):
        arr = item._data if isinstance(item, Tensor) else item
        if isinstance(item, np.ndarray) and array_module(like) is not np:
            arr = to_device(arr, device_of(like))
        if arr.ndim == 0:
            kind = arr.dtype.kind
            if kind == "b":
                return "bool", bool(arr), 0
            if kind in "iu":
                return "int", int(arr), 1
        arr, is_mask = _index_array(arr)
        return ("mask", arr, arr.ndim) if is_mask else ("array", arr, 1)
    if isinstance(item, numbers.Integral):
        return "int", operator.index(item), 1
    if isinstance(item, (list, tuple)):
        arr, is_mask = _sequence_index(item, like)
        return ("mask", arr, arr.ndim) if is_mask else ("array", arr, 1)
    raise _bad_index(item)


def _check_slice(s: slice) -> slice:
    start, stop, step = s.start, s.stop, s.step
    if step is not None:
        step = operator.index(step)
        if step <= 0:
            raise ValueError("slice step cannot be zero" if step == 0 else
                             "step must be greater than zero")
    if (start is not None and type(start) is not int) or \
            (stop is not None and type(stop) is not int):
        start = None if start is None else operator.index(start)
        stop = None if stop is None else operator.index(stop)
        return slice(start, stop, step)
    return s


def _fast_basic(shape, items, is_tuple):
    """``(NumPy key, node name)`` for keys of ints, slices, None and at most one Ellipsis;
    None for anything else (the general parser handles it, and every error)."""
    consumed = 0
    ellipsis = False
    for it in items:
        t = type(it)
        if t is int or t is slice:
            consumed += 1
        elif it is None:
            continue
        elif it is Ellipsis and not ellipsis:
            ellipsis = True
        else:
            return None
    if consumed > len(shape):
        return None
    fill = len(shape) - consumed
    dim = 0
    name = None
    for pos, it in enumerate(items):
        t = type(it)
        if t is int:
            size = shape[dim]
            if not -size <= it < size:
                raise IndexError(f"index {it} is out of bounds for dimension {pos} with size "
                                 f"{size}")
            dim += 1
            name = "select"
        elif t is slice:
            step = it.step
            if (step is not None and (type(step) is not int or step <= 0)) or \
                    (it.start is not None and type(it.start) is not int) or \
                    (it.stop is not None and type(it.stop) is not int):
                return None
            if not is_tuple or it.indices(shape[dim]) != (0, shape[dim], 1):
                name = "slice"
            dim += 1
        elif it is None:
            name = "unsqueeze"
        else:
            dim += fill
    return (items if ellipsis else items + (Ellipsis,)), name or "alias"


def parse_key(shape, key, like) -> Key:
    """Split a torch index into a NumPy basic key and advanced entries, with torch's checks.

    ``like`` is the indexed array (for the device of list indices).
    """
    t = type(key)
    if t is tuple:
        fast = _fast_basic(shape, key, True)
    elif t is slice or t is int or key is None or key is Ellipsis:
        fast = _fast_basic(shape, (key,), False)
    elif t is Tensor:  # x[idx] / x[mask]: the common advanced case
        arr = key._data
        fast = None
        if 0 < arr.ndim <= len(shape):
            if arr.dtype in INDEX_TYPES:
                return Key((Ellipsis,), [(0, arr, False)], None)
            if arr.dtype.kind == "b":
                return Key((Ellipsis,), [(0, arr, True)], None)
    else:
        fast = None
    if fast is not None:
        return Key(fast[0], None, fast[1])
    if type(key) is tuple:
        items, is_tuple = key, True
    elif type(key) is list and _list_is_tuple(key):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated "
                      "and will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. "
                      "In pytorch 2.9 this will be interpreted as tensor index, "
                      "x[torch.tensor(seq)], which will result either in an error or a "
                      "different result", UserWarning, stacklevel=3)
        items, is_tuple = tuple(key), True
    else:
        items, is_tuple = (key,), False
    norm = [_normalize(item, like) for item in items]
    ndim = len(shape)
    consumed = 0
    for n in norm:
        consumed += n[2]
    if consumed > ndim:
        if ndim == 0 and any(n[0] == "int" for n in norm):
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    fill = ndim - consumed
    basic = []
    entries = []
    name = None
    dim = vdim = 0
    for pos, (kind, value, k) in enumerate(norm):
        if kind == "int":
            size = shape[dim]
            if not -size <= value < size:
                raise IndexError(f"index {value} is out of bounds for dimension {pos} with size "
                                 f"{size}")
            basic.append(value)
            dim += 1
            name = "select"
        elif kind == "slice":
            basic.append(value)
            if not is_tuple or value.indices(shape[dim]) != (0, shape[dim], 1):
                name = "slice"
            dim += 1
            vdim += 1
        elif kind == "none":
            basic.append(None)
            vdim += 1
            name = "unsqueeze"
        elif kind == "ellipsis":
            basic.extend([ALL] * fill)
            dim += fill
            vdim += fill
            fill = 0
        elif kind == "bool":
            basic.append(None)
            entries.append((vdim, np.arange(1 if value else 0, dtype=np.int64), False))
            vdim += 1
        else:  # "array" or "mask"
            basic.extend([ALL] * k)
            entries.append((vdim, value, kind == "mask"))
            dim += k
            vdim += k
    basic.append(Ellipsis)  # makes NumPy return 0-dim arrays rather than scalars
    return Key(tuple(basic), entries, name or "alias")


# --------------------------------------------------------------------------- scatter-add

def _c_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return strides[::-1]


def linear_along(shape, dim, index):
    """Flat positions (C order, in an array of ``shape``) of ``a[(:,) * dim + (index,)]``,
    shaped like that result with ``index`` flattened."""
    xp = array_module(index)
    index = index.reshape(-1).astype(np.int64, copy=False)
    n = shape[dim]
    if index.size and int(index.min()) < 0:
        index = xp.where(index < 0, index + n, index)
    outer = int(np.prod(shape[:dim], dtype=np.int64))
    inner = int(np.prod(shape[dim + 1:], dtype=np.int64))
    lin = (xp.arange(outer).reshape(-1, 1, 1) * n + index.reshape(1, -1, 1)) * inner + \
        xp.arange(inner).reshape(1, 1, -1)
    return lin.reshape(shape[:dim] + (index.size,) + shape[dim + 1:])


def linear_mesh(shape, mesh):
    """Flat positions (C order) addressed by a tuple of broadcastable index arrays."""
    lin = None
    for m, stride in zip(mesh, _c_strides(shape)):
        term = m.astype(np.int64, copy=False) * stride if stride != 1 else \
            m.astype(np.int64, copy=False)
        lin = term if lin is None else lin + term
    return lin


def scatter_add_new(shape, dtype, lin, values):
    """A new array of ``shape`` holding ``values`` summed at flat positions ``lin``
    (duplicates accumulate); float dtypes use one vectorized bincount."""
    xp = array_module(values)
    size = int(np.prod(shape, dtype=np.int64))
    values = xp.broadcast_to(values, lin.shape).reshape(-1)
    if np.dtype(dtype).kind == "f":
        acc = xp.bincount(lin.reshape(-1), weights=values, minlength=size)
        return acc.astype(dtype, copy=False).reshape(shape)
    out = xp.zeros(size, dtype=dtype)
    ufunc_at("add", out, lin.reshape(-1), values)
    return out.reshape(shape)


def scatter_add_into(out, lin, values):
    """``out.flat[lin] += values`` (C-order positions; duplicates accumulate; any layout)."""
    out += scatter_add_new(out.shape, out.dtype, lin, values)


# --------------------------------------------------------------------------- errors

def advanced_error(view_shape, entries):
    """The IndexError torch raises for advanced entries NumPy rejected (None if none found)."""
    expanded = []  # (index array, dim size) per indexed dim, masks expanded into k arrays
    for vdim, arr, is_mask in entries:
        if is_mask:
            want = view_shape[vdim:vdim + arr.ndim]
            for j, (m, s) in enumerate(zip(arr.shape, want)):
                if m != s:
                    raise IndexError(f"The shape of the mask {list(arr.shape)} at index {j} does "
                                     "not match the shape of the indexed tensor "
                                     f"{list(view_shape)} at index {vdim + j}")
            expanded.extend(zip(array_module(arr).nonzero(arr), want))
        else:
            expanded.append((arr, view_shape[vdim]))
    try:
        shape = np.broadcast_shapes(*(a.shape for a, _ in expanded))
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a, _ in expanded)
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    if not expanded or not shape or 0 in shape:
        return None
    xp = array_module(expanded[0][0])
    bad = xp.stack([xp.broadcast_to((a < -n) | (a >= n), shape).reshape(-1)
                    for a, n in expanded])
    column = bad.any(axis=0)
    if not bool(column.any()):
        return None
    first = int(column.argmax())
    d = int(bad[:, first].argmax())
    value = int(xp.broadcast_to(expanded[d][0], shape).reshape(-1)[first])
    raise IndexError(f"index {value} is out of bounds for dimension {d} with size "
                     f"{expanded[d][1]}")


def _expand_error(a, value_shape, target_shape):
    vs = list(value_shape)
    while vs and vs[0] == 1:
        vs.pop(0)
    ts = list(target_shape)
    if len(vs) > len(ts):
        return RuntimeError(f"expand({type_name(a)}{{{vs}}}, size={ts}): the number of sizes "
                            f"provided ({len(ts)}) must be greater or equal to the number of "
                            f"dimensions in the tensor ({len(vs)})")
    for j in range(len(vs) - 1, -1, -1):
        i = j + len(ts) - len(vs)
        if vs[j] != 1 and vs[j] != ts[i]:
            return RuntimeError(f"The expanded size of the tensor ({ts[i]}) must match the "
                                f"existing size ({vs[j]}) at non-singleton dimension {i}.  "
                                f"Target sizes: {ts}.  Tensor sizes: {vs}")
    return None


def value_error(a, key, value_shape):
    """The RuntimeError for a setitem value that does not broadcast to the indexed shape."""
    view = a[key.basic]
    if key.adv is None:
        return _expand_error(a, value_shape, view.shape)
    target = view[key.adv].shape
    vs = list(value_shape)
    return RuntimeError(f"shape mismatch: value tensor of shape {vs} cannot be broadcast to "
                        f"indexing result of shape {list(target)}")


# --------------------------------------------------------------------------- checks

def legacy_name(np_dtype) -> str:
    """torch's legacy type name of a dtype: ``Float``, ``Long``..."""
    from dist_torch._dtype import from_numpy_dtype
    return _LEGACY_TYPE_NAMES[from_numpy_dtype(np_dtype).name]


def as1d(a):
    """0-dim arrays as 1-element views (the ops treat 0-dim and 1-dim alike, as torch)."""
    return a.reshape(1) if a.ndim == 0 else a


def dim_mesh(xp, index, dim):
    """Fancy-index tuple addressing ``a[i0, .., index[i], .., in]`` for every position of
    ``index``: ``a[dim_mesh(...)]`` is torch.gather."""
    ndim = index.ndim
    out = []
    for d, n in enumerate(index.shape):
        if d == dim:
            out.append(index)
        else:
            shape = [1] * ndim
            shape[d] = n
            out.append(xp.arange(n).reshape(shape))
    return tuple(out)


def prefix(shape):
    """Slices selecting the leading ``shape`` block of a larger array."""
    return tuple(slice(0, n) for n in shape)


def first_bad(index, lo, hi):
    """The first element of ``index`` outside ``[lo, hi)``, or None (cheap when all fit)."""
    if index.size == 0:
        return None
    if int(index.min()) >= lo and int(index.max()) < hi:
        return None
    flat = index.reshape(-1)
    bad = (flat < lo) | (flat >= hi)
    return int(flat[int(bad.argmax())])


def ndim1(t: Tensor) -> int:
    """The number of dims the ops see (0-dim tensors count as 1-dim)."""
    return max(t._data.ndim, 1)


def check_index_tensor(index, fname, target=None):
    """``index`` must be a Tensor, on ``target``'s device when a target is given."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{fname}(): argument 'index' must be Tensor, not "
                        f"{type(index).__name__}")
    if isinstance(target, Tensor):
        check_same_device(target, index)


_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor "
            "refer to a single memory location. Please clone() the tensor before performing the "
            "operation.")


def check_no_overlap(dst, src, allow_same=False) -> None:
    """torch refuses writes whose source shares memory with the written-to array (with
    ``allow_same``, an exact alias of it is fine, as for ``x.copy_(x)``)."""
    if type(src) is not type(dst):
        return
    xp = array_module(dst)
    if not xp.may_share_memory(dst, src):
        return
    if allow_same and dst.shape == src.shape and dst.strides == src.strides and \
            (xp is not np or dst.__array_interface__["data"] == src.__array_interface__["data"]):
        return
    if xp.shares_memory(dst, src):
        raise RuntimeError(_OVERLAP)


def refresh_view(t: Tensor) -> None:
    """Re-derive a view's history if its base was written in place since."""
    if t._base is not None and t._view_version != t._vc.value:
        t._refresh_view_history()


# --------------------------------------------------------------------------- in-place

def inplace_apply(self: Tensor, prim, *args, **params) -> Tensor:
    """Run ``prim`` (whose forward writes into input 0 and returns it) as ``self``'s new
    history: version bump, and CopySlices on the base when ``self`` is a view."""
    refresh_view(self)
    out = prim.apply(self, *args, **params)
    self._bump_version()
    if out._requires_grad:
        rebase_history(self, out)
    return self


def check_inplace(self):
    """torch's checks before any in-place write (leaf rules, overlapping memory)."""
    check_inplace_allowed(self)
    check_writable(self)


