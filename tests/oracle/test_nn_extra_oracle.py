"""Fold/Unfold, PixelShuffle/Unshuffle, ChannelShuffle, Bilinear and the lazy modules against
torch: values, gradients, dtypes, reprs, state_dict keys, errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import assert_same_error, check, check_module

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


# --------------------------------------------------------------------------- simple layers

@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.Unfold(2), (2, 3, 4, 5)),
    (lambda nn: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), (1, 2, 5, 6)),
    (lambda nn: nn.Fold((4, 5), 2), (2, 12, 12)),
    (lambda nn: nn.Fold(5, (2, 2), padding=1, stride=2), (2, 8, 9)),
    (lambda nn: nn.PixelShuffle(2), (2, 8, 3, 3)),
    (lambda nn: nn.PixelUnshuffle(3), (1, 2, 6, 3)),
    (lambda nn: nn.ChannelShuffle(3), (2, 6, 4)),
    (lambda nn: nn.ChannelShuffle(2), (2, 4, 3, 2)),
    (lambda nn: nn.ChannelShuffle(2), (1, 4, 2, 1, 3)),
])
def test_layers_match_torch(make, shape):
    ours, theirs = make(dt.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    check_module(ours, theirs, _data(*shape))


def test_channel_shuffle_integer_and_errors():
    x = np.arange(24).reshape(1, 6, 4)
    check(lambda m, a: m.nn.functional.channel_shuffle(a, 3), x, grad=False)
    check(lambda m, a: m.nn.functional.channel_shuffle(a, 2), x.astype(np.float32))
    assert_same_error(lambda m: m.nn.functional.channel_shuffle(m.zeros(2, 5, 3), 2))
    assert_same_error(lambda m: m.nn.functional.channel_shuffle(m.zeros(2, 6), 2))
    assert_same_error(lambda m: m.nn.functional.channel_shuffle(m.zeros(2, 6, 1), 0))


@pytest.mark.parametrize("shape1, shape2", [((4, 3), (4, 2)), ((3,), (2,)), ((2, 5, 3), (2, 5, 2)),
                                            ((0, 3), (0, 2))])
def test_bilinear_functional(shape1, shape2):
    w, b = _data(5, 3, 2), _data(5)
    check(lambda m, x, y, w, b: m.nn.functional.bilinear(x, y, w, b), _data(*shape1),
          _data(*shape2), w, b)
    check(lambda m, x, y, w: m.nn.functional.bilinear(x, y, w), _data(*shape1),
          _data(*shape2), w)


def test_bilinear_dtypes_and_errors():
    x, y, w = _data(2, 3), _data(2, 4), _data(5, 3, 4)
    check(lambda m, x, y, w: m.nn.functional.bilinear(x, y, w), x.astype(np.float32),
          y.astype(np.float32), w.astype(np.float32), rtol=1e-5, atol=1e-5)
    ints = [np.arange(6).reshape(2, 3), np.arange(8).reshape(2, 4), np.arange(60).reshape(5, 3, 4)]
    check(lambda m, x, y, w: m.nn.functional.bilinear(x, y, w), *ints, grad=False)
    for args in [((2, 3), (3, 4), (5, 3, 4), None), ((2, 3), (2, 4), (5, 3, 3), None),
                 ((2, 3), (2, 4), (5, 2, 4), None), ((2, 3), (2, 4), (5, 3, 4), (4,))]:
        def call(m, args=args):
            fn = m.nn.functional.bilinear
            bias = None if args[3] is None else m.zeros(*args[3])
            return fn(m.zeros(*args[0]), m.zeros(*args[1]), m.zeros(*args[2]), bias)
        assert_same_error(call)
    assert_same_error(lambda m: m.nn.functional.bilinear(
        m.zeros(2, 3), m.zeros(2, 4, dtype=m.float64), m.zeros(5, 3, 4)))


def test_bilinear_module():
    ours, theirs = dt.nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.weight.shape == theirs.weight.shape
    bound = 1 / np.sqrt(3)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound
    assert np.abs(ours.weight.detach().numpy()).max() > 0.5 * bound
    check_module(ours, theirs, _data(6, 3), _data(6, 4))
    nb, tb = dt.nn.Bilinear(2, 3, 4, bias=False), torch.nn.Bilinear(2, 3, 4, bias=False)
    assert repr(nb) == repr(tb) and nb.bias is None
    check_module(nb, tb, _data(5, 2), _data(5, 3))


# --------------------------------------------------------------------------- lazy modules

LAZY = [
    ("LazyLinear", (3,), (2, 5), "Linear"),
    ("LazyLinear", (3, False), (4, 2, 6), "Linear"),
    ("LazyConv1d", (4, 3), (2, 3, 7), "Conv1d"),
    ("LazyConv2d", (4, 3), (2, 2, 5, 5), "Conv2d"),
    ("LazyConv2d", (4, 3), (2, 5, 5), "Conv2d"),
    ("LazyConv3d", (2, 2), (1, 2, 3, 3, 3), "Conv3d"),
    ("LazyConvTranspose1d", (4, 3), (2, 3, 5), "ConvTranspose1d"),
    ("LazyConvTranspose2d", (4, 3), (1, 6, 4, 4), "ConvTranspose2d"),
    ("LazyConvTranspose3d", (2, 2), (1, 2, 2, 3, 2), "ConvTranspose3d"),
    ("LazyBatchNorm1d", (), (6, 3), "BatchNorm1d"),
    ("LazyBatchNorm2d", (), (4, 3, 2, 2), "BatchNorm2d"),
    ("LazyBatchNorm3d", (), (2, 3, 2, 2, 2), "BatchNorm3d"),
    ("LazyInstanceNorm1d", (), (2, 3, 5), "InstanceNorm1d"),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4), "InstanceNorm2d"),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 3, 2), "InstanceNorm3d"),
]


@pytest.mark.parametrize("name, args, shape, becomes", LAZY)
def test_lazy_module_lifecycle(name, args, shape, becomes):
    ours, theirs = getattr(dt.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [repr(v) for v in ours.state_dict().values()] == \
        [repr(v) for v in theirs.state_dict().values()]
    assert [repr(p) for p in ours.parameters()] == [repr(p) for p in theirs.parameters()]
    assert ours.has_uninitialized_params() and theirs.has_uninitialized_params()
    x = _data(*shape)
    ours(dt.tensor(x, dtype=dt.float32))
    theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == becomes == type(theirs).__name__
    assert type(ours) is getattr(dt.nn, becomes)
    assert repr(ours) == repr(theirs)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for key in theirs_sd:
        assert tuple(ours_sd[key].shape) == tuple(theirs_sd[key].shape), key
        assert str(ours_sd[key].dtype) == str(theirs_sd[key].dtype), key
    # from now on the module is the regular layer: same values as torch given its weights
    check_module(ours, theirs, x)


def test_lazy_linear_init_distribution():
    m = dt.nn.LazyLinear(50)
    m(dt.zeros(3, 400))
    w = m.weight.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert w.shape == (50, 400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound


def test_lazy_optimizer_created_before_first_forward():
    results = []
    for lib in (dt, torch):
        lib.manual_seed(0)
        m = lib.nn.LazyLinear(2)
        params = list(m.parameters())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch 2.13 does not warn here
            opt = lib.optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
        x = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float32)
        m(x)
        assert params[0] is m.weight and params[1] is m.bias
        assert type(m.weight).__name__ == "Parameter"
        with lib.no_grad():
            m.weight.copy_(lib.tensor([[0.1, -0.2, 0.3], [0.0, 0.5, -0.1]]))
            m.bias.fill_(0.25)
        for _ in range(2):
            opt.zero_grad()
            (m(x) ** 2).sum().backward()
            opt.step()
        results.append(m.weight.detach().numpy().copy())
    assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_uninitialized_parameter_behaviour():
    for lib in (dt, torch):
        p = lib.nn.UninitializedParameter()
        assert repr(p) == "<UninitializedParameter>" and p.requires_grad
        assert repr(lib.nn.UninitializedBuffer()) == "<UninitializedBuffer>"
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            p + 1
        with pytest.raises(RuntimeError, match="Can't access the shape"):
            p.shape  # noqa: B018
        p.materialize((2, 3))
        assert type(p) is lib.nn.Parameter and tuple(p.shape) == (2, 3)
        b = lib.nn.UninitializedBuffer()
        b.materialize((4,), dtype=lib.float64)
        assert type(b) is lib.Tensor and b.dtype == lib.float64


def test_lazy_dtype_conversion_before_forward():
    m = dt.nn.LazyBatchNorm1d().double()
    assert type(m.running_mean).__name__ == "UninitializedBuffer"
    m(dt.zeros(4, 3, dtype=dt.float64))
    assert m.weight.dtype == dt.float64 and m.running_mean.dtype == dt.float64


def test_lazy_load_state_dict():
    src_t = torch.nn.Linear(4, 3)
    for lib, src in ((dt, dt.nn.Linear(4, 3)), (torch, src_t)):
        lazy = lib.nn.LazyLinear(3)
        assert not lazy.load_state_dict(src.state_dict()).missing_keys
        assert type(lazy).__name__ == "LazyLinear"  # becomes Linear at the first forward
        assert tuple(lazy.weight.shape) == (3, 4)
        assert_close(lazy.weight.detach().numpy(), src.weight.detach().numpy())
        lazy(lib.zeros(1, 4))
        assert type(lazy).__name__ == "Linear"
        other = lib.nn.LazyLinear(3)
        other.load_state_dict(lib.nn.LazyLinear(3).state_dict())  # both uninitialized
        assert other.has_uninitialized_params()
        with pytest.raises(RuntimeError, match="Can't access the shape"):
            lib.nn.Linear(4, 3).load_state_dict(lib.nn.LazyLinear(3).state_dict())


def test_lazy_in_sequential_and_errors():
    seq = dt.nn.Sequential(dt.nn.LazyLinear(5), dt.nn.ReLU(), dt.nn.LazyLinear(2))
    assert seq(dt.zeros(3, 7)).shape == (3, 2)
    assert [tuple(p.shape) for p in seq.parameters()] == [(5, 7), (5,), (2, 5), (2,)]
    assert_same_error(lambda m: m.nn.LazyConv2d(4, 3)(m.zeros(1, 2, 3, 4, 5)))
    assert_same_error(lambda m: m.nn.LazyConv2d(4, 3, groups=2)(m.zeros(1, 3, 5, 5)))
