"""hann, hamming, blackman, bartlett and kaiser windows against torch: every length from 0 to
12 (and a long one), periodic and symmetric, all floating dtypes (half types round each step as
torch does), the optional parameters, requires_grad and the errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error

NAMES = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]
TOL = {"float64": 1e-13, "float32": 2e-7, "float16": 1e-3, "bfloat16": 8e-3}


def _same(ours, theirs, tol):
    assert str(ours.dtype) == str(theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.float().numpy().astype(np.float64),
                               theirs.float().numpy().astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", sorted(TOL))
def test_windows(name, dtype):
    tol = TOL[dtype]
    if name == "kaiser_window" and dtype == "float32":
        tol = 1e-6          # i0 is computed by a different series than torch's
    for n in list(range(13)) + [64]:
        for periodic in (True, False):
            ours = getattr(dt, name)(n, periodic, dtype=getattr(dt, dtype))
            theirs = getattr(torch, name)(n, periodic, dtype=getattr(torch, dtype))
            _same(ours, theirs, tol)


def test_defaults_and_parameters():
    for name in NAMES:
        _same(getattr(dt, name)(7), getattr(torch, name)(7), 2e-7)
    _same(dt.hamming_window(9, True, 0.5, 0.3), torch.hamming_window(9, True, 0.5, 0.3), 2e-7)
    _same(dt.hamming_window(9, False, 0.6, dtype=dt.float64),
          torch.hamming_window(9, False, 0.6, dtype=torch.float64), 1e-13)
    for beta in (0.0, 3.0, -1.0, 20.0):
        _same(dt.kaiser_window(10, False, beta, dtype=dt.float64),
              torch.kaiser_window(10, False, beta, dtype=torch.float64), 1e-12)
    # torch's float32 Blackman window starts one rounding below zero
    assert dt.blackman_window(5)[0].item() == torch.blackman_window(5)[0].item() != 0


def test_requires_grad_and_device():
    w = dt.hann_window(4, dtype=dt.float64, requires_grad=True, device="cpu")
    assert w.requires_grad and w.is_leaf and w.device.type == "cpu"
    (w * dt.arange(4.0, dtype=dt.float64)).sum().backward()
    assert w.grad.tolist() == [0.0, 1.0, 2.0, 3.0]
    _same(dt.kaiser_window(3, periodic=False, beta=2.0),
          torch.kaiser_window(3, periodic=False, beta=2.0), 1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("args", [
    dict(window_length=-1), dict(window_length=4.0), dict(window_length=4, dtype="long"),
    dict(window_length=4, dtype="bool"), dict(window_length=4, dtype="int32",
                                              requires_grad=True),
])
def test_errors(name, args):
    def fn(lib):
        kw = dict(args)
        n = kw.pop("window_length")
        if "dtype" in kw:
            kw["dtype"] = getattr(lib, kw["dtype"])
        return getattr(lib, name)(n, **kw)
    assert_same_error(fn)
