"""Linear maps: linear (a fused primitive) and bilinear."""

from __future__ import annotations

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
from dist_torch.ops.linear import linear

__all__ = ["linear", "bilinear"]


def _short(t: Tensor) -> str:
    return _LEGACY_TYPE_NAMES.get(t.dtype.name, str(t.dtype)).lower()


@autocast_op("bilinear")
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``.

    Shape:
        input1 ``(*, in1)``, input2 ``(*, in2)`` (same leading dims), weight
        ``(out, in1, in2)``, bias ``(out,)`` -> output ``(*, out)``.
    """
    if not (input1.dtype == input2.dtype == weight.dtype):
        raise RuntimeError(f"All tensors must have the same dtype, got input1: "
                           f"{_short(input1)}, input2: {_short(input2)}, weight: "
                           f"{_short(weight)}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for d in range(input1.ndim - 1):
        if input1.shape[d] != input2.shape[d]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                               f"got {input1.shape[d]} and {input2.shape[d]}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D, but got {weight.ndim}-D")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_f):
        got = bias.shape[0] if bias.ndim == 1 else list(bias.shape)
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {got} but "
                           f"expected {out_f}")
    lead = tuple(input1.shape[:-1])
    # (*, in1) @ (in1, out * in2) -> (*, out, in2), then contract in2 with input2
    mixed = input1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2))
    out = (mixed.reshape(lead + (out_f, in2)) * input2.unsqueeze(-2)).sum(-1)
    if bias is not None:
        out = out + bias
    return out
