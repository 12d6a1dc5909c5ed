"""Checks that run only on the emulated device (``-p tests.fake_cupy.plugin``): the fake
behaves as CuPy where dist_torch could go wrong, and dist_torch keeps tensors on their device
when another GPU is current (run with ``FAKE_CUPY_DEVICES=2``). Not collected by a plain
``pytest tests/`` (no ``test_`` prefix); tests/cuda/test_emulated_gpu_suites.py runs it.
"""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as torch
from dist_torch.backend import cuda as cuda_backend
from tests.fake_cupy import emulated

pytestmark = pytest.mark.skipif(not emulated(), reason="needs -p tests.fake_cupy.plugin")


@pytest.fixture
def cp():
    return cuda_backend.cupy


def test_device_arrays_refuse_the_host_as_cupy_does(cp):
    a = cp.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        np.ones(3) * a
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        np.concatenate([a, np.ones((1, 3))])
    with pytest.raises(ValueError, match="non-scalar numpy.ndarray cannot be used for fill"):
        a[...] = np.zeros((2, 3))
    with pytest.raises(TypeError, match="Wrong arguments"):
        cp.add(a, 1, where=True)
    with pytest.raises(AttributeError):
        a.resize((3, 2))  # a NumPy method CuPy lacks
    with pytest.raises(TypeError):
        range(a[0, 1])  # no __index__ on CuPy arrays
    a[cp.asarray([1])] = np.full((1, 3), 7.0)  # advanced indexing copies host values
    np.testing.assert_array_equal(a.get(), [[0, 1, 2], [7, 7, 7]])


def test_results_are_device_arrays_and_views_share_memory(cp):
    a = cp.arange(6.0).reshape(2, 3)
    total, first = a.sum(), a[0, 0]
    assert isinstance(total, cp.ndarray) and total.shape == ()
    assert isinstance(first, cp.ndarray) and float(total) == 15.0
    assert isinstance(np.exp(a), cp.ndarray)  # NumPy functions dispatch to the device
    a[1][...] = -1.0  # a view: writes through
    assert a.get()[1].tolist() == [-1.0] * 3
    a += 1
    assert float(a[0, 2]) == 3.0
    assert a.data.ptr == a[0].data.ptr != a[1].data.ptr


def test_tf32_compute_type_rounds_float32_matmul(cp):
    from cupy._core import _routines_linalg as lin
    rng = np.random.default_rng(0)
    x = cp.asarray(rng.standard_normal((8, 64)).astype(np.float32))
    y = cp.asarray(rng.standard_normal((64, 4)).astype(np.float32))
    before = lin.get_compute_type(np.float32)
    try:
        lin.set_compute_type(np.float32, lin.COMPUTE_TYPE_DEFAULT)
        full = (x @ y).get()
        lin.set_compute_type(np.float32, lin.COMPUTE_TYPE_TF32)
        reduced = (x @ y).get()
    finally:
        lin.set_compute_type(np.float32, before)
    exact = x.get().astype(np.float64) @ y.get().astype(np.float64)
    assert np.abs(full - exact).max() < 1e-4 < np.abs(reduced - exact).max() < 0.1


def _two_devices():
    if torch.cuda.device_count() < 2:
        pytest.skip("run with FAKE_CUPY_DEVICES=2")


def test_copies_go_to_the_current_device_as_in_cupy(cp):
    _two_devices()
    with cp.cuda.Device(1):
        a = cp.ones(3)
    assert a.device.id == 1 and (a * 2).device.id == 0 and a.copy().device.id == 0
    assert a[1:].device.id == 1  # a view stays where its memory is


def test_work_on_a_second_gpu_stays_there():
    """CuPy launches and allocates on the current device: dist_torch makes a tensor's GPU
    current for its ops, backward and optimizer steps, so that results stay there."""
    _two_devices()
    assert torch.cuda.current_device() == 0
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(64, 2)).to("cuda:1")
    for opt in (torch.optim.Adam(model.parameters(), lr=0.1),
                torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)):
        x = torch.randn(2, 3, 6, 6, device="cuda:1")
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1], device="cuda:1"))
        loss.backward()
        opt.step()
        opt.zero_grad()
        assert {str(t.device) for t in (x, out, loss)} == {"cuda:1"}
        state = [v for s in opt.state.values() for v in s.values()
                 if isinstance(v, torch.Tensor) and v.is_cuda]
        assert state and {str(v.device) for v in state} == {"cuda:1"}
    x = torch.ones(3, device="cuda:1", requires_grad=True)
    y = torch.nn.functional.softmax(x * 2 - 1, 0)
    y.sum().backward()
    assert y.device == x.grad.device == torch.device("cuda:1")
    assert torch.cuda.current_device() == 0
    assert x.to("cuda:0").device == torch.device("cuda:0")
