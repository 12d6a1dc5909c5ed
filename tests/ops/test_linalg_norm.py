"""torch.norm and torch.linalg.vector_norm / matrix_norm / norm."""

import math

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.linalg as linalg
from tests.helpers import assert_close, gradcheck, rand

INF = math.inf


def f64(value):
    return torch.tensor(value, dtype=torch.float64)


def _signed(shape, seed):
    """Values away from 0 (where some norms are not differentiable), of both signs."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 1.0, shape) * rng.choice([-1.0, 1.0], shape)


ORDS = [2, 1, INF, -INF, 3, 0.5, -1, -2.5, 1.5]


@pytest.mark.parametrize("ord", ORDS)
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_vector_norm(ord, dim, keepdim):
    x = torch.tensor(_signed((2, 3, 4), 41), requires_grad=True)
    gradcheck(lambda t: linalg.vector_norm(t, ord, dim, keepdim), x)


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
@pytest.mark.parametrize("dim", [(-2, -1), (0, 2), (2, 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_matrix_norm(ord, dim, keepdim):
    x = rand(3, 2, 4, seed=42)
    gradcheck(lambda t: linalg.matrix_norm(t, ord, dim, keepdim), x)


@pytest.mark.parametrize("p,dim", [("fro", None), ("fro", 1), ("fro", (0, 1)), (1, None),
                                   (INF, 0), (3.5, (0, 1)), (-1, 1)])
def test_gradcheck_torch_norm(p, dim):
    x = torch.tensor(_signed((3, 4), 43), requires_grad=True)
    gradcheck(lambda t: torch.norm(t, p, dim), x)
    gradcheck(lambda t: t.norm(p, dim, keepdim=True), x)


def test_vector_norm_values():
    a = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    x = torch.tensor(a)
    assert_close(linalg.vector_norm(x), f64(np.sqrt((a ** 2).sum())))
    assert_close(linalg.vector_norm(x, 1, 1), f64([7.0, 5.0]))
    assert_close(linalg.vector_norm(x, INF, 1), f64([4.0, 2.0]))
    assert_close(linalg.vector_norm(x, -INF, 1), f64([0.0, 1.0]))
    assert_close(linalg.vector_norm(x, 0, 1, keepdim=True), f64([[2.0], [3.0]]))
    assert_close(linalg.vector_norm(x, 3, 1), f64([91 ** (1 / 3), 17 ** (1 / 3)]))
    assert_close(linalg.vector_norm(x, -1, 1), f64([0.0, 1 / (1 + 0.5 + 0.5)]))
    assert_close(linalg.vector_norm(torch.zeros(0, 3)), torch.tensor(0.0))
    assert_close(linalg.vector_norm(torch.tensor(-3.0), 2, 0), torch.tensor(3.0))


def test_vector_norm_gradients_at_special_points():
    x = torch.tensor([0.0, 0.0], requires_grad=True)
    linalg.vector_norm(x).backward()
    assert_close(x.grad, torch.zeros(2))  # not NaN at the origin
    y = torch.tensor([-3.0, 3.0, 1.0], requires_grad=True)
    linalg.vector_norm(y, INF).backward()
    assert_close(y.grad, torch.tensor([-0.5, 0.5, 0.0]))  # ties share the gradient
    z = torch.tensor([0.0, 1.0], requires_grad=True)
    linalg.vector_norm(z, 0.5).backward()
    assert_close(z.grad, torch.tensor([0.0, 1.0]))
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    linalg.vector_norm(w, 0).backward()
    assert w.grad is None  # piecewise constant, as torch


def test_dtypes():
    x16 = torch.tensor([3.0, 4.0], dtype=torch.float16)
    assert linalg.vector_norm(x16).dtype == torch.float16
    assert linalg.vector_norm(x16, dtype=torch.float32).dtype == torch.float32
    assert torch.norm(torch.tensor([3.0, 4.0]), dtype=torch.float64).dtype == torch.float64
    assert_close(linalg.vector_norm(x16), torch.tensor(5.0, dtype=torch.float16))


def test_matrix_norm_values():
    a = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 6.0]])
    x = torch.tensor(a)
    assert_close(linalg.matrix_norm(x), f64(np.linalg.norm(a)))
    for order in (1, -1, INF, -INF):
        assert_close(linalg.matrix_norm(x, order), f64(np.linalg.norm(a, order)))
    assert_close(linalg.matrix_norm(x, 1, (1, 0)), f64(np.linalg.norm(a.T, 1)))
    assert linalg.matrix_norm(x, INF, keepdim=True).shape == (1, 1)
    batch = np.stack([a, 2 * a])
    assert_close(linalg.matrix_norm(torch.tensor(batch), INF), f64([15.0, 30.0]))
    assert_close(linalg.matrix_norm(torch.zeros(0, 2), 1), torch.tensor(0.0))


def test_linalg_norm_dispatch():
    a = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 6.0]])
    x = torch.tensor(a)
    assert_close(linalg.norm(x), f64(np.linalg.norm(a)))
    assert_close(linalg.norm(x, 1), f64(9.0))  # 2-D with ord: matrix norm
    assert_close(linalg.norm(x, dim=1), f64(np.linalg.norm(a, axis=1)))
    assert_close(linalg.norm(x, INF, dim=(0, 1)), f64(15.0))
    assert_close(linalg.norm(torch.tensor([3.0, -4.0]), 1), torch.tensor(7.0))


def test_torch_norm_values():
    a = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 6.0]])
    x = torch.tensor(a)
    assert_close(torch.norm(x), f64(np.linalg.norm(a)))
    assert_close(x.norm(), f64(np.linalg.norm(a)))
    assert_close(torch.norm(x, 1), f64(21.0))
    assert_close(torch.norm(x, INF, (0, 1)), f64(6.0))  # a vector norm, unlike linalg
    assert_close(torch.norm(x, "fro", 0), f64(np.linalg.norm(a, axis=0)))
    assert_close(x.norm(p=1, dim=1, keepdim=True), f64([[6.0], [15.0]]))
    assert_close(torch.norm(x, None), f64(np.linalg.norm(a)))
    assert torch.norm(x, 1).grad_fn is None
    assert rand(2).norm().grad_fn.name() == "LinalgVectorNormBackward0"


def test_errors():
    xi = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point or "
                                           "complex tensor as input. Got Long"):
        torch.norm(xi)
    with pytest.raises(RuntimeError, match=r"should be convertible without narrowing to the "
                                           r"specified dtype \(Half\)"):
        linalg.vector_norm(torch.ones(2), dtype=torch.float16)
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor "
                                           "because the operation does not have an identity"):
        linalg.vector_norm(torch.zeros(0, 3), INF)
    with pytest.raises(RuntimeError, match="cannot compute the -1 norm on the dimension 0"):
        linalg.vector_norm(torch.zeros(0, 3), -1, 0)
    assert linalg.vector_norm(torch.zeros(0, 3), INF, 1).shape == (0,)
    with pytest.raises(TypeError, match="argument 'ord' must be Number, not str"):
        linalg.vector_norm(torch.ones(2), "fro")
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        linalg.vector_norm(torch.ones(2, 2), 2, (0, -2))
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got 2"):
        torch.norm(torch.ones(2, 2), 2, 2)
    with pytest.raises(RuntimeError, match="The input tensor A must have at least 2 dimensions"):
        linalg.matrix_norm(torch.ones(3))
    with pytest.raises(RuntimeError, match=r"dims must be different. Got \(0, 0\)"):
        linalg.matrix_norm(torch.ones(2, 2), dim=(0, 0))
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
        linalg.matrix_norm(torch.ones(2, 2), 3)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2"):
        torch.norm(torch.ones(2, 2, 2), "fro", (0, 1, 2))
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order abc not supported."):
        torch.norm(torch.ones(2, 2), "abc")
    with pytest.raises(RuntimeError, match="must be 1D or 2D. Got 3D."):
        linalg.norm(torch.ones(2, 2, 2), 1)
    # singular values of ones(2, 2) are 2 and 0; of diag(3, 4): 4 and 3
    assert torch.norm(torch.ones(2, 2), "nuc").item() == pytest.approx(2.0)
    d = torch.tensor([[3.0, 0.0], [0.0, -4.0]])
    assert [linalg.matrix_norm(d, o).item() for o in ("nuc", 2, -2)] == pytest.approx([7, 4, 3])
