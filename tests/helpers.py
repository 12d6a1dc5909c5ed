"""Shared test helpers: comparisons and finite-difference gradient checks."""

from __future__ import annotations

import numpy as np

import dist_torch as dt


def to_numpy(value):
    """A NumPy array from a dist_torch tensor, a torch tensor, or array-like data."""
    if isinstance(value, dt.Tensor):
        return np.asarray(value.detach())
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_close(actual, expected, rtol=1e-6, atol=1e-8, check_dtype=True):
    """Values, shapes and (for tensors on both sides) dtypes agree."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    if check_dtype and isinstance(actual, dt.Tensor) and not isinstance(expected, (list, float,
                                                                                   int)):
        assert a.dtype == e.dtype, f"dtype {a.dtype} != expected {e.dtype}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e)
    else:
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True)


def rand(*shape, seed=0, low=-1.0, high=1.0, requires_grad=True):
    """A float64 dist_torch tensor of uniform values, for gradcheck."""
    rng = np.random.default_rng(seed)
    return dt.tensor(rng.uniform(low, high, size=shape), dtype=dt.float64,
                     requires_grad=requires_grad)


def gradcheck(fn, *inputs, **kwargs):
    """dist_torch.autograd.gradcheck that fails the test with its message."""
    assert dt.autograd.gradcheck(fn, inputs, **kwargs)
