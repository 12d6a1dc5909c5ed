"""The fused affine map ``x @ weight.T + bias`` behind nn.Linear (one node, one GEMM each way)."""

from __future__ import annotations

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.ops._matmul import _mm
from dist_torch.ops._util import check_same_device

__all__ = []


class Linear(Primitive):
    _name = "AddmmBackward0"

    def forward(ctx, x, weight, bias=None):
        needs = ctx.needs_input_grad
        ctx.x_shape = x.shape
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        ctx.save_for_backward(x2 if needs[1] else None, weight if needs[0] else None)
        out = _mm(x2, weight.T)
        if bias is not None:
            out += bias
        if x.ndim != 2:
            out = out.reshape(*x.shape[:-1], weight.shape[0])
        return out

    def backward(ctx, grad):
        x2, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        g2 = grad.reshape(-1, grad.shape[-1]) if grad.ndim != 2 else grad
        grad_x = _mm(g2, weight).reshape(ctx.x_shape) if needs[0] else None
        grad_w = _mm(g2.T, x2) if needs[1] else None
        grad_b = g2.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return grad_x, grad_w, grad_b


@autocast_op("linear")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dimension of ``input``.

    Shape:
        input ``(*, in_features)``, weight ``(out_features, in_features)``, bias
        ``(out_features)``, output ``(*, out_features)``.
    """
    check_same_device(input, weight)
    if bias is not None:
        check_same_device(input, bias)
    x, w = input._data, weight._data
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        rows = x.size // x.shape[-1] if x.ndim and x.shape[-1] else (1 if x.ndim < 2 else 0)
        cols = x.shape[-1] if x.ndim else 1
        wt = "x".join(str(s) for s in reversed(w.shape))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{cols} and {wt})")
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != x.dtype):
        other = w.dtype if x.dtype != w.dtype else bias._data.dtype
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_short(x.dtype)} != {_short(other)}")
    if bias is not None and bias._data.shape not in ((w.shape[0],), (1,), ()):
        raise RuntimeError(
            f"The expanded size of the tensor ({w.shape[0]}) must match the existing size "
            f"({bias._data.shape[-1]}) at non-singleton dimension {max(x.ndim, 2) - 1}.  "
            f"Target sizes: {[*x.shape[:-1], w.shape[0]]}.  Tensor sizes: "
            f"{list(bias._data.shape)}")
    if x.ndim == 1:
        return Linear.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


def _short(np_dtype):
    from dist_torch._dtype import from_numpy_dtype
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16"}.get(from_numpy_dtype(np_dtype).name,
                                             from_numpy_dtype(np_dtype).name)
