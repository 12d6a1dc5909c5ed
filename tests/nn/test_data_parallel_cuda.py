"""DataParallel over two GPUs: scatter, replicate, gather, gradients back to the originals.

Needs two real GPUs or the emulated device with two of them: ``FAKE_CUPY_DEVICES=2 python -m
pytest -p tests.fake_cupy.plugin tests/nn/test_data_parallel_cuda.py``.
The reference is the same module run on one device (NumPy on the CPU).
"""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as dt
from tests.helpers import assert_close

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not (dt.cuda.is_available() and dt.cuda.device_count() >= 2),
                       reason="needs two CUDA devices (real or emulated)"),
]


class _Net(dt.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = dt.nn.Linear(4, 6)
        self.bn = dt.nn.BatchNorm1d(6)
        self.fc2 = dt.nn.Linear(6, 3)

    def forward(self, x, scale=1.0):
        return self.fc2(dt.relu(self.bn(self.fc1(x)))) * scale


def _pair():
    dt.manual_seed(0)
    ref = _Net().double()
    net = _Net().double()
    net.load_state_dict(ref.state_dict())
    return ref, net.to("cuda:0")


def _host(t):
    return np.asarray(t.detach().to("cpu"))


def test_forward_backward_match_one_device():
    ref, net = _pair()
    ref.eval()
    net.eval()  # eval: per-device batch statistics would differ from the full batch
    dp = dt.nn.DataParallel(net)
    assert dp.device_ids == list(range(dt.cuda.device_count()))
    assert dp.output_device == 0
    x = np.random.default_rng(0).standard_normal((7, 4))
    out = dp(dt.tensor(x, device="cuda:0"), scale=2.0)
    expected = ref(dt.tensor(x), scale=2.0)
    assert out.device == dt.device("cuda:0")
    assert tuple(out.shape) == (7, 3)
    assert_close(_host(out), np.asarray(expected.detach()))
    w = np.random.default_rng(1).standard_normal((7, 3))
    (out * dt.tensor(w, device="cuda:0")).sum().backward()
    (expected * dt.tensor(w)).sum().backward()
    for (name, p), (_, q) in zip(net.named_parameters(), ref.named_parameters()):
        assert p.grad is not None, name
        assert p.grad.device == dt.device("cuda:0"), name
        assert_close(_host(p.grad), np.asarray(q.grad), rtol=1e-10, atol=1e-12)


def test_each_replica_sees_its_chunk_on_its_device():
    seen = []

    class Probe(dt.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = dt.nn.Parameter(dt.ones(2))

        def forward(self, x, tag):
            seen.append((x.device, tuple(x.shape), self.w.device, tag))
            return x * self.w

    probe = Probe().to("cuda:0")
    dp = dt.nn.DataParallel(probe, device_ids=[0, 1], output_device=1)
    x = dt.arange(10.0, device="cuda:0").reshape(5, 2)
    out = dp(x, tag="t")
    assert seen == [(dt.device("cuda:0"), (3, 2), dt.device("cuda:0"), "t"),
                    (dt.device("cuda:1"), (2, 2), dt.device("cuda:1"), "t")]
    assert out.device == dt.device("cuda:1")
    assert_close(_host(out), np.arange(10.0).reshape(5, 2))
    out.sum().backward()
    assert probe.w.grad.device == dt.device("cuda:0")
    assert_close(_host(probe.w.grad), np.array([20.0, 25.0]))


def test_small_batch_tuple_outputs_and_wrong_device():
    net = dt.nn.Linear(3, 2).to("cuda:0")

    class Two(dt.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            y = self.net(x)
            return y, {"sum": y.sum(1)}

    dp = dt.nn.DataParallel(Two(), device_ids=[0, 1])
    x = dt.randn(1, 3, device="cuda:0")  # one row: a single replica runs
    y, extra = dp(x)
    assert tuple(y.shape) == (1, 2) and tuple(extra["sum"].shape) == (1,)
    assert_close(_host(extra["sum"]), _host(y).sum(1))
    x = dt.randn(4, 3, device="cuda:0")
    y, extra = dp(x)
    assert tuple(y.shape) == (4, 2) and y.device == dt.device("cuda:0")
    assert_close(_host(y), _host(net(x)))
    moved = dt.nn.DataParallel(dt.nn.Linear(3, 2).to("cuda:1"), device_ids=[0, 1])
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on "
                                           "device cuda:0"):
        moved(x)
