"""Elementwise arithmetic: + - * / and friends, with broadcasting and torch's promotion.

Every binary op promotes its operands first (``promote``), so forward sees arrays of the result
dtype or weak Python scalars; backward may return broadcast-shaped gradients, which the engine
sums back to each input's shape.
"""

from __future__ import annotations

from dist_torch._tensor import Tensor, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.ops._util import promote
from dist_torch.ops.inplace import inplace

__all__ = ["add", "sub", "subtract", "mul", "multiply", "neg", "negative"]


class Add(Primitive):
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return (grad if needs[0] else None,
                (grad if ctx.alpha == 1 else grad * ctx.alpha) if needs[1] else None)


class Sub(Primitive):
    def forward(ctx, a, b, alpha=1):
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        return grad if needs[0] else None, (-grad * ctx.alpha) if needs[1] else None


class Mul(Primitive):
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return a * b

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if b is not None else None), (grad * a if a is not None else None)


class Neg(Primitive):
    def forward(ctx, a):
        return -a

    def backward(ctx, grad):
        return -grad


def _binary(op, a, b, **params):
    a, b = promote(a, b)
    return op.apply(a, b, **params)


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting.

    Example::

        >>> torch.add(torch.tensor([1, 2]), 10)
        tensor([11, 12])
    """
    return _binary(Add, input, other, alpha=alpha)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    return _binary(Sub, input, other, alpha=alpha)


def mul(input, other, *, out=None) -> Tensor:
    """``input * other``, broadcasting."""
    return _binary(Mul, input, other)


def neg(input, *, out=None) -> Tensor:
    return Neg.apply(input)


subtract, multiply, negative = sub, mul, neg

bind_methods({
    "add": add, "sub": sub, "mul": mul, "neg": neg, "subtract": sub, "multiply": mul,
    "negative": neg,
    "__add__": add, "__radd__": lambda self, other: add(other, self),
    "__sub__": sub, "__rsub__": lambda self, other: sub(other, self),
    "__mul__": mul, "__rmul__": lambda self, other: mul(other, self),
    "__neg__": neg,
    "add_": lambda self, other, *, alpha=1: inplace(self, add, other, alpha=alpha),
    "sub_": lambda self, other, *, alpha=1: inplace(self, sub, other, alpha=alpha),
    "mul_": lambda self, other: inplace(self, mul, other),
    "neg_": lambda self: inplace(self, neg),
    "__iadd__": lambda self, other: inplace(self, add, other),
    "__isub__": lambda self, other: inplace(self, sub, other),
    "__imul__": lambda self, other: inplace(self, mul, other),
})
