"""Searching and counting: searchsorted, bucketize, isin, unique, unique_consecutive, bincount,
histc, histogram; unravel_index.

None of these is differentiable (torch gives them no gradient either; ``histogram``'s counts
are data, not a function of the weights' values that autograd follows). Positions come from a
vectorized binary search (one gather per halving step) that compares exactly as torch's
``lower_bound``/``upper_bound`` do, so NaN queries land at the end. Indices are int64 (int32 with
``out_int32=True``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dist_torch import _dtype, return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of, is_floating, type_name, write_out
from dist_torch.ops._util import result_dtype, to_tensor, wrap_dim

__all__ = ["searchsorted", "bucketize", "isin", "unique", "unique_consecutive", "bincount",
           "histc", "histogram", "unravel_index"]

_INT64 = np.dtype(np.int64)
_INT32 = np.dtype(np.int32)
_SS = "torch.searchsorted(): "

return_types.histogram = return_types.structseq("histogram", ("hist", "bin_edges"))


def _finish(fname, result, out):
    return result if out is None else write_out(fname, result, out)


# --------------------------------------------------------------------------- binary search

def _bound(seq, vals, right: bool, sorter=None):
    """Insertion points of ``vals (B, m)`` in the rows of ``seq (B, n)`` (int64 ``(B, m)``).

    torch's comparisons: left moves right while ``!(mid >= v)``, right while ``!(mid > v)``.
    """
    xp = array_module(seq)
    n = seq.shape[-1]
    lo = xp.zeros(vals.shape, dtype=_INT64)
    if n == 0 or vals.size == 0:
        return lo
    hi = xp.full(vals.shape, n, dtype=_INT64)
    for _ in range(n.bit_length()):
        mid = (lo + hi) // 2
        pos = xp.minimum(mid, n - 1)
        if sorter is not None:
            pos = xp.take_along_axis(sorter, pos, axis=-1)
        at = xp.take_along_axis(seq, pos, axis=-1)
        go_right = ~(at > vals) if right else ~(at >= vals)
        active = lo < hi
        lo = xp.where(active & go_right, mid + 1, lo)
        hi = xp.where(active & ~go_right, mid, hi)
    return lo


def _common(a, b):
    """Arrays of Tensors ``a`` and ``b`` in torch's common dtype."""
    np_dtype = result_dtype(a, b).numpy_dtype
    return a._data.astype(np_dtype, copy=False), b._data.astype(np_dtype, copy=False)


def _search_side(side, right):
    if side is None:
        return bool(right)
    if side not in ("left", "right"):
        raise RuntimeError(f"{_SS}side can only be 'left' or 'right' but got {side}")
    if right and side == "left":
        raise RuntimeError(f"{_SS}side and right can't be set to opposites, got side of left "
                           "while right was True")
    return side == "right"


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None, out=None) -> Tensor:
    """Indices at which ``input`` would be inserted into the innermost dim of
    ``sorted_sequence`` to keep it sorted (``right``/``side='right'``: after equal values).

    ``sorted_sequence`` is 1-D or has the leading dims of ``input``; ``sorter`` holds the
    indices that sort an unsorted sequence. Returns int64 (int32 with ``out_int32``).

    Example::

        >>> torch.searchsorted(torch.tensor([1, 3, 5, 7]), torch.tensor([3, 6]))
        tensor([1, 3])
    """
    seq_data = data_of(sorted_sequence, "searchsorted")
    is_right = _search_side(side, right)
    if seq_data.ndim == 0:
        raise RuntimeError(f"{_SS}boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    scalar = not isinstance(input, Tensor)
    values = to_tensor(input, sorted_sequence)
    if scalar and seq_data.ndim != 1:
        raise RuntimeError(f"{_SS}input value can be a scalar only when boundaries tensor "
                           f"dimension is 1, but we got boundaries tensor dim({seq_data.ndim}) "
                           "and input value's dim(0) numel(1)")
    vshape = values._data.shape
    if seq_data.ndim != 1 and (len(vshape) != seq_data.ndim or
                               vshape[:-1] != seq_data.shape[:-1]):
        raise RuntimeError(f"{_SS}boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, "
                           f"but we got boundaries tensor {list(seq_data.shape)} and input "
                           f"value tensor {list(vshape)}")
    sort_idx = None
    if sorter is not None:
        sort_idx = sorter._data
        if sort_idx.dtype != _INT64:
            raise RuntimeError(f"{_SS}sorter must be a tensor of long dtype but got dtype "
                               f"{type_name(sort_idx.dtype)}")
        if sort_idx.shape != seq_data.shape:
            raise RuntimeError(f"{_SS}boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(seq_data.shape)}and got sorter tensor "
                               f"{list(sort_idx.shape)}")
        if sort_idx.size and (int(sort_idx.min()) < 0 or
                              int(sort_idx.max()) >= seq_data.shape[-1]):
            raise RuntimeError(f"{_SS}sorter index out of range")
    seq, vals = _common(sorted_sequence, values)
    n = seq.shape[-1]
    if seq.ndim == 1:
        seq2, vals2 = seq.reshape(1, n), vals.reshape(1, -1)
        sorter2 = None if sort_idx is None else sort_idx.reshape(1, n)
    else:
        rows = int(np.prod(seq.shape[:-1], dtype=np.int64))
        seq2, vals2 = seq.reshape(rows, n), vals.reshape(rows, vshape[-1])
        sorter2 = None if sort_idx is None else sort_idx.reshape(rows, n)
    found = _bound(seq2, vals2, is_right, sorter2).reshape(vshape)
    result = _wrap(found.astype(_INT32 if out_int32 else _INT64, copy=False))
    return _finish("searchsorted", result, out)


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None) -> Tensor:
    """The bucket of each element of ``input`` given 1-D sorted ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``right``: ``boundaries[i-1] <= x <
    boundaries[i]``)."""
    bdata = data_of(boundaries, "bucketize")
    if bdata.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({bdata.ndim})")
    result = searchsorted(boundaries, input, out_int32=out_int32, right=right)
    return _finish("bucketize", result, out)


# --------------------------------------------------------------------------- isin

def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (either may be a number);
    a bool tensor of ``elements``' shape (negated with ``invert``)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    like = elements if isinstance(elements, Tensor) else test_elements
    elem, test = _common(to_tensor(elements, like), to_tensor(test_elements, like))
    xp = array_module(elem)
    flat = elem.reshape(-1)
    ordered = xp.sort(test.reshape(-1))
    if ordered.size == 0:
        found = xp.zeros(flat.shape, dtype=np.bool_)
    else:
        pos = xp.minimum(xp.searchsorted(ordered, flat), ordered.size - 1)
        found = ordered[pos] == flat
    if invert:
        found = ~found
    return _wrap(found.reshape(elem.shape))


# --------------------------------------------------------------------------- unique

def _groups(xp, keys, order, is_start):
    """values order, inverse and counts from the per-sorted-row ``is_start`` flags."""
    n = is_start.shape[0]
    firsts = xp.flatnonzero(is_start)
    inverse = xp.empty(n, dtype=_INT64)
    inverse[order] = xp.cumsum(is_start, dtype=_INT64) - 1
    counts = xp.diff(xp.concatenate([firsts, xp.asarray([n], dtype=firsts.dtype)]))
    return order[firsts], inverse, counts.astype(_INT64, copy=False)


def _unique_impl(fname, input, sort, return_inverse, return_counts, dim):
    data = data_of(input, fname)
    xp = array_module(data)
    if dim is None:
        flat = data.reshape(-1)
        n = flat.shape[0]
        order = xp.argsort(flat, kind="stable") if sort else xp.arange(n)
        keys = flat[order]
        is_start = xp.ones(n, dtype=np.bool_)
        if n:
            is_start[1:] = keys[1:] != keys[:-1]
        pick, inverse, counts = _groups(xp, keys, order, is_start)
        values = flat[pick]
        inverse = inverse.reshape(data.shape)
    else:
        d = wrap_dim(dim, data.ndim)
        moved = xp.moveaxis(data, d, 0)
        n = moved.shape[0]
        rows = moved.reshape(n, -1)
        if rows.dtype == np.bool_:
            rows = rows.astype(np.uint8)
        if sort and n and rows.shape[1]:
            # lexsort sorts by its last key first: the first column must be last
            order = xp.lexsort(rows.T[::-1])
        else:
            order = xp.arange(n)
        keys = rows[order]
        is_start = xp.ones(n, dtype=np.bool_)
        if n:
            is_start[1:] = (keys[1:] != keys[:-1]).any(axis=1) if rows.shape[1] else False
        pick, inverse, counts = _groups(xp, keys, order, is_start)
        values = xp.moveaxis(xp.take(moved, pick, axis=0), 0, d)
    result = [_wrap(xp.ascontiguousarray(values))]
    if return_inverse:
        result.append(_wrap(inverse))
    if return_counts:
        result.append(_wrap(counts))
    return result[0] if len(result) == 1 else tuple(result)


def unique(input, sorted=True, return_inverse=False, return_counts=False,  # noqa: A002
           dim=None):
    """The distinct elements of ``input`` (or distinct slices along ``dim``), sorted; with
    ``return_inverse`` the index of each input element in them, with ``return_counts`` how
    often each occurs. NaNs are all distinct, as in torch.

    Example::

        >>> torch.unique(torch.tensor([3, 1, 3]), return_counts=True)
        (tensor([1, 3]), tensor([1, 2]))
    """
    return _unique_impl("unique", input, True, return_inverse, return_counts, dim)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """``input`` with each run of equal consecutive elements (or slices along ``dim``)
    collapsed to one; inverse and counts as in :func:`unique`."""
    return _unique_impl("unique_consecutive", input, False, return_inverse, return_counts, dim)


# --------------------------------------------------------------------------- counting

def bincount(input, weights=None, minlength=0) -> Tensor:
    """How often each non-negative integer occurs in the 1-D ``input`` (the sum of
    ``weights`` at those positions when given): length ``max(input) + 1`` or ``minlength``.

    int64 without weights; float32 weights give float32, other weights float64.
    """
    data = data_of(input, "bincount")
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{type_name(data.dtype)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if data.ndim != 1 or (data.size and int(data.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = array_module(data)
    if weights is None:
        return _wrap(xp.bincount(data, minlength=minlength).astype(_INT64, copy=False))
    w = weights._data
    if w.ndim != 1 or w.shape[0] != data.shape[0]:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dtype = np.dtype(np.float32) if w.dtype == np.float32 else np.dtype(np.float64)
    if data.size == 0:  # torch returns int64 zeros here, weights or not
        return _wrap(xp.zeros(minlength, dtype=_INT64))
    counts = xp.bincount(data, weights=w.astype(np.float64), minlength=minlength)
    return _wrap(counts.astype(out_dtype, copy=False))


def _check_float(fname, data):
    if not is_floating(data.dtype):
        raise NotImplementedError(f'"{fname}" not implemented for '
                                  f"'{type_name(data.dtype)}'")


def _data_range(xp, data, lo, hi, widen):
    """torch's default range: the data's min and max; an empty one widened by ``widen``."""
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - widen, hi + widen
    return lo, hi


def _bin_of(xp, x, lo, hi, bins):
    """torch's linear bin index of each ``x`` in ``[lo, hi]`` (-1 outside), in x's dtype."""
    lo_s, hi_s = x.dtype.type(lo), x.dtype.type(hi)
    inside = (x >= lo_s) & (x <= hi_s)
    pos = ((xp.where(inside, x, lo_s) - lo_s) * bins / (hi_s - lo_s)).astype(_INT64)
    pos = xp.minimum(pos, bins - 1)
    return xp.where(inside, pos, -1)


def histc(input, bins=100, min=0, max=0, *, out=None) -> Tensor:  # noqa: A002
    """Histogram of ``input`` with ``bins`` equal-width bins over ``[min, max]`` (the data's
    range when both are 0); elements outside are ignored. Same dtype as ``input``.

    Example::

        >>> torch.histc(torch.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    data = data_of(input, "histc")
    _check_float("histogram_cpu", data)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           "dimension 0")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    xp = array_module(data)
    lo, hi = _data_range(xp, data, float(min), float(max), 1.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    pos = _bin_of(xp, data.reshape(-1), lo, hi, bins)
    counts = xp.bincount(pos[pos >= 0], minlength=bins)
    return _finish("histc", _wrap(counts.astype(data.dtype)), out)


def histogram(input, bins=100, *, range=None, weight=None, density=False,  # noqa: A002
              out=None):
    """Histogram of ``input``: ``(hist, bin_edges)`` as ``torch.return_types.histogram``.

    ``bins`` is a count of equal-width bins over ``range`` (default: the data's range) or a
    1-D tensor of increasing edges. The last bin includes its right edge; ``weight`` weighs
    each element, ``density`` normalizes the histogram to integrate to one.
    """
    data = data_of(input, "histogram")
    _check_float("histogramdd", data)
    xp = array_module(data)
    if isinstance(bins, Tensor):
        edges = bins._data.astype(data.dtype, copy=False)
        if edges.ndim != 1:
            raise RuntimeError(f"torch.histogram(): bins tensor should have one dimension, but "
                               f"got {edges.ndim} dimensions")
        nbins = edges.shape[0] - 1
        edge_t = _wrap(edges.copy())
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                               "dimension 0")
        lo, hi = (0.0, 0.0) if range is None else (float(range[0]), float(range[1]))
        if lo > hi:
            raise RuntimeError(f"torch.histogram(): min should not exceed max, but got min {lo} "
                               f"max {hi}")
        lo, hi = _data_range(xp, data, lo, hi, 0.5)
        from dist_torch._creation import linspace
        from dist_torch._dtype import from_numpy_dtype
        edge_t = linspace(lo, hi, bins + 1, dtype=from_numpy_dtype(data.dtype),
                          device=input.device)
        edges, nbins = edge_t._data, bins
    flat = data.reshape(-1)
    if nbins < 1:
        hist = xp.zeros(max(nbins, 0), dtype=data.dtype)
        return _finish("histogram", tuple.__new__(return_types.histogram,
                                                  (_wrap(hist), edge_t)), out)
    inside = (flat >= edges[0]) & (flat <= edges[-1])
    pos = _bound(edges.reshape(1, -1), flat.reshape(1, -1), True).reshape(-1) - 1
    pos = xp.minimum(pos, nbins - 1)
    w = None
    if weight is not None:
        w = weight._data.reshape(-1)[inside].astype(np.float64)
    hist = xp.bincount(pos[inside], weights=w, minlength=nbins).astype(data.dtype)
    if density:
        hist = hist / (hist.sum() * xp.diff(edges))
    return _finish("histogram", tuple.__new__(return_types.histogram, (_wrap(hist), edge_t)),
                   out)


def unravel_index(indices, shape) -> tuple:
    """The coordinates in a tensor of ``shape`` of the flat ``indices``: one int64 tensor per
    dim, each shaped as ``indices``. Indices wrap around (-1 is the last element), as in torch.

    Example::

        >>> torch.unravel_index(torch.tensor([4, 1]), (2, 3))
        (tensor([1, 0]), tensor([1, 1]))
    """
    data = data_of(indices, "unravel_index")
    if data.dtype.kind not in "iu":
        raise TypeError("expected 'indices' to be integer dtype, but got "
                        f"torch.{_dtype.from_numpy_dtype(data.dtype).name}")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    elif isinstance(shape, Sequence):
        for d in shape:
            if not isinstance(d, (int, np.integer)):
                raise TypeError(f"expected 'shape' sequence to only contain ints, but got "
                                f"{type(d)}")
        shape = tuple(int(d) for d in shape)
    else:
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    if any(d < 0 for d in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if 0 in shape and data.size:
        raise RuntimeError("ZeroDivisionError")
    xp = array_module(data)
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    flat = data.astype(_INT64)[..., None]
    coords = (flat // xp.asarray(strides, dtype=_INT64)) % xp.asarray(shape, dtype=_INT64) \
        if data.size else xp.zeros(data.shape + (len(shape),), dtype=_INT64)
    return tuple(_wrap(coords[..., k].copy()) for k in range(len(shape)))


bind_methods({
    "unique": unique, "unique_consecutive": unique_consecutive, "bincount": bincount,
    "histc": histc, "histogram": histogram,
})
