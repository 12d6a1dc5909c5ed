"""Pooling: gradients for every option, hand values, indices, NaN rules, layers, errors."""

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from tests.helpers import assert_close, gradcheck, rand


def _grid(*shape):
    return torch.arange(float(np.prod(shape))).reshape(*shape)


def _distinct(*shape, seed=0):
    """float64 values without ties (max pooling's gradient is defined everywhere)."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0
    return torch.tensor(values, requires_grad=True)


# --------------------------------------------------------------------------- max pooling

def test_max_pool2d_values_and_indices():
    x = _grid(1, 1, 4, 4)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert out.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert idx.tolist() == [[[[5, 7], [13, 15]]]] and idx.dtype == torch.int64
    out, idx = F.max_pool2d(-x, 3, stride=2, padding=1, return_indices=True)
    assert out.tolist() == [[[[0.0, -1.0], [-4.0, -5.0]]]]
    assert idx.tolist() == [[[[0, 1], [4, 5]]]]


def test_max_pool2d_ceil_mode_and_dilation():
    x = _grid(1, 1, 5, 5)
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2)
    assert F.max_pool2d(x, 2, ceil_mode=True).tolist() == [[[[6.0, 8.0, 9.0],
                                                             [16.0, 18.0, 19.0],
                                                             [21.0, 23.0, 24.0]]]]
    # a last window starting in the right padding is dropped
    assert F.max_pool2d(x, 2, stride=2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)
    out, idx = F.max_pool2d(x, 2, stride=1, dilation=2, return_indices=True)
    assert out[0, 0, 0].tolist() == [12.0, 13.0, 14.0] and idx[0, 0, 0, 0].item() == 12


def test_max_pool_ties_pick_first_and_nan_rules():
    _, idx = F.max_pool2d(torch.ones(1, 1, 2, 2), 2, return_indices=True)
    assert idx.item() == 0
    nan = float("nan")
    x = torch.tensor([[[[nan, 1.0], [nan, 2.0]]]], requires_grad=True)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out.item()) and idx.item() == 2     # the last NaN wins, as in torch
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[0.0, 0.0], [1.0, 0.0]]]]
    x = torch.tensor([[[1.0, nan, 3.0, 2.0]]])
    assert np.isnan(F.max_pool1d(x, 2)[0, 0, 0].item()) and F.max_pool1d(x, 2)[0, 0, 1] == 3


def test_max_pool_gradient_routes_to_argmax():
    x = torch.tensor([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0], [7.0, 8.0, 6.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    # windows' maxima: 5, 5, 8, 8 -> overlapping windows accumulate
    assert x.grad.tolist() == [[[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]]]


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1)),
    dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=2, stride=1),
    dict(kernel_size=2, padding=1, ceil_mode=True),
])
def test_gradcheck_max_pool2d(kw):
    gradcheck(lambda x: F.max_pool2d(x, **kw), _distinct(2, 2, 7, 6))
    gradcheck(lambda x: F.max_pool2d(x, return_indices=True, **kw)[0], _distinct(2, 7, 6, seed=1))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True)])
def test_gradcheck_max_pool1d_3d(kw):
    gradcheck(lambda x: F.max_pool1d(x, **kw), _distinct(2, 3, 9))
    gradcheck(lambda x: F.max_pool3d(x, **kw), _distinct(1, 2, 5, 4, 5, seed=2))


def test_max_pool_unbatched_and_float32():
    x = torch.randn(3, 8, 8)
    out = F.max_pool2d(x, 2)
    assert out.shape == (3, 4, 4) and out.dtype == torch.float32
    assert_close(out, F.max_pool2d(x.unsqueeze(0), 2)[0])
    assert F.max_pool2d(x, 2).grad_fn is None
    assert F.max_pool2d(torch.ones(1, 4, 4, dtype=torch.int64), 2).dtype == torch.int64
    assert F.max_pool2d(torch.randn(0, 2, 4, 4), 2).shape == (0, 2, 2, 2)


# --------------------------------------------------------------------------- average pooling

def test_avg_pool2d_values():
    x = _grid(1, 1, 4, 4)
    assert F.avg_pool2d(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
    out = F.avg_pool2d(x, 3, stride=2, padding=1)
    assert out[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 4 + 5) / 9)
    out = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
    assert out[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert F.avg_pool2d(x, 2, divisor_override=1).tolist() == [[[[10.0, 18.0], [42.0, 50.0]]]]
    # ceil mode: the extra window is clipped to input + padding for the divisor
    out = F.avg_pool2d(_grid(1, 1, 5, 5), 2, ceil_mode=True)
    assert out[0, 0, 2, 2].item() == 24.0 and out[0, 0, 0, 2].item() == pytest.approx(6.5)


def test_avg_pool_integer_truncates():
    x = torch.arange(16).reshape(1, 1, 4, 4) - 7
    out = F.avg_pool2d(x, 3, 1, 1)
    assert out.dtype == torch.int64
    assert out[0, 0].tolist() == [[-2, -2, -2, -1], [-1, -2, -1, 0], [1, 2, 3, 2], [1, 2, 3, 2]]


@pytest.mark.parametrize("kw", [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=1, divisor_override=4),
])
def test_gradcheck_avg_pool2d(kw):
    gradcheck(lambda x: F.avg_pool2d(x, **kw), rand(2, 2, 7, 6))
    gradcheck(lambda x: F.avg_pool2d(x, **kw), rand(2, 7, 6, seed=1))


def test_gradcheck_avg_pool1d_3d():
    gradcheck(lambda x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
              rand(2, 3, 8))
    gradcheck(lambda x: F.avg_pool3d(x, 2, stride=(1, 2, 2), padding=1), rand(1, 2, 3, 4, 4))


# --------------------------------------------------------------------------- adaptive pooling

def test_adaptive_avg_pool_bins():
    x = _grid(1, 1, 1, 5)
    # bins of 5 -> 3: [0, 2), [1, 4), [3, 5)
    assert F.adaptive_avg_pool2d(x, (1, 3)).tolist() == [[[[0.5, 2.0, 3.5]]]]
    assert F.adaptive_avg_pool1d(x[0, 0], 3).tolist() == [[0.5, 2.0, 3.5]]
    assert F.adaptive_avg_pool2d(_grid(1, 2, 4, 6), (None, 1)).shape == (1, 2, 4, 1)
    assert F.adaptive_avg_pool2d(_grid(2, 3, 4, 4), 1).tolist() == \
        F.avg_pool2d(_grid(2, 3, 4, 4), 4).tolist()
    assert F.adaptive_avg_pool2d(_grid(1, 1, 4, 4), 0).shape == (1, 1, 0, 0)


def test_adaptive_max_pool_values_and_indices():
    x = _grid(1, 1, 1, 5)
    out, idx = F.adaptive_max_pool2d(x, (1, 3), return_indices=True)
    assert out.tolist() == [[[[1.0, 3.0, 4.0]]]] and idx.tolist() == [[[[1, 3, 4]]]]
    out, idx = F.adaptive_max_pool1d(-x[0], 2, return_indices=True)
    assert out.tolist() == [[[0.0, -2.0]]] and idx.tolist() == [[[0, 2]]]


@pytest.mark.parametrize("size", [1, 2, 3, (None, 4), (5, 4), (7, 6)])
def test_gradcheck_adaptive_pools(size):
    gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), rand(2, 2, 7, 6))
    gradcheck(lambda x: F.adaptive_max_pool2d(x, size), _distinct(2, 2, 7, 6))


def test_gradcheck_adaptive_pools_1d_3d():
    gradcheck(lambda x: F.adaptive_avg_pool1d(x, 4), rand(2, 7))
    gradcheck(lambda x: F.adaptive_max_pool1d(x, 3), _distinct(2, 2, 7))
    gradcheck(lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), rand(1, 2, 3, 5, 4))
    gradcheck(lambda x: F.adaptive_max_pool3d(x, 2), _distinct(1, 2, 3, 5, 4))


# --------------------------------------------------------------------------- unpool / LP

def test_max_unpool_inverts_max_pool():
    x = _grid(1, 1, 4, 4)
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    restored = F.max_unpool2d(out, idx, 2)
    assert restored.tolist() == [[[[0, 0, 0, 0], [0, 5, 0, 7], [0, 0, 0, 0], [0, 13, 0, 15]]]]
    assert F.max_unpool2d(out, idx, 2, output_size=(5, 5)).shape == (1, 1, 5, 5)
    out1, idx1 = F.max_pool1d(x[0], 2, return_indices=True)
    assert F.max_unpool1d(out1, idx1, 2).shape == (1, 4, 4)
    gradcheck(lambda v: F.max_unpool2d(v, idx, 2), rand(1, 1, 2, 2))


def test_lp_pool():
    x = torch.tensor([[[3.0, 4.0, 1.0, 1.0]]])
    assert_close(F.lp_pool1d(x, 2, 2), torch.tensor([[[5.0, 2 ** 0.5]]]))
    gradcheck(lambda v: F.lp_pool2d(v, 2, 2, stride=1), rand(1, 2, 3, 4, low=0.5, high=1.5))
    gradcheck(lambda v: F.lp_pool1d(v, 3, 2), rand(1, 2, 6, low=0.5, high=1.5))


# --------------------------------------------------------------------------- layers

@pytest.mark.parametrize("layer,text", [
    (lambda: nn.MaxPool2d(2),
     "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    (lambda: nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=2, return_indices=True,
                          ceil_mode=True),
     "MaxPool2d(kernel_size=(2, 3), stride=1, padding=1, dilation=2, ceil_mode=True)"),
    (lambda: nn.MaxPool1d(2),
     "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"),
    (lambda: nn.AvgPool2d(2), "AvgPool2d(kernel_size=2, stride=2, padding=0)"),
    (lambda: nn.AvgPool1d(2), "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))"),
    (lambda: nn.AdaptiveAvgPool2d((None, 3)), "AdaptiveAvgPool2d(output_size=(None, 3))"),
    (lambda: nn.AdaptiveMaxPool2d(3, True), "AdaptiveMaxPool2d(output_size=3)"),
    (lambda: nn.MaxUnpool2d(2), "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"),
    (lambda: nn.LPPool2d(2, 3), "LPPool2d(norm_type=2, kernel_size=3, stride=None, "
                                "ceil_mode=False)"),
])
def test_pooling_reprs(layer, text):
    assert repr(layer()) == text


def test_pooling_layers_call_functionals():
    x = torch.randn(2, 3, 8, 8)
    assert_close(nn.MaxPool2d(3, 2, 1)(x), F.max_pool2d(x, 3, 2, 1))
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert_close(nn.MaxUnpool2d(2)(out, idx), F.max_unpool2d(out, idx, 2))
    assert_close(nn.AvgPool2d(3, 2, 1, count_include_pad=False)(x),
                 F.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    assert nn.AdaptiveAvgPool2d((5, None))(x).shape == (2, 3, 5, 8)
    assert nn.AdaptiveMaxPool1d(3)(x[0]).shape == (3, 8, 3)
    assert nn.AvgPool1d(2)(x[0]).shape == (3, 8, 4)
    assert nn.MaxPool3d(2)(x).shape == (2, 1, 4, 4)


# --------------------------------------------------------------------------- errors

X = torch.randn(1, 1, 6, 6)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: F.max_pool2d(torch.randn(28, 28), 2), RuntimeError,
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda: F.max_pool2d(torch.randn(1, 1, 1, 1), 2), RuntimeError,
     r"Given input size: \(1x1x1\). Calculated output size: \(1x0x0\). Output size is too "
     "small"),
    (lambda: F.max_pool2d(X, 2, padding=2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and "
     "dilation=1"),
    (lambda: F.max_pool2d(X, 0), RuntimeError, "stride should not be zero"),
    (lambda: F.max_pool2d(X, 2, stride=-1), RuntimeError,
     "stride should be greater than zero, but got dH: -1 dW: -1"),
    (lambda: F.max_pool2d(X, 2, dilation=(1, 0)), RuntimeError,
     "dilation should be greater than zero, but got dilationH: 1 dilationW: 0"),
    (lambda: F.max_pool2d(X, (2, 2, 2)), RuntimeError,
     "max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda: F.max_pool2d(X, 2, stride=(1, 1, 1)), RuntimeError,
     "max_pool2d: stride must either be omitted, a single int, or a tuple of two ints"),
    (lambda: F.max_pool2d(X, 2, padding=-1), RuntimeError, "pad must be non-negative, but got "
                                                           "pad: -1"),
    (lambda: F.max_pool2d(torch.randn(1, 0, 4, 4), 2), RuntimeError,
     r"Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but "
     r"got:\[1, 0, 4, 4\]"),
    (lambda: F.max_pool2d(X.bool(), 2), NotImplementedError,
     "\"max_pool2d\" not implemented for 'Bool'"),
    (lambda: F.max_pool2d(X, 2.5), TypeError, "must be tuple of ints, not float"),
    (lambda: F.max_pool1d(torch.randn(4), 2), RuntimeError,
     r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor"),
    (lambda: F.max_pool1d(torch.randn(1, 1, 4), 2, padding=2), RuntimeError,
     "max_pool1d\\(\\) padding should be at most half of kernel size, but got padding=2 and "
     "kernel_size=2"),
    (lambda: F.max_pool1d(torch.randn(1, 1, 1), 2), RuntimeError,
     r"max_pool1d\(\) Invalid computed output size: 0"),
    (lambda: F.max_pool1d(torch.randn(1, 1, 4), (2, 2)), RuntimeError,
     r"max_pool1d\(\) kernel_size must be an int, list of ints or tuple of ints of size 1 but "
     "got size 2"),
    (lambda: F.avg_pool2d(X, 2, divisor_override=0), RuntimeError, "divisor must be not zero"),
    (lambda: F.avg_pool2d(X, 2, padding=2), RuntimeError, "pad should be at most half"),
    (lambda: F.avg_pool1d(torch.randn(4), 2), RuntimeError,
     r"Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' \(while "
     r"checking arguments for avg_pool1d\)"),
    (lambda: F.avg_pool1d(torch.randn(1, 1, 1), 2), RuntimeError,
     r"Given input size: \(1x1x1\). Calculated output size: \(1x1x0\)"),
    (lambda: F.avg_pool1d(torch.randn(1, 1, 4), (2, 2)), RuntimeError,
     r"avg_pool1d\(\) argument 'kernel_size' should contain one int \(got 2\)"),
    (lambda: F.adaptive_avg_pool2d(torch.randn(4, 4), 2), RuntimeError,
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[4, 4\]"),
    (lambda: F.adaptive_avg_pool2d(X, (2, 2, 2)), RuntimeError,
     "adaptive_avg_pool2d: output_size must be 2"),
    (lambda: F.adaptive_avg_pool2d(X, -1), RuntimeError,
     "elements of output_size must be greater than or equal to 0 but received {-1, -1}"),
    (lambda: F.adaptive_avg_pool2d(torch.randn(1, 1, 0, 4), 2), RuntimeError,
     r"Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     r"\[1, 1, 0, 4\] with dimension 2 being empty"),
    (lambda: F.adaptive_max_pool2d(torch.randn(4, 4), 2), RuntimeError,
     r"adaptive_max_pool2d\(\): Expected 3D or 4D tensor, but got: \[4, 4\]"),
    (lambda: F.adaptive_avg_pool2d(X.long(), 2), NotImplementedError,
     "\"adaptive_avg_pool2d\" not implemented for 'Long'"),
    (lambda: F.adaptive_avg_pool1d(torch.randn(1, 4), (2, 3)), RuntimeError,
     r"adaptive_avg_pool1d\(\) argument 'output_size' should contain one int \(got 2\)"),
    (lambda: F.max_unpool2d(torch.randn(1, 1, 3, 3), torch.full((1, 1, 3, 3), 40), 2),
     RuntimeError, r"Found an invalid max index: 40 \(output volumes are of size 6x6\)"),
    (lambda: F.max_unpool2d(torch.randn(1, 1, 3, 3), torch.zeros(1, 1, 3, 3,
                                                                 dtype=torch.int32), 2),
     RuntimeError, "elements in indices should be type int64 but got: Int"),
    (lambda: F.max_unpool2d(torch.randn(1, 1, 3, 3), torch.zeros(1, 1, 3, 2,
                                                                 dtype=torch.int64), 2),
     RuntimeError, "Expected shape of indices to be same as that of the input tensor"),
    (lambda: F.max_unpool2d(torch.randn(1, 1, 3, 3), torch.zeros(1, 1, 3, 3,
                                                                 dtype=torch.int64), 2,
                            output_size=(9, 9)),
     ValueError, r'invalid output_size "\(9, 9\)" \(dim 0 must be between 4 and 8\)'),
])
def test_pooling_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
