"""cumsum and cumprod: gradients (cumprod's exact with zeros), dtypes, in-place, errors."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand


@pytest.mark.parametrize("fn", [torch.cumsum, torch.cumprod])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_gradcheck(fn, dim):
    gradcheck(lambda t: fn(t, dim), rand(2, 3, 4, seed=31, low=0.5, high=1.5))


@pytest.mark.parametrize("values", [
    [2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 1.5, 2.0], [0.0, -1.0, 2.0, 3.0],
    [1.5, 2.0, 0.5, 0.0],
])
def test_cumprod_gradient_with_zeros(values):
    x = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    gradcheck(lambda t: torch.cumprod(t, 0), x)


def test_cumprod_zeros_in_rows_of_a_matrix():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (3, 5))
    a[0, 1] = a[1, 3] = a[1, 4] = a[2, 0] = 0.0
    for dim in (0, 1):
        gradcheck(lambda t, d=dim: torch.cumprod(t, d), torch.tensor(a, requires_grad=True))


def test_cumprod_hand_computed_gradient():
    x = torch.tensor([2.0, 0.0, 3.0, 4.0], requires_grad=True)
    torch.cumprod(x, 0).sum().backward()
    assert_close(x.grad, torch.tensor([1.0, 32.0, 0.0, 0.0]))


def test_cumprod_without_zeros_is_finite():
    x = torch.tensor([1e-3, -2.0, 5.0], requires_grad=True)
    torch.cumprod(x, 0).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert_close(x.grad, torch.tensor([1 - 2 - 10, 1e-3 + 5e-3, -2e-3]), rtol=1e-5)


def test_values_and_dtypes():
    xi = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert_close(torch.cumsum(xi, 1), torch.tensor([[1, 3, 6], [4, 9, 15]]))
    assert_close(xi.cumprod(0), torch.tensor([[1, 2, 3], [4, 10, 18]]))
    assert torch.cumsum(torch.tensor([True, True]), 0).dtype == torch.int64
    assert torch.cumprod(torch.tensor([1, 2], dtype=torch.uint8), 0).dtype == torch.int64
    assert torch.cumsum(xi, 1, dtype=torch.float32).dtype == torch.float32
    half = torch.ones(4096, dtype=torch.float16)
    assert torch.cumsum(half, 0).tolist()[-1] == 4096  # accumulated in float32
    assert_close(torch.cumsum(torch.tensor(2.0), 0), torch.tensor(2.0))
    assert torch.cumsum(torch.zeros(0, 3), 0).shape == (0, 3)


def test_inplace():
    x = torch.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x
    assert_close(x, torch.tensor([1.0, 3.0, 6.0]))
    x.cumprod_(0)
    assert_close(x, torch.tensor([1.0, 3.0, 18.0]))


def test_grad_fn_names():
    x = rand(3)
    assert torch.cumsum(x, 0).grad_fn.name() == "CumsumBackward0"
    assert torch.cumprod(x, 0).grad_fn.name() == "CumprodBackward0"


@pytest.mark.parametrize("fn", [torch.cumsum, torch.cumprod])
def test_errors(fn):
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got 2\)"):
        fn(torch.ones(2, 3), 2)
    with pytest.raises(TypeError, match='missing 1 required positional arguments: "dim"'):
        fn(torch.ones(2, 3))
