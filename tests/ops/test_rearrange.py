"""flip/roll/rot90, tril/triu, diag/diag_embed/diagflat: gradients, values, torch's errors."""

import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

GRAD_CASES = {
    "flip": lambda t: torch.flip(t, (0, -1)),
    "fliplr": lambda t: t.fliplr(),
    "flipud": lambda t: torch.flipud(t),
    "roll_flat": lambda t: torch.roll(t, 4),
    "roll_dims": lambda t: t.roll((1, -2), (0, 2)),
    "rot90": lambda t: torch.rot90(t, 1, (1, 2)),
    "rot90_k3": lambda t: t.rot90(3),
    "rot90_k2": lambda t: t.rot90(-2, (2, 0)),
    "tril": lambda t: t.tril(),
    "tril_k": lambda t: torch.tril(t, -1),
    "triu": lambda t: torch.triu(t, 1),
    "diag_2d": lambda t: torch.diag(t[0], 1),
    "diag_1d": lambda t: torch.diag(t[0, 0], -2),
    "diag_embed": lambda t: torch.diag_embed(t, 1, 0, 2),
    "diagflat": lambda t: torch.diagflat(t[0]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck(name):
    gradcheck(GRAD_CASES[name], rand(2, 3, 4, seed=3))


def test_values():
    m = torch.tensor([[1, 2], [3, 4]])
    assert m.flip(0).tolist() == [[3, 4], [1, 2]]
    assert torch.flip(m, (0, 1)).tolist() == [[4, 3], [2, 1]]
    assert m.fliplr().tolist() == [[2, 1], [4, 3]]
    assert torch.roll(torch.tensor([1, 2, 3, 4]), 1).tolist() == [4, 1, 2, 3]
    assert m.roll(1).tolist() == [[4, 1], [2, 3]]
    assert m.roll(-1, 1).tolist() == [[2, 1], [4, 3]]
    assert torch.rot90(m).tolist() == [[2, 4], [1, 3]]
    assert m.rot90(-1).tolist() == [[3, 1], [4, 2]]
    x = torch.arange(1, 10).view(3, 3)
    assert x.tril().tolist() == [[1, 0, 0], [4, 5, 0], [7, 8, 9]]
    assert x.triu(1).tolist() == [[0, 2, 3], [0, 0, 6], [0, 0, 0]]
    assert torch.diag(torch.tensor([1, 2]), 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert x.diag(-1).tolist() == [4, 8]
    assert torch.diag_embed(torch.tensor([[1, 2]])).tolist() == [[[1, 0], [0, 2]]]
    assert torch.diagflat(torch.tensor([[1, 2]])).tolist() == [[1, 0], [0, 2]]


def test_causal_mask_bool():
    mask = torch.ones(3, 3, dtype=torch.bool).triu(1)
    assert mask.dtype == torch.bool
    assert mask.tolist() == [[False, True, True], [False, False, True], [False, False, False]]


def test_tril_inplace():
    x = rand(3, 3)
    y = x * 2
    assert y.tril_() is y
    y.sum().backward()
    assert_close(x.grad, [[2.0, 0.0, 0.0], [2.0, 2.0, 0.0], [2.0, 2.0, 2.0]])
    z = torch.ones(2, 2)
    z.triu_(1)
    assert z.tolist() == [[0.0, 1.0], [0.0, 0.0]]


def test_out_argument():
    out = torch.empty(0, dtype=torch.int64)
    assert torch.tril(torch.ones(2, 2, dtype=torch.int64), out=out) is out
    assert out.tolist() == [[1, 0], [1, 1]]
    same = torch.empty(2)
    torch.diag(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), out=same)
    assert same.tolist() == [1.0, 4.0]


def test_outputs_do_not_alias_input():
    a = torch.zeros(2, 2)
    for out in (a.flip(0), a.rot90(), a.roll(1), a.tril(), a.diag()):
        out.add_(1)
    assert a.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_grad_fn_names():
    x = rand(3, 3)
    assert x.flip(0).grad_fn.name() == "FlipBackward0"
    assert x.roll(1).grad_fn.name() == "RollBackward0"
    assert x.rot90().grad_fn.name() == "Rot90Backward0"
    assert x.tril().grad_fn.name() == "TrilBackward0"
    assert x.triu().grad_fn.name() == "TriuBackward0"
    assert x[0].diag().grad_fn.name() == "DiagEmbedBackward0"
    assert x.diag().grad_fn.name() == "DiagonalBackward0_copy"


M = torch.zeros(3, 4)
ERRORS = [
    (lambda: M.flip(0, 0), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: torch.flip(M, 0), TypeError, "must be tuple of ints, not int"),
    (lambda: torch.zeros(3).fliplr(), RuntimeError, "Input must be >= 2-d."),
    (lambda: torch.tensor(1.).flipud(), RuntimeError, "Input must be >= 1-d."),
    (lambda: M.roll((1, 2), 0), RuntimeError, "shifts and dimensions must align. shifts: 2, "
                                              "dims:1"),
    (lambda: M.roll(()), RuntimeError, "`shifts` required"),
    (lambda: M.rot90(1, (0, 1, 2)), RuntimeError, "expected total rotation dims == 2"),
    (lambda: torch.zeros(3).rot90(), RuntimeError, "expected total dims >= 2"),
    (lambda: M.rot90(1, (1, 1)), RuntimeError, "expected rotation dims to be different"),
    (lambda: torch.zeros(3).tril(), RuntimeError, "tril: input tensor must have at least 2 "
                                                  "dimensions"),
    (lambda: torch.zeros(2, 2, 2).diag(), RuntimeError, "Supports 1D or 2D tensors. Got 3D"),
    (lambda: torch.diag_embed(M, 0, 1, 1), RuntimeError, "diagonal dimensions cannot be "
                                                         "identical"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS)
def test_errors(fn, cls, match):
    with pytest.raises(cls, match=match):
        fn()
