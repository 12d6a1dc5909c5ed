"""Shared pieces of weight normalization (old hook API and parametrization API)."""

from __future__ import annotations

from dist_torch.ops.linalg_norm import vector_norm


def norm_except_dim(v, dim: int):
    """The 2-norm of ``v`` over every dim but ``dim`` (kept, size 1); ``dim=-1``: the whole
    norm as a 0-dim tensor, as torch's ``norm_except_dim``."""
    if dim == -1:
        return vector_norm(v)
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return vector_norm(v, 2, dims, keepdim=True) if dims else v.abs()


def weight_norm_fn(v, g, dim: int):
    """``v * (g / ||v||)``, the norm taken as :func:`norm_except_dim`."""
    return v * (g / norm_except_dim(v, dim))
