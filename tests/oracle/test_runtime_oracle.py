"""Runtime utilities against torch: thread counts, determinism / warn-always / anomaly
switches, compile's checks, typename and the type queries, the torch.* dropout forms,
frombuffer, DLPack (both directions between the two libraries), resize_, apply_ / map_ /
map2_, storage_offset, empty_strided and pinning errors."""

import array
import contextlib

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import assert_same_error, errors

LIBS = [dt, torch]


@contextlib.contextmanager
def _restored_flags():
    """Put every global switch these tests touch back as it was, in both libraries."""
    saved = [(lib.get_num_threads(), lib.are_deterministic_algorithms_enabled(),
              lib.is_deterministic_algorithms_warn_only_enabled(), lib.is_warn_always_enabled(),
              lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()) for lib in LIBS]
    try:
        yield
    finally:
        for lib, (threads, det, warn_only, always, anomaly, nan) in zip(LIBS, saved):
            lib.set_num_threads(threads)
            lib.use_deterministic_algorithms(det, warn_only=warn_only)
            lib.set_warn_always(always)
            lib.set_anomaly_enabled(anomaly, nan)


# --------------------------------------------------------------------------- switches

@pytest.mark.parametrize("call", [
    lambda lib: lib.set_num_threads(0), lambda lib: lib.set_num_threads(-1),
    lambda lib: lib.set_num_threads(2.5), lambda lib: lib.set_num_threads("a"),
    lambda lib: lib.set_num_threads(True), lambda lib: lib.set_num_interop_threads(0),
    lambda lib: lib.set_num_interop_threads(1.5),
])
def test_thread_count_errors(call):
    assert_same_error(call)


def test_set_num_threads_is_read_back():
    with _restored_flags():
        for lib in LIBS:
            assert lib.set_num_threads(1) is None
            assert lib.get_num_threads() == 1
        assert isinstance(dt.get_num_interop_threads(), int)
        assert dt.get_num_interop_threads() >= 1


def _flags(lib):
    return (lib.are_deterministic_algorithms_enabled(),
            lib.is_deterministic_algorithms_warn_only_enabled(),
            lib.get_deterministic_debug_mode())


def test_deterministic_switches_follow_torch():
    steps = [
        lambda lib: lib.use_deterministic_algorithms(True, warn_only=True),
        lambda lib: lib.use_deterministic_algorithms(True),
        lambda lib: lib.use_deterministic_algorithms(False),
        *[(lambda mode: lambda lib: lib.set_deterministic_debug_mode(mode))(m)
          for m in ["warn", "error", "default", 1, 2, 0, True, False]],
    ]
    with _restored_flags():
        for step in steps:
            results = [(step(lib), _flags(lib)) for lib in LIBS]
            assert results[0] == results[1]


@pytest.mark.parametrize("call", [
    lambda lib: lib.use_deterministic_algorithms(1),
    lambda lib: lib.use_deterministic_algorithms("a"),
    lambda lib: lib.use_deterministic_algorithms(None),
    lambda lib: lib.use_deterministic_algorithms(True, warn_only=1),
    lambda lib: lib.set_deterministic_debug_mode(3),
    lambda lib: lib.set_deterministic_debug_mode("x"),
    lambda lib: lib.set_deterministic_debug_mode(1.5),
    lambda lib: lib.set_warn_always(1),
    lambda lib: lib.set_flush_denormal(1),
    lambda lib: lib.set_anomaly_enabled(1),
])
def test_switch_errors(call):
    with _restored_flags():
        assert_same_error(call)


def test_warn_always_and_anomaly_switches_follow_torch():
    steps = [
        lambda lib: lib.set_warn_always(True), lambda lib: lib.set_warn_always(False),
        lambda lib: lib.set_anomaly_enabled(True),
        lambda lib: lib.set_anomaly_enabled(True, False),
        lambda lib: lib.set_anomaly_enabled(False),
    ]
    with _restored_flags():
        for step in steps:
            results = [(step(lib), lib.is_warn_always_enabled(), lib.is_anomaly_enabled(),
                        lib.is_anomaly_check_nan_enabled()) for lib in LIBS]
            assert results[0] == results[1]


# --------------------------------------------------------------------------- compile

@pytest.mark.parametrize("call", [
    lambda lib: lib.compile(len, mode="x"),
    lambda lib: lib.compile(len, mode="default", options={}),
    lambda lib: lib.compile(3),
])
def test_compile_errors(call):
    assert_same_error(call)


def test_compile_result_computes_what_torch_compile_computes():
    x = np.linspace(-2, 2, 7)

    def f(lib, t):
        return lib.tanh(t) * 2 + t ** 2
    ours = dt.compile(lambda t: f(dt, t))(dt.tensor(x))
    theirs = torch.compile(lambda t: f(torch, t), backend="eager")(torch.tensor(x))
    assert_close(ours, theirs.numpy())


# --------------------------------------------------------------------------- type queries

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool"]


@pytest.mark.parametrize("name", DTYPES)
def test_typename_is_signed_get_device_per_dtype(name):
    ours = dt.zeros(2, dtype=getattr(dt, name))
    theirs = torch.zeros(2, dtype=getattr(torch, name))
    assert dt.typename(ours) == torch.typename(theirs)
    assert dt.is_signed(ours) == torch.is_signed(theirs) == ours.is_signed()
    assert dt.get_device(ours) == torch.get_device(theirs) == -1
    assert dt.is_inference(ours) is torch.is_inference(theirs) is False


@pytest.mark.parametrize("obj", [3, None, "s", int, np.zeros(1), 2.5, [1]])
def test_typename_of_non_tensors(obj):
    assert dt.typename(obj) == torch.typename(obj)


@pytest.mark.parametrize("values", [[1], [0.0], [True], [False], 7, 0.0])
def test_is_nonzero_values(values):
    assert dt.is_nonzero(dt.tensor(values)) is torch.is_nonzero(torch.tensor(values))
    assert dt.tensor(values).is_nonzero() is torch.tensor(values).is_nonzero()


@pytest.mark.parametrize("call", [
    lambda lib: lib.is_nonzero(lib.tensor([])),
    lambda lib: lib.is_nonzero(lib.tensor([1.0, 2.0])),
    lambda lib: lib.is_nonzero(3),
    lambda lib: lib.is_signed(3),
    lambda lib: lib.is_same_size(lib.zeros(2), [1, 2]),
    lambda lib: lib.zeros(2).is_same_size(3),
    lambda lib: lib.get_device(3),
    lambda lib: lib.zero_(lib.ones(2, requires_grad=True)),
])
def test_type_query_errors(call):
    assert_same_error(call)


def test_is_same_size_detach_zero_():
    for a, b in [((2, 3), (2, 3)), ((2, 3), (3, 2)), ((), ()), ((0,), (0,)), ((1,), ())]:
        assert dt.is_same_size(dt.zeros(a), dt.zeros(b)) == \
            torch.is_same_size(torch.zeros(a), torch.zeros(b))
    x = dt.ones(3, requires_grad=True) * 2
    d = dt.detach(x)
    assert not d.requires_grad and d.grad_fn is None
    assert_close(d, np.full(3, 2.0, np.float32))
    z = dt.ones(3)
    assert dt.zero_(z) is z
    assert_close(z, np.zeros(3, np.float32))


# --------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("call", [
    lambda lib: lib.dropout(lib.ones(4), 1.5, True),
    lambda lib: lib.dropout(lib.ones(4), -0.5, True),
    lambda lib: lib.dropout(lib.ones(4), 0.5, 1),
    lambda lib: lib.dropout(lib.ones(3, dtype=lib.long), 0.5, True),
    lambda lib: lib.alpha_dropout(lib.ones(4), 2.0, False),
    lambda lib: lib.feature_alpha_dropout(lib.ones(3), 0.5, True),
    lambda lib: lib.feature_dropout(lib.ones(3), 0.5, True),
    lambda lib: lib.dropout_(lib.ones(3, requires_grad=True), 0.5, True),
])
def test_dropout_errors(call):
    assert_same_error(call)


def test_dropout_train_is_required():
    ours, theirs = errors(lambda lib: lib.dropout(lib.ones(4), 0.5))
    assert ours[0] == theirs[0] == "TypeError" and "train" in ours[1]


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_dropout",
                                  "feature_alpha_dropout"])
def test_dropout_forms_in_eval_and_extreme_p(name):
    x = np.arange(12.0).reshape(2, 3, 2)
    for lib in LIBS:
        fn = getattr(lib, name)
        assert_close(fn(lib.tensor(x), 0.5, False), x)
        assert_close(fn(lib.tensor(x), 0.0, True), x)
    for p in (0.0, 1.0):
        ours = getattr(dt, name)(dt.tensor(x), p, True)
        theirs = getattr(torch, name)(torch.tensor(x), p, True)
        assert_close(ours, theirs.numpy())


def test_dropout_training_values_and_inplace():
    dt.manual_seed(0)
    y = dt.dropout(dt.ones(1000, dtype=dt.float64), 0.25, True).numpy()
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert 150 < (y == 0).sum() < 350
    f = dt.feature_dropout(dt.ones(40, 8, 3), 0.5, True).numpy()
    assert (f == f[:, :, :1]).all()                     # whole channels dropped or kept
    z = dt.ones(50)
    assert dt.dropout_(z, 0.5, True) is z
    assert set(np.unique(z.numpy())) <= {0.0, 2.0}


# --------------------------------------------------------------------------- frombuffer

def _buffer():
    return bytearray(np.arange(6, dtype=np.float32).tobytes())


@pytest.mark.parametrize("kwargs", [
    dict(dtype="float32"), dict(dtype="float32", count=2, offset=4),
    dict(dtype="int16", offset=2, count=3), dict(dtype="uint8", offset=5),
    dict(dtype="float64", count=3), dict(dtype="float32", count=-2), dict(dtype="bool", count=4),
])
def test_frombuffer_values(kwargs):
    out = []
    for lib in LIBS:
        kw = dict(kwargs, dtype=getattr(lib, kwargs["dtype"]))
        out.append(lib.frombuffer(_buffer(), **kw))
    assert out[0].dtype.name == str(out[1].dtype).replace("torch.", "")
    assert_close(out[0], out[1].numpy())


@pytest.mark.parametrize("kwargs", [
    dict(count=0), dict(offset=24), dict(offset=-1), dict(count=7), dict(offset=3),
])
def test_frombuffer_errors(kwargs):
    assert_same_error(lambda lib: lib.frombuffer(_buffer(), dtype=lib.float32, **kwargs))


def test_frombuffer_other_errors_and_buffers():
    assert_same_error(lambda lib: lib.frombuffer(bytearray(0), dtype=lib.float32))
    assert_same_error(lambda lib: lib.frombuffer([1, 2], dtype=lib.float32))
    ours, theirs = errors(lambda lib: lib.frombuffer(_buffer()))
    assert ours[0] == theirs[0] == "TypeError" and "dtype" in ours[1]
    ints = array.array("i", [1, 2, 3])
    assert_close(dt.frombuffer(ints, dtype=dt.int32),
                 torch.frombuffer(ints, dtype=torch.int32).numpy())
    assert_close(dt.frombuffer(bytes(8), dtype=dt.float32), np.zeros(2, np.float32))
    g = dt.frombuffer(_buffer(), dtype=dt.float32, requires_grad=True)
    assert g.requires_grad and g.is_leaf


def test_frombuffer_shares_memory_like_torch():
    buffers = [_buffer(), _buffer()]
    for lib, buf in zip(LIBS, buffers):
        t = lib.frombuffer(buf, dtype=lib.float32, offset=4, count=3)
        t[0] = 9.0
    assert buffers[0] == buffers[1]
    assert np.frombuffer(buffers[0], np.float32)[1] == 9.0


# --------------------------------------------------------------------------- DLPack

@pytest.mark.parametrize("array_", [
    np.arange(6.0).reshape(2, 3), np.arange(6, dtype=np.int32), np.array([True, False]),
    np.arange(12.0, dtype=np.float32).reshape(3, 4)[:, 1], np.array(2.5),
    np.arange(6, dtype=np.uint8).reshape(3, 2).T,
])
def test_from_dlpack_of_numpy_matches_torch(array_):
    ours, theirs = dt.from_dlpack(array_), torch.from_dlpack(array_)
    assert ours.shape == tuple(theirs.shape) and ours.stride() == theirs.stride()
    assert_close(ours, theirs.numpy())


def test_dlpack_between_the_two_libraries_shares_memory():
    ours = dt.arange(6.0).reshape(2, 3)
    theirs = torch.from_dlpack(ours)              # torch consumes our __dlpack__
    theirs[0, 1] = 7.0
    assert ours[0, 1].item() == 7.0
    back = dt.from_dlpack(torch.arange(4, dtype=torch.int64))  # we consume torch's
    assert back.dtype == dt.int64 and back.tolist() == [0, 1, 2, 3]
    t = torch.zeros(3)
    dt.from_dlpack(t)[1] = 5.0
    assert t[1].item() == 5.0
    assert [int(v) for v in ours.__dlpack_device__()] == [int(v) for v in
                                                         theirs.__dlpack_device__()]


def test_capsules_round_trip_and_are_consumed_once():
    for lib in LIBS:
        x = lib.arange(6.0).reshape(2, 3)
        capsule = lib.to_dlpack(x)
        y = lib.from_dlpack(capsule)
        assert y.tolist() == x.tolist()
        y[0, 0] = -1.0
        assert x[0, 0].item() == -1.0
    capsules = [dt.to_dlpack(dt.ones(2)), torch.to_dlpack(torch.ones(2))]
    for lib, capsule in zip(LIBS, capsules):
        lib.from_dlpack(capsule)
    it = iter(capsules)
    assert_same_error(lambda lib: lib.from_dlpack(next(it)))
    assert_same_error(lambda lib: lib.from_dlpack([1, 2]))
    cross = dt.from_dlpack(torch.to_dlpack(torch.arange(3.0)))   # a torch capsule
    assert cross.tolist() == [0.0, 1.0, 2.0]


def test_dlpack_copy_and_requires_grad():
    a = np.arange(3.0)
    for lib in LIBS:
        c = lib.from_dlpack(a, copy=True)
        c[0] = 9.0
        assert a[0] == 0.0
        d = lib.from_dlpack(a, device="cpu")
        assert str(d.device) == "cpu"
    ours = errors(lambda lib: np.from_dlpack(lib.ones(2, requires_grad=True)))
    assert ours[0] == ours[1] and ours[0][0] == "BufferError"


# --------------------------------------------------------------------------- resize_

def _resize_story(lib):
    a = lib.arange(6.0)
    seen = []
    for shape in [(2, 3), (2, 2), (4,), (3, 1), [2], lib.Size([1, 2]), (0,)]:
        r = a.resize_(*shape) if isinstance(shape, tuple) else a.resize_(shape)
        assert r is a
        seen.append((tuple(a.shape), a.tolist()))
    return seen


def test_resize_shrinks_and_regrows_like_torch():
    assert _resize_story(dt) == _resize_story(torch)
    for lib in LIBS:
        a = lib.arange(4.0)
        a.resize_(6)
        assert a[:4].tolist() == [0.0, 1.0, 2.0, 3.0] and tuple(a.shape) == (6,)
        b = lib.arange(6.0)
        b.resize_as_(lib.zeros(3, 2))
        assert b.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]


@pytest.mark.parametrize("call", [
    lambda lib: lib.zeros(3).resize_(-1), lambda lib: lib.zeros(3).resize_(2, -3),
    lambda lib: lib.zeros(3).resize_(2.5),
    lambda lib: lib.ones(3, requires_grad=True).resize_(2),
    lambda lib: (lib.ones(3, requires_grad=True) * 2).resize_(3),
    lambda lib: lib.zeros(3).resize_as_([1]),
])
def test_resize_errors(call):
    assert_same_error(call)


# --------------------------------------------------------------------------- apply_ / map_

@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "uint8"])
def test_apply_map_map2_match_torch(dtype):
    x = np.array([[0, 1, 2], [3, 4, 5]])
    out = []
    for lib in LIBS:
        d = getattr(lib, dtype)
        a = lib.tensor(x).to(d)
        r1 = a.clone().apply_(lambda v: v * 1.9 + 1)
        r2 = a.clone().map_(lib.tensor([2, 0, 1]).to(d), lambda v, w: v * 2 + w)
        r3 = a.clone().map2_(lib.tensor([[1], [0]]).to(d), a.clone(), lambda v, p, q: v + p * q)
        out.append([r.tolist() for r in (r1, r2, r3)])
    assert out[0] == out[1]


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2, requires_grad=True).apply_(lambda v: v),
    lambda lib: lib.ones(2, requires_grad=True).map_(lib.ones(2), lambda v, w: v),
    lambda lib: lib.arange(3.0).map_(lib.arange(3), lambda v, w: v),
    lambda lib: lib.arange(3.0).map_([1, 2, 3], lambda v, w: v),
    lambda lib: lib.arange(4.0).map_(lib.ones(3), lambda v, w: v),
    lambda lib: lib.ones(2).map_(lib.ones(2, 2), lambda v, w: v),
])
def test_apply_map_errors(call):
    assert_same_error(call)


def test_apply_writes_through_views():
    for lib in LIBS:
        base = lib.arange(6.0).reshape(2, 3)
        base.t()[1].apply_(lambda v: -v)
        assert base.tolist() == [[0.0, -1.0, 2.0], [3.0, -4.0, 5.0]]


# --------------------------------------------------------------------------- storage, strides

VIEWS = [
    lambda t: t, lambda t: t[1], lambda t: t[1:, 2:], lambda t: t.t()[1],
    lambda t: t.view(-1)[5:], lambda t: t[1].detach(), lambda t: t[1].clone(),
    lambda t: t[:, 1], lambda t: t[2:, ::2], lambda t: t.reshape(4, 3)[3],
    lambda t: t.narrow(1, 1, 2), lambda t: t.select(0, 2).unsqueeze(0),
]


@pytest.mark.parametrize("view", range(len(VIEWS)))
def test_storage_offset_matches_torch(view):
    ours = VIEWS[view](dt.arange(12.0).reshape(3, 4))
    theirs = VIEWS[view](torch.arange(12.0).reshape(3, 4))
    assert ours.storage_offset() == theirs.storage_offset()


@pytest.mark.parametrize("size, stride", [((2, 3), (3, 1)), ((2, 3), (1, 2)), ((0, 3), (5, 1)),
                                          ((4,), (2,)), ((), ())])
def test_empty_strided_layouts(size, stride):
    ours = dt.empty_strided(size, stride, dtype=dt.float64)
    theirs = torch.empty_strided(size, stride, dtype=torch.float64)
    assert ours.shape == tuple(theirs.shape) and ours.stride() == theirs.stride()
    assert ours.dtype == dt.float64
    n = dt.zeros(2, dtype=dt.int32).new_empty_strided(size, stride)
    m = torch.zeros(2, dtype=torch.int32).new_empty_strided(size, stride)
    assert n.stride() == m.stride() and n.dtype == dt.int32
    ours.fill_(1.5)                          # writable, and every element addressable
    assert float(ours.sum()) == 1.5 * ours.numel()


@pytest.mark.parametrize("call", [
    lambda lib: lib.empty_strided((2, 3), (1,)),
    lambda lib: lib.empty_strided((2, 3), (1, -1)),
    lambda lib: lib.empty_strided((2, -3), (1, 1)),
])
def test_empty_strided_errors(call):
    assert_same_error(call)


@pytest.mark.skipif(dt.cuda.is_available(), reason="torch's CPU build behaviour, no GPU")
@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2).pin_memory(),
    lambda lib: lib.zeros(2, pin_memory=True),
    lambda lib: lib.tensor([1.0], pin_memory=True),
    lambda lib: lib.empty_strided((2,), (1,), pin_memory=True),
    lambda lib: lib.rand(2, pin_memory=True),
])
def test_pinning_without_a_gpu(call):
    assert_same_error(call)
    assert dt.ones(2).is_pinned() is torch.ones(2).is_pinned() is False


def test_default_device_queries_match_torch():
    try:
        for lib in LIBS:
            assert str(lib.get_default_device()) == "cpu"
            lib.set_default_device("cpu:0")
            assert str(lib.get_default_device()) == "cpu:0"
            assert str(lib.zeros(1).device) == "cpu"
            lib.set_default_device(None)
            with lib.device("cpu") as d:
                assert str(d) == "cpu"
        ours, theirs = errors(lambda lib: lib.set_default_device("bogus"))
        assert ours[0] == theirs[0] == "RuntimeError"
    finally:
        for lib in LIBS:
            lib.set_default_device(None)
