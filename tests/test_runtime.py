"""Runtime utilities without torch: the default device (which functions follow it, the
``with device(...)`` block, per-thread state), thread counts through threadpoolctl, the
switches' effects (anomaly mode), compile as a no-op, resize_ memory sharing, DLPack with
NumPy, frombuffer's copies of read-only buffers."""

import contextlib
import threading

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import _runtime
from dist_torch.backend import cuda_available

no_gpu = pytest.mark.skipif(cuda_available(), reason="checks the CPU-only behaviour")


@pytest.fixture(autouse=True)
def _reset_default_device():
    yield
    torch.set_default_device(None)


# Each factory that torch lists as following the default device, and each that does not.
FOLLOW = {
    "tensor": lambda: torch.tensor([1.0]),
    "tensor_of_tensor": lambda: torch.tensor(torch.ones(1, device="cpu")),
    "as_tensor_list": lambda: torch.as_tensor([1.0]),
    "as_tensor_numpy": lambda: torch.as_tensor(np.ones(2)),
    "as_tensor_tensor": lambda: torch.as_tensor(torch.ones(1, device="cpu")),
    "asarray": lambda: torch.asarray([1.0]),
    "scalar_tensor": lambda: torch.scalar_tensor(1.0),
    "zeros": lambda: torch.zeros(2), "ones": lambda: torch.ones(2),
    "empty": lambda: torch.empty(2), "full": lambda: torch.full((2,), 1.0),
    "arange": lambda: torch.arange(3), "linspace": lambda: torch.linspace(0, 1, 3),
    "logspace": lambda: torch.logspace(0, 1, 3), "eye": lambda: torch.eye(2),
    "empty_strided": lambda: torch.empty_strided((2,), (1,)),
    "rand": lambda: torch.rand(2), "randn": lambda: torch.randn(2),
    "randint": lambda: torch.randint(0, 3, (2,)), "randperm": lambda: torch.randperm(3),
    "Linear": lambda: torch.nn.Linear(2, 2).weight,
    "BatchNorm_buffer": lambda: torch.nn.BatchNorm1d(2).running_mean,
}
STAY = {
    "from_numpy": lambda: torch.from_numpy(np.ones(2)),
    "frombuffer": lambda: torch.frombuffer(bytearray(8), dtype=torch.float32),
    "zeros_like": lambda: torch.zeros_like(torch.ones(2, device="cpu")),
    "full_like": lambda: torch.full_like(torch.ones(2, device="cpu"), 2),
    "rand_like": lambda: torch.rand_like(torch.ones(2, device="cpu")),
    "normal_size": lambda: torch.normal(0.0, 1.0, (2,)),
    "legacy_Tensor": lambda: torch.Tensor(2),
    "new_zeros": lambda: torch.ones(2, device="cpu").new_zeros(2),
    "explicit_cpu": lambda: torch.zeros(2, device="cpu"),
    "op_on_cpu": lambda: torch.ones(2, device="cpu") + 1,
    "bernoulli": lambda: torch.bernoulli(torch.full((2,), 0.5, device="cpu")),
    "from_dlpack": lambda: torch.from_dlpack(np.ones(2)),
}


@no_gpu
@pytest.mark.parametrize("name", sorted(FOLLOW))
def test_factories_follow_a_cuda_default(name):
    """Without a GPU, a 'cuda' default makes exactly the following factories fail (with
    CUDA's error): proof they try to create on the default device."""
    torch.set_default_device("cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        FOLLOW[name]()
    torch.set_default_device(None)
    assert FOLLOW[name]().device == torch.device("cpu")


@no_gpu
@pytest.mark.parametrize("name", sorted(STAY))
def test_other_functions_ignore_the_default(name):
    with torch.device("cuda"):
        assert STAY[name]().device == torch.device("cpu")


@no_gpu
def test_device_block_nests_and_restores():
    assert torch.get_default_device() == torch.device("cpu")
    with torch.device("cuda") as d:
        assert d == torch.device("cuda")
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.zeros(1)
        with torch.device("cpu"):
            assert torch.zeros(1).device.type == "cpu"
            assert torch.get_default_device() == torch.device("cpu")
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.ones(1)
    assert torch.zeros(1).device.type == "cpu"
    with contextlib.suppress(ValueError), torch.device("cuda"):
        raise ValueError("restored on the way out of an exception too")
    assert torch.get_default_device() == torch.device("cpu")


@no_gpu
def test_default_device_is_per_thread_and_set_default_errors():
    torch.set_default_device("cuda")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(torch.zeros(1).device))
    worker.start()
    worker.join()
    assert seen == [torch.device("cpu")]
    with pytest.raises(RuntimeError, match="Cannot access accelerator"):
        torch.set_default_device(0)
    with pytest.raises(RuntimeError, match="device type"):
        torch.set_default_device("bogus")
    torch.set_default_device("cpu")
    assert torch.get_default_device() == torch.device("cpu")
    assert torch.tensor([1.0]).device.type == "cpu"


def test_explicit_device_and_out_win_over_the_default():
    out = torch.empty(3)
    with torch.device("cuda"):
        assert torch.zeros(2, device="cpu").device.type == "cpu"
        assert torch.arange(3, out=out) is out
    assert out.tolist() == [0.0, 1.0, 2.0]


# --------------------------------------------------------------------------- threads

def test_set_num_threads_limits_numpy_blas(monkeypatch):
    tpc = pytest.importorskip("threadpoolctl")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        blas = [i["num_threads"] for i in tpc.threadpool_info() if i["user_api"] == "blas"]
        assert torch.get_num_threads() == 1
        assert blas and all(n == 1 for n in blas)
    finally:
        torch.set_num_threads(before)


def test_set_num_threads_records_without_threadpoolctl(monkeypatch):
    monkeypatch.setattr(_runtime, "_threadpoolctl", lambda: None)
    monkeypatch.setattr(_runtime._Threads, "intra", None)
    monkeypatch.setattr(_runtime._Threads, "initial", None)
    import os
    assert torch.get_num_threads() == (os.cpu_count() or 1)
    torch.set_num_threads(3)
    assert torch.get_num_threads() == 3


def test_interop_threads_can_be_set_once(monkeypatch):
    monkeypatch.setattr(_runtime._Threads, "interop", None)
    torch.set_num_interop_threads(3)
    assert torch.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        torch.set_num_interop_threads(2)


# --------------------------------------------------------------------------- switches

def test_set_flush_denormal_reports_that_flushing_is_unavailable():
    assert torch.set_flush_denormal(True) is False
    assert torch.set_flush_denormal(False) is True
    tiny = torch.tensor([1e-40], dtype=torch.float32)      # a float32 denormal
    assert (tiny * 1).item() != 0.0                          # kept, not flushed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 0/0 in DivBackward0
def test_set_anomaly_enabled_drives_autograd():
    x = torch.tensor([0.0], requires_grad=True)
    try:
        torch.set_anomaly_enabled(True)
        assert torch.autograd.is_anomaly_enabled()
        y = (x / x).sum()              # 0/0: NaN gradient
        with pytest.raises(RuntimeError, match="nan"), \
                pytest.warns(UserWarning, match="Error detected in DivBackward0"):
            y.backward()
    finally:
        torch.set_anomaly_enabled(False)
    assert not torch.autograd.is_anomaly_enabled()
    (x / x).sum().backward()           # no check once it is off
    assert np.isnan(x.grad.item())


def test_compile_returns_its_argument_in_every_form():
    def f(x):
        return x * 2
    model = torch.nn.Linear(2, 2)
    assert torch.compile(f) is f
    assert torch.compile(model) is model
    assert torch.compile(mode="reduce-overhead", fullgraph=True)(f) is f
    assert torch.compile(options={"trace.enabled": True})(model) is model
    assert torch.compile(f, disable=True, backend="eager", dynamic=True) is f

    @torch.compile
    def g(x):
        return x + 1

    @torch.compile(mode="max-autotune")
    def h(x):
        return x - 1
    assert g(1) == 2 and h(1) == 0
    assert list(model.state_dict()) == ["weight", "bias"]


# --------------------------------------------------------------------------- memory

def test_resize_shares_memory_when_shrinking_and_copies_when_growing():
    a = torch.arange(6.0)
    flat = a.view(-1)
    a.resize_(2, 2)
    a[0, 0] = 9.0
    assert flat[0].item() == 9.0               # still the same memory
    assert a.storage_offset() == 0
    a.resize_(8)
    assert a[:6].tolist()[:4] == [9.0, 1.0, 2.0, 3.0]
    v = torch.arange(6.0)[2:]
    v.resize_(2)
    assert v.tolist() == [2.0, 3.0] and v.storage_offset() == 2
    t = torch.arange(6.0).reshape(2, 3).t()
    assert t.resize_(3, 2) is t and t.stride() == (1, 3)   # same shape: untouched


def test_resize_bumps_the_version_counter():
    a = torch.arange(4.0)
    before = a._version
    a.resize_(2)
    assert a._version == before + 1


def test_dlpack_with_numpy_shares_memory_both_ways():
    a = np.arange(4.0)
    t = torch.from_dlpack(a)
    t[1] = 7.0
    assert a[1] == 7.0
    x = torch.arange(3, dtype=torch.int32)
    b = np.from_dlpack(x)
    b[0] = 5
    assert x[0].item() == 5
    assert tuple(int(v) for v in x.__dlpack_device__()) == (1, 0)


def test_frombuffer_copies_read_only_buffers():
    data = bytes(np.arange(3, dtype=np.int16).tobytes())
    t = torch.frombuffer(data, dtype=torch.int16)
    t[0] = 4                                     # writable, and bytes are immutable anyway
    assert t.tolist() == [4, 1, 2] and data[:2] == b"\x00\x00"
    mv = memoryview(bytearray(6)).cast("H")     # non-byte formats are read as bytes
    assert torch.frombuffer(mv, dtype=torch.uint8, count=3).tolist() == [0, 0, 0]


@no_gpu
def test_pin_memory_flags_without_a_gpu():
    assert torch.ones(2).is_pinned() is False
    assert torch.zeros(2, pin_memory=False).device.type == "cpu"
    with pytest.raises(RuntimeError, match="pin_memory=True"):
        torch.randn(2, pin_memory=True)
