"""dist_torch.cuda: behaviour without a GPU against torch's CPU-only build, the pure-Python
parts (device arguments, seed states, peak tracking, make_graphed_callables plumbing) on any
machine, and streams, events, memory statistics and CUDA graphs on a GPU (skipped without)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.backend import cuda as cuda_backend
from dist_torch.cuda import _utils, graphs
from tests.fake_cupy import needs_real_cuda

HAS_GPU = cuda_backend.available()
no_gpu = pytest.mark.skipif(HAS_GPU, reason="checks the behaviour without a GPU")
gpu = pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA GPU (CuPy and a visible device)")


# ----------------------------------------------------------------------------- no GPU vs torch

def _linear():
    return dt.nn.Linear(2, 2)


# name -> call on a torch-like module. Each runs against dist_torch and torch's CPU build.
CALLS = {
    "is_available": lambda m: m.cuda.is_available(),
    "device_count": lambda m: m.cuda.device_count(),
    "is_initialized": lambda m: m.cuda.is_initialized(),
    "current_device": lambda m: m.cuda.current_device(),
    "init": lambda m: m.cuda.init(),
    "set_device('cpu')": lambda m: m.cuda.set_device("cpu"),
    "set_device(-1)": lambda m: m.cuda.set_device(-1),
    "device(0)": lambda m: m.cuda.device(0).__enter__(),
    "device(-1)": lambda m: m.cuda.device(-1).__enter__(),
    "device_of(cpu tensor)": lambda m: m.cuda.device_of(m.zeros(1)).__enter__(),
    "get_device_name()": lambda m: m.cuda.get_device_name(),
    "get_device_name(0)": lambda m: m.cuda.get_device_name(0),
    "get_device_properties(0)": lambda m: m.cuda.get_device_properties(0),
    "get_device_capability()": lambda m: m.cuda.get_device_capability(),
    "synchronize": lambda m: m.cuda.synchronize(),
    "manual_seed": lambda m: m.cuda.manual_seed(1),
    "manual_seed_all": lambda m: m.cuda.manual_seed_all(1),
    "seed": lambda m: m.cuda.seed(),
    "seed_all": lambda m: m.cuda.seed_all(),
    "initial_seed": lambda m: m.cuda.initial_seed(),
    "get_rng_state": lambda m: m.cuda.get_rng_state(),
    "get_rng_state_all": lambda m: m.cuda.get_rng_state_all(),
    "memory_allocated": lambda m: m.cuda.memory_allocated(),
    "memory_allocated(0)": lambda m: m.cuda.memory_allocated(0),
    "max_memory_allocated": lambda m: m.cuda.max_memory_allocated(),
    "memory_reserved": lambda m: m.cuda.memory_reserved(),
    "max_memory_reserved": lambda m: m.cuda.max_memory_reserved(),
    "memory_stats": lambda m: dict(m.cuda.memory_stats()),
    "empty_cache": lambda m: m.cuda.empty_cache(),
    "mem_get_info": lambda m: m.cuda.mem_get_info(),
    "Stream()": lambda m: m.cuda.Stream(),
    "current_stream": lambda m: m.cuda.current_stream(),
    "default_stream": lambda m: m.cuda.default_stream(),
    "stream(None)": lambda m: m.cuda.stream(None).__enter__(),
    "Event()": lambda m: m.cuda.Event(),
    "Event(enable_timing=True)": lambda m: m.cuda.Event(enable_timing=True),
    "CUDAGraph()": lambda m: m.cuda.CUDAGraph(),
    "graph_pool_handle": lambda m: m.cuda.graph_pool_handle(),
    "get_arch_list": lambda m: m.cuda.get_arch_list(),
}
# Where torch's CPU build fails by accident (a missing C binding, a None compared with an int),
# dist_torch raises its CUDA-unavailable error instead.
ACCIDENTS = {"set_device(0)": (lambda m: m.cuda.set_device(0), AttributeError),
             "reset_peak_memory_stats": (lambda m: m.cuda.reset_peak_memory_stats(),
                                         AttributeError),
             "device(None)": (lambda m: m.cuda.device(None).__enter__(), TypeError)}


def _outcome(fn, module):
    try:
        return "ok", fn(module)
    except Exception as err:  # noqa: BLE001 - the class is what is compared
        return "raised", err


@pytest.fixture(scope="module")
def torch_cpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("the oracle must be a torch without CUDA")
    return torch


@no_gpu
@pytest.mark.parametrize("name", list(CALLS))
def test_matches_torch_cpu_build(torch_cpu, name):
    expected_kind, expected = _outcome(CALLS[name], torch_cpu)
    kind, got = _outcome(CALLS[name], dt)
    assert kind == expected_kind, f"torch: {expected!r}, dist_torch: {got!r}"
    if kind == "raised":
        assert isinstance(got, type(expected)), f"torch: {expected!r}, dist_torch: {got!r}"
        if isinstance(got, cuda_backend.CudaUnavailableError):
            assert "CUDA is not available" in str(got)
    else:
        assert got == expected


@no_gpu
@pytest.mark.parametrize("name", list(ACCIDENTS))
def test_where_torch_fails_by_accident_the_error_is_clear(torch_cpu, name):
    fn, torch_class = ACCIDENTS[name]
    with pytest.raises(torch_class):
        fn(torch_cpu)
    with pytest.raises(cuda_backend.CudaUnavailableError, match="CUDA is not available"):
        fn(dt)


@no_gpu
def test_no_gpu_values_without_the_oracle():
    assert dt.cuda.is_available() is False and dt.cuda.device_count() == 0
    assert dt.cuda.memory_allocated() == dt.cuda.max_memory_reserved() == 0
    assert dt.cuda.memory_stats() == {} and dt.cuda.get_rng_state_all() == []
    dt.cuda.manual_seed_all(3)
    dt.manual_seed(3)  # also seeds CUDA through the hook; quietly a no-op here
    dt.cuda.set_rng_state(dt.zeros(16, dtype=dt.uint8))
    with dt.cuda.stream(None), dt.cuda.device(-1), dt.cuda.device_of(dt.zeros(1)):
        pass
    for fn in (dt.cuda.Stream, dt.cuda.Event, dt.cuda.CUDAGraph, dt.cuda.current_stream,
               dt.cuda.initial_seed, dt.cuda.is_current_stream_capturing):
        with pytest.raises(AssertionError, match="CUDA is not available"):
            fn()
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        dt.cuda.make_graphed_callables(dt.nn.Linear(2, 2), (dt.zeros(1, 2),))


def test_amp_submodule_is_reachable_lazily():
    import importlib.util
    if importlib.util.find_spec("dist_torch.cuda.amp") is None:
        with pytest.raises(ModuleNotFoundError):
            dt.cuda.amp  # noqa: B018
    else:
        assert dt.cuda.amp.__name__ == "dist_torch.cuda.amp"


# ----------------------------------------------------------------------------- pure Python parts

def test_device_index_parsing(monkeypatch):
    get = _utils._get_device_index
    assert get(3) == 3 and get("cuda:1") == 1 and get(dt.device("cuda", 2)) == 2
    assert get("cpu", allow_cpu=True) == -1
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        get("cpu")
    with pytest.raises(ValueError, match="Expected a torch.device with a specified index"):
        get("cuda")
    with pytest.raises(ValueError, match="Expected a torch.device with a specified index"):
        get(None)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        get("tpu:0")
    monkeypatch.setattr(cuda_backend, "current_device", lambda: 5)
    assert get(None, optional=True) == 5 and get("cuda", optional=True) == 5
    ctx = dt.cuda.device(-1)
    assert get(ctx) == -1


def test_philox_state_seed_offset_and_state_round_trip():
    state = cuda_backend.PhiloxState(0)
    assert state.seed == 67280421310721 and state.offset == 0
    state.manual_seed(-1)
    assert state.seed == 2**64 - 1
    state.manual_seed(7)
    assert state.next_seed_offset(1) == (7, 0)
    assert state.next_seed_offset(5) == (7, 4)  # offsets advance in multiples of 4
    assert state.next_seed_offset(4) == (7, 12)
    saved = state.get_state()
    assert len(saved) == 16
    state.next_seed_offset(100)
    state.set_state(saved)
    assert (state.seed, state.offset) == (7, 16)
    with pytest.raises(RuntimeError, match="RNG state is wrong size"):
        state.set_state(b"\0" * 8)


class _FakeCaptureStream:
    """Stands for a CuPy stream being captured: capture and launch only record."""

    def __init__(self):
        self.graph = None

    def begin_capture(self, mode):
        pass

    def end_capture(self):
        return self.graph

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _FakeDropoutGraph:
    """A 'graph' of one dropout kernel reading (seed, base) from ``buffer`` when launched."""

    def __init__(self, buffer, n, offset):
        self.buffer, self.n, self.offset, self.seen, self.masks = buffer, n, offset, [], []

    def launch(self, stream):
        from dist_torch.backend import kernel_twins as tw
        self.seen.append(tuple(int(v) for v in self.buffer))
        x = np.ones(self.n, np.float32)
        self.masks.append(tw.dropout_forward(x, 0.5, 0, self.offset, state=self.buffer)[1])


def test_capturing_is_this_threads_capture_only(monkeypatch):
    assert not cuda_backend.capturing()
    monkeypatch.setattr(cuda_backend, "_captures", 1)
    assert not cuda_backend.capturing()  # another thread captures
    monkeypatch.setattr(cuda_backend._tls, "stream", object(), raising=False)
    assert cuda_backend.capturing()


def test_graph_rng_reads_fresh_seed_and_offset_at_every_replay(monkeypatch):
    from dist_torch.backend import kernel_twins as tw
    monkeypatch.setattr(cuda_backend, "_captures", 0)
    monkeypatch.setattr(cuda_backend, "_rng_buffer", lambda index: np.zeros(2, np.uint64))
    state = cuda_backend.PhiloxState(0)
    state.manual_seed(7)
    state.next_seed_offset(400)
    assert state.next_philox(8) == (7, 400, None)  # eager: the generator's own values
    stream = _FakeCaptureStream()
    cuda_backend.begin_capture(stream, None, 0)
    try:
        assert cuda_backend.capturing()
        seed, first, buf = state.next_philox(10)
        seed2, second, buf2 = state.next_philox(5)
        assert (seed, first, seed2, second) == (0, 0, 0, 12) and buf2 is buf
        assert state.offset == 408  # capture does not advance the generator
        cuda_backend.keep_alive("launch table")
        stream.graph = _FakeDropoutGraph(buf, 64, second)
    finally:
        captured = cuda_backend.end_capture(stream)
    assert not cuda_backend.capturing() and captured.kept == ["launch table"]
    assert state.next_philox(4) == (7, 408, None)
    for _ in range(3):
        cuda_backend.graph_launch(captured, stream)
    graph = captured.graph
    # each replay saw the generator's offset, then moved it past the graph's 12 + 8 draws
    assert graph.seen == [(7, 412), (7, 432), (7, 452)] and state.offset == 472
    for (s, base), mask in zip(graph.seen, graph.masks):
        np.testing.assert_array_equal(mask, tw.dropout_forward(np.ones(64, np.float32), 0.5,
                                                               s, base + 12)[1])
    assert len({m.tobytes() for m in graph.masks}) == 3  # a fresh mask per replay


class _FakeBlock:
    def __init__(self, size, device_id=0):
        self.size, self.mem, self.device_id = size, self, device_id


class _FakePool:
    """Stands for cupy.cuda.MemoryPool: 512-byte rounding, blocks freed by hand."""

    def __init__(self):
        self.used = self.total = 0

    def malloc(self, size):
        size = -(-size // 512) * 512
        self.used += size
        self.total = max(self.total, self.used)
        return _FakeBlock(size)

    def free(self, block):
        self.used -= block.size

    def used_bytes(self):
        return self.used

    def total_bytes(self):
        return self.total


def test_allocator_tracks_peaks_after_each_allocation(monkeypatch):
    pool = _FakePool()
    monkeypatch.setattr(cuda_backend, "_pool", pool)
    monkeypatch.setattr(cuda_backend, "_stats", {})
    a = cuda_backend._malloc(1000)
    b = cuda_backend._malloc(3000)
    pool.free(a)
    pool.free(b)
    cuda_backend._malloc(100)
    st = cuda_backend._stats[0]
    assert (st.peak_allocated, st.peak_reserved) == (1024 + 3072, 1024 + 3072)
    assert (st.num_alloc, st.allocated_bytes) == (3, 1024 + 3072 + 512)


def test_capture_check_is_quiet_unless_this_thread_captures(monkeypatch):
    cuda_backend.check_not_capturing("x")
    monkeypatch.setattr(cuda_backend, "_captures", 1)
    cuda_backend.check_not_capturing("x")  # another thread captures, not this one
    monkeypatch.setattr(cuda_backend._tls, "stream", object(), raising=False)
    with pytest.raises(RuntimeError, match="operation not permitted when stream is capturing"):
        cuda_backend.check_not_capturing("torch.cuda.synchronize()")


class _FakeGraph:
    """Stands for a CUDA graph on the CPU: capture runs the body and keeps its results; replay
    runs the body again and writes the new values into those same (static) tensors."""

    def __init__(self):
        self.replays, self.body, self.static = 0, None, ()

    def capture(self, body):
        self.body = body
        result = body()
        self.static = graphs._leaves(tuple(t for t in _as_tuple(result) if t is not None))
        return result

    def replay(self):
        self.replays += 1
        with dt.no_grad():
            fresh = graphs._leaves(tuple(t for t in _as_tuple(self.body()) if t is not None))
        for static, new in zip(self.static, fresh):
            static._data[...] = new._data


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.fixture
def fake_graphs(monkeypatch):
    made = []

    def new_graph():
        made.append(_FakeGraph())
        return made[-1]
    monkeypatch.setattr(graphs, "_new_graph", new_graph)
    monkeypatch.setattr(graphs, "_new_pool", object)
    monkeypatch.setattr(graphs, "_synchronize", lambda: None)
    monkeypatch.setattr(graphs, "_side_stream", contextlib.nullcontext)
    monkeypatch.setattr(graphs, "_capture", lambda g, pool, body: g.capture(body))
    monkeypatch.setattr(graphs, "_retain_graph", True)
    return made


def test_make_graphed_callables_plumbing_without_a_gpu(fake_graphs):
    dt.manual_seed(0)
    model = dt.nn.Sequential(dt.nn.Linear(4, 8), dt.nn.ReLU(), dt.nn.Linear(8, 3))
    eager = dt.nn.Sequential(dt.nn.Linear(4, 8), dt.nn.ReLU(), dt.nn.Linear(8, 3))
    eager.load_state_dict(model.state_dict())
    x = dt.randn(5, 4, requires_grad=True)
    graphed = dt.cuda.make_graphed_callables(model, (x,), num_warmup_iters=2)
    assert graphed is model and len(fake_graphs) == 2
    for p in model.parameters():
        p.grad = None  # warm-up used autograd.grad, which never touches .grad
    assert all(p.grad is None for p in model.parameters())

    x_user = x  # the static input itself: no copy (the fake re-runs autograd, which would see
    out = graphed(x_user)  # the copy's version bump; a real replay does not)
    (out * dt.arange(3.0)).sum().backward()
    x_eager = x.detach().clone().requires_grad_(True)
    ref = eager(x_eager)
    (ref * dt.arange(3.0)).sum().backward()
    assert [g.replays for g in fake_graphs] == [1, 1]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x_user.grad.numpy(), x_eager.grad.numpy(), rtol=1e-6)
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    assert out.grad_fn is not None and "Graphed" in out.grad_fn.name()

    # New inputs are copied into the static input before replay.
    graphed(dt.full((5, 4), 2.0))
    np.testing.assert_array_equal(x.detach().numpy(), np.full((5, 4), 2.0, np.float32))
    # In eval mode (not the training state of the capture) the eager forward runs.
    model.eval()
    graphed(dt.zeros(5, 4))
    assert [g.replays for g in fake_graphs] == [2, 1]


def test_make_graphed_callables_functions_and_checks(fake_graphs):
    a = dt.randn(3, requires_grad=True)
    b = dt.randn(3)
    f = dt.cuda.make_graphed_callables(lambda u, v: {"s": u * v, "t": [u + 1]}, (a, b))
    out = f(a, b)
    assert set(out) == {"s", "t"} and isinstance(out["t"], list)
    out["s"].sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="expects 2 tensor arguments, got 1"):
        f(a)
    with pytest.raises(AssertionError, match="sample_args for each callable must contain only "
                                             "Tensors"):
        dt.cuda.make_graphed_callables(lambda u, k: u * k, (a, 2.0))
    hooked = dt.nn.Linear(3, 3)
    hooked.register_forward_hook(lambda m, i, o: None)
    with pytest.raises(AssertionError, match="Modules must not have hooks registered"):
        dt.cuda.make_graphed_callables(hooked, (a[None],))


def test_graph_api_refusals_without_capture(monkeypatch):
    monkeypatch.setattr(cuda_backend, "require", lambda what="": None)
    g = dt.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="replay without a preceding successful capture"):
        g.replay()
    with pytest.raises(RuntimeError, match=r"pool\(\) without a preceding successful capture"):
        g.pool()
    with pytest.raises(RuntimeError, match="capture_end without a preceding capture_begin"):
        g.capture_end()


# ----------------------------------------------------------------------------- on a GPU

@pytest.fixture
def cp():
    if not HAS_GPU:
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    return cuda_backend.cupy


@gpu
@pytest.mark.cuda
def test_devices_and_properties(cp):
    n = dt.cuda.device_count()
    assert n >= 1 and dt.cuda.is_available() and 0 <= dt.cuda.current_device() < n
    props = dt.cuda.get_device_properties(0)
    assert props.name == dt.cuda.get_device_name(0) and props.name
    assert props.total_memory > 0 and props.multi_processor_count > 0
    assert dt.cuda.get_device_capability(0) == (props.major, props.minor) and props.major >= 3
    assert "_CudaDeviceProperties(name=" in repr(props)
    with pytest.raises(AssertionError, match="Invalid device id"):
        dt.cuda.get_device_properties(n)
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        dt.zeros(1, device=f"cuda:{n}")
    with dt.cuda.device(0):
        assert dt.cuda.current_device() == 0
    x = dt.ones(2, device="cuda:0")
    with dt.cuda.device_of(x):
        assert dt.cuda.current_device() == 0
    dt.cuda.synchronize()
    dt.cuda.init()
    assert dt.cuda.is_initialized()
    free, total = dt.cuda.mem_get_info()
    assert 0 < free <= total


@gpu
@pytest.mark.cuda
def test_seeds_and_rng_state(cp):
    dt.cuda.manual_seed(123)
    assert dt.cuda.initial_seed() == 123
    dt.manual_seed(77)
    assert dt.cuda.initial_seed() == 77
    state = dt.cuda.get_rng_state()
    assert state.dtype == dt.uint8 and tuple(state.shape) == (16,) and not state.is_cuda
    cuda_backend.philox_state(dt.cuda.current_device()).next_seed_offset(40)
    dt.cuda.set_rng_state(state)
    assert cuda_backend.philox_state(dt.cuda.current_device()).offset == 0
    assert len(dt.cuda.get_rng_state_all()) == dt.cuda.device_count()
    dt.cuda.seed()  # random: only must not raise
    dt.cuda.seed_all()


@gpu
@pytest.mark.cuda
@needs_real_cuda
def test_memory_stats_grow_peak_and_reset(cp):
    dt.cuda.empty_cache()
    base = dt.cuda.memory_allocated()
    x = dt.zeros(1 << 20, device="cuda")  # 4 MiB
    assert dt.cuda.memory_allocated() >= base + (4 << 20)
    peak = dt.cuda.max_memory_allocated()
    assert peak >= dt.cuda.memory_allocated()
    assert dt.cuda.memory_reserved() >= dt.cuda.memory_allocated()
    stats = dt.cuda.memory_stats()
    for key in ("allocated_bytes.all.current", "allocated_bytes.all.peak",
                "reserved_bytes.all.current", "reserved_bytes.all.peak",
                "active_bytes.all.current", "allocation.all.allocated", "num_ooms"):
        assert key in stats
    assert list(stats) == sorted(stats)
    del x
    assert dt.cuda.memory_allocated() <= peak - (4 << 20)
    assert dt.cuda.max_memory_allocated() == peak
    dt.cuda.reset_peak_memory_stats()
    assert dt.cuda.max_memory_allocated() == dt.cuda.memory_allocated()
    dt.cuda.empty_cache()
    assert dt.cuda.memory_reserved() <= dt.cuda.max_memory_reserved()


@gpu
@pytest.mark.cuda
def test_streams_order_work_and_restore_the_current_stream(cp):
    default = dt.cuda.default_stream()
    assert default.cuda_stream == 0 and dt.cuda.current_stream() == default
    s = dt.cuda.Stream()
    assert s.cuda_stream != 0 and s.device == dt.device("cuda", dt.cuda.current_device())
    x = dt.ones(1 << 20, device="cuda")
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        assert dt.cuda.current_stream() == s
        y = x * 2
        for _ in range(20):
            y = y + 1
    assert dt.cuda.current_stream() == default
    dt.cuda.current_stream().wait_stream(s)
    assert float(y.sum().item()) == 22.0 * (1 << 20)
    s.synchronize()
    assert s.query()
    high = dt.cuda.Stream(priority=-1)
    assert high.priority == -1 and "torch.cuda.Stream device=cuda" in repr(high)


@gpu
@pytest.mark.cuda
def test_events_query_wait_and_elapsed_time(cp):
    e = dt.cuda.Event()
    assert e.query() and repr(e) == "<torch.cuda.Event uninitialized>"
    e.synchronize()
    start, end = dt.cuda.Event(enable_timing=True), dt.cuda.Event(enable_timing=True)
    start.record()
    x = dt.ones(1 << 22, device="cuda")
    for _ in range(10):
        x = x * 1.0001
    end.record()
    end.synchronize()
    assert end.query() and start.elapsed_time(end) >= 0.0
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        e.elapsed_time(end)
    with pytest.raises(RuntimeError, match="Both events must be recorded"):
        dt.cuda.Event(enable_timing=True).elapsed_time(end)
    s = dt.cuda.Stream()
    marker = dt.cuda.current_stream().record_event()
    s.wait_event(marker)
    marker.wait(s)
    s.synchronize()


@gpu
@pytest.mark.cuda
@needs_real_cuda
def test_cuda_graph_replays_a_cupy_elementwise_chain(cp):
    static_x = cp.arange(1024, dtype=cp.float32)

    def chain(x):
        return cp.sin(x) * 2.0 + x * x - 1.0

    s = dt.cuda.Stream()
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        for _ in range(3):
            chain(static_x)  # warm-up: kernels compiled before capture
    dt.cuda.current_stream().wait_stream(s)
    g = dt.cuda.CUDAGraph()
    with dt.cuda.graph(g):
        assert dt.cuda.is_current_stream_capturing()
        static_y = chain(static_x)
    assert not dt.cuda.is_current_stream_capturing()
    for scale in (0.5, -3.0):
        static_x[...] = cp.linspace(0, scale, 1024, dtype=cp.float32)
        g.replay()
        dt.cuda.synchronize()
        cp.testing.assert_allclose(static_y, chain(static_x), rtol=1e-6)
    g2 = dt.cuda.CUDAGraph()
    with dt.cuda.graph(g2, pool=g.pool()):
        static_z = static_y + 1
    g.replay()
    g2.replay()
    dt.cuda.synchronize()
    cp.testing.assert_allclose(static_z, chain(static_x) + 1, rtol=1e-6)


@gpu
@pytest.mark.cuda
@needs_real_cuda
def test_cuda_graph_refusals(cp):
    g = dt.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="must be captured on a non-default stream"):
        g.capture_begin()
    with pytest.raises(RuntimeError, match="operation not permitted when stream is capturing"):
        with dt.cuda.graph(dt.cuda.CUDAGraph()):
            dt.cuda.synchronize()
    assert not dt.cuda.is_current_stream_capturing()
    # The failed capture left nothing behind: a new one works.
    x = cp.ones(8, dtype=cp.float32)
    g3 = dt.cuda.CUDAGraph()
    with dt.cuda.graph(g3):
        y = x + 1
    g3.replay()
    dt.cuda.synchronize()
    assert float(y.sum()) == 16.0
    with pytest.raises(RuntimeError, match="already owns a captured graph"):
        g3.capture_begin()


@gpu
@pytest.mark.cuda
@needs_real_cuda
def test_cuda_graph_of_dist_torch_ops(cp):
    static_x = dt.zeros(256, device="cuda")
    s = dt.cuda.Stream()
    s.wait_stream(dt.cuda.current_stream())
    with dt.cuda.stream(s):
        for _ in range(3):
            (static_x * 2 + 1).relu()
    dt.cuda.current_stream().wait_stream(s)
    g = dt.cuda.CUDAGraph()
    with dt.cuda.graph(g):
        static_y = (static_x * 2 + 1).relu()
    static_x.copy_(dt.linspace(-2, 2, 256, device="cuda"))
    g.replay()
    expected = (dt.linspace(-2, 2, 256) * 2 + 1).relu()
    np.testing.assert_allclose(static_y.cpu().numpy(), expected.numpy(), rtol=1e-6)


@gpu
@pytest.mark.cuda
@needs_real_cuda
def test_make_graphed_callables_mlp_matches_eager(cp):
    dt.manual_seed(0)
    model = dt.nn.Sequential(dt.nn.Linear(16, 32), dt.nn.ReLU(), dt.nn.Linear(32, 4)).cuda()
    eager = dt.nn.Sequential(dt.nn.Linear(16, 32), dt.nn.ReLU(), dt.nn.Linear(32, 4)).cuda()
    eager.load_state_dict(model.state_dict())
    sample = dt.randn(8, 16, device="cuda", requires_grad=True)
    graphed = dt.cuda.make_graphed_callables(model, (sample,))
    for p in model.parameters():
        p.grad = None
    weights = dt.arange(4.0, device="cuda")
    for _ in range(2):
        x = dt.randn(8, 16, device="cuda")
        xg = x.clone().requires_grad_(True)
        xe = x.clone().requires_grad_(True)
        out = graphed(xg)
        (out * weights).sum().backward()
        ref = eager(xe)
        (ref * weights).sum().backward()
        np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().cpu().numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(xg.grad.cpu().numpy(), xe.grad.cpu().numpy(),
                                   rtol=1e-5, atol=1e-6)
        for p, q in zip(model.parameters(), eager.parameters()):
            np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.cpu().numpy(),
                                       rtol=1e-5, atol=1e-6)


def test_make_graphed_callables_refuses_autocast_caching(fake_graphs, monkeypatch):
    if not hasattr(dt, "is_autocast_enabled"):
        pytest.skip("autocast is not there yet")
    monkeypatch.setattr(dt, "is_autocast_enabled", lambda device_type=None: True)
    monkeypatch.setattr(dt, "is_autocast_cache_enabled", lambda: True)
    with pytest.raises(RuntimeError, match="does not support the autocast caching"):
        dt.cuda.make_graphed_callables(lambda u: u * 2, (dt.ones(2, requires_grad=True),))
