"""AdaptiveLogSoftmaxWithLoss, fractional max pooling, CrossMapLRN2d, init.sparse_, conv_tbc,
Container and DataParallel (CPU path) against torch: values, gradients, dtypes, reprs,
state_dict keys, errors."""

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


# --------------------------------------------------------------------------- adaptive softmax

def _asm_pair(*args, **kwargs):
    ours = dt.nn.AdaptiveLogSoftmaxWithLoss(*args, **kwargs)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, **kwargs)
    return ours, theirs


def test_adaptive_structure_matches_torch():
    ours, theirs = _asm_pair(16, 20, [4, 10], div_value=2.0, head_bias=True)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert tuple(p.shape) == tuple(q.shape), name
    assert ours.cutoffs == theirs.cutoffs == [4, 10, 20]
    assert (ours.shortlist_size, ours.n_clusters, ours.head_size) == (4, 2, 6)


@pytest.mark.parametrize("target", [
    [0, 3, 5, 19, 12, 4, 9, 10],    # every cluster
    [1, 2, 3, 0, 3, 2, 1, 0],       # head only
    [15, 11, 19, 10, 17, 12, 13, 14],  # last cluster only
])
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_forward_backward(target, head_bias):
    ours, theirs = _asm_pair(6, 20, [4, 10], div_value=2.0, head_bias=head_bias)
    x = _data(8, 6)
    for index in (0, 1):
        out_ours, out_theirs = check_module(
            ours, theirs, x, np.array(target), output_index=index)
    assert type(ours(dt.tensor(x), dt.tensor(target))).__name__ == "_ASMoutput"
    assert out_ours.dtype == dt.float64 and out_ours.dim() == 0


def test_adaptive_unbatched_and_log_prob_predict():
    ours, theirs = _asm_pair(5, 12, [3, 7], div_value=1.5)
    theirs = theirs.double()
    ours = ours.double()
    ours.load_state_dict({k: dt.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})
    x = _data(5)
    res_o = ours(dt.tensor(x), dt.tensor(9))
    res_t = theirs(torch.tensor(x), torch.tensor(9))
    assert res_o.output.dim() == 0
    assert_close(res_o.output, res_t.output)
    assert_close(res_o.loss, res_t.loss)
    check(lambda lib, a: (ours if lib is dt else theirs).log_prob(a), _data(7, 5))
    # predict: a batch that mixes head winners and cluster winners
    xs = _data(64, 5) * 3
    p_o = ours.predict(dt.tensor(xs))
    p_t = theirs.predict(torch.tensor(xs))
    assert p_o.dtype == dt.int64
    assert np.array_equal(np.asarray(p_o), p_t.numpy())
    assert np.array_equal(np.asarray(p_o),
                          np.asarray(ours.log_prob(dt.tensor(xs)).argmax(1)))


@pytest.mark.parametrize("make", [
    lambda nn: nn.AdaptiveLogSoftmaxWithLoss(4, 10, []),
    lambda nn: nn.AdaptiveLogSoftmaxWithLoss(4, 10, [5, 3]),
    lambda nn: nn.AdaptiveLogSoftmaxWithLoss(4, 10, [0, 3]),
    lambda nn: nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 10]),
    lambda nn: nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3, 3]),
])
def test_adaptive_constructor_errors(make):
    assert_same_error(lambda lib: make(lib.nn))


@pytest.mark.parametrize("shapes", [
    ((3, 4), (2,)), ((2, 3, 4), (2,)), ((3, 4), ()), ((4,), (2, 2)),
])
def test_adaptive_forward_shape_errors(shapes):
    xs, ts = shapes

    def run(lib):
        torch.manual_seed(0)
        m = lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])
        return m(lib.zeros(xs), lib.zeros(ts, dtype=lib.int64))
    assert_same_error(run)


@pytest.mark.parametrize("target", [[0, 10], [-1, 2]])
def test_adaptive_target_range_error(target):
    assert_same_error(lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])(
        lib.zeros(2, 4), lib.tensor(target)))


# --------------------------------------------------------------------------- fractional pooling

FRACTIONAL = [
    (2, (2, 3, 9, 8), 3, (7, 6)),
    (2, (3, 9, 8), (2, 3), (5, 4)),
    (2, (2, 2, 10, 11), 2, (1, 6)),
    (2, (1, 2, 5, 5), 5, 1),
    (3, (2, 2, 7, 8, 9), 2, (4, 5, 3)),
    (3, (2, 6, 6, 7), (3, 2, 2), (3, 4, 5)),
]


@pytest.mark.parametrize("nd, shape, kernel, out", FRACTIONAL)
def test_fractional_given_samples_match_torch(nd, shape, kernel, out):
    batch = 1 if len(shape) == nd + 1 else shape[0]
    samples = RNG.random((batch + 1, shape[-nd - 1], nd))  # extra rows are ignored
    name = f"fractional_max_pool{nd}d"

    def fn(lib, x, s):
        f = getattr(lib.nn.functional, name)
        return f(x, kernel, output_size=out, return_indices=True, _random_samples=s.detach())
    check(fn, _data(*shape), samples)
    for dtype in (np.float32,):
        # torch sums overlapping window gradients in float32
        check(fn, _data(*shape).astype(dtype), samples.astype(dtype), rtol=1e-5, atol=1e-6)


def test_fractional_ties_and_nan_match_torch():
    x = np.zeros((1, 2, 6, 6))
    x[0, 0, 2, 1] = x[0, 0, 2, 3] = np.nan
    x[0, 1, :3, :3] = 5.0
    s = RNG.random((1, 2, 2))
    res = [lib.nn.functional.fractional_max_pool2d(lib.tensor(x), 2, (3, 3), None, True,
                                                   lib.tensor(s)) for lib in (dt, torch)]
    np.testing.assert_array_equal(np.asarray(res[0][0]), res[1][0].numpy())
    assert np.array_equal(np.asarray(res[0][1]), res[1][1].numpy())


def test_fractional_ratio_and_module():
    s = dt.tensor(RNG.random((2, 3, 2)))
    x = _data(2, 3, 10, 9)
    m_o = dt.nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True,
                                    _random_samples=s)
    m_t = torch.nn.FractionalMaxPool2d(3, output_ratio=0.5, return_indices=True,
                                       _random_samples=torch.tensor(np.asarray(s)))
    assert repr(m_o) == repr(m_t) == "FractionalMaxPool2d()"
    assert list(m_o.state_dict()) == list(m_t.state_dict()) == ["_random_samples"]
    assert m_o.kernel_size == m_t.kernel_size and m_o.output_ratio == m_t.output_ratio
    (y_o, i_o), (y_t, i_t) = m_o(dt.tensor(x)), m_t(torch.tensor(x))
    assert tuple(y_o.shape) == (2, 3, 5, 4)
    assert_close(y_o, y_t)
    assert np.array_equal(np.asarray(i_o), i_t.numpy())
    m3 = dt.nn.FractionalMaxPool3d(2, output_size=(2, 3, 2))
    assert list(m3.state_dict()) == [] and repr(m3) == "FractionalMaxPool3d()"


def test_fractional_random_samples_drawn_from_our_generator():
    x = dt.tensor(_data(2, 3, 12, 12))
    dt.manual_seed(3)
    a, ia = dt.nn.functional.fractional_max_pool2d(x, 2, output_size=7, return_indices=True)
    dt.manual_seed(3)
    b = dt.nn.functional.fractional_max_pool2d(x, 2, output_size=7)
    assert_close(a, b)
    # every output is the max of a 2x2 window that starts at its index's neighbourhood
    flat = np.asarray(x).reshape(2, 3, -1)
    assert np.array_equal(np.take_along_axis(flat, np.asarray(ia).reshape(2, 3, -1), 2),
                          np.asarray(a).reshape(2, 3, -1))
    dt.manual_seed(4)
    c = dt.nn.functional.fractional_max_pool2d(x, 2, output_size=7)
    assert not np.array_equal(np.asarray(a), np.asarray(c))


def test_fractional_half_precision_matches_torch():
    x = _data(2, 3, 9, 8).astype(np.float16)
    s = RNG.random((2, 3, 2)).astype(np.float16)
    y_o = dt.nn.functional.fractional_max_pool2d(dt.tensor(x), 3, (7, 6),
                                                 _random_samples=dt.tensor(s))
    y_t = torch.nn.functional.fractional_max_pool2d(torch.tensor(x), 3, (7, 6),
                                                    _random_samples=torch.tensor(s))
    assert y_o.dtype == dt.float16
    assert np.array_equal(np.asarray(y_o), y_t.numpy())


@pytest.mark.parametrize("call", [
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, output_size=(8, 7),
                                           _random_samples=lib.zeros(2, 3, 2)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4), None, False,
                                           lib.zeros(2, 3, 3)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4), None, False,
                                           lib.zeros(1, 3, 2)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4), None, False,
                                           lib.zeros(2, 4, 2)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4), None, False,
                                           lib.zeros(2, 3)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4), None, False,
                                           lib.zeros(2, 3, 2, dtype=lib.float64)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(9, 8), 3, 4, None, False,
                                           lib.zeros(1, 9, 2)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 0, 9, 8), 3, 4),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), (3, 2, 1), 4),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (4, 4, 4)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8), 3, (-1, 4), None, False,
                                           lib.zeros(2, 3, 2)),
    lambda fn, lib: fn.fractional_max_pool2d(lib.zeros(2, 3, 9, 8, dtype=lib.int64), 3, 4),
    lambda fn, lib: fn.fractional_max_pool3d(lib.zeros(2, 3, 9, 8, 8), 3, 7),
    lambda fn, lib: fn.fractional_max_pool3d(lib.zeros(2, 3, 9, 8, 8), 1, (5, 5, 8)),
    lambda fn, lib: fn.fractional_max_pool3d(lib.zeros(2, 3, 9, 8, 8), (3, 3), 4),
    lambda fn, lib: fn.fractional_max_pool3d(lib.zeros(2, 3, 9, 8, 8), 3, 4, None, False,
                                           lib.zeros(2, 3, 2)),
])
def test_fractional_errors(call):
    assert_same_error(lambda lib: call(lib.nn.functional, lib))


@pytest.mark.parametrize("make", [
    lambda nn: nn.FractionalMaxPool2d(2),
    lambda nn: nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5),
    lambda nn: nn.FractionalMaxPool2d(2, output_ratio=1.0),
    lambda nn: nn.FractionalMaxPool3d(0, output_size=3),
    lambda nn: nn.FractionalMaxPool3d(2, output_ratio=(0.5, 0.5, 0.0)),
])
def test_fractional_module_errors(make):
    assert_same_error(lambda lib: make(lib.nn))


def test_fractional_empty_batch():
    y, i = dt.nn.functional.fractional_max_pool2d(dt.zeros(0, 3, 9, 8), 3, 4,
                                                  return_indices=True)
    assert tuple(y.shape) == tuple(i.shape) == (0, 3, 4, 4)


# --------------------------------------------------------------------------- CrossMapLRN2d

@pytest.mark.parametrize("size, channels", [(5, 7), (3, 4), (2, 5), (4, 9), (7, 3), (6, 1)])
def test_cross_map_lrn_matches_torch(size, channels):
    ours = dt.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.75, k=1.5)
    theirs = torch.nn.CrossMapLRN2d(size, alpha=0.3, beta=0.75, k=1.5)
    assert repr(ours) == repr(theirs)
    out, _ = check_module(ours, theirs, _data(2, channels, 3, 2))
    assert out.grad_fn.name() == "CrossMapLRN2dBackward"


def test_cross_map_lrn_float32_and_errors():
    x = _data(2, 6, 3, 3).astype(np.float32)
    y_o = dt.nn.CrossMapLRN2d(3)(dt.tensor(x))
    y_t = torch.nn.CrossMapLRN2d(3)(torch.tensor(x))
    assert y_o.dtype == dt.float32
    assert_close(y_o, y_t, rtol=1e-6)
    assert_same_error(lambda lib: lib.nn.CrossMapLRN2d(3)(lib.zeros(2, 3, 4)))
    # size 1: forward only (torch's own backward fails for it)
    x = _data(2, 4, 2, 2)
    assert_close(dt.nn.CrossMapLRN2d(1, 0.5)(dt.tensor(x)),
                 torch.nn.CrossMapLRN2d(1, 0.5)(torch.tensor(x)))
    assert repr(dt.nn.CrossMapLRN2d(3)) == repr(torch.nn.CrossMapLRN2d(3))


# --------------------------------------------------------------------------- init.sparse_

@pytest.mark.parametrize("rows, cols, sparsity", [(10, 6, 0.3), (7, 3, 0.0), (5, 4, 1.0)])
def test_sparse_init_zeros_per_column(rows, cols, sparsity):
    w = dt.empty(rows, cols)
    out = dt.nn.init.sparse_(w, sparsity, std=2.0, generator=dt.Generator().manual_seed(1))
    assert out is w
    zeros = (np.asarray(w) == 0).sum(0)
    assert np.all(zeros == int(np.ceil(sparsity * rows)))
    again = dt.nn.init.sparse_(dt.empty(rows, cols), sparsity, std=2.0,
                               generator=dt.Generator().manual_seed(1))
    assert np.array_equal(np.asarray(again), np.asarray(w))


def test_sparse_init_statistics_and_errors():
    dt.manual_seed(0)
    w = dt.nn.init.sparse_(dt.empty(400, 300), 0.25, std=0.5)
    values = np.asarray(w)
    nonzero = values[values != 0]
    assert nonzero.size == 300 * 300
    assert abs(nonzero.std() - 0.5) < 0.01 and abs(nonzero.mean()) < 0.01
    # zero positions differ from column to column
    assert len({tuple(np.flatnonzero(values[:, j] == 0)) for j in range(300)}) > 290
    assert_same_error(lambda lib: lib.nn.init.sparse_(lib.empty(3, 4, 5), 0.1))


# --------------------------------------------------------------------------- conv_tbc

@pytest.mark.parametrize("steps, width, pad", [(7, 3, 0), (7, 3, 2), (5, 1, 1), (6, 3, -1),
                                               (2, 3, 0)])
def test_conv_tbc_matches_torch(steps, width, pad):
    check(lambda lib, x, w, b: lib.nn.functional.conv_tbc(x, w, b, pad),
          _data(steps, 2, 3), _data(width, 3, 4), _data(4))


def test_conv_tbc_dtypes_and_errors():
    x = RNG.integers(-3, 3, (6, 2, 3))
    w = RNG.integers(-3, 3, (2, 3, 4))
    b = RNG.integers(-3, 3, (4,))
    y_o = dt.nn.functional.conv_tbc(dt.tensor(x), dt.tensor(w), dt.tensor(b))
    y_t = torch.conv_tbc(torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert y_o.dtype == dt.int64
    assert np.array_equal(np.asarray(y_o), y_t.numpy())
    x, w, b = (lambda lib: lib.zeros(7, 2, 3)), (lambda lib: lib.zeros(3, 3, 4)), \
        (lambda lib: lib.zeros(4))
    for args in [
        lambda lib: (lib.zeros(2, 3), w(lib), b(lib)),
        lambda lib: (x(lib), lib.zeros(3, 4), b(lib)),
        lambda lib: (x(lib), w(lib), lib.zeros(1, 4)),
        lambda lib: (x(lib), lib.zeros(3, 2, 4), b(lib)),
        lambda lib: (x(lib), w(lib), lib.zeros(3)),
        lambda lib: (lib.zeros(1, 2, 3), w(lib), b(lib)),
    ]:
        assert_same_error(lambda lib, args=args: lib.nn.functional.conv_tbc(*args(lib)))
    assert_same_error(lambda lib: lib.nn.functional.conv_tbc(x(lib), w(lib), b(lib), 0.5))


# --------------------------------------------------------------- Container, DataParallel

def test_container_is_a_deprecated_module():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = dt.nn.Container(a=dt.nn.Linear(2, 3), b=dt.nn.ReLU())
    assert any(issubclass(w.category, FutureWarning) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.Container(a=torch.nn.Linear(2, 3), b=torch.nn.ReLU())
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())


def test_data_parallel_without_cuda_calls_the_module():
    if dt.cuda.is_available():
        pytest.skip("CPU-only behaviour")
    ours = dt.nn.DataParallel(dt.nn.Linear(3, 2))
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert ours.device_ids == theirs.device_ids == []
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight",
                                                                    "module.bias"]
    check_module(ours, theirs, _data(5, 3))
