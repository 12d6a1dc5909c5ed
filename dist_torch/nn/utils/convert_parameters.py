"""Flatten parameters into one vector and back."""

from __future__ import annotations

from dist_torch._tensor import Tensor


def parameters_to_vector(parameters) -> Tensor:
    """Concatenate the flattened parameters into one 1-D tensor (differentiable)."""
    from dist_torch.ops.join import cat
    params = list(parameters)
    device = params[0].device if params else None
    for p in params:
        if p.device != device:
            raise TypeError(f"Found two parameters on different devices, this is currently "
                            f"not supported: {device} and {p.device}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' storage."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise RuntimeError(f"vector has {vec.numel()} elements but the parameters need {total}")
    offset = 0
    for p in params:
        n = p.numel()
        p.data = vec[offset:offset + n].view_as(p).data
        offset += n
