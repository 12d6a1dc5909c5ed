"""Convolution and transposed convolution over 1, 2 or 3 spatial dims (im2col + one GEMM).

Forward builds the column matrix ``(C * prod(k), N * P)`` from a strided view of the padded
input (one copy) and multiplies it by the ``(O, C * prod(k))`` weight: one GEMM, or one batched
GEMM over groups. Backward reuses the saved column matrix (rebuilt from the padded input when it
is very large) for the weight gradient (one GEMM) and scatters ``weight.T @ grad`` back with
col2im (one strided add per kernel offset). A transposed convolution is the adjoint: col2im in
forward, im2col in backward.

1-D and 2-D convolutions of float32/float64 CuPy arrays build and scatter the column matrix
with the CUDA im2col/col2im kernels instead (1-D runs as height 1); the GEMMs are the same.
"""

from __future__ import annotations

import math
import warnings

from dist_torch import backend as _backend
from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module
from dist_torch.ops._im2col import col2im, im2col, out_size, pad_spatial
from dist_torch.ops._matmul import _mm
from dist_torch.ops._util import check_same_device

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

_DIM_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


# Column matrices up to this size are kept for backward; larger ones are rebuilt there.
_KEEP_COLUMNS_BYTES = 256 << 20


# --------------------------------------------------------------------------- layout helpers

def channel_major(a):
    """``(N, C, *S)`` -> contiguous ``(C, N * prod(S))``."""
    n, c = a.shape[:2]
    xp = array_module(a)
    per_sample = math.prod(a.shape[2:])
    return xp.ascontiguousarray(a.reshape(n, c, per_sample).transpose(1, 0, 2)).reshape(c, -1)


def batch_major(y, n, spatial, bias=None):
    """``(O, N * P)`` (or a ``(O, N, *S)`` view) -> contiguous ``(N, O, *spatial)`` (+ bias)."""
    xp = array_module(y)
    o = y.shape[0]
    p = math.prod(spatial)
    src = y.reshape(o, n, p).transpose(1, 0, 2)
    out = xp.empty((n, o, p), dtype=y.dtype)
    if bias is None:
        out[...] = src
    else:
        xp.add(src, bias.reshape(o, 1), out=out)
    return out.reshape((n, o) + tuple(spatial))


def _grouped_matmul(a, b, groups, transpose_a=False, transpose_b=False):
    """``a @ b`` per group: ``a`` is ``(groups * r, k)``, ``b`` is ``(groups * k', c)``."""
    with _backend.conv_gemm(a):
        return _grouped_matmul_impl(a, b, groups, transpose_a, transpose_b)


def _grouped_matmul_impl(a, b, groups, transpose_a, transpose_b):
    if groups == 1:
        return _mm(a.T if transpose_a else a, b.T if transpose_b else b)
    a3 = a.reshape(groups, -1, a.shape[-1])
    b3 = b.reshape(groups, -1, b.shape[-1])
    if transpose_a:
        a3 = a3.transpose(0, 2, 1)
    if transpose_b:
        b3 = b3.transpose(0, 2, 1)
    out = _mm(a3, b3)
    return out.reshape(-1, out.shape[-1])


def _on_kernels(x, kernel):
    """Whether a convolution of ``x`` runs on the CUDA im2col/col2im kernels (2-D; 1-D as
    height 1; float32 and float64 CuPy arrays)."""
    return len(kernel) <= 2 and x.size > 0 and _backend.use_kernels(x, "im2col")


def _as_2d(values, fill):
    return (fill,) * (2 - len(values)) + tuple(values)


def _kernel_args(x_shape, kernel, stride, pads, dilation):
    """``(pre, shape4, args)`` for the 2-D kernels, which pad symmetrically: the explicit
    ``(lo, hi)`` padding of the uneven remainder (``padding='same'`` with an even kernel), the
    4-D shape of the explicitly padded input, and ``(kernel, stride, padding, dilation)``."""
    pre = tuple((lo - min(lo, hi), hi - min(lo, hi)) for lo, hi in pads)
    spatial = tuple(s + lo + hi for s, (lo, hi) in zip(x_shape[2:], pre))
    args = (_as_2d(kernel, 1), _as_2d(stride, 1),
            _as_2d([min(lo, hi) for lo, hi in pads], 0), _as_2d(dilation, 1))
    return pre, tuple(x_shape[:2]) + _as_2d(spatial, 1), args


def _kernel_input_grad(gcol, x_shape, pre, shape4, args):
    """The input gradient from ``(C * K, N * P)`` columns with the col2im kernel."""
    gx = _backend.kernels().col2im(gcol, shape4, *args, layout="gemm")
    if any(lo or hi for lo, hi in pre):
        gx = gx.reshape(tuple(x_shape[:2]) + tuple(
            s + lo + hi for s, (lo, hi) in zip(x_shape[2:], pre)))
        crop = (slice(None), slice(None)) + tuple(
            slice(lo, lo + s) for (lo, _), s in zip(pre, x_shape[2:]))
        gx = array_module(gx).ascontiguousarray(gx[crop])
    return gx.reshape(x_shape)


# --------------------------------------------------------------------------- primitives

class Convolution(Primitive):
    """``(N, C, *S) x (O, C/g, *k) -> (N, O, *out)``; ``pads`` is ``((lo, hi), ...)``."""

    _name = "ConvolutionBackward0"

    _kernel_geometry = None  # set when forward ran the CUDA im2col kernel

    def forward(ctx, x, weight, bias=None, *, stride, pads, dilation, groups):
        n = x.shape[0]
        kernel = weight.shape[2:]
        if _on_kernels(x, kernel):
            pre, shape4, args = _kernel_args(x.shape, kernel, stride, pads, dilation)
            ctx._kernel_geometry = (pre, shape4, args)
            xpad = pad_spatial(x, pre)
            xpad = xpad if xpad.shape == shape4 else xpad.reshape(shape4)
            col = _backend.kernels().im2col(xpad, *args, layout="gemm")
            out = tuple(out_size(s, k, st, lo, hi, d) for s, k, st, (lo, hi), d
                        in zip(x.shape[2:], kernel, stride, pads, dilation))
        else:
            xpad = pad_spatial(x, pads)
            out = tuple(out_size(s, k, st, 0, 0, d)
                        for s, k, st, d in zip(xpad.shape[2:], kernel, stride, dilation))
            col = im2col(xpad, kernel, stride, dilation, out)
        w2 = weight.reshape(weight.shape[0], -1)
        y = _grouped_matmul(w2, col, groups)
        needs = ctx.needs_input_grad
        # The weight gradient needs the column matrix: keep it, unless it is big enough that
        # rebuilding it from the (prod(kernel) times smaller) padded input is the better deal.
        keep = None
        if needs[1]:
            keep = col if col.nbytes <= _KEEP_COLUMNS_BYTES else xpad
        ctx.save_for_backward(keep, weight if needs[0] else None)
        ctx.geometry = (x.shape, xpad.shape[2:], pads, kernel, stride, dilation, groups, out)
        return batch_major(y, n, out, bias)

    def backward(ctx, grad):
        col, weight = ctx.saved_tensors
        x_shape, padded, pads, kernel, stride, dilation, groups, out = ctx.geometry
        needs = ctx.needs_input_grad
        g2 = channel_major(grad)                                 # (O, N * P)
        grad_x = grad_w = grad_b = None
        on_kernels = ctx._kernel_geometry is not None
        if needs[1]:
            if col.ndim != 2 and on_kernels:                     # the padded input was kept
                col = _backend.kernels().im2col(col, *ctx._kernel_geometry[2], layout="gemm")
            elif col.ndim != 2:
                col = im2col(col, kernel, stride, dilation, out)
            grad_w = _grouped_matmul(g2, col, groups, transpose_b=True).reshape(
                grad.shape[1], -1, *kernel)
        if len(needs) > 2 and needs[2]:
            grad_b = g2.sum(axis=1)
        if needs[0]:
            w2 = weight.reshape(weight.shape[0], -1)
            gcol = _grouped_matmul(w2, g2, groups, transpose_a=True)  # (C * K, N * P)
            if on_kernels:
                return _kernel_input_grad(gcol, x_shape, *ctx._kernel_geometry), grad_w, grad_b
            n, c = x_shape[:2]
            gx = col2im(gcol, c, n, padded, kernel, stride, dilation, out)
            crop = (slice(None), slice(None)) + tuple(
                slice(lo, lo + s) for (lo, _), s in zip(pads, x_shape[2:]))
            grad_x = batch_major(gx[crop], n, x_shape[2:])
        return grad_x, grad_w, grad_b


class ConvTranspose(Primitive):
    """The adjoint of :class:`Convolution`: ``(N, Cin, *I) x (Cin, Cout/g, *k)``."""

    _name = "ConvolutionBackward0"

    _kernel_shape = None  # the 4-D output shape, when forward ran the CUDA col2im kernel

    def forward(ctx, x, weight, bias=None, *, stride, padding, output_padding, dilation,
                groups):
        n = x.shape[0]
        ins = x.shape[2:]
        kernel = weight.shape[2:]
        cout = weight.shape[1] * groups
        out = tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, s, p, d, k, op in
                    zip(ins, stride, padding, dilation, kernel, output_padding))
        # The kernels' geometry maps the output back onto exactly ``ins`` windows unless
        # output_padding >= stride (allowed when it is < dilation): those take the generic path.
        if _on_kernels(x, kernel) and all(
                out_size(o, k, s, p, p, d) == i
                for o, k, s, p, d, i in zip(out, kernel, stride, padding, dilation, ins)):
            return ctx._kernel_forward(x, weight, bias, n, cout, out, stride, padding,
                                       dilation, groups)
        full = tuple((i - 1) * s + d * (k - 1) + 1
                     for i, s, d, k in zip(ins, stride, dilation, kernel))
        canvas = tuple(max(f, p + o) for f, p, o in zip(full, padding, out))
        x2 = channel_major(x)                                    # (Cin, N * Pin)
        w2 = weight.reshape(weight.shape[0], -1)                 # (Cin, Cout/g * K)
        col = _grouped_matmul(w2, x2, groups, transpose_a=True)  # (Cout * K, N * Pin)
        y = col2im(col, cout, n, canvas, kernel, stride, dilation, ins)
        crop = (slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(padding, out))
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x2 if needs[1] else None, weight if needs[0] else None)
        ctx.geometry = (x.shape, padding, out, canvas, kernel, stride, dilation, groups)
        return batch_major(y[crop], n, out, bias)

    def backward(ctx, grad):
        x2, weight = ctx.saved_tensors
        x_shape, padding, out, canvas, kernel, stride, dilation, groups = ctx.geometry
        needs = ctx.needs_input_grad
        ins = x_shape[2:]
        if ctx._kernel_shape is not None:
            gcol = _backend.kernels().im2col(grad.reshape(ctx._kernel_shape), *ctx.kernel_args,
                                             layout="gemm")
        else:
            gpad = pad_spatial(grad, [(p, c - p - o) for p, c, o in zip(padding, canvas, out)])
            gcol = im2col(gpad, kernel, stride, dilation, ins)  # (Cout * K, N * Pin)
        grad_x = grad_w = grad_b = None
        if needs[0]:
            w2 = weight.reshape(weight.shape[0], -1)
            grad_x = batch_major(_grouped_matmul(w2, gcol, groups), x_shape[0], ins)
        if needs[1]:
            grad_w = _grouped_matmul(x2, gcol, groups, transpose_b=True).reshape(
                x_shape[1], -1, *kernel)
        if len(needs) > 2 and needs[2]:
            grad_b = grad.sum(axis=(0,) + tuple(range(2, grad.ndim)))
        return grad_x, grad_w, grad_b

    def _kernel_forward(ctx, x, weight, bias, n, cout, out, stride, padding, dilation, groups):
        kernel = weight.shape[2:]
        x2 = channel_major(x)                                    # (Cin, N * Pin)
        w2 = weight.reshape(weight.shape[0], -1)                 # (Cin, Cout/g * K)
        col = _grouped_matmul(w2, x2, groups, transpose_a=True)  # (Cout * K, N * Pin)
        ctx._kernel_shape = (n, cout) + _as_2d(out, 1)
        ctx.kernel_args = (_as_2d(kernel, 1), _as_2d(stride, 1), _as_2d(padding, 0),
                           _as_2d(dilation, 1))
        y = _backend.kernels().col2im(col, ctx._kernel_shape, *ctx.kernel_args, layout="gemm")
        y = y.reshape((n, cout) + out)
        if bias is not None:
            y += bias.reshape((cout,) + (1,) * len(out))         # y is a fresh array
        needs = ctx.needs_input_grad
        ctx.save_for_backward(x2 if needs[1] else None, weight if needs[0] else None)
        ctx.geometry = (x.shape, padding, out, None, kernel, stride, dilation, groups)
        return y


# --------------------------------------------------------------------------- argument checks

def _check_tensor(value, fname, argname, position):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument '{argname}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def _as_int_list(value, nd, fname, argname):
    """torch's ``IntArrayRef[nd]`` argument: an int (repeated) or a sequence of ints."""
    if isinstance(value, bool) or not isinstance(value, (int, tuple, list)):
        raise TypeError(f"{fname}(): argument '{argname}' must be tuple of ints, not "
                        f"{type(value).__name__}")
    if isinstance(value, int):
        return [value] * nd
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{fname}(): argument '{argname}' must be tuple of ints, but found "
                            f"element of type {type(v).__name__} at pos 0")
    return list(value)


def _fit(values, k, argname):
    """Expand a one-element list to ``k`` dims; any other length must be ``k``."""
    if len(values) == 1:
        return values * k
    if len(values) != k:
        raise RuntimeError(f"expected {argname} to be a single integer value or a list of {k} "
                           f"values to match the convolution dimensions, but got "
                           f"{argname}={values}")
    return values


def _type_name(np_dtype):
    from dist_torch._dtype import from_numpy_dtype
    return from_numpy_dtype(np_dtype).name


def _check_devices(input, weight, bias):
    check_same_device(input, weight)
    if bias is not None:
        check_same_device(input, bias)


def _check_dtypes(x, w, b):
    if x.dtype != w.dtype:
        raise RuntimeError(f"expected scalar type {_LEGACY_TYPE_NAMES[_type_name(x.dtype)]} but "
                           f"found {_LEGACY_TYPE_NAMES[_type_name(w.dtype)]}")
    if b is not None and b.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_C_NAMES[_type_name(x.dtype)]}) and bias type "
                           f"({_C_NAMES[_type_name(b.dtype)]}) should be the same")


def _sizes(values):
    return " x ".join(str(v) for v in values)


def _check_common(k, nd, stride, dilation, groups, transposed):
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        shown = [1] * (2 - k) + dilation if k < 2 else dilation  # torch runs 1-d as 2-d
        if transposed:
            names = _DIM_NAMES[len(shown)]
            raise RuntimeError("dilation should be greater than zero, but got " + ", ".join(
                f"dilation_{name}: {v}" for name, v in zip(names, shown)))
        raise RuntimeError(f"dilation should be greater than zero, but got {shown}")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


def _check_kernel(kernel):
    if all(k > 0 for k in kernel):
        return
    if len(kernel) == 3:
        raise RuntimeError("kernel size should be greater than zero, but got: "
                           f"{' x '.join(str(k) for k in kernel)} (TxHxW)")
    shown = [1] * (2 - len(kernel)) + list(kernel)
    raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                       f"{shown[0]} kernel_width: {shown[1]}")


def _check_weight_groups(w, groups, dim=0):
    if w.shape[dim] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(w.shape)} instead")
    if w.shape[dim] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(w.shape)}] instead")


def _check_bias(b, w, out_channels, transposed):
    if b is not None and (b.ndim != 1 or b.shape[0] != out_channels):
        given = "transposed=1, " if transposed else ""
        raise RuntimeError(f"Given {given}weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {out_channels} elements, but got bias of size "
                           f"{list(b.shape)} instead")


def _same_pads(kernel, dilation):
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    if any(lo != hi for lo, hi in pads):
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may "
                      "require a zero-padded copy of the input be created", UserWarning,
                      stacklevel=4)
    return pads


def _convnd(nd, fname, input, weight, bias, stride, padding, dilation, groups):
    _check_tensor(input, fname, "input", 1)
    _check_tensor(weight, fname, "weight", 2)
    _check_devices(input, weight, bias)
    x, w = input._data, weight._data
    b = None if bias is None else bias._data
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{fname}, but got input of size: {list(x.shape)}")
    stride = _as_int_list(stride, nd, fname, "stride")
    dilation = _as_int_list(dilation, nd, fname, "dilation")
    if not isinstance(padding, str):
        padding = _as_int_list(padding, nd, fname, "padding")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{fname}(): argument 'groups' must be int, not {type(groups).__name__}")
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    k = w.ndim - 2
    stride = _fit(stride, k, "stride")
    if not isinstance(padding, str):
        padding = _fit(padding, k, "padding")
    dilation = _fit(dilation, k, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = [0] * k
        elif padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        elif any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
    elif any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    _check_common(k, nd, stride, dilation, groups, False)
    batched = x.ndim == nd + 2
    xb_shape = x.shape if batched else (1,) + x.shape
    if len(xb_shape) != w.ndim:
        raise RuntimeError(f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional "
                           f"weight {list(w.shape)}, but got {len(xb_shape)}-dimensional input "
                           f"of size {list(xb_shape)} instead")
    kernel = w.shape[2:]
    _check_kernel(kernel)
    _check_weight_groups(w, groups)
    if xb_shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(xb_shape)} to have {w.shape[1] * groups} channels, but "
                           f"got {xb_shape[1]} channels instead")
    _check_bias(b, w, w.shape[0], False)
    pads = _same_pads(kernel, dilation) if padding == "same" else [(p, p) for p in padding]
    padded = [s + lo + hi for s, (lo, hi) in zip(xb_shape[2:], pads)]
    dilated = [d * (kk - 1) + 1 for d, kk in zip(dilation, kernel)]
    if any(p < kk for p, kk in zip(padded, dilated)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). "
                           f"Kernel size: ({_sizes(dilated)}). Kernel size can't be greater "
                           "than actual input size")
    _check_dtypes(x, w, b)
    if not batched:
        input = input.unsqueeze(0)
    params = dict(stride=tuple(stride), pads=tuple(pads), dilation=tuple(dilation),
                  groups=groups)
    if bias is None:
        out = Convolution.apply(input, weight, **params)
    else:
        out = Convolution.apply(input, weight, bias, **params)
    return out if batched else out.squeeze(0)


@autocast_op("conv1d")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D convolution (cross-correlation) over ``(N, C, L)`` or unbatched ``(C, L)`` input.

    Args:
        weight: ``(out_channels, in_channels / groups, kW)``.
        bias: optional ``(out_channels,)``.
        stride, padding, dilation: int or 1-tuple; ``padding`` may be ``'valid'`` or
            ``'same'`` (stride 1 only).
        groups: split input and output channels into this many independent groups.
    """
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv2d")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) over ``(N, C, H, W)`` or unbatched ``(C, H, W)``.

    Args:
        weight: ``(out_channels, in_channels / groups, kH, kW)``.
        bias: optional ``(out_channels,)``.
        stride, padding, dilation: int or pair; ``padding`` may be ``'valid'`` or ``'same'``
            (stride 1 only; odd total padding puts the extra zero on the bottom/right).
        groups: split input and output channels into this many independent groups.

    Shape:
        output ``(N, out_channels, H_out, W_out)`` with
        ``H_out = (H + 2 * padding - dilation * (kH - 1) - 1) // stride + 1``.

    Example::

        >>> F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)).shape
        torch.Size([1, 1, 2, 2])
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


@autocast_op("conv3d")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-D convolution over ``(N, C, D, H, W)`` or unbatched ``(C, D, H, W)`` input."""
    return _convnd(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(nd, fname, input, weight, bias, stride, padding, output_padding, groups,
                      dilation):
    _check_tensor(input, fname, "input", 1)
    _check_tensor(weight, fname, "weight", 2)
    _check_devices(input, weight, bias)
    x, w = input._data, weight._data
    b = None if bias is None else bias._data
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{fname}, but got input of size: {list(x.shape)}")
    stride = _as_int_list(stride, nd, fname, "stride")
    padding = _as_int_list(padding, nd, fname, "padding")
    output_padding = _as_int_list(output_padding, nd, fname, "output_padding")
    dilation = _as_int_list(dilation, nd, fname, "dilation")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{fname}(): argument 'groups' must be int, not {type(groups).__name__}")
    if w.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    k = w.ndim - 2
    stride = _fit(stride, k, "stride")
    padding = _fit(padding, k, "padding")
    dilation = _fit(dilation, k, "dilation")
    output_padding = _fit(output_padding, k, "output_padding")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    _check_common(k, nd, stride, dilation, groups, True)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        shown = ([0] * (2 - k) + output_padding, [1] * (2 - k) + stride,
                 [1] * (2 - k) + dilation) if k < 2 else (output_padding, stride, dilation)
        names = _DIM_NAMES[len(shown[0])]
        parts = [f"{label}_{name}: {v}" for label, values in
                 zip(("output_padding", "stride", "dilation"), shown)
                 for name, v in zip(names, values)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           "got " + " ".join(parts))
    batched = x.ndim == nd + 2
    xb_shape = x.shape if batched else (1,) + x.shape
    if len(xb_shape) != w.ndim:
        raise RuntimeError(f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional "
                           f"weight {list(w.shape)}, but got {len(xb_shape)}-dimensional input "
                           f"of size {list(xb_shape)} instead")
    kernel = w.shape[2:]
    _check_kernel(kernel)
    _check_weight_groups(w, groups)
    if xb_shape[1] != w.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                           f"input{list(xb_shape)} to have {w.shape[0]} channels, but got "
                           f"{xb_shape[1]} channels instead")
    _check_bias(b, w, w.shape[1] * groups, True)
    out = [(i - 1) * s - 2 * p + d * (kk - 1) + op + 1 for i, s, p, d, kk, op in
           zip(xb_shape[2:], stride, padding, dilation, kernel, output_padding)]
    if any(o <= 0 for o in out):
        ins = list(xb_shape[2:])
        if k < 2:
            ins, out = [1] * (2 - k) + ins, [1] * (2 - k) + out
        raise RuntimeError(f"Given input size per channel: ({_sizes(ins)}). Calculated output "
                           f"size per channel: ({_sizes(out)}). Output size is too small")
    _check_dtypes(x, w, b)
    if not batched:
        input = input.unsqueeze(0)
    params = dict(stride=tuple(stride), padding=tuple(padding),
                  output_padding=tuple(output_padding), dilation=tuple(dilation), groups=groups)
    if bias is None:
        result = ConvTranspose.apply(input, weight, **params)
    else:
        result = ConvTranspose.apply(input, weight, bias, **params)
    return result if batched else result.squeeze(0)


@autocast_op("conv_transpose1d")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """1-D transposed convolution ("deconvolution") over ``(N, C_in, L)`` or ``(C_in, L)``.

    ``weight`` is ``(in_channels, out_channels / groups, kW)``; the output length is
    ``(L - 1) * stride - 2 * padding + dilation * (kW - 1) + output_padding + 1``.
    """
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution"), the gradient of conv2d w.r.t. its input.

    Args:
        weight: ``(in_channels, out_channels / groups, kH, kW)``.
        output_padding: extra size added to one side of each output dim (< stride or
            dilation), to pick among the input sizes a strided conv2d maps to the same size.

    Shape:
        ``H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1``.
    """
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


@autocast_op("conv_transpose3d")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """3-D transposed convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``."""
    return _conv_transposend(3, "conv_transpose3d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)
