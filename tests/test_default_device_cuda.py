"""The default device on CUDA: factories and layers create on the GPU, the rest stays where it
was; plus the runtime methods' GPU behaviour (pin_memory, apply_, resize_, new_empty_strided,
DLPack). Runs on a real GPU or the emulated device:
``python -m pytest -p tests.fake_cupy.plugin tests/test_default_device_cuda.py``;
skips without either."""

import numpy as np
import pytest

import dist_torch as torch
from tests.fake_cupy import needs_real_cuda

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a (real or emulated) GPU"),
]

CUDA0 = torch.device("cuda", 0)


@pytest.fixture(autouse=True)
def _reset_default_device():
    yield
    torch.set_default_device(None)


FOLLOW = {
    "tensor": (lambda: torch.tensor([1.0, 2.0]), [1.0, 2.0]),
    "tensor_of_cpu_tensor": (lambda: torch.tensor(torch.ones(2, device="cpu")), [1.0, 1.0]),
    "as_tensor_numpy": (lambda: torch.as_tensor(np.array([3.0, 4.0])), [3.0, 4.0]),
    "as_tensor_cpu_tensor": (lambda: torch.as_tensor(torch.ones(1, device="cpu")), [1.0]),
    "asarray": (lambda: torch.asarray([5, 6]), [5, 6]),
    "scalar_tensor": (lambda: torch.scalar_tensor(2.5), 2.5),
    "zeros": (lambda: torch.zeros(2), [0.0, 0.0]),
    "ones": (lambda: torch.ones(2), [1.0, 1.0]),
    "full": (lambda: torch.full((2,), 7), [7, 7]),
    "arange": (lambda: torch.arange(3), [0, 1, 2]),
    "linspace": (lambda: torch.linspace(0, 1, 3), [0.0, 0.5, 1.0]),
    "logspace": (lambda: torch.logspace(0, 2, 3), [1.0, 10.0, 100.0]),
    "eye": (lambda: torch.eye(2), [[1.0, 0.0], [0.0, 1.0]]),
    "randperm_sorted": (lambda: torch.randperm(4).sort().values, [0, 1, 2, 3]),
}
SHAPE_ONLY = {
    "empty": lambda: torch.empty(2, 3),
    "empty_strided": lambda: torch.empty_strided((2, 3), (1, 2)),
    "rand": lambda: torch.rand(2, 3),
    "randn": lambda: torch.randn(2, 3),
    "randint": lambda: torch.randint(0, 5, (2, 3)),
}


@pytest.mark.parametrize("name", sorted(FOLLOW))
def test_factories_create_on_the_default_gpu(name):
    make, expected = FOLLOW[name]
    torch.set_default_device("cuda")
    out = make()
    assert out.device == CUDA0
    assert out.tolist() == expected


@pytest.mark.parametrize("name", sorted(SHAPE_ONLY))
def test_uninitialized_and_random_factories_too(name):
    with torch.device("cuda"):
        out = SHAPE_ONLY[name]()
    assert out.device == CUDA0 and out.shape == (2, 3)
    if name == "empty_strided":
        assert out.stride() == (1, 2)
    if name == "rand":
        assert bool(((out >= 0) & (out < 1)).all())


def test_get_default_device_names_the_current_gpu():
    torch.set_default_device("cuda")
    assert torch.get_default_device() == CUDA0
    torch.set_default_device(0)
    assert torch.get_default_device() == CUDA0
    torch.set_default_device(None)
    assert torch.get_default_device() == torch.device("cpu")


def test_layers_create_parameters_and_buffers_on_the_default():
    with torch.device("cuda"):
        lin = torch.nn.Linear(3, 2)
        bn = torch.nn.BatchNorm1d(2)
    assert lin.weight.device == CUDA0 and lin.bias.device == CUDA0
    assert bn.running_mean.device == CUDA0 and bn.num_batches_tracked.device == CUDA0
    x = torch.ones(4, 3, device="cuda")
    y = bn(lin(x))
    assert y.device == CUDA0 and y.shape == (4, 2)
    assert torch.nn.Linear(3, 2).weight.device.type == "cpu"   # outside the block


def test_the_rest_stays_where_it_was():
    cpu = torch.ones(2, device="cpu")
    torch.set_default_device("cuda")
    assert torch.from_numpy(np.ones(2)).device.type == "cpu"
    assert torch.zeros_like(cpu).device.type == "cpu"
    assert torch.rand_like(cpu).device.type == "cpu"
    assert torch.normal(0.0, 1.0, (2,)).device.type == "cpu"
    assert torch.Tensor(2).device.type == "cpu"
    assert (cpu + 1).device.type == "cpu"
    assert torch.zeros(2, device="cpu").device.type == "cpu"
    out = torch.empty(3, device="cpu")
    assert torch.arange(3, out=out) is out and out.device.type == "cpu"
    with torch.device("cpu"):
        assert torch.zeros(1).device.type == "cpu"
    assert torch.zeros(1).device == CUDA0


def test_pin_memory_with_a_gpu():
    cpu = torch.arange(3.0)
    pinned = cpu.pin_memory()
    assert pinned is not cpu and pinned.device.type == "cpu"
    assert pinned.tolist() == [0.0, 1.0, 2.0]
    assert torch.zeros(2, pin_memory=True).tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        torch.ones(2, device="cuda").pin_memory()


def test_cpu_only_methods_refuse_gpu_tensors():
    g = torch.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="apply_ is only implemented on CPU tensors"):
        g.apply_(lambda v: v)
    with pytest.raises(RuntimeError, match="map_ is only implemented on CPU tensors"):
        g.map_(g, lambda v, w: v)


def test_resize_and_new_empty_strided_stay_on_the_gpu():
    g = torch.arange(6.0, device="cuda")
    g.resize_(2, 2)
    assert g.device == CUDA0 and g.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    g.resize_(5)
    assert g.device == CUDA0 and g[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    n = g.new_empty_strided((2, 3), (1, 2))
    assert n.device == CUDA0 and n.stride() == (1, 2) and n.dtype == torch.float32
    assert g.get_device() == 0 and torch.get_device(g) == 0
    assert g[1:].storage_offset() == 1


@needs_real_cuda
def test_dlpack_round_trip_on_the_gpu():
    from dist_torch.backend import cuda
    g = torch.arange(4.0, device="cuda")
    assert tuple(int(v) for v in g.__dlpack_device__()) == (2, 0)
    back = torch.from_dlpack(torch.to_dlpack(g))
    assert back.device == CUDA0 and back.tolist() == [0.0, 1.0, 2.0, 3.0]
    c = cuda.cupy.arange(3, dtype=cuda.cupy.float32)
    t = torch.from_dlpack(c)
    t[0] = 7.0
    assert t.device == CUDA0 and float(c[0]) == 7.0
    assert torch.from_dlpack(c, device="cpu").device.type == "cpu"


def test_windows_and_triangle_indices_follow_the_default_device():
    torch.set_default_device("cuda")
    assert torch.hann_window(5).device.type == "cuda"
    assert torch.kaiser_window(4).device.type == "cuda"
    assert torch.tril_indices(3, 3).device.type == "cuda"
    assert torch.hann_window(5, device="cpu").device.type == "cpu"
