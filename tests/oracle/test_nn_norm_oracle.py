"""Normalization layers against torch: every option, train/eval, running stats, errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check, check_module, load_torch_weights

RNG = np.random.default_rng(0)


def _data(*shape, scale=1.0, offset=0.0):
    return RNG.standard_normal(shape) * scale + offset


BN_CASES = [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 6)), ("BatchNorm2d", (4, 3, 3, 2)),
            ("BatchNorm3d", (2, 3, 2, 2, 2))]
BN_OPTIONS = [{}, {"affine": False}, {"bias": False}, {"momentum": None},
              {"track_running_stats": False}, {"eps": 1e-2, "momentum": 0.3}]


@pytest.mark.parametrize("name,shape", BN_CASES)
@pytest.mark.parametrize("kwargs", BN_OPTIONS)
@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_modules(name, shape, kwargs, train):
    ours = getattr(dt.nn, name)(shape[1], **kwargs)
    theirs = getattr(torch.nn, name)(shape[1], **kwargs)
    if theirs.running_mean is not None:  # non-trivial running statistics for eval mode
        theirs.running_mean.uniform_(-1, 1)
        theirs.running_var.uniform_(0.5, 2)
    check_module(ours, theirs, _data(*shape, scale=2, offset=1), train=train)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_stats_over_steps(momentum):
    ours = dt.nn.BatchNorm2d(3, momentum=momentum).double()
    theirs = torch.nn.BatchNorm2d(3, momentum=momentum).double()
    for step in range(4):
        x = _data(4, 3, 2, 2, scale=step + 1, offset=step)
        ours(dt.tensor(x))
        theirs(torch.tensor(x))
    for name, buf in theirs.named_buffers():
        assert_close(dict(ours.named_buffers())[name], buf, rtol=1e-12, check_dtype=False)
        assert str(dict(ours.named_buffers())[name].dtype) == str(buf.dtype)
    ours.eval()
    theirs.eval()
    x = _data(2, 3, 2, 2)
    assert_close(ours(dt.tensor(x)), theirs(torch.tensor(x)), rtol=1e-12, check_dtype=False)


def test_batch_norm_float32_training_step():
    ours, theirs = dt.nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    x = _data(16, 4, scale=3, offset=5).astype(np.float32)
    a, b = ours(dt.tensor(x)), theirs(torch.tensor(x))
    assert a.dtype == dt.float32
    assert_close(a, b, rtol=1e-4, atol=1e-5, check_dtype=False)
    assert_close(ours.running_var, theirs.running_var, rtol=1e-5, check_dtype=False)


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm(training):
    rm, rv = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)

    def fn(lib, x, w, b):
        return lib.nn.functional.batch_norm(x, lib.tensor(rm), lib.tensor(rv), w, b,
                                            training=training, momentum=0.2, eps=1e-3)
    check(fn, _data(4, 3, 5), _data(3), _data(3))


LN_CASES = [((4, 5), 5, {}), ((2, 3, 4), (3, 4), {}), ((2, 3, 4), [4], {"bias": False}),
            ((2, 3, 4), 4, {"elementwise_affine": False}), ((3, 4), 4, {"eps": 0.1})]


@pytest.mark.parametrize("shape,normalized,kwargs", LN_CASES)
def test_layer_norm_module(shape, normalized, kwargs):
    ours, theirs = dt.nn.LayerNorm(normalized, **kwargs), torch.nn.LayerNorm(normalized, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    check_module(ours, theirs, _data(*shape, scale=3, offset=2))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("groups,channels,shape,kwargs", [
    (2, 4, (3, 4, 5), {}), (1, 4, (2, 4), {}), (4, 4, (2, 4, 2, 3), {}),
    (3, 6, (2, 6, 2), {"affine": False}), (2, 6, (2, 6, 3), {"bias": False, "eps": 0.01})])
def test_group_norm_module(groups, channels, shape, kwargs):
    ours = dt.nn.GroupNorm(groups, channels, **kwargs)
    theirs = torch.nn.GroupNorm(groups, channels, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    check_module(ours, theirs, _data(*shape, scale=2, offset=-1))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("normalized,kwargs", [(4, {}), ((3, 4), {"eps": 1e-3}),
                                               (4, {"elementwise_affine": False})])
def test_rms_norm_module(normalized, kwargs):
    ours, theirs = dt.nn.RMSNorm(normalized, **kwargs), torch.nn.RMSNorm(normalized, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    check_module(ours, theirs, _data(2, 3, 4))
    assert repr(ours) == repr(theirs)


def test_rms_norm_float32():
    x = _data(3, 8).astype(np.float32)
    check(lambda lib, t: lib.nn.functional.rms_norm(t, (8,)), x, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("size,shape", [(2, (2, 5, 3)), (3, (2, 4, 2, 2)), (5, (1, 3, 4))])
def test_local_response_norm(size, shape):
    ours = dt.nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5)
    theirs = torch.nn.LocalResponseNorm(size, alpha=0.3, beta=0.6, k=1.5)
    check_module(ours, theirs, _data(*shape))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("with_stats", [False, True])
def test_instance_norm(with_stats):
    rm0, rv0 = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)
    buffers = {}

    def fn(lib, x, w, b):
        rm = lib.tensor(rm0.copy()) if with_stats else None
        rv = lib.tensor(rv0.copy()) if with_stats else None
        out = lib.nn.functional.instance_norm(x, rm, rv, w, b, momentum=0.3)
        buffers[lib.__name__] = (rm, rv)
        return out
    check(fn, _data(2, 3, 5), _data(3), _data(3))
    if with_stats:
        for o, t in zip(buffers["dist_torch"], buffers["torch"]):
            assert_close(o, t, rtol=1e-12, check_dtype=False)
    check(lambda lib, x: lib.nn.functional.instance_norm(
        x, lib.tensor(rm0), lib.tensor(rv0), use_input_stats=False), _data(2, 3, 4))


def test_grad_fn_names():
    for lib in (dt, torch):
        x = lib.ones(2, 3, requires_grad=True)
        F = lib.nn.functional
        names = [F.batch_norm(x, None, None, training=True).grad_fn.name(),
                 F.layer_norm(x, (3,)).grad_fn.name(),
                 F.group_norm(x, 1).grad_fn.name()]
        assert names == ["NativeBatchNormBackward0", "NativeLayerNormBackward0",
                         "NativeGroupNormBackward0"]


def test_state_dict_interchange():
    theirs = torch.nn.BatchNorm1d(3)
    theirs(torch.randn(4, 3))
    ours = dt.nn.BatchNorm1d(3)
    load_torch_weights(ours, theirs)
    assert ours.num_batches_tracked.item() == 1
    assert list(ours.state_dict()) == list(theirs.state_dict())
    state = {k: v for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    fresh = torch.nn.BatchNorm1d(3)
    fresh.load_state_dict(state)  # a plain dict without num_batches_tracked loads in torch
    ours.load_state_dict({k: dt.tensor(v.numpy()) for k, v in state.items()})


@pytest.mark.parametrize("ctor", [
    "BatchNorm1d(3)", "BatchNorm2d(3, eps=1e-3, momentum=None, affine=False)",
    "BatchNorm3d(2, track_running_stats=False, bias=False)", "LayerNorm(3)",
    "LayerNorm((3, 4), elementwise_affine=False, bias=False, eps=1e-6)",
    "GroupNorm(2, 4)", "GroupNorm(1, 3, affine=False, eps=1e-3)", "RMSNorm([3, 4], eps=1e-3)",
    "LocalResponseNorm(3, alpha=2, beta=1, k=2)"])
def test_repr(ctor):
    assert repr(eval("dt.nn." + ctor)) == repr(eval("torch.nn." + ctor))


ERROR_CASES = [
    lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(2, 3, 4, 5)),
    lambda lib: lib.nn.BatchNorm2d(3)(lib.randn(2, 3, 4)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(1, 3)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.randn(2, 4)),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), None, None),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3), lib.zeros(3), None),
    lambda lib: lib.nn.LayerNorm(5)(lib.randn(2, 3, 4)),
    lambda lib: lib.nn.functional.layer_norm(lib.randn(2, 4), (4,), lib.ones(5)),
    lambda lib: lib.nn.functional.layer_norm(lib.randn(2, 4), (4,), None, lib.ones(5)),
    lambda lib: lib.nn.functional.layer_norm(lib.randn(2, 4), 4),
    lambda lib: lib.nn.functional.layer_norm(lib.randn(2, 4), []),
    lambda lib: lib.nn.GroupNorm(2, 3),
    lambda lib: lib.nn.functional.group_norm(lib.randn(2, 6, 5), 4),
    lambda lib: lib.nn.functional.group_norm(lib.randn(2, 6, 5), 3, lib.ones(5)),
    lambda lib: lib.nn.functional.group_norm(lib.randn(6), 3),
    lambda lib: lib.nn.functional.instance_norm(lib.randn(1, 6, 1)),
    lambda lib: lib.nn.functional.rms_norm(lib.randn(2, 3), (4,)),
    lambda lib: lib.nn.functional.batch_norm(lib.ones(4, 3, dtype=lib.int64), None, None,
                                             training=True),
    lambda lib: lib.nn.functional.layer_norm(lib.ones(4, 3, dtype=lib.int64), (3,)),
    lambda lib: lib.nn.functional.batch_norm(lib.randn(4, 3).double(), None, None,
                                             lib.ones(3), training=True),
    lambda lib: lib.nn.functional.layer_norm(lib.randn(4, 3), (3,), lib.ones(3).double()),
]


@pytest.mark.parametrize("case", range(len(ERROR_CASES)))
def test_errors_match_torch(case):
    fn = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(type(theirs.value)) as ours:
        fn(dt)
    assert str(ours.value) == str(theirs.value)


def test_top_level_forms():
    """torch.batch_norm & co. (ATen argument order) in dist_torch.ops.norm."""
    from dist_torch.ops import norm as ops_norm
    rm, rv = RNG.standard_normal(3), RNG.uniform(0.5, 2, 3)

    def lib_fn(lib, name):
        return getattr(ops_norm if lib is dt else torch, name)

    check(lambda lib, x, w, b: lib_fn(lib, "batch_norm")(x, w, b, lib.tensor(rm), lib.tensor(rv),
                                                         True, 0.1, 1e-5, False),
          _data(4, 3, 2), _data(3), _data(3))
    check(lambda lib, x, w, b: lib_fn(lib, "layer_norm")(x, (2,), w, b), _data(4, 3, 2),
          _data(2), _data(2))
    check(lambda lib, x, w, b: lib_fn(lib, "group_norm")(x, 3, w, b), _data(4, 3, 2), _data(3),
          _data(3))
    check(lambda lib, x, w, b: lib_fn(lib, "instance_norm")(x, w, b, None, None, True, 0.1,
                                                            1e-5, False),
          _data(4, 3, 2), _data(3), _data(3))
    check(lambda lib, x, w: lib_fn(lib, "rms_norm")(x, (2,), w), _data(4, 3, 2), _data(2))


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 2)),
                                        ("InstanceNorm3d", (3, 2, 2, 3))])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True,
                                     "momentum": None}])
@pytest.mark.parametrize("train", [True, False])
def test_instance_norm_modules(name, shape, kwargs, train):
    ours, theirs = getattr(dt.nn, name)(3, **kwargs), getattr(torch.nn, name)(3, **kwargs)
    if theirs.running_mean is not None:
        theirs.running_mean.uniform_(-1, 1)
        theirs.running_var.uniform_(0.5, 2)
    check_module(ours, theirs, _data(*shape, scale=2, offset=1), train=train)
    assert repr(ours) == repr(theirs)


INSTANCE_ERRORS = [
    lambda lib: lib.nn.InstanceNorm1d(3)(lib.randn(2, 3, 4, 5)),
    lambda lib: lib.nn.InstanceNorm2d(3)(lib.randn(3, 4)),
    lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.randn(2, 4, 5)),
    lambda lib: lib.nn.InstanceNorm1d(3)(lib.randn(2, 3, 1)),
]


@pytest.mark.parametrize("case", range(len(INSTANCE_ERRORS)))
def test_instance_norm_errors(case):
    with pytest.raises(Exception) as theirs:
        INSTANCE_ERRORS[case](torch)
    with pytest.raises(type(theirs.value)) as ours:
        INSTANCE_ERRORS[case](dt)
    assert str(ours.value) == str(theirs.value)


def test_instance_norm_feature_mismatch_warns_like_torch():
    for lib in (dt, torch):
        with pytest.warns(UserWarning, match="does not match num_features"):
            lib.nn.InstanceNorm1d(3)(lib.randn(2, 4, 5))
