"""NumPy ufunc methods that CuPy lacks or supports only for some dtypes.

CuPy 14 implements ``ufunc.at`` only for ``add`` (float16/32/64, int32, uint32, uint64),
``maximum`` and ``minimum`` (float32/64, int32, uint32, uint64), and ``ufunc.reduceat`` only
for ``add``. Ops call :func:`ufunc_at` and :func:`reduceat` instead of ``xp.<ufunc>.at`` /
``xp.<ufunc>.reduceat``: NumPy arrays go straight to NumPy, CuPy arrays to CuPy's own method
where it exists for the dtype, and otherwise to a sort-based segmented reduction written
against the array module (so that it is tested on NumPy too).
"""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch.backend import cuda

# NaN through maximum/minimum: NumPy warns, torch is silent (as the op modules' filters)
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.backend\.compat")

__all__ = ["ufunc_at", "reduceat", "segmented_at", "reduceat_by_scatter"]

_U = (np.dtype(np.int32), np.dtype(np.uint32), np.dtype(np.uint64), np.dtype(np.float32),
      np.dtype(np.float64))
_CUPY_AT = {"add": frozenset(_U + (np.dtype(np.float16),)), "maximum": frozenset(_U),
            "minimum": frozenset(_U)}
_NAMES = ("add", "multiply", "maximum", "minimum")


def ufunc_at(name: str, a, indices, values) -> None:
    """``<ufunc name>.at(a, indices, values)`` in place, for NumPy and CuPy arrays.

    ``name`` is one of ``'add'``, ``'multiply'``, ``'maximum'``, ``'minimum'``.
    """
    if name not in _NAMES:
        raise ValueError(f"ufunc_at supports {_NAMES}, not {name!r}")
    if not cuda.is_cupy_array(a):
        getattr(np, name).at(a, indices, values)
        return
    cp = cuda.cupy
    if a.dtype in _CUPY_AT.get(name, ()):
        getattr(cp, name).at(a, indices, values)
    elif name == "add" and a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        # two's-complement sums wrap the same way signed and unsigned: add as uint64
        v = cp.asarray(values).astype(a.dtype, copy=False).view(np.uint64)
        cp.add.at(a.view(np.uint64), indices, v)
    else:
        segmented_at(cp, name, a, indices, values)


def segmented_at(xp, name: str, a, indices, values) -> None:
    """``ufunc.at`` without ``ufunc.at``: sort the target positions, reduce each run of equal
    positions with a log-depth segmented scan, then combine once with ``a``.

    Exact for max/min and integer add/multiply; float add/multiply may round in another order
    than NumPy's sequential loop."""
    ufunc = getattr(xp, name)
    if a.size == 0:
        return
    lin = xp.arange(a.size, dtype=np.int64).reshape(a.shape)[indices]
    vals = xp.broadcast_to(xp.asarray(values).astype(a.dtype, copy=False), lin.shape)
    lin = lin.reshape(-1)
    if lin.size == 0:
        return
    order = xp.argsort(lin, kind="stable")
    pos = lin[order]
    acc = vals.reshape(-1)[order]
    n = pos.size
    step = 1
    while step < n:
        same = pos[step:] == pos[:-step]
        acc[step:] = xp.where(same, ufunc(acc[step:], acc[:-step]), acc[step:])
        step *= 2
    last = xp.ones(n, dtype=bool)
    last[:-1] = pos[1:] != pos[:-1]
    targets = pos[last]
    if a.ndim == 0:
        a[...] = ufunc(a, acc[last][0])
        return
    where = xp.unravel_index(targets, a.shape)
    a[where] = ufunc(a[where], acc[last])


def reduceat(name: str, a, starts, axis: int = 0):
    """``<ufunc name>.reduceat(a, starts, axis=axis)`` for NumPy and CuPy arrays."""
    if name not in _NAMES:
        raise ValueError(f"reduceat supports {_NAMES}, not {name!r}")
    if not cuda.is_cupy_array(a):
        return getattr(np, name).reduceat(a, starts, axis=axis)
    cp = cuda.cupy
    if name == "add" and a.dtype.kind in "fc":
        return cp.add.reduceat(a, starts, axis=axis)
    return reduceat_by_scatter(cp, name, a, starts, axis)


def reduceat_by_scatter(xp, name: str, a, starts, axis: int = 0):
    """``reduceat`` as a gather of each segment's rows plus :func:`ufunc_at` into the first.

    Follows NumPy's rules: segment ``i`` is ``a[starts[i]:starts[i+1]]`` (the last runs to the
    end), or just ``a[starts[i]]`` when ``starts[i] >= starts[i+1]``."""
    moved = xp.moveaxis(a, axis, 0)
    n = moved.shape[0]
    starts = xp.asarray(starts).astype(np.int64).reshape(-1)
    k = starts.size
    if k == 0:
        return xp.moveaxis(xp.empty((0,) + moved.shape[1:], dtype=a.dtype), 0, axis)
    if bool(((starts < 0) | (starts >= n)).any()):
        raise IndexError(f"index out-of-bounds in {name}.reduceat [0, {n})")
    ends = xp.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    lengths = xp.where(ends > starts, ends - starts, 1)
    offsets = xp.cumsum(lengths) - lengths
    total = int(lengths.sum())
    mark = xp.zeros(total, dtype=np.int64)
    mark[offsets[1:]] = 1
    seg = xp.cumsum(mark)
    rows = moved[starts[seg] + xp.arange(total, dtype=np.int64) - offsets[seg]]
    out = rows[offsets].copy()
    rest = xp.ones(total, dtype=bool)
    rest[offsets] = False
    if xp is np:
        getattr(np, name).at(out, seg[rest], rows[rest])
    else:
        ufunc_at(name, out, seg[rest], rows[rest])
    return xp.moveaxis(out, 0, axis)
