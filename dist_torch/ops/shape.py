"""Views that rearrange a tensor's shape: view/reshape, squeeze/unsqueeze, permute/transpose,
expand/broadcast.

Every op here returns a view of its input (sharing storage and version counter), except
``reshape``/``flatten`` when the strides force a copy, as in torch. A view op's Primitive sets
``_is_view`` and defines ``view_fn(ctx, array)``, which replays the view on an array of the
input's shape (in-place writes through views and view regeneration use it).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from dist_torch import _dtype
from dist_torch._broadcast import broadcast_shapes as _broadcast_shape
from dist_torch._size import Size
from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._util import wrap_dim, wrap_dims
from dist_torch.ops.conversion import Clone
from dist_torch.ops.inplace import check_inplace_allowed

__all__ = [
    "reshape", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze", "permute", "transpose",
    "swapaxes", "swapdims", "t", "adjoint", "movedim", "moveaxis", "broadcast_to",
    "broadcast_tensors", "broadcast_shapes", "atleast_1d", "atleast_2d", "atleast_3d",
]

_VIEW_STRIDE_ERROR = (
    "view size is not compatible with input tensor's size and stride (at least one dimension "
    "spans across two contiguous subspaces). Use .reshape(...) instead.")


# ---------------------------------------------------------------------- argument parsing

def int_tuple(values, fname: str, argname: str) -> tuple:
    """A sequence of ints (Python ints, NumPy integers, one-element integer tensors)."""
    try:
        return tuple(map(operator.index, values))
    except TypeError:
        pass
    if isinstance(values, (tuple, list)):
        bad = next((v for v in values if not hasattr(v, "__index__")), values[0])
        raise TypeError(f"{fname}(): argument '{argname}' must be tuple of ints, but found "
                        f"element of type {type(bad).__name__}") from None
    raise TypeError(f"{fname}(): argument '{argname}' must be tuple of ints, not "
                    f"{type(values).__name__}")


def sizes_arg(args, fname: str, argname: str = "size") -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f(Size([2, 3]))`` all give ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return int_tuple(args, fname, argname)


def int_arg(value, fname: str, argname: str, position: int) -> int:
    if type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be int, "
                        f"not {type(value).__name__}") from None


def infer_size(shape: tuple, numel: int) -> tuple:
    """``shape`` with its one ``-1`` (if any) filled in so that it holds ``numel`` elements."""
    if -1 not in shape and math.prod(shape) == numel and (not shape or min(shape) >= 0):
        return shape
    known = 1
    infer = None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s >= 0:
            known *= s
        else:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape "
                               f"{list(shape)}")
    if infer is None:
        if known == numel:
            return shape
    elif known > 0 and numel % known == 0:
        return shape[:infer] + (numel // known,) + shape[infer + 1:]
    elif known == 0 and numel == 0:
        raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {list(shape)} "
                           "because the unspecified dimension size -1 can be any value and is "
                           "ambiguous")
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def _reshape_is_view(array, shape) -> bool:
    """Whether ``array`` can take ``shape`` without copying (torch's view compatibility)."""
    if array.flags.c_contiguous:
        return True
    if type(array) is np.ndarray:
        try:
            array.reshape(shape, copy=False)
        except ValueError:
            return False
        return True
    xp = array_module(array)
    return xp.may_share_memory(array.reshape(shape), array)


# ---------------------------------------------------------------------- primitives

class View(Primitive):
    """A reshape that shares storage (callers make sure the strides allow one)."""

    _name = "ViewBackward0"
    _is_view = True

    def forward(ctx, a, shape):
        ctx.shape, ctx.in_shape = shape, a.shape
        return a.reshape(shape)

    def view_fn(ctx, a):
        return a.reshape(ctx.shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class UnsafeView(Primitive):
    """A reshape that had to copy (``reshape`` of a tensor whose strides forbid a view)."""

    _name = "UnsafeViewBackward0"

    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)  # only called when NumPy must copy

    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape)


class Squeeze0(View):
    _name = "SqueezeBackward0"


class Squeeze1(View):
    _name = "SqueezeBackward1"


class Squeeze2(View):
    _name = "SqueezeBackward2"


class Unsqueeze(View):
    _name = "UnsqueezeBackward0"


class Permute(Primitive):
    _name = "PermuteBackward0"
    _is_view = True

    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    def view_fn(ctx, a):
        return a.transpose(ctx.dims)

    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.transpose(inverse)


class Transpose(Primitive):
    _name = "TransposeBackward0"
    _is_view = True

    def forward(ctx, a, dim0, dim1):
        ctx.dim0, ctx.dim1 = dim0, dim1
        return a.swapaxes(dim0, dim1)

    def view_fn(ctx, a):
        return a.swapaxes(ctx.dim0, ctx.dim1)

    def backward(ctx, grad):
        return grad.swapaxes(ctx.dim0, ctx.dim1)


class T(Primitive):
    _is_view = True

    def forward(ctx, a):
        return a.transpose()

    def view_fn(ctx, a):
        return a.transpose()

    def backward(ctx, grad):
        return grad.transpose()


class Expand(Primitive):
    """A broadcast view; the engine sums the gradient back to the input's shape."""

    _is_view = True

    def forward(ctx, a, shape):
        ctx.shape = shape
        return ctx.view_fn(a)

    def view_fn(ctx, a):
        if a.size == math.prod(ctx.shape):
            return a.reshape(ctx.shape)  # nothing repeats: a writable view, as in torch
        return array_module(a).broadcast_to(a, ctx.shape)

    def backward(ctx, grad):
        return grad


# ---------------------------------------------------------------------- view / reshape

def view(self: Tensor, *shape) -> Tensor:
    """A view of ``self`` with another shape (one size may be -1); shares storage.

    Raises RuntimeError when the strides of ``self`` do not allow a view (use ``reshape``).

    Example::

        >>> torch.arange(6).view(2, -1).shape
        torch.Size([2, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], _dtype.dtype):
        raise NotImplementedError("Tensor.view(dtype) is not supported")
    data = self._data
    shape = infer_size(sizes_arg(shape, "view"), data.size)
    if not data.flags.c_contiguous and not _reshape_is_view(data, shape):
        raise RuntimeError(_VIEW_STRIDE_ERROR)
    return View.apply(self, shape=shape)


def view_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.view(other.size())``."""
    return view(self, other._data.shape)


def _reshape(input: Tensor, shape: tuple) -> Tensor:
    data = input._data
    if data.flags.c_contiguous or _reshape_is_view(data, shape):
        return View.apply(input, shape=shape)
    return UnsafeView.apply(input, shape=shape)


def reshape(input: Tensor, *args, shape=None) -> Tensor:
    """``input`` with another shape (one size may be -1): a view when the strides allow one,
    else a copy.

    Example::

        >>> torch.reshape(torch.arange(6), (3, -1)).shape
        torch.Size([3, 2])
    """
    shape = sizes_arg(args if shape is None else (shape,), "reshape", "shape")
    return _reshape(input, infer_size(shape, input._data.size))


def reshape_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.reshape(other.size())``."""
    return _reshape(self, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one (a view when possible).

    Example::

        >>> torch.flatten(torch.zeros(2, 3, 4), 1).shape
        torch.Size([2, 12])
    """
    shape = input._data.shape
    ndim = len(shape)
    if ndim == 0:
        return View.apply(input, shape=(1,))
    start = wrap_dim(start_dim, ndim)
    end = wrap_dim(end_dim, ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    merged = math.prod(shape[start:end + 1])
    return _reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def ravel(input: Tensor) -> Tensor:
    """``input`` as a 1-D tensor (a view when contiguous)."""
    flat = input if input._data.flags.c_contiguous else Clone.apply(input)
    return View.apply(flat, shape=(input._data.size,))


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one may be -1); a view.

    Example::

        >>> torch.unflatten(torch.zeros(2, 12), 1, (3, -1)).shape
        torch.Size([2, 3, 4])
    """
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape))
    sizes = sizes_arg((sizes,), "unflatten", "sizes")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        filled = infer_size(sizes, shape[dim])
    except RuntimeError as err:
        if "only one dimension" in str(err):
            raise
        filled = None
    if filled is None or math.prod(filled) != shape[dim]:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shape[dim]}) in the input tensor")
    return View.apply(input, shape=shape[:dim] + filled + shape[dim + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1: all of them, or those among ``dim`` (an int or a tuple).

    Example::

        >>> torch.squeeze(torch.zeros(1, 2, 1), 0).shape
        torch.Size([2, 1])
    """
    shape = input._data.shape
    if dim is None:
        return Squeeze0.apply(input, shape=tuple(s for s in shape if s != 1))
    if isinstance(dim, (tuple, list)):
        dims = wrap_dims(dim, len(shape))
        op = Squeeze2
    else:
        dims = (wrap_dim(int_arg(dim, "squeeze", "dim", 2), len(shape)),)
        op = Squeeze1
    new = tuple(s for i, s in enumerate(shape) if s != 1 or i not in dims)
    return op.apply(input, shape=new)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (in ``[-input.dim()-1, input.dim()]``).

    Example::

        >>> torch.unsqueeze(torch.zeros(2, 3), -1).shape
        torch.Size([2, 3, 1])
    """
    shape = input._data.shape
    dim = wrap_dim(int_arg(dim, "unsqueeze", "dim", 2), len(shape) + 1)
    return Unsqueeze.apply(input, shape=shape[:dim] + (1,) + shape[dim:])


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dimension (a tuple when several are given)."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dimensions: a 1-D tensor of size n becomes (1, n)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dimensions: (n) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    return _atleast(tensors, 3)


def _atleast(tensors, n):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tensors[0]
    out = []
    for t in tensors:
        ndim = t._data.ndim
        if ndim >= n:
            out.append(t)
        elif ndim == 0:
            out.append(View.apply(t, shape=(1,) * n))
        elif n == 2 or ndim == 2:  # (k) -> (1, k) and (m, k) -> (m, k, 1)
            out.append(unsqueeze(t, 0 if ndim == 1 else 2))
        else:  # 1-D to 3-D
            out.append(unsqueeze(unsqueeze(t, 0), 2))
    return out[0] if single else tuple(out)


# ---------------------------------------------------------------------- permute / transpose

def permute(input: Tensor, *args, dims=None) -> Tensor:
    """A view with the dimensions reordered: output dim ``i`` is input dim ``dims[i]``.

    Example::

        >>> torch.zeros(2, 3, 4).permute(2, 0, 1).shape
        torch.Size([4, 2, 3])
    """
    dims = sizes_arg(args if dims is None else (dims,), "permute", "dims")
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does "
                           "not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with dimensions ``dim0`` and ``dim1`` swapped."""
    ndim = input._data.ndim
    dim0 = wrap_dim(int_arg(dim0, "transpose", "dim0", 1), ndim)
    dim1 = wrap_dim(int_arg(dim1, "transpose", "dim1", 2), ndim)
    return Transpose.apply(input, dim0=dim0, dim1=dim1)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (0-D and 1-D tensors are returned as views unchanged)."""
    ndim = input._data.ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return T.apply(input)


def adjoint(input: Tensor) -> Tensor:
    """The (conjugate) transpose of the last two dimensions, as a view."""
    ndim = input._data.ndim
    if ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {ndim}-D tensor.")
    return Transpose.apply(input, dim0=ndim - 2, dim1=ndim - 1)


def movedim(input: Tensor, source, destination) -> Tensor:
    """A view with dimensions ``source`` moved to positions ``destination`` (ints or tuples);
    the other dimensions keep their order.

    Example::

        >>> torch.movedim(torch.zeros(2, 3, 4), 0, -1).shape
        torch.Size([3, 4, 2])
    """
    src = (source,) if isinstance(source, int) else int_tuple(source, "movedim", "source")
    dst = (destination,) if isinstance(destination, int) else \
        int_tuple(destination, "movedim", "destination")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    ndim = input._data.ndim
    wsrc = [wrap_dim(d, ndim) for d in src]
    wdst = [wrap_dim(d, ndim) for d in dst]
    if len(set(wsrc)) != len(wsrc):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(wdst)) != len(wdst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    order = [d for d in range(ndim) if d not in wsrc]
    for d, s in sorted(zip(wdst, wsrc)):
        order.insert(d, s)
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


# ---------------------------------------------------------------------- expand / broadcast

def _expanded_shape(input: Tensor, sizes: tuple) -> tuple:
    shape = input._data.shape
    ndim, n = len(shape), len(sizes)
    if n < ndim:
        name = _LEGACY_TYPE_NAMES.get(input.dtype.name, input.dtype.name)
        raise RuntimeError(f"expand(torch.{name}Tensor{{{list(shape)}}}, size={list(sizes)}): "
                           f"the number of sizes provided ({n}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({ndim})")
    lead = n - ndim
    out = list(sizes)
    for i in range(n - 1, -1, -1):  # torch reports the last mismatching dimension
        s = sizes[i]
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            continue
        cur = shape[i - lead]
        if s == -1:
            out[i] = cur
        elif s != cur and (cur != 1 or s < 0):
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}")
    return tuple(out)


def expand(self: Tensor, *sizes) -> Tensor:
    """A broadcast view of ``self`` with singleton dimensions repeated to ``sizes`` (-1 keeps a
    size; new leading dimensions may be added). The result is read-only where it repeats.

    Example::

        >>> torch.tensor([[1], [2]]).expand(2, 3)
        tensor([[1, 1, 1],
                [2, 2, 2]])
    """
    shape = _expanded_shape(self, sizes_arg(sizes, "expand"))
    return Expand.apply(self, shape=shape)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """``self.expand(other.size())``."""
    return Expand.apply(self, shape=_expanded_shape(self, other._data.shape))


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input.expand(size)``."""
    return Expand.apply(input, shape=_expanded_shape(input, sizes_arg((size,), "broadcast_to")))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape (unchanged ones are returned as
    they are)."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    shape = _broadcast_shape(*(t._data.shape for t in tensors))
    return tuple(t if t._data.shape == shape else Expand.apply(t, shape=shape)
                 for t in tensors)


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` (ints or sequences) broadcast to.

    Example::

        >>> torch.broadcast_shapes((2, 1), (3,))
        torch.Size([2, 3])
    """
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for index, shape in enumerate(shapes):
        for i in range(-1, -len(shape) - 1, -1):
            size = shape[i]
            if size < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if out[i] == 1:
                out[i] = size
            elif size != 1 and size != out[i]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {size} at {i}! Mismatching "
                    f"argument at index {index} had {shape}; but expected shape should be "
                    f"broadcastable to {out}")
    return Size(out)


# ---------------------------------------------------------------------- in-place metadata ops

def _metadata_inplace(self: Tensor, op, *args) -> Tensor:
    """``self.op_(...)``: ``self`` takes the shape/strides of ``op(self, ...)``'s view."""
    check_inplace_allowed(self)
    out = op(self, *args)
    self._data = out._data
    if self._base is not None:
        self._view_fn = out._view_fn
    if out._grad_fn is not None:
        self._grad_fn, self._output_nr, self._requires_grad = out._grad_fn, 0, True
    return self


bind_methods({
    "view": view, "view_as": view_as, "reshape": reshape, "reshape_as": reshape_as,
    "flatten": flatten, "ravel": ravel, "unflatten": unflatten, "squeeze": squeeze,
    "unsqueeze": unsqueeze, "permute": permute, "transpose": transpose, "swapaxes": swapaxes,
    "swapdims": swapdims, "t": t, "adjoint": adjoint, "movedim": movedim, "moveaxis": moveaxis,
    "expand": expand, "expand_as": expand_as, "broadcast_to": broadcast_to,
    "squeeze_": lambda self, dim=None: _metadata_inplace(self, squeeze, dim),
    "unsqueeze_": lambda self, dim: _metadata_inplace(self, unsqueeze, dim),
    "t_": lambda self: _metadata_inplace(self, t),
    "transpose_": lambda self, dim0, dim1: _metadata_inplace(self, transpose, dim0, dim1),
    "swapaxes_": lambda self, axis0, axis1: _metadata_inplace(self, transpose, axis0, axis1),
    "swapdims_": lambda self, dim0, dim1: _metadata_inplace(self, transpose, dim0, dim1),
})
