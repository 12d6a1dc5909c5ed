"""narrow/select/diagonal/unfold and split/chunk/tensor_split/unbind: gradients, values,
view semantics and torch's errors."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

GRAD_CASES = {
    "narrow": lambda t: t.narrow(1, 1, 2),
    "narrow_neg": lambda t: torch.narrow(t, -1, -3, 2),
    "select": lambda t: t.select(2, -1),
    "diagonal": lambda t: t.diagonal(),
    "diagonal_offset_dims": lambda t: t.diagonal(1, 2, 0),
    "diagonal_neg": lambda t: torch.diagonal(t, -1, -1, -2),
    "unfold_overlap": lambda t: t.unfold(2, 3, 1),
    "unfold_gap": lambda t: t.unfold(2, 1, 2),
    "split": lambda t: t.split(2, -1),
    "split_sizes": lambda t: torch.split(t, [1, 2], 1),
    "split_one_output_used": lambda t: t.split(1)[1],
    "chunk": lambda t: t.chunk(3, 2),
    "tensor_split": lambda t: t.tensor_split([1, -1], 2),
    "hsplit": lambda t: torch.hsplit(t, [2]),
    "unbind": lambda t: t.unbind(1),
    "unbind_partial": lambda t: t.unbind(-1)[::2],
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck(name):
    gradcheck(GRAD_CASES[name], rand(2, 3, 4, seed=2))


def test_values():
    x = torch.arange(12).view(3, 4)
    assert x.narrow(1, 1, 2).tolist() == [[1, 2], [5, 6], [9, 10]]
    assert x.narrow(0, -1, 1).tolist() == [[8, 9, 10, 11]]
    assert x.select(1, -1).tolist() == [3, 7, 11]
    assert x.diagonal().tolist() == [0, 5, 10]
    assert x.diagonal(1).tolist() == [1, 6, 11]
    assert x.diagonal(-1).tolist() == [4, 9]
    assert x.diagonal(9).shape == (0,)
    assert torch.arange(5).unfold(0, 2, 2).tolist() == [[0, 1], [2, 3]]
    assert torch.arange(4).unfold(0, 3, 1).tolist() == [[0, 1, 2], [1, 2, 3]]
    assert [t.tolist() for t in torch.arange(5).split(2)] == [[0, 1], [2, 3], [4]]
    assert [t.tolist() for t in torch.arange(5).split([4, 0, 1])] == [[0, 1, 2, 3], [], [4]]
    assert [t.numel() for t in torch.arange(5).chunk(4)] == [2, 2, 1]
    assert [t.numel() for t in torch.arange(6).chunk(4)] == [2, 2, 2]
    assert [t.numel() for t in torch.zeros(0).chunk(3)] == [0, 0, 0]
    assert [t.tolist() for t in torch.arange(7).tensor_split(3)] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [t.tolist() for t in torch.arange(7).tensor_split([5, 1])] == [
        [0, 1, 2, 3, 4], [], [1, 2, 3, 4, 5, 6]]
    assert [t.tolist() for t in torch.arange(7).tensor_split(torch.tensor([2]))] == [
        [0, 1], [2, 3, 4, 5, 6]]
    assert [t.tolist() for t in x.unbind(1)] == [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]
    assert [t.tolist() for t in x] == x.tolist()
    assert isinstance(x.split(2), tuple) and isinstance(x.unbind(), tuple)


@pytest.mark.parametrize("make", [
    lambda b: b.narrow(1, 1, 2), lambda b: b.select(0, 1), lambda b: b.diagonal(),
    lambda b: b.unfold(1, 1, 1), lambda b: b.split(1)[1], lambda b: b.chunk(3, 1)[0],
    lambda b: b.unbind(1)[2], lambda b: b.tensor_split(2, 1)[1],
])
def test_views_share_storage(make):
    base = torch.zeros(2, 3)
    v = make(base)
    base.add_(2)
    assert v.tolist() == (np.zeros(v.shape) + 2).tolist()
    v.mul_(3)
    assert float(base.sum()) == 12.0 + 4.0 * v.numel()
    assert v._base is base and v._version == base._version == 2


def test_inplace_through_views_gradient():
    x = rand(3, 3)
    y = x * 1
    y.diagonal().mul_(5)
    y.narrow(0, 0, 1).mul_(2)
    y.sum().backward()
    assert_close(x.grad, [[10.0, 2.0, 2.0], [1.0, 5.0, 1.0], [1.0, 1.0, 5.0]])


def test_regenerated_multi_output_view():
    x = rand(4, 2)
    y = x * 1
    a, b = y.split(2)
    y.mul_(3)
    (b * 2).sum().backward()
    assert_close(x.grad, [[0.0, 0.0], [0.0, 0.0], [6.0, 6.0], [6.0, 6.0]])


def test_overlapping_unfold_is_read_only():
    with pytest.raises(RuntimeError, match="refers to a single memory location"):
        torch.zeros(5).unfold(0, 3, 1).add_(1)


def test_grad_fn_names():
    x = rand(4, 3)
    assert x.narrow(0, 1, 2).grad_fn.name() == "SliceBackward0"
    assert x.select(0, 1).grad_fn.name() == "SelectBackward0"
    assert x.diagonal().grad_fn.name() == "DiagonalBackward0"
    assert x.unfold(0, 2, 1).grad_fn.name() == "UnfoldBackward0"
    assert {t.grad_fn.name() for t in x.split(2)} == {"SplitBackward0"}
    assert {t.grad_fn.name() for t in x.split([1, 3])} == {"SplitWithSizesBackward0"}
    assert {t.grad_fn.name() for t in x.chunk(2)} == {"SplitBackward0"}
    assert {t.grad_fn.name() for t in x.unbind()} == {"UnbindBackward0"}
    assert {t.grad_fn.name() for t in x.tensor_split(2)} == {"SliceBackward0"}


M = torch.zeros(3, 4)
ERRORS = [
    (lambda: M.narrow(1, 3, 2), RuntimeError, r"start \(3\) \+ length \(2\) exceeds dimension "
                                              r"size \(4\)"),
    (lambda: M.narrow(1, 0, -1), RuntimeError, "length must be non-negative"),
    (lambda: M.narrow(1, 5, 0), IndexError, r"start out of range \(expected to be in range of "
                                            r"\[-4, 4\], but got 5\)"),
    (lambda: torch.tensor(1.).narrow(0, 0, 1), RuntimeError, "cannot be applied to a 0-dim"),
    (lambda: M.select(1, 4), IndexError, r"index 4 out of range for tensor of size \[3, 4\] at "
                                         "dimension 1"),
    (lambda: torch.tensor(1.).select(0, 0), IndexError, "cannot be applied to a 0-dim"),
    (lambda: M.diagonal(0, 1, -1), RuntimeError, "diagonal dimensions cannot be identical 1, -1"),
    (lambda: M.unfold(0, 4, 1), RuntimeError, "maximum size for tensor at dimension 0 is 3 but "
                                              "size is 4"),
    (lambda: M.unfold(0, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda: M.split([1, 1]), RuntimeError, r"split_sizes to sum exactly to 3 \(input tensor's "
                                            r"size at dimension 0\), but got split_sizes=\[1, 1\]"),
    (lambda: M.split([4, -1]), RuntimeError, "only non-negative entries"),
    (lambda: M.split(-1), RuntimeError, "split_size be non-negative"),
    (lambda: M.split(0), RuntimeError, "split_size can only be 0 if dimension size is 0"),
    (lambda: M.chunk(0), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda: torch.tensor(1.).chunk(2), RuntimeError, "at least a 1-dimensional tensor"),
    (lambda: M.tensor_split(0), RuntimeError, "number of sections must be larger than 0"),
    (lambda: M.tensor_split(torch.tensor([1.0])), RuntimeError, "dtype of long, but got Float"),
    (lambda: M.hsplit(3), RuntimeError, "size of the dimension 4 is not divisible by the "
                                        "split_size 3"),
    (lambda: torch.zeros(3).vsplit(1), RuntimeError, "at least 2 dimension, but got a tensor "
                                                     "with 1 dimensions"),
    (lambda: torch.tensor(1.).unbind(), IndexError, "tensor has no dimensions"),
    (lambda: M.select(0, 1.5), TypeError, "must be int"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS)
def test_errors(fn, cls, match):
    with pytest.raises(cls, match=match):
        fn()
