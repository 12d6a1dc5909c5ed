"""Copies that move elements around: flip, roll, rot90; triangular parts (tril/triu) and
diagonal matrices (diag, diag_embed, diagflat)."""

from __future__ import annotations

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._util import wrap_dim, wrap_dims
from dist_torch.ops.inplace import inplace
from dist_torch.ops.join import write_out
from dist_torch.ops.shape import int_arg, int_tuple, sizes_arg
from dist_torch.ops.slicing import diagonal_view

__all__ = [
    "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu", "diag", "diag_embed",
    "diagflat",
]


class Flip(Primitive):
    def forward(ctx, a, dims):
        ctx.dims = dims
        return array_module(a).flip(a, dims).copy()

    def backward(ctx, grad):
        return array_module(grad).flip(grad, ctx.dims)


class Roll(Primitive):
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        xp = array_module(a)
        if dims is None:
            return xp.roll(a.reshape(-1), shifts).reshape(a.shape)
        return xp.roll(a, shifts, dims)

    def backward(ctx, grad):
        xp = array_module(grad)
        back = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        if ctx.dims is None:
            return xp.roll(grad.reshape(-1), back).reshape(grad.shape)
        return xp.roll(grad, back, ctx.dims)


class Rot90(Primitive):
    def forward(ctx, a, k, dims):
        ctx.k, ctx.dims = k, dims
        xp = array_module(a)
        d0, d1 = dims
        if k == 0:
            return a.copy()
        if k == 2:
            return xp.flip(a, dims).copy()
        # a transposed copy, with torch's (non-contiguous) strides
        return xp.flip(a, d1 if k == 1 else d0).copy().swapaxes(d0, d1)

    def backward(ctx, grad):
        return array_module(grad).rot90(grad, -ctx.k, ctx.dims)


class Tril(Primitive):
    def forward(ctx, a, diagonal):
        ctx.diagonal = diagonal
        return array_module(a).tril(a, diagonal)

    def backward(ctx, grad):
        return array_module(grad).tril(grad, ctx.diagonal)


class Triu(Primitive):
    def forward(ctx, a, diagonal):
        ctx.diagonal = diagonal
        return array_module(a).triu(a, diagonal)

    def backward(ctx, grad):
        return array_module(grad).triu(grad, ctx.diagonal)


class DiagEmbed(Primitive):
    """Matrices with the last dimension of the input on their ``offset`` diagonal."""

    def forward(ctx, a, offset, dim1, dim2):
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        xp = array_module(a)
        m = a.shape[-1] + abs(offset)
        out = xp.zeros(a.shape[:-1] + (m, m), dtype=a.dtype)
        nd = out.ndim
        diagonal_view(out, offset, nd - 2, nd - 1)[...] = a
        if (dim1, dim2) != (nd - 2, nd - 1):
            out = xp.ascontiguousarray(xp.moveaxis(out, (nd - 2, nd - 1), (dim1, dim2)))
        return out

    def backward(ctx, grad):
        return diagonal_view(grad, ctx.offset, ctx.dim1, ctx.dim2)


class DiagonalCopy(Primitive):
    """The diagonal of a matrix, as a new tensor (``torch.diag`` of a 2-D input)."""

    _name = "DiagonalBackward0_copy"

    def forward(ctx, a, offset):
        ctx.offset, ctx.in_shape = offset, a.shape
        return diagonal_view(a, offset, 0, 1).copy()

    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.in_shape, dtype=grad.dtype)
        diagonal_view(out, ctx.offset, 0, 1)[...] = grad
        return out


def flip(input: Tensor, dims) -> Tensor:
    """A copy with the order of elements reversed along ``dims`` (a sequence; the method also
    takes ``x.flip(0, 1)``).

    Example::

        >>> torch.flip(torch.tensor([[1, 2], [3, 4]]), (1,))
        tensor([[2, 1],
                [4, 3]])
    """
    if isinstance(dims, int):
        raise TypeError("flip(): argument 'dims' (position 2) must be tuple of ints, not int")
    dims = wrap_dims(int_tuple(dims, "flip", "dims"), input._data.ndim)
    return Flip.apply(input, dims=dims)


def _flip_method(self: Tensor, *dims) -> Tensor:
    return flip(self, sizes_arg(dims, "flip", "dims"))


def fliplr(input: Tensor) -> Tensor:
    """Reverse the columns (dim 1) of a tensor with at least 2 dimensions."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse the rows (dim 0) of a tensor with at least 1 dimension."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (over the flattened tensor when
    ``dims`` is None).

    Example::

        >>> torch.roll(torch.tensor([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
    """
    shifts = (shifts,) if isinstance(shifts, int) else int_tuple(shifts, "roll", "shifts")
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else int_tuple(dims, "roll", "dims")
    if not shifts:
        raise RuntimeError("`shifts` required")
    ndims = 0 if dims is None else len(dims)
    if (dims is None and len(shifts) != 1) or (dims is not None and len(shifts) != ndims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{ndims}")
    if dims is None:
        return Roll.apply(input, shifts=shifts[0], dims=None)
    ndim = input._data.ndim
    return Roll.apply(input, shifts=shifts, dims=tuple(wrap_dim(d, ndim) for d in dims))


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second."""
    dims = int_tuple(dims, "rot90", "dims")
    ndim = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {ndim}")
    if dims[0] == dims[1] or abs(dims[0] - dims[1]) == ndim:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    d0, d1 = wrap_dim(dims[0], ndim), wrap_dim(dims[1], ndim)
    return Rot90.apply(input, k=int_arg(k, "rot90", "k", 2) % 4, dims=(d0, d1))


def _triangle(op, name, input, diagonal):
    if input._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    return op.apply(input, diagonal=int_arg(diagonal, name, "diagonal", 1))


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle of the last two dims (elements above ``diagonal`` set to 0).

    Example::

        >>> torch.ones(3, 3).tril()
        tensor([[1., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
    """
    result = _triangle(Tril, "tril", input, diagonal)
    return result if out is None else write_out("tril", out, result, (input,))


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle of the last two dims (elements below ``diagonal`` set to 0)."""
    result = _triangle(Triu, "triu", input, diagonal)
    return result if out is None else write_out("triu", out, result, (input,))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) whose ``offset`` diagonal holds the
    last dimension of ``input``."""
    ndim = input._data.ndim + 1
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if input._data.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got "
                         "-1)")
    return DiagEmbed.apply(input, offset=int_arg(offset, "diag_embed", "offset", 2), dim1=d1,
                           dim2=d2)


def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """A square matrix with a 1-D ``input`` on its ``diagonal``, or the ``diagonal`` of a 2-D
    ``input`` as a 1-D copy.

    Example::

        >>> torch.diag(torch.tensor([1, 2]))
        tensor([[1, 0],
                [0, 2]])
    """
    ndim = input._data.ndim
    diagonal = int_arg(diagonal, "diag", "diagonal", 2)
    if ndim == 1:
        result = DiagEmbed.apply(input, offset=diagonal, dim1=0, dim2=1)
    elif ndim == 2:
        result = DiagonalCopy.apply(input, offset=diagonal)
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {ndim}D")
    return result if out is None else write_out("diag", out, result, (input,))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on its ``offset`` diagonal."""
    from dist_torch.ops.shape import _reshape
    flat = _reshape(input, (input._data.size,)) if input._data.ndim != 1 else input
    return DiagEmbed.apply(flat, offset=int_arg(offset, "diagflat", "offset", 2), dim1=0, dim2=1)


bind_methods({
    "flip": _flip_method, "fliplr": fliplr, "flipud": flipud, "roll": roll, "rot90": rot90,
    "tril": tril, "triu": triu, "diag": diag, "diag_embed": diag_embed, "diagflat": diagflat,
    "tril_": lambda self, diagonal=0: inplace(self, tril, diagonal),
    "triu_": lambda self, diagonal=0: inplace(self, triu, diagonal),
})
