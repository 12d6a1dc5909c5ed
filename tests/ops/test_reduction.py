"""Reductions: sum, nansum, mean, prod, max/min, amax/amin, argmax/argmin, aminmax, all/any,
count_nonzero — gradients, hand-computed values, return types and torch's errors."""

import pickle

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

DIMS = [None, 0, -1, (0, 2), (-1, 0), ()]


def _kw(dim, keepdim):
    return {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}


# --------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("fn", [torch.sum, torch.mean, torch.nansum, torch.amax, torch.amin])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_multi_dim(fn, dim, keepdim):
    x = rand(2, 3, 4, seed=1)
    gradcheck(lambda t: fn(t, **_kw(dim, keepdim)), x)


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_prod(dim, keepdim):
    rng = np.random.default_rng(2)
    values = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x = torch.tensor(values, requires_grad=True)
    gradcheck(lambda t: torch.prod(t, **_kw(dim, keepdim)), x)


@pytest.mark.parametrize("fn", [torch.max, torch.min])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_max_min_dim(fn, dim, keepdim):
    x = rand(3, 4, seed=3)
    gradcheck(lambda t: fn(t, dim, keepdim).values, x)


@pytest.mark.parametrize("fn", [torch.max, torch.min])
def test_gradcheck_max_min_all(fn):
    gradcheck(fn, rand(3, 4, seed=4))


@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck_aminmax(dim, keepdim):
    x = rand(3, 4, seed=5)
    gradcheck(lambda t: tuple(torch.aminmax(t, dim=dim, keepdim=keepdim)), x)


def test_gradcheck_zero_dim_input():
    x = rand(seed=6)
    for fn in (lambda t: t.sum(0), lambda t: t.mean(-1), lambda t: t.prod(0),
               lambda t: t.max(0).values, lambda t: t.amax(0), lambda t: t.max()):
        gradcheck(fn, x)


# --------------------------------------------------------------------------- values

def test_sum_values_and_dtypes():
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert_close(torch.sum(x), torch.tensor(21))
    assert_close(x.sum(0), torch.tensor([5, 7, 9]))
    assert_close(x.sum((0, 1), keepdim=True), torch.tensor([[21]]))
    assert torch.sum(torch.tensor([True, True, False])).dtype == torch.int64
    assert torch.sum(torch.tensor([1, 2], dtype=torch.uint8)).dtype == torch.int64
    assert torch.sum(x, dtype=torch.float32).dtype == torch.float32
    assert torch.sum(torch.ones(3, dtype=torch.float16)).dtype == torch.float16
    assert_close(torch.sum(torch.zeros(0, 3)), torch.tensor(0.0))
    assert_close(torch.sum(torch.zeros(0, 3), 0), torch.zeros(3))
    assert_close(x.sum(axis=1), torch.tensor([6, 15]))


def test_sum_float16_accumulates_wide():
    # 4096 halves of 1.0: a float16 running sum would stall at 2048.
    assert torch.ones(4096, dtype=torch.float16).sum().item() == 4096


def test_sum_grad_fn_names():
    x = rand(2, 3)
    assert x.sum().grad_fn.name() == "SumBackward0"
    assert x.sum(1).grad_fn.name() == "SumBackward1"
    assert x.mean().grad_fn.name() == "MeanBackward0"
    assert x.prod(0).grad_fn.name() == "ProdBackward1"
    assert x.max().grad_fn.name() == "MaxBackward1"
    assert x.max(0).values.grad_fn.name() == "MaxBackward0"
    assert x.min(0).values.grad_fn.name() == "MinBackward0"
    assert x.amin(0).grad_fn.name() == "AminBackward0"
    assert torch.aminmax(x).min.grad_fn.name() == "AminmaxBackward0"
    assert torch.nansum(x).grad_fn.name() == "NansumBackward0"


def test_nansum_value_and_grad():
    x = torch.tensor([1.0, float("nan"), 2.0], requires_grad=True)
    y = torch.nansum(x)
    y.backward()
    assert y.item() == 3.0
    assert_close(x.grad, torch.tensor([1.0, 0.0, 1.0]))
    assert_close(torch.nansum(torch.tensor([[1, 2], [3, 4]]), 1), torch.tensor([3, 7]))


def test_mean_values():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert_close(x.mean(), torch.tensor(3.0))
    assert_close(x.mean(1, keepdim=True), torch.tensor([[1.5], [4.5]]))
    assert_close(torch.mean(torch.tensor([1, 2]), dtype=torch.float64),
                 torch.tensor(1.5, dtype=torch.float64))
    assert np.isnan(torch.mean(torch.zeros(0)).item())
    assert torch.mean(torch.zeros(0, 2), 1).shape == (0,)


def test_prod_gradient_with_zeros():
    x = torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [2.0, 3.0, 4.0]], requires_grad=True)
    x.prod(1).sum().backward()
    assert_close(x.grad, torch.tensor([[0.0, 3.0, 0.0], [0.0, 0.0, 0.0], [12.0, 8.0, 6.0]]))
    y = torch.tensor([2.0, 0.0, 5.0], requires_grad=True)
    y.prod().backward()
    assert_close(y.grad, torch.tensor([0.0, 10.0, 0.0]))
    z = torch.tensor([0.0, 3.0, 0.0], requires_grad=True)
    z.prod().backward()
    assert_close(z.grad, torch.zeros(3))


def test_prod_dtypes():
    assert_close(torch.prod(torch.tensor([[1, 2], [3, 4]])), torch.tensor(24))
    assert torch.prod(torch.tensor([True, False])).dtype == torch.int64
    assert_close(torch.prod(torch.zeros(0)), torch.tensor(1.0))


def test_max_full_ties_share_gradient():
    x = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
    torch.max(x).backward()
    assert_close(x.grad, torch.tensor([0.0, 0.5, 0.5]))


def test_max_dim_gradient_goes_to_first_index():
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True)
    values, indices = torch.max(x, 1)
    assert_close(indices, torch.tensor([1, 0]))
    values.sum().backward()
    assert_close(x.grad, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))


def test_amax_ties_split_evenly():
    x = torch.tensor([[1.0, 3.0, 3.0], [3.0, 1.0, 1.0]], requires_grad=True)
    torch.amax(x).backward()
    third = 1 / 3
    assert_close(x.grad, torch.tensor([[0.0, third, third], [third, 0.0, 0.0]]))
    y = torch.tensor([[2.0, 2.0], [5.0, 1.0]], requires_grad=True)
    torch.amin(y, 1).sum().backward()
    assert_close(y.grad, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))


def test_max_propagates_nan():
    x = torch.tensor([1.0, float("nan"), 2.0])
    assert np.isnan(torch.max(x).item())
    assert torch.argmax(x).item() == 1
    assert np.isnan(torch.amax(x).item())
    assert torch.max(x, 0).indices.item() == 1


def test_max_min_dtypes_and_keepdim():
    xi = torch.tensor([[1, 7], [4, 2]])
    assert_close(torch.max(xi), torch.tensor(7))
    assert torch.max(torch.tensor([True, False])).dtype == torch.bool
    r = torch.min(xi, dim=0, keepdim=True)
    assert_close(r.values, torch.tensor([[1, 2]]))
    assert_close(r.indices, torch.tensor([[0, 1]]))
    assert torch.max(torch.zeros(0, 3), 1).values.shape == (0,)


def test_max_with_tensor_other_is_maximum():
    from dist_torch.ops import comparison
    if not hasattr(comparison, "maximum"):
        pytest.skip("torch.maximum is not available yet")
    a = torch.tensor([1.0, 5.0])
    b = torch.tensor([3.0, 2.0])
    assert_close(torch.max(a, b), torch.tensor([3.0, 5.0]))
    assert_close(a.min(b), torch.tensor([1.0, 2.0]))


def test_return_type_structure():
    x = torch.tensor([[1.0, 5.0], [7.0, 2.0]])
    r = torch.max(x, 1)
    assert isinstance(r, tuple) and len(r) == 2
    assert type(r).__name__ == "max" and type(r) is torch.return_types.max
    assert r.values is r[0] and r.indices is r[1]
    values, indices = r
    assert_close(values, torch.tensor([5.0, 7.0]))
    assert_close(indices, torch.tensor([1, 0]))
    assert repr(r).startswith("torch.return_types.max(\nvalues=tensor(")
    assert "\nindices=tensor(" in repr(r)
    assert type(torch.min(x, 0)) is torch.return_types.min
    mm = torch.aminmax(x)
    assert type(mm) is torch.return_types.aminmax and mm.min.item() == 1.0 and mm.max.item() == 7
    assert r.n_fields == 2 and type(r[:1]) is tuple
    plain = torch.return_types.max((1, 2))
    assert pickle.loads(pickle.dumps(plain)) == plain and plain.indices == 2
    with pytest.raises(TypeError, match="takes a 2-sequence"):
        torch.return_types.max((1,))


def test_argmax_argmin():
    x = torch.tensor([[1.0, 9.0, 3.0], [7.0, 2.0, 8.0]])
    assert_close(torch.argmax(x), torch.tensor(1))
    assert_close(torch.argmin(x, 1), torch.tensor([0, 1]))
    assert_close(torch.argmax(x, keepdim=True), torch.tensor([[1]]))
    assert_close(x.argmax(dim=0, keepdim=True), torch.tensor([[1, 0, 1]]))
    assert_close(torch.argmax(torch.tensor(3.0), 0), torch.tensor(0))
    assert torch.argmax(torch.zeros(0, 3), 1).shape == (0,)


def test_aminmax_values():
    x = torch.tensor([[1.0, 9.0, 3.0], [7.0, 2.0, 8.0]])
    lo, hi = torch.aminmax(x, dim=1, keepdim=True)
    assert_close(lo, torch.tensor([[1.0], [2.0]]))
    assert_close(hi, torch.tensor([[9.0], [8.0]]))
    assert_close(x.aminmax().max, torch.tensor(9.0))


def test_all_any_count_nonzero():
    x = torch.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]])
    assert_close(torch.all(x), torch.tensor(False))
    assert_close(torch.all(x, 1), torch.tensor([False, True]))
    assert_close(torch.any(x, 0, keepdim=True), torch.tensor([[True, True, True]]))
    assert_close(x.all(dim=(0, 1)), torch.tensor(False))
    assert torch.all(x, ()).shape == (2, 3)  # torch reduces nothing for dim=()
    u = torch.tensor([1, 0], dtype=torch.uint8)
    assert torch.all(u).dtype == torch.uint8 and torch.any(u).item() == 1
    assert torch.all(torch.zeros(0)).item() is True
    assert torch.any(torch.zeros(0)).item() is False
    assert torch.any(torch.tensor([0.0, float("nan")])).item() is True
    assert_close(torch.count_nonzero(x), torch.tensor(5))
    assert_close(torch.count_nonzero(x, 1), torch.tensor([2, 3]))
    assert_close(x.count_nonzero((0, 1)), torch.tensor(5))


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("fn", [
    lambda t: torch.sum(t, 2), lambda t: torch.mean(t, (0, 2)), lambda t: torch.prod(t, 2),
    lambda t: torch.max(t, 2), lambda t: torch.amax(t, 2), lambda t: torch.argmax(t, 2),
    lambda t: torch.all(t, 2), lambda t: torch.count_nonzero(t, 2),
    lambda t: torch.aminmax(t, dim=2), lambda t: torch.nansum(t, 2),
])
def test_dim_out_of_range(fn):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                         r"of \[-2, 1\], but got 2\)"):
        fn(torch.ones(2, 3))


def test_dim_out_of_range_negative_and_zero_dim():
    with pytest.raises(IndexError, match=r"\[-2, 1\], but got -3"):
        torch.sum(torch.ones(2, 3), -3)
    with pytest.raises(IndexError, match=r"\[-1, 0\], but got 1"):
        torch.sum(torch.tensor(1.0), 1)


@pytest.mark.parametrize("fn", [torch.sum, torch.mean, torch.amax, torch.count_nonzero])
def test_repeated_dims(fn):
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        fn(torch.ones(2, 3), (0, -2))


@pytest.mark.parametrize("dtype,name", [(torch.int64, "Long"), (torch.bool, "Bool")])
def test_mean_of_integer_tensor(dtype, name):
    with pytest.raises(RuntimeError, match=r"mean\(\): could not infer output dtype. Input "
                                           r"dtype must be either a floating point or "
                                           rf"complex dtype. Got: {name}"):
        torch.mean(torch.ones(3, dtype=dtype))
    with pytest.raises(RuntimeError, match="Optional dtype must be .* Got: Long"):
        torch.mean(torch.ones(3), dtype=torch.int64)


@pytest.mark.parametrize("fname", ["argmax", "argmin"])
def test_arg_of_empty(fname):
    fn = getattr(torch, fname)
    with pytest.raises(IndexError, match=rf"{fname}\(\): Expected reduction dim to be "
                                         r"specified for input.numel\(\) == 0"):
        fn(torch.zeros(0, 3))
    with pytest.raises(IndexError, match=r"Expected reduction dim 0 to have non-zero size"):
        fn(torch.zeros(0, 3), 0)


def test_arg_of_bool():
    with pytest.raises(RuntimeError, match=r"argmax\(\): does not support bool input"):
        torch.argmax(torch.tensor([True, False]))


@pytest.mark.parametrize("fname", ["max", "min", "amax", "amin"])
def test_max_of_empty(fname):
    fn = getattr(torch, fname)
    with pytest.raises(RuntimeError, match=rf"{fname}\(\): Expected reduction dim to be "
                                           r"specified for input.numel\(\) == 0. Specify the "
                                           r"reduction dim with the 'dim' argument."):
        fn(torch.zeros(0, 3))
    with pytest.raises(IndexError, match=rf"{fname}\(\): Expected reduction dim 0 to have "
                                         r"non-zero size."):
        fn(torch.zeros(0, 3), 0)


def test_aminmax_of_empty():
    with pytest.raises(RuntimeError, match=r"aminmax\(\): cannot compute aminmax over an empty "
                                           r"dimension as the operation has no identity."):
        torch.aminmax(torch.zeros(0))
    with pytest.raises(IndexError, match="aminmax: Expected reduction dim 0 to have non-zero"):
        torch.aminmax(torch.zeros(0, 2), dim=0)


def test_argument_types():
    with pytest.raises(TypeError, match=r"prod\(\): argument 'dim' \(position 2\) must be int"):
        torch.prod(torch.ones(2, 2), (0, 1))
    with pytest.raises(TypeError, match=r"argmax\(\): argument 'dim' \(position 2\) must be int"):
        torch.argmax(torch.ones(2, 2), (0, 1))
    with pytest.raises(TypeError, match=r"max\(\) received an invalid combination"):
        torch.max(torch.ones(2, 2), (0, 1))
    with pytest.raises(TypeError, match=r"sum\(\): argument 'input' \(position 1\) must be "
                                        r"Tensor, not list"):
        torch.sum([1, 2])


def test_out_argument():
    x = torch.tensor([[1.0, 5.0], [7.0, 2.0]])
    out = torch.zeros(0)
    assert torch.sum(x, 1, out=out) is out
    assert_close(out, torch.tensor([6.0, 9.0]))
    same = torch.zeros(2, dtype=torch.float64)
    version = same._version
    torch.mean(x, 0, out=same)
    assert_close(same, torch.tensor([4.0, 3.5], dtype=torch.float64))
    assert same._version > version
    values, indices = torch.zeros(2), torch.zeros(2, dtype=torch.int64)
    r = torch.max(x, 1, out=(values, indices))
    assert type(r) is torch.return_types.max and r.values is values
    assert_close(indices, torch.tensor([1, 0]))
    with pytest.raises(RuntimeError, match=r"sum\(\): functions with out=... arguments don't "
                                           r"support automatic differentiation"):
        torch.sum(rand(2), 0, out=torch.zeros(0, dtype=torch.float64))
    with pytest.raises(TypeError, match="argument 'out' must be a tuple of 2 Tensors"):
        torch.max(x, 1, out=values)


def test_bfloat16_reductions():
    pytest.importorskip("ml_dtypes")
    x = torch.tensor([[1.0, 2.0, float("nan")], [3.0, 4.0, 5.0]], dtype=torch.bfloat16)
    assert torch.nansum(x).item() == 15.0 and torch.nansum(x).dtype == torch.bfloat16
    assert torch.sum(x, 1).dtype == torch.bfloat16
    assert torch.mean(x, 1).tolist()[1] == 4.0
    assert torch.max(x, 1).indices.tolist() == [2, 2]  # NaN wins, as in torch
