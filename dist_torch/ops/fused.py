"""Fused pointwise ops: addcmul, addcdiv and lerp, broadcasting all their operands."""

from __future__ import annotations

import warnings

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._pointwise import (
    apply_broadcasting,
    cpp_type_name,
    direct_target,
    is_integral,
    not_implemented,
    write_out,
    written,
)
from dist_torch.ops._util import cast, result_dtype, scalar_value
from dist_torch.ops.inplace import inplace

__all__ = ["addcmul", "addcdiv", "lerp"]

warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dist_torch\.ops\.fused")


def _promote_all(fname, *tensors):
    """Cast Tensors to their common result dtype (same-dtype inputs are returned as is)."""
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{fname}(): argument must be Tensor, not {type(t).__name__}")
    first = tensors[0]._data.dtype
    if all(t._data.dtype == first for t in tensors):
        return tensors, first
    np_dtype = result_dtype(*tensors).numpy_dtype
    return tuple(cast(t, np_dtype) for t in tensors), np_dtype


class Addcmul(Primitive):
    def forward(ctx, a, t1, t2, value):
        ctx.value = value
        needs = ctx.needs_input_grad
        ctx.save_for_backward(t1 if needs[2] else None, t2 if needs[1] else None)
        return a + t1 * t2 if value == 1 else a + value * (t1 * t2)

    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        needs, value = ctx.needs_input_grad, ctx.value
        g = grad if value == 1 else grad * value
        return (grad if needs[0] else None, g * t2 if needs[1] else None,
                g * t1 if needs[2] else None)


class Addcdiv(Primitive):
    def forward(ctx, a, t1, t2, value):
        ctx.value = value
        needs = ctx.needs_input_grad
        ctx.save_for_backward(t1 if needs[2] else None, t2 if needs[1] or needs[2] else None)
        return a + t1 / t2 if value == 1 else a + value * (t1 / t2)

    def backward(ctx, grad):
        t1, t2 = ctx.saved_tensors
        needs, value = ctx.needs_input_grad, ctx.value
        g = grad if value == 1 else grad * value
        return (grad if needs[0] else None, g / t2 if needs[1] else None,
                -g * t1 / (t2 * t2) if needs[2] else None)


def _fused_value(value, np_dtype):
    value = scalar_value(value)
    if np_dtype.kind in "iu":
        return int(value)
    return value


@autocast_op("addcmul")
def addcmul(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``, broadcasting all three."""
    (a, t1, t2), np_dtype = _promote_all("addcmul", input, tensor1, tensor2)
    if np_dtype.kind == "b":
        raise not_implemented("addcmul_cpu_out", np_dtype)
    result = apply_broadcasting(Addcmul, a, t1, t2, _fused_value(value, np_dtype))
    return result if out is None else write_out(out, result, "addcmul")


@autocast_op("addcdiv")
def addcdiv(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2``, broadcasting all three (floating division)."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor) and \
            is_integral(tensor1._data.dtype) and is_integral(tensor2._data.dtype):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    (a, t1, t2), np_dtype = _promote_all("addcdiv", input, tensor1, tensor2)
    result = apply_broadcasting(Addcdiv, a, t1, t2, _fused_value(value, np_dtype))
    return result if out is None else write_out(out, result, "addcdiv")


class Lerp(Primitive):
    """``start + weight * (end - start)`` with a scalar weight."""

    _name = "LerpBackward0"

    def forward(ctx, a, end, w):
        ctx.w = w
        diff = end - a
        return a + w * diff if abs(w) < 0.5 else end - diff * (1 - w)

    def backward(ctx, grad):
        needs, w = ctx.needs_input_grad, ctx.w
        return grad * (1 - w) if needs[0] else None, grad * w if needs[1] else None


class LerpTensor(Primitive):
    """``start + weight * (end - start)`` with a tensor weight."""

    _name = "LerpBackward1"

    def forward(ctx, a, end, w):
        xp = array_module(a)
        diff = end - a
        if ctx.needs_input_grad[2]:
            ctx.save_for_backward(w, diff)
        else:
            ctx.save_for_backward(w, None)
        return xp.where(xp.abs(w) < 0.5, a + w * diff, end - diff * (1 - w))

    def backward(ctx, grad):
        w, diff = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * (1 - w) if needs[0] else None, grad * w if needs[1] else None,
                grad * diff if needs[2] else None)


def lerp(input, end, weight, *, out=None) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)``; weight a number or tensor.

    ``input``, ``end`` (and a tensor ``weight``) must share one floating dtype.
    """
    np_dtype = input._data.dtype
    if end._data.dtype != np_dtype:
        raise RuntimeError(f"expected dtype {cpp_type_name(np_dtype)} for `end` but got dtype "
                           f"{cpp_type_name(end._data.dtype)}")
    if isinstance(weight, Tensor):
        if weight._data.dtype != np_dtype:
            raise RuntimeError(f"expected dtype {cpp_type_name(np_dtype)} for `weight` but got "
                               f"dtype {cpp_type_name(weight._data.dtype)}")
        if is_integral(np_dtype):
            raise not_implemented("lerp_kernel_tensor", np_dtype)
        result = apply_broadcasting(LerpTensor, input, end, weight)
    else:
        if is_integral(np_dtype):
            raise not_implemented("lerp_kernel_scalar", np_dtype)
        result = apply_broadcasting(Lerp, input, end, scalar_value(weight))
    return result if out is None else write_out(out, result, "lerp")


# --------------------------------------------------------------------------- in-place
# Optimizer updates (Adam: exp_avg.lerp_, exp_avg_sq.addcmul_, param.addcdiv_) compute straight
# into self's storage when nothing needs a gradient and all operands share self's floating
# dtype; anything else takes the recorded path of ``inplace`` (which raises torch's errors).

def _direct_operands(self, *others):
    data = direct_target(self, *others)
    if data is None or data.dtype.kind != "f":
        return None
    for t in others:
        if not isinstance(t, Tensor) or t._data.dtype != data.dtype:
            return None
    return data


def _addcmul_(self, tensor1, tensor2, *, value=1):
    data = _direct_operands(self, tensor1, tensor2)
    if data is not None:
        term = tensor1._data * tensor2._data
        if value != 1:
            term *= scalar_value(value)
        try:
            data += term
        except ValueError:  # broadcasts to a bigger shape than self's
            pass
        else:
            return written(self)
    return inplace(self, addcmul, tensor1, tensor2, value=value)


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    data = _direct_operands(self, tensor1, tensor2)
    if data is not None:
        term = tensor1._data / tensor2._data
        if value != 1:
            term *= scalar_value(value)
        try:
            data += term
        except ValueError:
            pass
        else:
            return written(self)
    return inplace(self, addcdiv, tensor1, tensor2, value=value)


def _lerp_(self, end, weight):
    if not isinstance(weight, Tensor):
        data = _direct_operands(self, end)
        if data is not None and end._data.shape == data.shape:
            w = scalar_value(weight)
            diff = end._data - data
            if abs(w) < 0.5:
                diff *= w
                data += diff
            else:
                diff *= 1 - w
                array_module(data).subtract(end._data, diff, out=data)
            return written(self)
    return inplace(self, lerp, end, weight)


bind_methods({
    "addcmul": addcmul, "addcdiv": addcdiv, "lerp": lerp, "addcmul_": _addcmul_,
    "addcdiv_": _addcdiv_, "lerp_": _lerp_,
})
