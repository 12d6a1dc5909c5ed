"""Loss functions and modules: finite-difference gradients for every loss and option, values
computed by hand, the weighted-mean rule, and errors (always run; torch comparisons are in
tests/oracle/test_nn_loss_oracle.py)."""

import math
import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from tests.helpers import assert_close, gradcheck, rand

T = torch.tensor([1, 0, 3, 2, 2])
W = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, W])
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_gradcheck_cross_entropy(reduction, weight, ignore_index, smoothing):
    gradcheck(lambda x: F.cross_entropy(x, T, weight=weight, ignore_index=ignore_index,
                                        reduction=reduction, label_smoothing=smoothing),
              rand(5, 4, seed=1, low=-2, high=2))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_cross_entropy_kdim_and_probabilities(reduction):
    target = torch.tensor([[0, 3, 1], [2, 2, 0]])
    gradcheck(lambda x: F.cross_entropy(x, target, weight=W, reduction=reduction,
                                        label_smoothing=0.1), rand(2, 4, 3, seed=2))
    gradcheck(lambda x: F.cross_entropy(x, torch.tensor(2), reduction=reduction), rand(4, seed=3))
    gradcheck(lambda x, p: F.cross_entropy(x, p.softmax(1), weight=W, reduction=reduction,
                                           label_smoothing=0.2),
              rand(3, 4, seed=4), rand(3, 4, seed=5))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, W])
def test_gradcheck_nll_loss(reduction, weight):
    gradcheck(lambda x: F.nll_loss(x, T, weight=weight, ignore_index=2, reduction=reduction),
              rand(5, 4, seed=6))
    gradcheck(lambda x: F.nll_loss(x, torch.zeros(2, 3, 2, dtype=torch.int64), weight=weight,
                                   reduction=reduction), rand(2, 4, 3, 2, seed=7))


def test_cross_entropy_value_and_weighted_mean():
    x = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.0, 1.0, 1.0]], dtype=torch.float64)
    t = torch.tensor([0, 1, 2])
    logp = np.log(np.exp(x.numpy()) / np.exp(x.numpy()).sum(1, keepdims=True))
    per = -logp[[0, 1, 2], [0, 1, 2]]
    assert_close(F.cross_entropy(x, t, reduction="none"), torch.tensor(per))
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    # torch's weighted mean divides by the summed weights of the (non-ignored) targets
    assert_close(F.cross_entropy(x, t, weight=w), torch.tensor((per * [1, 2, 3]).sum() / 6))
    assert_close(F.cross_entropy(x, torch.tensor([0, 1, -100]), weight=w),
                 torch.tensor((per[:2] * [1, 2]).sum() / 3))
    eps = 0.2
    smooth = (1 - eps) * per + eps / 3 * -logp.sum(1)
    assert_close(F.cross_entropy(x, t, label_smoothing=eps), torch.tensor(smooth.mean()))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = rand(4, 6, seed=8)
    t = torch.tensor([5, 0, 2, 2])
    F.cross_entropy(x, t, reduction="sum").backward()
    expected = x.detach().softmax(1).numpy()
    expected[np.arange(4), t.numpy()] -= 1
    assert_close(x.grad, torch.tensor(expected))


def test_all_ignored_gives_nan_and_zero_grad():
    x = rand(3, 4, seed=9)
    loss = F.cross_entropy(x, torch.tensor([1, 1, 1]), ignore_index=1)
    assert math.isnan(loss.item())
    loss.backward()
    assert_close(x.grad, torch.zeros(3, 4, dtype=torch.float64))
    assert F.cross_entropy(x, torch.tensor([1, 1, 1]), ignore_index=1, reduction="sum").item() \
        == 0.0


def test_cross_entropy_stable_and_float32():
    x = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = F.cross_entropy(x, torch.tensor([0, 0]))
    assert loss.dtype == torch.float32
    assert_close(loss, torch.tensor(1000.0))
    loss.backward()
    assert_close(x.grad, torch.tensor([[0.0, 0.0], [-0.5, 0.5]]))


REGRESSION = [
    lambda a, b, r: F.mse_loss(a, b, reduction=r),
    lambda a, b, r: F.l1_loss(a, b, reduction=r),
    lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.3),
    lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=0.4),
    lambda a, b, r: F.kl_div(a, b.abs(), reduction=r),
    lambda a, b, r: F.kl_div(a, b, reduction=r, log_target=True),
    lambda a, b, r: F.binary_cross_entropy_with_logits(a, b.abs(), reduction=r),
    lambda a, b, r: F.binary_cross_entropy_with_logits(a, b.abs(), reduction=r,
                                                       pos_weight=torch.tensor([2.0, 0.5, 1.0])),
    lambda a, b, r: F.binary_cross_entropy(a.sigmoid(), b.abs() / 2, reduction=r),
    lambda a, b, r: F.binary_cross_entropy(a.sigmoid(), b.abs() / 2, reduction=r,
                                           weight=torch.tensor([2.0, 0.5, 1.0])),
    lambda a, b, r: F.poisson_nll_loss(a, b.abs(), reduction=r),
    lambda a, b, r: F.poisson_nll_loss(a.abs() + 0.5, b.abs() * 3, log_input=False, full=True,
                                       reduction=r),
    lambda a, b, r: F.gaussian_nll_loss(a, b, torch.full((2, 3), 0.7, dtype=torch.float64),
                                        full=True, reduction=r),
    lambda a, b, r: F.gaussian_nll_loss(a, a.detach(), b * b + 0.1, reduction=r),
    lambda a, b, r: F.soft_margin_loss(a, b.detach().sign(), reduction=r),
    lambda a, b, r: F.multilabel_soft_margin_loss(a, b.abs(), reduction=r),
    lambda a, b, r: F.hinge_embedding_loss(a, torch.tensor([1.0, -1.0, 1.0]), reduction=r),
    lambda a, b, r: F.margin_ranking_loss(a, b, torch.tensor([[1.0, -1.0, 1.0]] * 2), 0.1,
                                          reduction=r),
    lambda a, b, r: F.cosine_embedding_loss(a, b, torch.tensor([1, -1]), 0.1, reduction=r),
    lambda a, b, r: F.triplet_margin_loss(a, b, b.flip(0), margin=3.0, swap=True, reduction=r),
    lambda a, b, r: F.multi_margin_loss(a, torch.tensor([0, 2]), p=2, reduction=r),
    lambda a, b, r: F.multilabel_margin_loss(a, torch.tensor([[2, 0, -1], [1, -1, 0]]),
                                             reduction=r),
]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("fn", REGRESSION)
def test_gradcheck_other_losses(fn, reduction):
    gradcheck(lambda a, b: fn(a, b, reduction), rand(2, 3, seed=10, low=-2, high=2),
              rand(2, 3, seed=11, low=-2, high=2))


def test_regression_values():
    a = torch.tensor([1.0, -2.0, 3.0])
    b = torch.tensor([0.0, 0.0, 0.5])
    assert_close(F.mse_loss(a, b), torch.tensor((1 + 4 + 6.25) / 3))
    assert_close(F.l1_loss(a, b, reduction="sum"), torch.tensor(5.5))
    assert_close(F.smooth_l1_loss(a, b, beta=2.0, reduction="none"),
                 torch.tensor([0.25, 1.0, 1.5]))
    assert_close(F.huber_loss(a, b, delta=2.0, reduction="none"),
                 torch.tensor([0.5, 2.0, 3.0]))
    assert_close(F.mse_loss(a, b, weight=torch.tensor([1.0, 0.0, 1.0])),
                 torch.tensor((1 + 6.25) / 2))


def test_binary_cross_entropy_values():
    p = torch.tensor([0.0, 1.0, 0.25])
    t = torch.tensor([1.0, 0.0, 1.0])
    assert_close(F.binary_cross_entropy(p, t, reduction="none"),
                 torch.tensor([100.0, 100.0, -math.log(0.25)]), rtol=1e-6)
    x = torch.tensor([-200.0, 0.0, 200.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, torch.tensor([1.0, 1.0, 0.0]), reduction="none")
    assert_close(loss, torch.tensor([200.0, math.log(2), 200.0]), rtol=1e-6)
    loss.sum().backward()
    assert_close(x.grad, torch.tensor([-1.0, -0.5, 1.0]))


def test_kl_div_batchmean():
    logq = torch.tensor([[math.log(0.5), math.log(0.5)], [math.log(0.9), math.log(0.1)]])
    p = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert_close(F.kl_div(logq, p, reduction="batchmean"), torch.tensor(expected / 2), rtol=1e-6)
    assert_close(F.kl_div(logq, p.log(), reduction="sum", log_target=True),
                 torch.tensor(expected), rtol=1e-6)


MODULES = [
    (nn.CrossEntropyLoss(), "CrossEntropyLoss()"), (nn.NLLLoss(), "NLLLoss()"),
    (nn.MSELoss(), "MSELoss()"), (nn.BCEWithLogitsLoss(), "BCEWithLogitsLoss()"),
    (nn.TripletMarginWithDistanceLoss(),
     "TripletMarginWithDistanceLoss(\n  (distance_function): PairwiseDistance()\n)"),
]


@pytest.mark.parametrize("module,text", MODULES)
def test_module_reprs(module, text):
    assert repr(module) == text


def test_weight_buffers_in_state_dict():
    m = nn.CrossEntropyLoss(weight=torch.ones(3), label_smoothing=0.1, ignore_index=2)
    assert list(m.state_dict()) == ["weight"]
    assert m.ignore_index == 2 and m.label_smoothing == 0.1 and m.reduction == "mean"
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)).state_dict()) == ["pos_weight"]
    m = m.double()
    assert m.weight.dtype == torch.float64


def test_module_matches_functional():
    x, t = rand(4, 5, seed=12), torch.tensor([0, 4, 1, 1])
    m = nn.CrossEntropyLoss(weight=W.new_ones(5) * 2, reduction="sum", label_smoothing=0.05)
    assert_close(m(x, t), F.cross_entropy(x, t, weight=W.new_ones(5) * 2, reduction="sum",
                                          label_smoothing=0.05))


def test_legacy_arguments_warn():
    with pytest.warns(UserWarning, match="reduction='sum' instead"):
        m = nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none' instead"):
        F.l1_loss(torch.zeros(2), torch.ones(2), reduce=False)


def test_mse_broadcast_warning():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(torch.zeros(3, 2), torch.zeros(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.mse_loss(torch.zeros(3, 2), torch.zeros(3, 2))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.cross_entropy(torch.zeros(4, 5), torch.tensor([1, 10, 2, 3])), IndexError,
     "Target 10 is out of bounds."),
    (lambda: F.cross_entropy(torch.zeros(4, 5), torch.tensor([1, 2, 3])), ValueError,
     r"Expected input batch_size \(4\) to match target batch_size \(3\)."),
    (lambda: F.nll_loss(torch.zeros(4, 5), torch.tensor([1.0, 2, 3, 0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.cross_entropy(torch.zeros(4, 5), torch.tensor([1, 2, 3, 0]), reduction="foo"),
     ValueError, "foo is not a valid value for reduction"),
    (lambda: F.cross_entropy(torch.zeros(4, 5), torch.tensor([1, 2, 3, 0]),
                             weight=torch.ones(3)), RuntimeError, "for all 5 classes"),
    (lambda: F.cross_entropy(torch.zeros(4, 5), torch.tensor([1, 2, 3, 0]),
                             label_smoothing=2.0), RuntimeError, "label_smoothing must be"),
    (lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])), RuntimeError,
     "all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(torch.zeros(2, 2), torch.zeros(2)), ValueError,
     "Using a target size"),
    (lambda: F.binary_cross_entropy_with_logits(torch.zeros(2, 2), torch.zeros(2)), ValueError,
     "must be the same as input size"),
    (lambda: F.mse_loss(torch.zeros(4, 5), torch.zeros(3)), RuntimeError,
     r"size of tensor a \(5\) must match the size of tensor b \(3\)"),
    (lambda: F.smooth_l1_loss(torch.zeros(2), torch.zeros(2), beta=-1), RuntimeError,
     "negative values for beta"),
    (lambda: F.kl_div(torch.zeros(2), torch.zeros(2, dtype=torch.int64)), RuntimeError,
     "Integral inputs not supported"),
    (lambda: F.gaussian_nll_loss(torch.zeros(3, 4), torch.zeros(3, 4), torch.ones(2)),
     ValueError, "var is of incorrect size"),
    (lambda: F.multi_margin_loss(torch.zeros(2, 3), torch.tensor([0, 1]), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
])
def test_errors(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2, "weight": W}])
def test_retain_graph_backward_twice(kwargs):
    x = rand(5, 4, seed=13)
    loss = F.cross_entropy(x, T, **kwargs)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    assert_close(x.grad, torch.tensor(2 * first))
