"""Pooling: max / average / adaptive / LP pooling and max-unpooling over 1 to 3 spatial dims.

The 1-d forms run the 2-d kernels on a unit height, as torch does (same results, same
messages); the array work is in :mod:`dist_torch.ops.pooling` and :mod:`dist_torch.ops.resample`.
"""

from __future__ import annotations

import math

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op, max_pool3d_op
from dist_torch.ops import pooling as _pool
from dist_torch.ops._im2col import out_size
from dist_torch.ops._reduce import LOW_FLOATS, is_floating
from dist_torch.ops.resample import area_taps, resample_class

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
    "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
]

_WORDS = {2: "two", 3: "three"}
_SPATIAL = {2: ("H", "W"), 3: ("T", "H", "W")}


# --------------------------------------------------------------------------- argument parsing

def _check_input(input, fname):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _ints(value, fname, argname, position):
    """An int or a sequence of ints as a tuple (ints stay ints); anything else: TypeError."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be tuple of "
                    f"ints, not {type(value).__name__}")


def _expand(value, nd, message, allow_empty=False):
    if isinstance(value, int):
        return (value,) * nd
    if allow_empty and len(value) == 0:
        return None
    if len(value) == 1:
        return value * nd
    if len(value) != nd:
        raise RuntimeError(message)
    return value


def _half(k, d):
    return math.trunc(((k - 1) * d + 1) / 2)  # C++ integer division truncates toward zero


def _pool_params(fname, nd, kernel_size, stride, padding, dilation):
    """torch's parameter checks of ``max_poolNd`` / ``avg_poolNd`` (lengths first)."""
    word = _WORDS[nd]
    kernel = _expand(_ints(kernel_size, fname, "kernel_size", 2), nd,
                     f"{fname}: kernel_size must either be a single int, or a tuple of {word} "
                     "ints")
    if stride is None:
        stride = ()
    stride = _expand(_ints(stride, fname, "stride", 3), nd,
                     f"{fname}: stride must either be omitted, a single int, or a tuple of "
                     f"{word} ints", allow_empty=True) or kernel
    padding = _expand(_ints(padding, fname, "padding", 4), nd,
                      f"{fname}: padding must either be a single int, or a tuple of {word} ints")
    dilation = _expand(_ints(dilation, fname, "dilation", 5), nd,
                       f"{fname}: dilation must be either a single int, or a tuple of {word} "
                       "ints")
    return kernel, stride, padding, dilation


def _output_shape(shape, nd, kernel, stride, padding, dilation, ceil_mode):
    out = []
    for s, k, st, p, d in zip(shape[-nd:], kernel, stride, padding, dilation):
        if st == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > _half(k, d):
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
        out.append(out_size(s, k, st, p, p, d, ceil_mode))
    return out


def _shape_check(shape, nd, kernel, stride, dilation, out, padding, fname):
    names = _SPATIAL[nd]
    if any(k <= 0 for k in kernel):
        raise RuntimeError("kernel size should be greater than zero, but got " + " ".join(
            f"k{a}: {k}" for a, k in zip(names, kernel)))
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero, but got " + " ".join(
            f"d{a}: {s}" for a, s in zip(names, stride)))
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero, but got " + " ".join(
            f"dilation{a}: {d}" for a, d in zip(names, dilation)))
    lead = 1 if len(shape) == nd + 2 else 0
    empty = [i for i, s in enumerate(shape[lead:]) if s == 0]
    if empty and nd == 3:
        where = "max_pool3d_with_indices_out_cpu_template" if fname == "max_pool3d" else fname
        raise RuntimeError(f"{where}(): Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(shape)} and non-batch "
                           f"dimension {empty[0]} has length zero!")
    if empty:
        raise RuntimeError(f"Expected {nd + 1}D or {nd + 2}D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(shape)}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        if nd == 2:
            detail = (f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, "
                      f"kH = {kernel[0]}")
        else:
            detail = (f"kT: {kernel[0]} kW: {kernel[2]} kH: {kernel[1]} padT: {padding[0]} "
                      f"padW: {padding[2]} padH: {padding[1]}")
        raise RuntimeError("pad should be smaller than or equal to half of kernel size, but got "
                           + detail)
    if any(o < 1 for o in out):
        c = shape[-nd - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, (c, *shape[-nd:])))}). "
                           f"Calculated output size: ({'x'.join(map(str, (c, *out)))}). Output "
                           "size is too small")


def _not_bool(input, fname):
    if input._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{fname}\" not implemented for 'Bool'")


# --------------------------------------------------------------------------- max pooling

def _max_pool(nd, fname, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    _check_input(input, fname)
    kernel, stride, padding, dilation = _pool_params(fname, nd, kernel_size, stride, padding,
                                                     dilation)
    shape = input._data.shape
    if len(shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for "
                           "input")
    out = _output_shape(shape, nd, kernel, stride, padding, dilation, ceil_mode)
    _shape_check(shape, nd, kernel, stride, dilation, out, padding, fname)
    _not_bool(input, fname)
    cls = _pool.MaxPool if nd == 2 else _pool.MaxPool3d
    return cls.apply(input, kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                     ceil_mode=bool(ceil_mode), return_indices=bool(return_indices))


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    Args:
        kernel_size, stride (default: ``kernel_size``), padding (implicit -inf, at most half
            the dilated kernel), dilation: int or pair.
        ceil_mode: round the output size up (a last partial window, if it starts inside
            the input or its left padding).
        return_indices: also return, for every output, the flat index ``h * W + w`` of its
            maximum within the input plane (what ``max_unpool2d`` takes).

    Shape:
        ``H_out = floor((H + 2 * padding - dilation * (kH - 1) - 1) / stride + 1)``.
    """
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


@autocast_op("max_pool3d", resolve=max_pool3d_op)
def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)`` (see :func:`max_pool2d`)."""
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation,
                     ceil_mode, return_indices)


def _one(value, fname, argname, position, allow_empty=False):
    """The int of a 1-d pooling argument given as an int or a one-element sequence."""
    value = _ints(value, fname, argname, position)
    if isinstance(value, int):
        return value
    if allow_empty and len(value) == 0:
        return None
    if len(value) != 1:
        raise RuntimeError(f"{fname}() {argname} must be an int, list of ints or tuple of ints "
                           f"of size 1 but got size {len(value)}")
    return value[0]


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over ``(N, C, L)`` or ``(C, L)`` (see :func:`max_pool2d`)."""
    fname = "max_pool1d"
    _check_input(input, fname)
    shape = input._data.shape
    if len(shape) not in (2, 3) or any(s == 0 for s in shape[-2:]):
        raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(shape)}")
    k = _one(kernel_size, fname, "kernel_size", 2)
    s = _one(() if stride is None else stride, fname, "stride", 3, allow_empty=True)
    s = k if s is None else s
    p = _one(padding, fname, "padding", 4)
    d = _one(dilation, fname, "dilation", 5)
    if k <= 0:
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k}")
    if s <= 0:
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={p} and kernel_size={k}")
    if d <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {d}")
    n = out_size(shape[-1], k, s, p, p, d, ceil_mode)
    if n < 1:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {n}")
    _not_bool(input, fname)
    result = _pool.MaxPool.apply(input.unsqueeze(-2), kernel=(1, k), stride=(1, s),
                                 padding=(0, p), dilation=(1, d), ceil_mode=bool(ceil_mode),
                                 return_indices=bool(return_indices))
    if return_indices:
        return result[0].squeeze(-2), result[1].squeeze(-2)
    return result.squeeze(-2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool1d` returning ``(output, indices)``."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool2d` returning ``(output, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """:func:`max_pool3d` returning ``(output, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# --------------------------------------------------------------------------- average pooling

def _avg_pool(nd, fname, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _check_input(input, fname)
    kernel, stride, padding, _ = _pool_params(fname, nd, kernel_size, stride, padding, 1)
    shape = input._data.shape
    if len(shape) < nd + 1 and nd == 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{len(shape)}, "
                         f"{len(shape) - 1}], but got {-nd - 1})")
    if len(shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected for "
                           "input")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    ones = (1,) * nd
    if nd == 3 and all(k > 0 for k in kernel) and any(
            s + 2 * p < k for s, p, k in zip(shape[-3:], padding, kernel)):
        t, h, w = shape[-3:]
        raise RuntimeError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size (kT: "
                           f"{kernel[0]} kH: {kernel[1]} kW: {kernel[2]})")
    out = _output_shape(shape, nd, kernel, stride, padding, ones, ceil_mode)
    _shape_check(shape, nd, kernel, stride, ones, out, padding, fname)
    _not_bool(input, fname)
    cls = _pool.AvgPool if nd == 2 else _pool.AvgPool3d
    return cls.apply(input, kernel=kernel, stride=stride, padding=padding,
                     ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad),
                     divisor_override=divisor_override)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over ``(N, C, H, W)`` or ``(C, H, W)``.

    Args:
        kernel_size, stride (default: ``kernel_size``), padding (implicit zeros, at most
            half the kernel): int or pair.
        ceil_mode: round the output size up (see :func:`max_pool2d`).
        count_include_pad: count the zero padding in the divisor (windows reaching past the
            padding, in ceil mode, are clipped to it either way).
        divisor_override: divide every window sum by this instead.
    """
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


@autocast_op("avg_pool3d")
def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over ``(N, C, D, H, W)`` or ``(C, D, H, W)``."""
    return _avg_pool(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _one_of(value, fname, argname, position, allow_empty=False):
    value = _ints(value, fname, argname, position)
    if isinstance(value, int):
        return value
    if allow_empty and len(value) == 0:
        return None
    if len(value) != 1:
        raise RuntimeError(f"{fname}() argument '{argname}' should contain one int (got "
                           f"{len(value)})")
    return value[0]


def _check_1d_rank(input, fname):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor "
                           f"for argument #1 'self' (while checking arguments for {fname})")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over ``(N, C, L)`` or ``(C, L)`` (see :func:`avg_pool2d`)."""
    fname = "avg_pool1d"
    _check_input(input, fname)
    _check_1d_rank(input, fname)
    k = _one_of(kernel_size, fname, "kernel_size", 2)
    s = _one_of(() if stride is None else stride, fname, "stride", 3, allow_empty=True)
    p = _one_of(padding, fname, "padding", 4)
    out = avg_pool2d(input.unsqueeze(-2), (1, k), (1, k if s is None else s), (0, p),
                     ceil_mode, count_include_pad)
    return out.squeeze(-2)


# --------------------------------------------------------------------------- adaptive pooling

def _output_size(output_size, shape, nd, fname, message):
    if isinstance(output_size, int) and not isinstance(output_size, bool):
        sizes = [output_size] * nd
    else:
        sizes = list(output_size)
        if len(sizes) == 1 and nd > 1:
            sizes = sizes * nd
        if len(sizes) != nd:
            raise RuntimeError(message)
    return [shape[len(shape) - nd + d] if v is None else int(v) for d, v in enumerate(sizes)]


def _adaptive_checks(input, nd, fname, sep):
    shape = input._data.shape
    if len(shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fname}(): Expected {nd + 1}D or {nd + 2}D tensor, but got"
                           f"{sep}{list(shape)}")
    lead = len(shape) - nd - 1
    for i in range(lead, len(shape)):
        if shape[i] == 0:
            raise RuntimeError(f"{fname}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(shape)} with dimension "
                               f"{i} being empty")
    return shape


def _float_only(input, fname):
    if not is_floating(input._data.dtype):
        from dist_torch._dtype import from_numpy_dtype
        from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
        name = _LEGACY_TYPE_NAMES[from_numpy_dtype(input._data.dtype).name]
        raise NotImplementedError(f"\"{fname}\" not implemented for '{name}'")


def _adaptive_avg_pool(input, sizes, nd):
    """Adaptive average pooling of the last ``nd`` dims to ``sizes`` (validated)."""
    spatial = input._data.shape[-nd:]
    if all(o == 1 for o in sizes):
        return input.mean(dim=tuple(range(-nd, 0)), keepdim=True)
    if all(o > 0 and s % o == 0 for s, o in zip(spatial, sizes)):
        kernel = tuple(s // o for s, o in zip(spatial, sizes))
        cls = _pool.AdaptiveAvgPoolTiled if nd == 2 else _pool.AdaptiveAvgPoolTiled3d
        return cls.apply(input, kernel=kernel, stride=kernel, padding=(0,) * nd,
                         ceil_mode=False, count_include_pad=True, divisor_override=None)
    np_dtype = input._data.dtype
    if np_dtype in LOW_FLOATS:  # as torch: averaged in float32, rounded once
        return _adaptive_avg_pool(input.float(), sizes, nd).to(input.dtype)
    taps = tuple(area_taps(s, o, np_dtype) for s, o in zip(spatial, sizes))
    return resample_class(f"AdaptiveAvgPool{nd}DBackward0").apply(input, taps=taps)


def _adaptive_avg(nd, fname, input, output_size):
    _check_input(input, fname)
    shape = input._data.shape
    sizes = _output_size(output_size, shape, nd, fname,
                         f"{fname}: output_size must be {nd}")
    _adaptive_checks(input, nd, fname, " ")
    if any(o < 0 for o in sizes):
        raise RuntimeError(f"{fname}: elements of output_size must be greater than or equal to "
                           f"0 but received {{{', '.join(map(str, sizes))}}}")
    _float_only(input, fname)
    return _adaptive_avg_pool(input, sizes, nd)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average pooling to a fixed ``(H_out, W_out)`` (an int, or a pair whose None entries keep
    the input size); bin ``i`` spans ``[floor(i * H / H_out), ceil((i + 1) * H / H_out))``."""
    return _adaptive_avg(2, "adaptive_avg_pool2d", input, output_size)


@autocast_op("adaptive_avg_pool3d")
def adaptive_avg_pool3d(input, output_size) -> Tensor:
    """Average pooling to a fixed ``(D_out, H_out, W_out)`` (see :func:`adaptive_avg_pool2d`)."""
    return _adaptive_avg(3, "adaptive_avg_pool3d", input, output_size)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """Average pooling of ``(N, C, L)`` or ``(C, L)`` to a fixed length."""
    fname = "adaptive_avg_pool1d"
    _check_input(input, fname)
    _check_1d_rank(input, fname)
    size = _one_of(output_size, fname, "output_size", 2)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def _adaptive_max(nd, fname, input, output_size, return_indices):
    _check_input(input, fname)
    shape = input._data.shape
    sizes = _output_size(output_size, shape, nd, fname,
                         f"{fname}(): internal error: output_size.size() must be {nd}")
    _adaptive_checks(input, nd, fname, ": ")
    if any(o < 0 for o in sizes):
        neg = next(o for o in sizes if o < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {neg}: "
                           f"{[*shape[:-nd], *sizes]}")
    _float_only(input, fname)
    cls = _pool.AdaptiveMaxPool if nd == 2 else _pool.AdaptiveMaxPool3d
    return cls.apply(input, out=tuple(sizes), return_indices=bool(return_indices))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed ``(H_out, W_out)`` over torch's adaptive bins; optionally with
    the flat plane indices of the maxima."""
    return _adaptive_max(2, "adaptive_max_pool2d", input, output_size, return_indices)


@autocast_op("adaptive_max_pool3d")
def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed ``(D_out, H_out, W_out)`` (see :func:`adaptive_max_pool2d`)."""
    return _adaptive_max(3, "adaptive_max_pool3d", input, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of ``(N, C, L)`` or ``(C, L)`` to a fixed length."""
    fname = "adaptive_max_pool1d"
    _check_input(input, fname)
    _check_1d_rank(input, fname)
    size = _one_of(output_size, fname, "output_size", 2)
    result = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    if return_indices:
        return result[0].squeeze(-2), result[1].squeeze(-2)
    return result.squeeze(-2)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    return adaptive_max_pool3d(input, output_size, True)


# --------------------------------------------------------------------------- unpooling

def _unpool_size(shape, nd, kernel, stride, padding, output_size):
    default = [(shape[-nd + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(nd)]
    if output_size is None:
        return default
    sizes = list(output_size)
    if len(sizes) == nd + 2:
        sizes = sizes[2:]
    if len(sizes) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(sizes)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < sizes[d] < hi:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f"between {lo} and {hi})")
    return [int(s) for s in sizes]


def _max_unpool(nd, fname, input, indices, kernel_size, stride, padding, output_size):
    _check_input(input, fname)
    kernel = _expand(_ints(kernel_size, fname, "kernel_size", 3), nd, "")
    stride = kernel if stride is None else _expand(_ints(stride, fname, "stride", 4), nd, "")
    padding = _expand(_ints(padding, fname, "padding", 5), nd, "")
    sizes = _unpool_size(input._data.shape, nd, kernel, stride, padding, output_size)
    if indices._data.dtype.kind != "i" or indices._data.dtype.itemsize != 8:
        from dist_torch._dtype import from_numpy_dtype
        from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
        name = _LEGACY_TYPE_NAMES[from_numpy_dtype(indices._data.dtype).name]
        raise RuntimeError(f"elements in indices should be type int64 but got: {name}")
    if indices._data.shape != input._data.shape:
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input._data.shape)}) but got indices tensor with shape: "
                           f"{list(indices._data.shape)}")
    plane = math.prod(sizes)
    idx = indices._data
    if idx.size:
        bad = idx[(idx < 0) | (idx >= plane)]
        if bad.size:
            raise RuntimeError(f"Found an invalid max index: {int(bad.reshape(-1)[0])} (output "
                               f"volumes are of size {'x'.join(map(str, sizes))})")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    ind = indices.unsqueeze(0) if unbatched else indices
    cls = _pool.MaxUnpool if nd < 3 else _pool.MaxUnpool3d
    out = cls.apply(x, ind, out_shape=tuple(x._data.shape[:2]) + tuple(sizes))
    return out.squeeze(0) if unbatched else out


@autocast_op("max_unpool2d")
def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool2d`: each value goes to its ``indices`` position in
    a zero plane of size ``(H_in - 1) * stride - 2 * padding + kernel_size`` (or
    ``output_size``)."""
    return _max_unpool(2, "max_unpool2d", input, indices, kernel_size, stride, padding,
                       output_size)


@autocast_op("max_unpool3d")
def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool3d` (see :func:`max_unpool2d`)."""
    return _max_unpool(3, "max_unpool3d", input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of :func:`max_pool1d` (see :func:`max_unpool2d`)."""
    fname = "max_unpool1d"
    _check_input(input, fname)
    k = _one_of(kernel_size, fname, "kernel_size", 3)
    s = k if stride is None else _one_of(stride, fname, "stride", 4)
    p = _one_of(padding, fname, "padding", 5)
    size = None
    if output_size is not None:
        size = _unpool_size(input._data.shape, 1, (k,), (s,), (p,), output_size)
    out = max_unpool2d(input.unsqueeze(-2), indices.unsqueeze(-2), (1, k), (1, s), (0, p),
                       None if size is None else (1, size[0]))
    return out.squeeze(-2)


# --------------------------------------------------------------------------- LP pooling

def _lp(out, norm_type, window):
    return (out.sign() * out.abs()).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """``(sum over each window of x ** p) ** (1 / p)`` over ``(N, C, L)`` or ``(C, L)``."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, kernel_size)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """Power-average pooling: ``(sum over each window of x ** p) ** (1 / p)``."""
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, kh * kw)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False) -> Tensor:
    """3-D power-average pooling (see :func:`lp_pool2d`)."""
    kd, kh, kw = (kernel_size,) * 3 if isinstance(kernel_size, int) else kernel_size
    out = avg_pool3d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, kd * kh * kw)
