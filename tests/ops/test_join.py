"""cat/stack and variants, repeat, tile: gradients, values, dtype promotion, torch's errors."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand


def test_gradcheck_cat_stack():
    a, b, c = rand(2, 3, seed=1), rand(2, 1, seed=2), rand(2, 3, seed=3)
    gradcheck(lambda x, y: torch.cat([x, y, x], 1), a, b)
    gradcheck(lambda x, y: torch.cat([x, y], -2), a, c)
    gradcheck(lambda x, y: torch.stack([x, y], 1), a, c)
    gradcheck(lambda x, y: torch.stack((x, y), -1), a, c)
    gradcheck(lambda x, y: torch.hstack([x, y]), a, b)
    gradcheck(lambda x, y: torch.vstack([x, y]), a, c[0])
    gradcheck(lambda x, y: torch.dstack([x, y]), a, c)
    gradcheck(lambda x, y: torch.column_stack([x[:, 0], y]), a, b)


def test_gradcheck_cat_with_legacy_empty():
    e, a = torch.zeros(0, dtype=torch.float64), rand(2, 3, seed=2)
    gradcheck(lambda y: torch.cat([e, y, e], 1), a)


@pytest.mark.parametrize("repeats", [(2, 3), (2, 1, 3), (1, 1), (0, 2)])
def test_gradcheck_repeat(repeats):
    gradcheck(lambda x: x.repeat(*repeats), rand(2, 3, seed=4))


def test_gradcheck_tile():
    gradcheck(lambda x: torch.tile(x, (3,)), rand(2, 3, seed=5))
    gradcheck(lambda x: x.tile((2, 1, 2)), rand(2, 3, seed=5))


def test_values():
    a = torch.tensor([[1, 2], [3, 4]])
    assert torch.cat([a, a]).tolist() == [[1, 2], [3, 4], [1, 2], [3, 4]]
    assert torch.cat([a, a], dim=1).tolist() == [[1, 2, 1, 2], [3, 4, 3, 4]]
    assert torch.stack([a, a * 10], dim=2).tolist() == [[[1, 10], [2, 20]], [[3, 30], [4, 40]]]
    assert torch.hstack([torch.tensor([1]), torch.tensor([2, 3])]).tolist() == [1, 2, 3]
    assert torch.vstack([torch.tensor([1, 2]), torch.tensor([3, 4])]).tolist() == [[1, 2],
                                                                                  [3, 4]]
    assert torch.dstack([torch.tensor([1, 2]), torch.tensor([3, 4])]).shape == (1, 2, 2)
    assert torch.column_stack([torch.tensor([1, 2]), torch.tensor([3, 4])]).tolist() == [
        [1, 3], [2, 4]]
    assert torch.tensor([1, 2]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert torch.tensor([1, 2]).repeat(2, 1, 1).shape == (2, 1, 2)
    assert a.tile((2,)).tolist() == [[1, 2, 1, 2], [3, 4, 3, 4]]
    assert torch.tensor(3).repeat(2).tolist() == [3, 3]


def test_legacy_empty_tensors_are_skipped():
    a = torch.ones(2, 3)
    assert torch.cat([torch.zeros(0), a, torch.zeros(0)], 1).shape == (2, 3)
    assert torch.cat([torch.zeros(0), torch.zeros(0)]).shape == (0,)
    assert torch.cat([torch.zeros(0, dtype=torch.float64), a]).dtype == torch.float64


@pytest.mark.parametrize("d1,d2,expected", [
    (torch.int32, torch.float32, torch.float32), (torch.bool, torch.int64, torch.int64),
    (torch.uint8, torch.int8, torch.int16), (torch.float32, torch.float64, torch.float64),
    (torch.bool, torch.bool, torch.bool),
])
def test_promotion(d1, d2, expected):
    a, b = torch.ones(2, dtype=d1), torch.ones(2, dtype=d2)
    assert torch.cat([a, b]).dtype == expected
    assert torch.stack([a, b]).dtype == expected


def test_mixed_dtype_gradient_flows_in_input_dtype():
    a = torch.ones(2, dtype=torch.float32, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    out = torch.cat([a, b])
    (out * torch.arange(4.).double()).sum().backward()
    assert a.grad.dtype == torch.float32 and b.grad.dtype == torch.float64
    assert_close(a.grad, np.array([0.0, 1.0], dtype=np.float32))
    assert_close(b.grad, [2.0, 3.0])


def test_results_are_new_tensors():
    a = torch.zeros(2)
    for out in (torch.cat([a]), torch.stack([a]), a.repeat(1), a.tile((1,))):
        out.add_(1)
    assert a.tolist() == [0.0, 0.0]


def test_grad_fn_names():
    a = rand(2, 3)
    assert torch.cat([a, a]).grad_fn.name() == "CatBackward0"
    assert torch.stack([a, a]).grad_fn.name() == "StackBackward0"
    assert torch.hstack([a, a]).grad_fn.name() == "CatBackward0"
    assert a.repeat(2, 1).grad_fn.name() == "RepeatBackward0"
    assert a.tile((2,)).grad_fn.name() == "RepeatBackward0"


def test_out_argument():
    out = torch.empty(0)
    assert torch.cat([torch.ones(2), torch.zeros(1)], out=out) is out
    assert out.tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.stack([rand(2)], out=torch.empty(1, 2))


A = torch.zeros(2, 3)
ERRORS = [
    (lambda: torch.cat([A, torch.zeros(3, 3)], 1), RuntimeError,
     "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for "
     "tensor number 1 in the list."),
    (lambda: torch.cat([A, torch.zeros(2, 3, 1)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 3"),
    (lambda: torch.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda: torch.cat([torch.tensor(1.)]), RuntimeError,
     r"zero-dimensional tensor \(at position 0\) cannot be concatenated"),
    (lambda: torch.cat([A, A], 2), IndexError, "Dimension out of range"),
    (lambda: torch.cat([torch.zeros(0, 2), A]), RuntimeError, "Expected size 2 but got size 3"),
    (lambda: torch.cat(A), TypeError, "must be tuple of Tensors, not Tensor"),
    (lambda: torch.cat([A, 1]), TypeError, "expected Tensor as element 1 in argument 0"),
    (lambda: torch.stack([A, torch.zeros(2, 4)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[2, 4\] at "
     "entry 1"),
    (lambda: torch.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda: torch.stack([A], 3), IndexError, r"range of \[-3, 2\], but got 3"),
    (lambda: A.repeat(2), RuntimeError, "can not be smaller than number of dimensions"),
    (lambda: A.repeat(1, -2), RuntimeError, r"negative dimension -6: \[2, -6\]"),
    (lambda: A.tile((-1,)), RuntimeError, r"negative dimension -3: \[2, -3\]"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS)
def test_errors(fn, cls, match):
    with pytest.raises(cls, match=match):
        fn()
