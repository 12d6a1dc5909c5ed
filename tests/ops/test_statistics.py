"""var, std, var_mean, std_mean: both signatures, corrections, gradients, errors."""

import warnings

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

DIMS = [None, 0, -1, (0, 2), (-1, 0)]


@pytest.mark.parametrize("fn", [torch.var, torch.std])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("correction", [0, 1, 0.5])
def test_gradcheck_var_std(fn, dim, keepdim, correction):
    x = rand(2, 3, 4, seed=21)
    gradcheck(lambda t: fn(t, dim, keepdim=keepdim, correction=correction), x)


@pytest.mark.parametrize("fn", [torch.var_mean, torch.std_mean])
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_var_mean(fn, dim, keepdim):
    x = rand(3, 4, seed=22)
    gradcheck(lambda t: fn(t, dim, keepdim=keepdim), x)
    gradcheck(lambda t: fn(t, dim, keepdim=keepdim)[1], x)  # mean's gradient alone


def test_values_and_signatures():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0]], dtype=torch.float64)
    a = x.numpy()
    assert_close(torch.var(x), torch.tensor(a.var(ddof=1)))
    assert_close(torch.var(x, 1), torch.tensor(a.var(axis=1, ddof=1)))
    assert_close(torch.var(x, 1, False), torch.tensor(a.var(axis=1)))
    assert_close(torch.var(x, 1, True, True), torch.tensor(a.var(axis=1, ddof=1, keepdims=True)))
    assert_close(torch.var(x, False), torch.tensor(a.var()))
    assert_close(torch.var(x, unbiased=False), torch.tensor(a.var()))
    assert_close(x.var(dim=0, correction=0), torch.tensor(a.var(axis=0)))
    assert_close(torch.std(x, (0, 1), correction=2), torch.tensor(np.sqrt(a.var() * 6 / 4)))
    assert_close(x.std(1, keepdim=True), torch.tensor(a.std(axis=1, ddof=1, keepdims=True)))
    v, m = torch.var_mean(x, 1)
    assert_close(v, torch.tensor(a.var(axis=1, ddof=1)))
    assert_close(m, torch.tensor(a.mean(axis=1)))
    s, m = torch.std_mean(x, dim=0, correction=0, keepdim=True)
    assert_close(s, torch.tensor(a.std(axis=0, keepdims=True)))
    assert_close(m, torch.tensor(a.mean(axis=0, keepdims=True)))
    assert type(torch.var_mean(x)) is tuple


def test_two_pass_accuracy():
    x = torch.tensor([1e8 + 1.0, 1e8 + 2.0, 1e8 + 3.0], dtype=torch.float64)
    assert torch.var(x).item() == pytest.approx(1.0, rel=1e-9)


def test_dtypes():
    x16 = torch.tensor([1.0, 2.0, 4.0], dtype=torch.float16)
    assert torch.var(x16).dtype == torch.float16
    assert torch.std_mean(x16)[1].dtype == torch.float16
    assert torch.var(torch.ones(3, dtype=torch.float64)).dtype == torch.float64


def test_std_gradient_zero_at_constant_input():
    x = torch.tensor([2.0, 2.0, 2.0], requires_grad=True)
    torch.std(x).backward()
    assert_close(x.grad, torch.zeros(3))


def test_degrees_of_freedom_warning():
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        out = torch.var(torch.tensor([1.0]))
    assert np.isnan(out.item())
    with pytest.warns(UserWarning, match=r"std_mean\(\): degrees of freedom is <= 0"):
        torch.std_mean(torch.ones(2, 3), 1, correction=3)
    with pytest.warns(UserWarning):
        assert np.isinf(torch.var(torch.tensor([1.0, 2.0]), correction=5).item())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.var(torch.tensor([1.0, 2.0]))


def test_empty_input():
    with pytest.warns(UserWarning):
        assert np.isnan(torch.var(torch.zeros(0)).item())
    with pytest.warns(UserWarning):
        assert torch.std(torch.zeros(0, 3), 0).shape == (3,)


@pytest.mark.parametrize("fname,what", [("var", "std and var"), ("std", "std and var"),
                                        ("var_mean", "var_mean"), ("std_mean", "std_mean")])
def test_integer_input(fname, what):
    with pytest.raises(RuntimeError, match=f"{what} only support floating point and complex"):
        getattr(torch, fname)(torch.tensor([1, 2]))


def test_bad_arguments():
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got 2"):
        torch.var(torch.ones(2, 3), 2)
    with pytest.raises(RuntimeError, match="dim 1 appears multiple times"):
        torch.std(torch.ones(2, 3), (1, -1))
    with pytest.raises(TypeError, match="unbiased"):
        torch.var(torch.ones(2, 3), 1, True, correction=1)
