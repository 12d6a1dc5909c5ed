"""softmax, log_softmax, logsumexp: gradients, stability on extreme inputs, dtypes, errors."""

import math

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

INF = float("inf")


@pytest.mark.parametrize("fn", [torch.softmax, torch.log_softmax])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_gradcheck_softmax(fn, dim):
    gradcheck(lambda t: fn(t, dim), rand(2, 3, 4, seed=dim + 7, low=-3, high=3))


@pytest.mark.parametrize("dim", [0, -1, (0, 2), (-1, 1), None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_logsumexp(dim, keepdim):
    x = rand(2, 3, 4, seed=11, low=-3, high=3)
    gradcheck(lambda t: torch.logsumexp(t, dim, keepdim=keepdim), x)


def test_gradcheck_zero_dim():
    x = rand(seed=12)
    gradcheck(lambda t: torch.softmax(t, 0) * t, x)
    gradcheck(lambda t: torch.log_softmax(t, -1) + t, x)
    gradcheck(lambda t: torch.logsumexp(t, 0), x)


def test_values():
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    e = np.exp([1.0, 2.0, 3.0])
    assert_close(torch.softmax(x, 1), torch.tensor([(e / e.sum()).tolist(), [1 / 3] * 3]),
                 rtol=1e-6)
    assert_close(x.log_softmax(1), torch.tensor([np.log(e / e.sum()).tolist(), [-math.log(3)] * 3]),
                 rtol=1e-6)
    assert_close(torch.logsumexp(x, 1), torch.tensor([math.log(e.sum()), 1 + math.log(3)]),
                 rtol=1e-6)
    assert_close(x.logsumexp(1, keepdim=True).sum(1), torch.logsumexp(x, 1))
    assert_close(torch.softmax(torch.tensor(2.0), 0), torch.tensor(1.0))


@pytest.mark.parametrize("row", [[1000.0, 1000.0], [-1000.0, 0.0], [-1000.0, -1000.0]])
def test_stable_on_extreme_inputs(row):
    x = torch.tensor(row, dtype=torch.float64)
    shifted = np.array(row) - max(row)
    expected = np.exp(shifted) / np.exp(shifted).sum()
    assert_close(torch.softmax(x, 0), torch.tensor(expected))
    assert_close(torch.log_softmax(x, 0), torch.tensor(shifted - np.log(np.exp(shifted).sum())))
    assert_close(torch.logsumexp(x, 0), torch.tensor(max(row) + np.log(np.exp(shifted).sum())))


def test_stable_float32_and_gradients():
    x = torch.tensor([[1000.0, 1000.0], [-1000.0, 0.0]], requires_grad=True)
    y = torch.log_softmax(x, 1)
    assert_close(y, torch.tensor([[-math.log(2)] * 2, [-1000.0, 0.0]]), rtol=1e-6)
    y.sum().backward()
    assert_close(x.grad, torch.tensor([[0.0, 0.0], [1.0, -1.0]]), atol=1e-6)
    z = torch.tensor([1000.0, 1000.0], requires_grad=True)
    torch.logsumexp(z, 0).backward()
    assert_close(z.grad, torch.tensor([0.5, 0.5]), rtol=1e-4)  # float32 rounding, as torch


def test_infinities():
    lse = torch.logsumexp(torch.tensor([[-INF, -INF], [1000.0, 1000.0], [INF, 1.0]]), 1)
    assert_close(lse, torch.tensor([-INF, 1000.0 + math.log(2), INF]), rtol=1e-6)
    assert_close(torch.log_softmax(torch.tensor([-INF, 0.0]), 0), torch.tensor([-INF, 0.0]))
    assert_close(torch.softmax(torch.tensor([-INF, 0.0]), 0), torch.tensor([0.0, 1.0]))
    assert np.isnan(torch.softmax(torch.tensor([-INF, -INF]), 0).numpy()).all()
    assert_close(torch.logsumexp(torch.zeros(0, 3), 0), torch.full((3,), -INF))


def test_dtypes():
    x16 = torch.tensor([1.0, 2.0], dtype=torch.float16)
    assert torch.softmax(x16, 0).dtype == torch.float16
    assert torch.softmax(torch.tensor([1, 2]), 0, dtype=torch.float64).dtype == torch.float64
    assert torch.log_softmax(torch.tensor([1.0, 2.0]), 0, torch.float64).dtype == torch.float64
    assert torch.logsumexp(torch.tensor([1, 2]), 0).dtype == torch.float32
    assert torch.logsumexp(torch.tensor([True, False]), 0).dtype == torch.float32
    assert torch.logsumexp(x16, 0).dtype == torch.float16


def test_dtype_argument_keeps_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.softmax(x, 0, dtype=torch.float64)
    (y * torch.tensor([1.0, 0.0], dtype=torch.float64)).sum().backward()
    assert x.grad.dtype == torch.float32
    assert_close(x.grad, torch.tensor([0.19661193, -0.19661193]))


def test_grad_fn_names():
    x = rand(2, 3)
    assert torch.softmax(x, 1).grad_fn.name() == "SoftmaxBackward0"
    assert x.log_softmax(1).grad_fn.name() == "LogSoftmaxBackward0"
    assert torch.logsumexp(x, 1).grad_fn.name() == "LogsumexpBackward0"


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
def test_integer_input(fname):
    fn = getattr(torch, fname)
    with pytest.raises(NotImplementedError, match=rf'"{fname}_lastdim_kernel_impl" not '
                                                  r"implemented for 'Long'"):
        fn(torch.tensor([[1, 2]]), 1)
    with pytest.raises(NotImplementedError, match=rf'"{fname}_kernel_impl" not implemented'):
        fn(torch.tensor([[1, 2]]), 0)


@pytest.mark.parametrize("fn", [torch.softmax, torch.log_softmax, torch.logsumexp])
def test_dim_out_of_range(fn):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                         r"of \[-2, 1\], but got 2\)"):
        fn(torch.ones(2, 3), 2)


def test_softmax_dim_must_be_int():
    with pytest.raises(TypeError, match=r"softmax\(\): argument 'dim' \(position 2\) must be "
                                        r"int, not NoneType"):
        torch.softmax(torch.ones(2), None)
