"""Asking for CUDA where there is none gives one clear error, and mixing devices gives torch's
'Expected all tensors to be on the same device' error.

The no-GPU tests skip on a machine with a GPU. No CUDA tensor can exist without a GPU, so the
device-mismatch tests put a stand-in array that reports ``cuda:N`` into a Tensor.
"""

from __future__ import annotations

import traceback

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import backend
from dist_torch._device import device
from dist_torch._tensor import _wrap
from dist_torch.backend import cuda as cuda_backend
from dist_torch.ops import _util

no_gpu = pytest.mark.skipif(cuda_backend.available(), reason="checks the errors seen without "
                                                               "a GPU")


def _assert_clear_cuda_error(excinfo):
    """One error, raised by dist_torch itself, that says CUDA is missing and why."""
    err = excinfo.value
    assert isinstance(err, RuntimeError) and isinstance(err, AssertionError)
    message = str(err)
    assert message.startswith("CUDA is not available for ")
    assert "CuPy is not installed" in message or "no CUDA GPU is visible" in message
    last = traceback.extract_tb(err.__traceback__)[-1]
    assert last.filename.replace("\\", "/").endswith("dist_torch/backend/cuda.py")
    assert err.__cause__ is None and err.__context__ is None


CREATION = {
    "zeros": lambda d: torch.zeros(2, 3, device=d),
    "ones": lambda d: torch.ones(2, device=d),
    "empty": lambda d: torch.empty(2, device=d),
    "full": lambda d: torch.full((2,), 1.5, device=d),
    "arange": lambda d: torch.arange(4, device=d),
    "linspace": lambda d: torch.linspace(0, 1, 5, device=d),
    "eye": lambda d: torch.eye(3, device=d),
    "tensor": lambda d: torch.tensor([1.0, 2.0], device=d),
    "as_tensor": lambda d: torch.as_tensor([1.0, 2.0], device=d),
    "scalar_tensor": lambda d: torch.scalar_tensor(1.0, device=d),
    "rand": lambda d: torch.rand(2, device=d),
    "randn": lambda d: torch.randn(2, device=d),
    "randint": lambda d: torch.randint(0, 5, (2,), device=d),
    "randperm": lambda d: torch.randperm(4, device=d),
    "normal": lambda d: torch.normal(0.0, 1.0, (2,), device=d),
    "zeros_like": lambda d: torch.zeros_like(torch.ones(2), device=d),
    "ones_like": lambda d: torch.ones_like(torch.ones(2), device=d),
    "empty_like": lambda d: torch.empty_like(torch.ones(2), device=d),
    "full_like": lambda d: torch.full_like(torch.ones(2), 3.0, device=d),
    "rand_like": lambda d: torch.rand_like(torch.ones(2), device=d),
    "randn_like": lambda d: torch.randn_like(torch.ones(2), device=d),
    "randint_like": lambda d: torch.randint_like(torch.ones(2), 5, device=d),
    "new_zeros": lambda d: torch.ones(2).new_zeros((2,), device=d),
}
DEVICES = ["cuda", "cuda:0", "cuda:1", device("cuda"), device("cuda", 1)]


@no_gpu
@pytest.mark.parametrize("name", sorted(CREATION))
@pytest.mark.parametrize("dev", DEVICES, ids=str)
def test_creation_on_cuda_raises_one_clear_error(name, dev):
    with pytest.raises(RuntimeError) as excinfo:
        CREATION[name](dev)
    _assert_clear_cuda_error(excinfo)


MOVES = {
    "to('cuda')": lambda t: t.to("cuda"),
    "to('cuda:1')": lambda t: t.to("cuda:1"),
    "to(device)": lambda t: t.to(device("cuda", 0)),
    "to(device=, dtype=)": lambda t: t.to(device="cuda", dtype=torch.float64),
    "to(cuda, dtype)": lambda t: t.to("cuda", torch.float16),
    "cuda()": lambda t: t.cuda(),
    "cuda(1)": lambda t: t.cuda(1),
    "cuda(device)": lambda t: t.cuda(device("cuda:0")),
}


@no_gpu
@pytest.mark.parametrize("name", list(MOVES))
def test_moving_a_tensor_to_cuda_raises_one_clear_error(name):
    t = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as excinfo:
        MOVES[name](t)
    _assert_clear_cuda_error(excinfo)
    assert t.device == device("cpu")


@no_gpu
@pytest.mark.parametrize("move", [lambda m: m.to("cuda"), lambda m: m.cuda(),
                                  lambda m: m.to(device("cuda:1")), lambda m: m.cuda(0)],
                         ids=["to('cuda')", "cuda()", "to(cuda:1)", "cuda(0)"])
def test_moving_a_module_to_cuda_raises_and_leaves_it_on_cpu(move):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    with pytest.raises(RuntimeError) as excinfo:
        move(model)
    _assert_clear_cuda_error(excinfo)
    assert {p.device for p in model.parameters()} == {device("cpu")}
    assert {b.device for b in model.buffers()} == {device("cpu")}


def test_cuda_device_objects_need_no_gpu():
    assert str(torch.device("cuda")) == "cuda" and torch.device("cuda").index is None
    d = torch.device("cuda:1")
    assert (d.type, d.index, str(d), repr(d)) == ("cuda", 1, "cuda:1",
                                                  "device(type='cuda', index=1)")
    assert torch.device("cuda", 1) == d == "cuda:1"


def test_cpu_moves_stay_cheap_and_work():
    t = torch.ones(3)
    assert t.cpu() is t and t.to("cpu") is t
    model = torch.nn.Linear(2, 2)
    assert model.cpu() is model and model.to("cpu") is model


@no_gpu
def test_the_error_says_when_cupy_is_missing(monkeypatch):
    monkeypatch.setattr(cuda_backend, "cupy", None)
    monkeypatch.setattr(cuda_backend, "_available", None)
    monkeypatch.setattr(cuda_backend, "_reason", "")
    with pytest.raises(RuntimeError) as excinfo:
        torch.zeros(1, device="cuda")
    _assert_clear_cuda_error(excinfo)
    assert "CuPy is not installed (pip install dist_torch[cuda])" in str(excinfo.value)
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0


@no_gpu
def test_the_error_is_caught_by_either_torch_except_clause():
    with pytest.raises(AssertionError):  # what a CPU-only torch build raises
        torch.ones(1).cuda()
    with pytest.raises(RuntimeError):  # what a CUDA build without a GPU raises
        torch.ones(1).cuda()


# ----------------------------------------------------------------------------- device mismatch

class _FakeCudaArray:
    """Stands for a CuPy array on ``cuda:index``: shape/dtype only, no data access."""

    def __init__(self, array, index=0):
        self.array, self.index = np.asarray(array), index

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: self.array.size)


@pytest.fixture
def fake_cuda(monkeypatch):
    """Make ``backend.device_of`` report ``cuda:N`` for stand-in arrays, everywhere it is used."""
    import sys
    original = backend.device_of

    def device_of(array):
        return device("cuda", array.index) if isinstance(array, _FakeCudaArray) \
            else original(array)
    for name, module in list(sys.modules.items()):
        if name.startswith("dist_torch") and getattr(module, "device_of", None) is original:
            monkeypatch.setattr(module, "device_of", device_of)

    def make(values, index=0, dtype=np.float32):
        return _wrap(_FakeCudaArray(np.asarray(values, dtype=dtype), index))
    return make


def _mismatch(a, b):
    return ("Expected all tensors to be on the same device, but found at least two devices, "
            f"{a} and {b}!")


def test_checker_names_both_devices(fake_cuda):
    g, c = fake_cuda(np.ones((2, 3))), torch.ones(2, 3)
    assert g.device == device("cuda", 0) and g.is_cuda
    with pytest.raises(RuntimeError) as excinfo:
        _util.check_same_device(g, c)
    assert str(excinfo.value) == _mismatch("cuda:0", "cpu")
    with pytest.raises(RuntimeError) as excinfo:
        _util.check_same_device(c, g)
    assert str(excinfo.value) == _mismatch("cpu", "cuda:0")
    with pytest.raises(RuntimeError) as excinfo:
        _util.check_same_device(g, fake_cuda(np.ones((2, 3)), index=1))
    assert str(excinfo.value) == _mismatch("cuda:0", "cuda:1")


def test_checker_lets_a_zero_dim_cpu_tensor_join_any_device(fake_cuda):
    g = fake_cuda(np.ones((2, 3)))
    _util.check_same_device(g, torch.tensor(2.0))
    _util.check_same_device(torch.tensor(2.0), g)
    _util.check_same_device(g, fake_cuda(np.ones(3)))


@pytest.mark.parametrize("op", [
    lambda g, c: g + c, lambda g, c: c * g, lambda g, c: torch.sub(c, g),
    lambda g, c: c.double() + g, lambda g, c: c == g, lambda g, c: torch.maximum(c, g),
    lambda g, c: c.clone().add_(g), lambda g, c: torch.cat([c, g]),
    lambda g, c: torch.stack([c, g]), lambda g, c: torch.where(c > 0, c, g),
    lambda g, c: c.t() @ g, lambda g, c: torch.mm(c.t(), g),
    lambda g, c: torch.einsum("ij,ij->i", c, g),
    lambda g, c: torch.nn.functional.mse_loss(c, g),
], ids=["add", "rmul", "sub", "add-promoting", "eq", "maximum", "add_", "cat", "stack",
        "where", "matmul", "mm", "einsum", "mse_loss"])
def test_ops_mixing_cpu_and_cuda_raise_torchs_error(fake_cuda, op):
    g, c = fake_cuda(np.ones((2, 3))), torch.ones(2, 3)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                                           "but found at least two devices, (cpu and cuda:0|"
                                           "cuda:0 and cpu)!"):
        op(g, c)


F = torch.nn.functional


@pytest.mark.parametrize("op", [
    lambda make: F.linear(torch.ones(2, 3), make(np.ones((4, 3)))),
    lambda make: F.linear(torch.ones(2, 3), torch.ones(4, 3), make(np.ones(4))),
    lambda make: F.conv2d(torch.ones(1, 2, 5, 5), make(np.ones((3, 2, 3, 3)))),
    lambda make: F.embedding(torch.tensor([0, 1]), make(np.ones((4, 3)))),
    lambda make: F.layer_norm(torch.ones(2, 3), [3], make(np.ones(3))),
    lambda make: F.cross_entropy(torch.ones(2, 3), make(np.zeros(2), dtype=np.int64)),
    lambda make: torch.ones(2, 3).masked_fill(make(np.ones((2, 3)), dtype=np.bool_), 0.0),
], ids=["linear-weight", "linear-bias", "conv2d", "embedding", "layer_norm",
        "cross_entropy-target", "masked_fill-mask"])
def test_layers_mixing_cpu_and_cuda_raise_torchs_error(fake_cuda, op):
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                                           "but found at least two devices, (cpu and cuda:0|"
                                           "cuda:0 and cpu)!"):
        op(fake_cuda)


def test_two_cuda_devices_in_one_op_raise(fake_cuda):
    with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
        fake_cuda(np.ones(3)) + fake_cuda(np.ones(3), index=1)


@pytest.mark.parametrize("op", [
    lambda g, c: torch.gather(c, 0, g), lambda g, c: torch.index_select(c, 0, g),
    lambda g, c: c.clone().index_add_(0, g, torch.ones(2)),
    lambda g, c: torch.scatter(c, 0, g, torch.ones(2)),
    lambda g, c: torch.take(c, g),
], ids=["gather", "index_select", "index_add_", "scatter", "take"])
def test_index_on_another_device_raises_torchs_error(fake_cuda, op):
    g, c = fake_cuda(np.array([0, 1]), dtype=np.int64), torch.ones(2)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, "
                                           "but found at least two devices, cpu and cuda:0!"):
        op(g, c)
