"""Dropout: mask statistics and scaling, channel-wise masks, reproducibility under manual_seed,
evaluation mode, gradients, in-place forms, alpha dropout statistics, reprs and errors."""

import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from tests.helpers import assert_close


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_statistics_and_scaling(p):
    torch.manual_seed(1)
    x = torch.ones(200, 500)
    y = F.dropout(x, p).numpy()
    kept = y != 0
    assert set(np.unique(y)) == {0.0, np.float32(1 / (1 - p))}
    n = y.size
    assert abs(kept.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / n)
    assert abs(y.mean() - 1.0) < 0.02  # unbiased: E[y] = x


def test_reproducible_with_manual_seed():
    x = torch.ones(50, 40)
    torch.manual_seed(123)
    a = F.dropout(x, 0.3)
    b = nn.Dropout2d(0.5)(torch.ones(4, 8, 3, 3))
    torch.manual_seed(123)
    assert_close(F.dropout(x, 0.3), a)
    assert_close(nn.Dropout2d(0.5)(torch.ones(4, 8, 3, 3)), b)
    assert not np.array_equal(F.dropout(x, 0.3).numpy(), a.numpy())


@pytest.mark.filterwarnings("ignore:dropout.d. Received a 2-D input")
def test_eval_mode_and_p_zero_return_input():
    x = torch.randn(3, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    for m in (nn.Dropout(), nn.Dropout2d(), nn.AlphaDropout(), nn.FeatureAlphaDropout()):
        assert m.eval()(x) is x
    for m in (nn.Dropout1d(), nn.Dropout3d()):  # unbatched inputs: a squeezed view, as torch
        y = m.eval()(x)
        assert y.grad_fn.name() == "SqueezeBackward1"
        assert_close(y, x)
    assert F.alpha_dropout(x, 0.5) is x  # alpha_dropout defaults to training=False


def test_p_one_drops_everything():
    x = torch.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert_close(y, torch.zeros(3, 4))
    y.sum().backward()
    assert_close(x.grad, torch.zeros(3, 4))
    assert_close(F.alpha_dropout(x, 1.0, True), torch.zeros(3, 4))


def test_gradient_is_the_scaled_mask():
    torch.manual_seed(2)
    x = torch.randn(20, 30, dtype=torch.float64, requires_grad=True)
    y = F.dropout(x, 0.4)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    mask = (y.detach().numpy() != 0) / 0.6
    assert_close(x.grad, torch.tensor(mask))
    assert_close(y, x.detach() * torch.tensor(mask))


@pytest.mark.parametrize("fn,shape,const_dims", [
    (F.dropout1d, (6, 7, 8), (2,)),          # (N, C, L)
    (F.dropout1d, (7, 8), (1,)),             # (C, L)
    (F.dropout2d, (6, 7, 4, 5), (2, 3)),     # (N, C, H, W)
    (F.dropout2d, (6, 7, 8), (2,)),          # 3-D: taken as (N, C, L), with a warning
    (F.dropout3d, (3, 4, 2, 3, 2), (2, 3, 4)),
    (F.dropout3d, (4, 2, 3, 2), (1, 2, 3)),  # (C, D, H, W)
])
def test_channel_masks(fn, shape, const_dims):
    torch.manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(torch.ones(shape), 0.5).numpy()
    for d in const_dims:
        assert (y == np.take(y, [0], axis=d)).all(), d
    free = [d for d in range(len(shape)) if d not in const_dims]
    assert not (y == np.take(y, [0], axis=free[-1])).all()


def test_channel_dropout_gradient():
    torch.manual_seed(4)
    x = torch.randn(2, 5, 3, 3, requires_grad=True)
    y = nn.Dropout2d(0.5)(x)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) * 2.0
    assert_close(x.grad, torch.tensor(mask, dtype=torch.float32))


def test_inplace():
    torch.manual_seed(5)
    x = torch.ones(10, 10)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and x._version == 1
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    w = torch.ones(4, 6, requires_grad=True)
    h = w * 1.0
    nn.Dropout(0.5, inplace=True)(h)
    h.sum().backward()
    assert_close(w.grad, h.detach())


def test_alpha_dropout_keeps_mean_and_variance():
    torch.manual_seed(6)
    x = torch.randn(400, 500, dtype=torch.float64)
    y = F.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    z = F.feature_alpha_dropout(torch.randn(100, 50, 4, dtype=torch.float64), 0.3, True).numpy()
    assert (z.std(axis=2) > 0).mean() > 0.6  # kept channels vary, dropped ones are constant


def test_half_precision_and_integers():
    x = torch.ones(8, dtype=torch.float16)
    assert F.dropout(x, 0.5).dtype == torch.float16
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        F.dropout(torch.ones(3, dtype=torch.int64), 0.5)
    assert F.dropout(torch.ones(3, dtype=torch.int64), 0.5, training=False).dtype == torch.int64


@pytest.mark.parametrize("module,text", [
    (nn.Dropout(), "Dropout(p=0.5, inplace=False)"),
    (nn.Dropout(0.2, True), "Dropout(p=0.2, inplace=True)"),
    (nn.Dropout2d(0.3), "Dropout2d(p=0.3, inplace=False)"),
    (nn.Dropout1d(), "Dropout1d(p=0.5, inplace=False)"),
    (nn.Dropout3d(), "Dropout3d(p=0.5, inplace=False)"),
    (nn.AlphaDropout(), "AlphaDropout(p=0.5, inplace=False)"),
    (nn.FeatureAlphaDropout(0.1), "FeatureAlphaDropout(p=0.1, inplace=False)"),
])
def test_reprs(module, text):
    assert repr(module) == text


@pytest.mark.parametrize("call", [
    lambda: F.dropout(torch.ones(2), 1.5), lambda: F.dropout(torch.ones(2), -0.5),
    lambda: nn.Dropout(1.5), lambda: F.dropout2d(torch.ones(2, 2, 2, 2), 2.0),
    lambda: F.alpha_dropout(torch.ones(2), 2.0, True),
])
def test_probability_errors(call):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got"):
        call()


def test_rank_errors_and_warnings():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a "
                                           "4D input"):
        F.dropout1d(torch.ones(2, 2, 2, 2))
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"), \
            pytest.warns(UserWarning, match="Received a 1-D input to dropout2d"):
        F.dropout2d(torch.ones(5))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F.dropout2d(torch.ones(2, 2))
    with pytest.warns(UserWarning, match="assuming that channel-wise 1D dropout"):
        F.dropout2d(torch.ones(2, 2, 2))
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(torch.ones(2, 2, 2))
