"""Grids, products, differences and distances: meshgrid, cartesian_prod, combinations,
tril_indices, triu_indices, block_diag, kron, diff, trace, repeat_interleave, cdist, dist,
renorm, trapezoid, trapz, cumulative_trapezoid, vander.

Most are compositions of differentiable ops (views, index_select, mul, cumprod, vector_norm),
so their gradients are the composition's; block_diag is one Primitive. Index patterns
(combinations, tril/triu indices, repeats) are built without a loop over elements.
"""

from __future__ import annotations

import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module, device_of, to_device
from dist_torch.ops._reduce import data_of, type_name
from dist_torch.ops._util import cast, result_dtype, wrap_dim
from dist_torch.ops.inplace import inplace

__all__ = [
    "meshgrid", "cartesian_prod", "combinations", "tril_indices", "triu_indices", "block_diag",
    "kron", "diff", "trace", "repeat_interleave", "cdist", "dist", "renorm", "trapezoid",
    "trapz", "cumulative_trapezoid", "vander",
]

_INT64 = np.dtype(np.int64)


def _index_tensor(array, like: Tensor) -> Tensor:
    """A host int64 index array as a Tensor on ``like``'s device."""
    return _wrap(to_device(array.astype(_INT64, copy=False), device_of(like._data)))


def _check_1d(t, fname):
    if data_of(t, fname).ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


# --------------------------------------------------------------------------- grids

def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-D/1-D tensors: output ``i`` varies along dim ``i``
    (``indexing='ij'``) or, for ``'xy'``, the first two dims are swapped (Cartesian).

    Without ``indexing`` torch's default ``'ij'`` is used and a UserWarning is issued.
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass "
                      "the indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing not in ("ij", "xy"):
        raise RuntimeError('torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for t in tensors:
        if data_of(t, "meshgrid").ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t.dim()}D tensor of shape {list(t.shape)}")
    if len({t._data.dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [t._data.size for t in tensors]
    axis = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axis[0], axis[1] = 1, 0
    shape = [0] * len(tensors)
    for i, a in enumerate(axis):
        shape[a] = sizes[i]
    out = []
    for t, a in zip(tensors, axis):
        view = [1] * len(shape)
        view[a] = shape[a]
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def cartesian_prod(*tensors) -> Tensor:
    """All tuples of one element from each 1-D tensor, as rows ``(N, len(tensors))``; a
    single tensor is returned as is."""
    for t in tensors:
        _check_1d(t, "cartesian_prod")
    if len(tensors) == 1:
        return tensors[0]
    from dist_torch.ops.join import stack
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], dim=1)


def combinations(input, r=2, with_replacement=False) -> Tensor:
    """The length-``r`` combinations of the 1-D ``input``'s elements, as rows ``(N, r)``, in
    lexicographic order of positions (``itertools.combinations`` order)."""
    _check_1d(input, "combinations")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_zeros((0,))
    n = input.shape[0]
    grid = np.indices((n,) * r).reshape(r, -1)
    keep = np.ones(grid.shape[1], dtype=bool)
    for i in range(r - 1):  # r is small: one comparison per pair of adjacent positions
        keep &= grid[i] <= grid[i + 1] if with_replacement else grid[i] < grid[i + 1]
    idx = grid[:, keep].T.reshape(-1)
    return input.index_select(0, _index_tensor(idx, input)).reshape(-1, r)


def _tri_indices(fname, np_fn, row, col, offset, dtype, device):
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    np_dtype = _INT64 if dtype is None else dtype.numpy_dtype
    if np_dtype.kind not in "iu":
        raise NotImplementedError(f'"{fname}" not implemented for '
                                  f"'{type_name(np_dtype)}'")
    rows, cols = np_fn(row, offset, col)
    out = np.stack([rows, cols]).astype(np_dtype).reshape(2, -1)
    from dist_torch._device import as_device, default_or
    return _wrap(to_device(out, as_device(default_or(device))))


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The ``(2, N)`` coordinates of the lower triangle of a ``row x col`` matrix (diagonal
    ``offset``), row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The ``(2, N)`` coordinates of the upper triangle of a ``row x col`` matrix (diagonal
    ``offset``), row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


# --------------------------------------------------------------------------- block products

class BlockDiag(Primitive):
    def forward(ctx, *arrays):
        xp = array_module(arrays[0])
        ctx.blocks = [a.shape for a in arrays]
        rows = sum(s[0] for s in ctx.blocks)
        cols = sum(s[1] for s in ctx.blocks)
        out = xp.zeros((rows, cols), dtype=arrays[0].dtype)
        r = c = 0
        for a in arrays:  # one slice assignment per block
            out[r:r + a.shape[0], c:c + a.shape[1]] = a
            r, c = r + a.shape[0], c + a.shape[1]
        return out

    def backward(ctx, grad):
        grads = []
        r = c = 0
        for (h, w), need in zip(ctx.blocks, ctx.needs_input_grad):
            grads.append(grad[r:r + h, c:c + w] if need else None)
            r, c = r + h, c + w
        return tuple(grads)


def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the given 0-D, 1-D (one row) or 2-D tensors, in their
    promoted dtype."""
    if not tensors:
        from dist_torch._creation import zeros
        return zeros((1, 0))
    for i, t in enumerate(tensors):
        if data_of(t, "block_diag").ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.dim()} dimensions")
    np_dtype = result_dtype(*tensors).numpy_dtype
    mats = []
    for t in tensors:
        t = cast(t, np_dtype)
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if len(mats) == 1:
        return mats[0].clone()
    return BlockDiag.apply(*mats)


def kron(input, other, *, out=None) -> Tensor:
    """The Kronecker product: blocks ``input[i...] * other`` laid out on ``input``'s grid;
    shape ``input.shape[k] * other.shape[k]`` per dim (the shorter shape padded with ones)."""
    nd = max(input.dim(), other.dim())
    sa = (1,) * (nd - input.dim()) + tuple(input.shape)
    sb = (1,) * (nd - other.dim()) + tuple(other.shape)
    a = input.reshape([x for s in sa for x in (s, 1)])
    b = other.reshape([x for s in sb for x in (1, s)])
    result = (a * b).reshape([x * y for x, y in zip(sa, sb)])
    if out is not None:
        from dist_torch.ops._reduce import write_out
        return write_out("kron", result, out)
    return result


# --------------------------------------------------------------------------- differences

def diff(input, n=1, dim=-1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (after concatenating ``prepend`` and
    ``append``); bools give ``x[i+1] != x[i]``."""
    data = data_of(input, "diff")
    if data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, data.ndim)
    if n == 0:  # torch ignores prepend and append then
        return input
    parts = [input]
    for extra, first in ((prepend, True), (append, False)):
        if extra is None:
            continue
        if extra.dim() != data.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as "
                               "input")
        parts.insert(0, extra) if first else parts.append(extra)
    x = input
    if len(parts) > 1:
        from dist_torch.ops.join import cat
        x = cat(parts, dim=d)
    for _ in range(n):  # n is the order: a handful of steps
        size = x.shape[d]
        if size == 0:
            break
        hi, lo = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = hi.ne(lo) if x._data.dtype == np.bool_ else hi - lo
    return x


@autocast_op("trace")
def trace(input) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor (integers sum to int64)."""
    data = data_of(input, "trace")
    if data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {data.ndim}")
    if data.dtype == np.bool_:
        raise NotImplementedError("\"trace\" not implemented for 'Bool'")
    return input.diagonal().sum()


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times (an int or one count
    per element); without ``dim`` the input is flattened. ``repeat_interleave(counts)`` gives
    ``arange(len(counts))`` repeated by ``counts``.

    Example::

        >>> torch.repeat_interleave(torch.tensor([1, 2]), 2)
        tensor([1, 1, 2, 2])
    """
    if repeats is None:
        counts = input
        if data_of(counts, "repeat_interleave").ndim != 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        from dist_torch._creation import arange
        base = arange(counts.shape[0], device=counts.device)
        return repeat_interleave(base, counts, 0, output_size=output_size)
    data = data_of(input, "repeat_interleave")
    if dim is None:
        input = input.reshape(-1)
        d = 0
    else:
        d = wrap_dim(dim, data.ndim)
    size = input.shape[d] if input.dim() else 1
    xp = array_module(input._data)
    if isinstance(repeats, Tensor):
        reps = repeats._data
        if reps.dtype.kind not in "iu":
            raise NotImplementedError('"repeat_interleave_cpu" not implemented for '
                                      f"'{type_name(reps.dtype)}'")
        if reps.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if reps.size and int(reps.min()) < 0:
            raise RuntimeError("repeats can not be negative")
        if reps.ndim == 1 and reps.shape[0] not in (1, size):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {reps.shape[0]} and input.size({d}) = "
                               f"{size}")
        reps = reps.reshape(-1)
        reps = xp.broadcast_to(reps, (size,)) if reps.shape[0] == 1 else reps
    else:
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        reps = int(repeats)
    if input.dim() == 0:
        input = input.reshape(1)
    idx = xp.repeat(xp.arange(size, dtype=_INT64), reps)
    return input.index_select(d, _wrap(idx))


# --------------------------------------------------------------------------- distances

_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


@autocast_op("cdist")
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """The p-norm distance between each row of ``x1 (B..., P, M)`` and each row of
    ``x2 (B..., R, M)``: ``(B..., P, R)``, batch dims broadcast.

    For ``p=2`` with more than 25 rows on either side (or ``compute_mode=
    'use_mm_for_euclid_dist'``) it uses torch's matmul expansion ``sqrt(|a|^2 + |b|^2 - 2 a.b)``
    (clamped at 1e-30); otherwise differences are taken directly."""
    from dist_torch.ops.linalg_norm import vector_norm
    for t, name in ((x1, "X1"), (x2, "X2")):
        data = data_of(t, "cdist")
        if data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{data.ndim}D")
        if data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{type_name(data.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in _COMPUTE_MODES and compute_mode is not None:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    rows = max(x1.shape[-2], x2.shape[-2])
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode != "donot_use_mm_for_euclid_dist" and rows > 25)):
        sq = ((x1 * x1).sum(-1, keepdim=True) + (x2 * x2).sum(-1, keepdim=True).transpose(-1, -2)
              - 2 * x1.matmul(x2.transpose(-1, -2)))
        return sq.clamp_min(1e-30).sqrt()
    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


@autocast_op("dist")
def dist(input, other, p=2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast) over all elements."""
    from dist_torch.ops.linalg_norm import vector_norm
    for t in (input, other):
        if data_of(t, "dist").dtype.kind in "biu":
            raise RuntimeError(f"norm(): input dtype should be either floating point or "
                               f"complex. Got {type_name(t._data.dtype)} instead.")
    return vector_norm(input - other, p)


@autocast_op("renorm")
def renorm(input, p, dim, maxnorm) -> Tensor:
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (by ``maxnorm / (norm + 1e-7)``, as torch)."""
    from dist_torch.ops.comparison import where
    from dist_torch.ops.linalg_norm import vector_norm
    data = data_of(input, "renorm")
    if data.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {data.ndim} "
                           "dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if data.dtype.kind in "biu":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {type_name(data.dtype)}")
    d = wrap_dim(dim, data.ndim)
    others = [i for i in range(data.ndim) if i != d]
    norm = vector_norm(input, p, others, keepdim=True)
    factor = maxnorm / (norm + 1e-7)
    return where(norm > maxnorm, input * factor, input)


# --------------------------------------------------------------------------- integration

def _spacing(y, x, dim):
    """The widths between sample points along ``dim`` of ``y``: from 1-D ``x`` (reshaped to
    broadcast along ``dim``) or from ``x`` of ``y``'s rank."""
    if x.dim() == 1:
        if x.shape[0] != y.shape[dim]:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y.dim()
        shape[dim] = -1
        return diff(x).reshape(shape)
    return diff(x, dim=dim)


def _check_dx_x(fname, x, dx):
    if x is not None and dx is not None:
        raise TypeError(f"{fname}() received an invalid combination of arguments: pass x or "
                        "dx, not both")


def trapezoid(y, x=None, *, dx=None, dim=-1) -> Tensor:
    """The trapezoidal rule along ``dim``: over sample points ``x`` (1-D, or ``y``'s shape)
    or a constant spacing ``dx`` (default 1)."""
    _check_dx_x("trapezoid", x, dx)
    data = data_of(y, "trapezoid")
    d = wrap_dim(dim, data.ndim)
    n = data.shape[d] if data.ndim else 0
    if isinstance(x, Tensor):
        if n == 0:
            return (y * 0).sum(d)
        left, right = y.narrow(d, 0, n - 1), y.narrow(d, 1, n - 1)
        return ((_spacing(y, x, d) * (left + right)) * 0.5).sum(d)
    step = 1 if dx is None else dx
    if n == 0:
        return (y * 0).sum(d) * step
    ends = y.select(d, 0) + y.select(d, n - 1)
    return (y.sum(d) - ends * 0.5) * step


def trapz(y, x=None, *, dx=None, dim=-1) -> Tensor:
    """Alias of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one value fewer than ``y``)."""
    _check_dx_x("cumulative_trapezoid", x, dx)
    data = data_of(y, "cumulative_trapezoid")
    d = wrap_dim(dim, data.ndim)
    n = data.shape[d] if data.ndim else 0
    if n == 0:
        return y * 0.5
    left, right = y.narrow(d, 0, n - 1), y.narrow(d, 1, n - 1)
    if isinstance(x, Tensor):
        return ((_spacing(y, x, d) * (left + right)) / 2.0).cumsum(d)
    step = 1 if dx is None else dx
    return ((step / 2.0) * (left + right)).cumsum(d)


def vander(x, N=None, increasing=False) -> Tensor:  # noqa: N803 - torch's name
    """The Vandermonde matrix ``(len(x), N)`` of powers of 1-D ``x`` (decreasing powers
    unless ``increasing``); bools and integers give int64."""
    data = data_of(x, "vander")
    if data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = data.shape[0]
    cols = n if N is None else N
    if cols < 0:
        raise RuntimeError("N must be non-negative.")
    np_dtype = _dtype.promote_types(_dtype.from_numpy_dtype(data.dtype), _dtype.int64)
    x = cast(x, np_dtype.numpy_dtype)
    from dist_torch._creation import ones
    from dist_torch.ops.join import cat
    first = ones((n, min(cols, 1)), dtype=np_dtype, device=x.device)
    if cols > 1:
        powers = x.unsqueeze(1).expand(n, cols - 1).cumprod(1)
        result = cat([first, powers], dim=1)
    else:
        result = first
    return result if increasing else result.flip(1)


bind_methods({
    "kron": kron, "diff": diff, "trace": trace, "repeat_interleave": repeat_interleave,
    "dist": dist, "renorm": renorm,
    "renorm_": lambda self, p, dim, maxnorm: inplace(self, renorm, p, dim, maxnorm),
})
