"""Differentiable primitives grouped by family; each module binds its Tensor methods."""
