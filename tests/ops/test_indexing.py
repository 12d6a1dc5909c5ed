"""Indexing, scatter/gather and masked ops: values, gradients (gradcheck) and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as dt
from tests.helpers import assert_close, gradcheck, rand

A = np.arange(60.0).reshape(3, 4, 5)
MASK3 = dt.tensor([True, False, True])
MASK4 = dt.tensor([False, True, True, False])


def arange_t(*shape):
    return dt.tensor(np.arange(float(np.prod(shape)), dtype=np.float32).reshape(shape))


def idx(*values):
    return dt.tensor(list(values))


# --------------------------------------------------------------------------- __getitem__

@pytest.mark.parametrize("key, expected", [
    (1, A[1]), (-1, A[-1]), (slice(1, None), A[1:]), ((0, slice(None, None, 2)), A[0, ::2]),
    ((Ellipsis, 2), A[..., 2]), ((None, 0), A[None, 0]), ((0, 1, 2), A[0, 1, 2]),
    ((slice(None), None, 1), A[:, None, 1]), (slice(5, 10), A[5:10]), (Ellipsis, A),
    ((0, slice(None), [0, 1]), A[0][:, [0, 1]]),  # ints select first, as in torch
    (([0, 1], slice(None), [1, 2]), A[[0, 1], :, [1, 2]]),
    ((slice(None), [0, 2]), A[:, [0, 2]]), ([2, 0, 2], A[[2, 0, 2]]),
    (True, A[None]), (False, A[None][[]]),
])
def test_getitem_values(key, expected):
    out = dt.tensor(A)[key]
    assert_close(out, expected)


def test_getitem_masks_and_index_tensors():
    x = dt.tensor(A)
    m2 = np.arange(12).reshape(3, 4) % 3 == 0
    assert_close(x[MASK3], A[[0, 2]])
    assert_close(x[dt.tensor(m2)], A[m2])
    assert_close(x[:, MASK4], A[:, [1, 2]])
    assert_close(x[dt.tensor([[0], [2]]), dt.tensor([1, 3])], A[[[0], [2]], [1, 3]])
    assert_close(x[dt.tensor(1)], A[1])  # a 0-dim integer tensor selects
    assert_close(x[np.array([2, 0])], A[[2, 0]])
    assert_close(x[dt.tensor([0, 1], dtype=dt.int32)], A[[0, 1]])


def test_basic_indexing_returns_views():
    x = dt.tensor(A)
    for key in (0, slice(1, 3), (Ellipsis, None), (0, slice(None), 2)):
        v = x[key]
        assert v._base is x
        assert np.shares_memory(v._data, x._data)
    assert not np.shares_memory(x[[0, 1]]._data, x._data)
    assert x[0, 1, 2].shape == () and x[0, 1, 2].item() == A[0, 1, 2]


@pytest.mark.parametrize("key, name", [
    (0, "SelectBackward0"), (slice(1, None), "SliceBackward0"), (None, "UnsqueezeBackward0"),
    ((0, slice(1, None)), "SliceBackward0"), ((0, slice(None)), "SelectBackward0"),
    ((None, 0), "SelectBackward0"), (slice(None), "SliceBackward0"),
    ((slice(None),), "AliasBackward0"), (Ellipsis, "AliasBackward0"), ([0], "IndexBackward0"),
    (True, "IndexBackward0"),
])
def test_getitem_grad_fn_names(key, name):
    y = rand(3, 4) * 1
    assert y[key].grad_fn.name() == name


@pytest.mark.parametrize("key", [
    1, (slice(None), slice(1, None, 2)), (None, Ellipsis, 0), ([0, 2, 0],),
    (slice(None), [1, 1, 3]), (MASK3,), (slice(None), MASK4), ([0, 2], slice(None), [1, 1]),
    (0, slice(None), [1, 0, 1]), (True, 1),
], ids=str)
def test_getitem_gradcheck(key):
    gradcheck(lambda x: x[key], rand(3, 4, 2))


def test_getitem_duplicate_indices_accumulate():
    x = rand(4)
    x[[0, 0, 3, 0]].sum().backward()
    assert_close(x.grad, [3.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("key, exc, match", [
    (3, IndexError, "index 3 is out of bounds for dimension 0 with size 3"),
    (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ((0, 7), IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    ((None, 5), IndexError, "index 5 is out of bounds for dimension 1 with size 3"),
    ([0, 5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), [0, 9]), IndexError, "index 9 is out of bounds for dimension 0 with size 4"),
    (([0, 1], [9, 0]), IndexError, "index 9 is out of bounds for dimension 1 with size 4"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    (1.5, IndexError, r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or "
                      r"byte Variables are valid indices \(got float\)"),
    ((0, 0, 0, 0), IndexError, "too many indices for tensor of dimension 3"),
    (dt.tensor([True, False]), IndexError, r"The shape of the mask \[2\] at index 0 does not "
                                           r"match the shape of the indexed tensor \[3, 4, 5\] "
                                           r"at index 0"),
    ((slice(None), dt.tensor([True, False])), IndexError, r"indexed tensor \[3, 4, 5\] at "
                                                          r"index 1"),
    ((dt.tensor([0, 1]), dt.tensor([0, 1, 2])), IndexError,
     r"shape mismatch: indexing tensors could not be broadcast together with shapes \[2\], "
     r"\[3\]"),
    (dt.tensor([0.0, 1.0]), IndexError, "tensors used as indices must be long, int, byte or "
                                        "bool tensors"),
], ids=str)
def test_getitem_errors(key, exc, match):
    with pytest.raises(exc, match=match):
        dt.tensor(A)[key]


def test_getitem_zero_dim():
    s = dt.tensor(2.5)
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]
    assert s[...].shape == () and s[None].shape == (1,) and s[True].shape == (1,)


def test_uint8_index_is_a_deprecated_mask():
    with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
        out = dt.tensor(A)[dt.tensor([1, 0, 1], dtype=dt.uint8)]
    assert_close(out, A[[0, 2]])


# --------------------------------------------------------------------------- __setitem__

@pytest.mark.parametrize("key, value", [
    (0, 1.5), ((0, slice(1, 3)), 2), ((Ellipsis, 1), -1.0), ([0, 2], 7.0),
    ((slice(None), [1, 1]), 3.0), (MASK3, 4.0), ((1, 2, 3), 9.0),
], ids=str)
def test_setitem_numbers(key, value):
    x = dt.tensor(A.copy())
    expected = A.copy()
    if isinstance(key, dt.Tensor):
        expected[key.numpy()] = value
    else:
        expected[key] = value
    x[key] = value
    assert_close(x, expected)
    assert x._version == 1


def test_setitem_tensor_broadcast_and_cast():
    x = dt.zeros(3, 4, dtype=dt.int64)
    x[1] = dt.tensor([1.7, -2.7, 3.0, 4.0], dtype=dt.float64)
    assert x.dtype == dt.int64
    assert_close(x[1], np.array([1, -2, 3, 4]))
    y = dt.zeros(3, 4)
    y[:, 1:3] = dt.tensor([[5.0, 6.0]])
    assert_close(y[:, 1:3], np.tile([5.0, 6.0], (3, 1)).astype(np.float32))
    y[0:2] = dt.ones(1, 1, 4)  # leading 1s are dropped, as in torch
    assert_close(y[0:2], np.ones((2, 4), dtype=np.float32))


def test_setitem_duplicates_last_write_wins():
    x = dt.zeros(4)
    x[[0, 0, 2]] = dt.tensor([1.0, 2.0, 3.0])
    assert_close(x, [2.0, 0.0, 3.0, 0.0])


@pytest.mark.parametrize("key", [0, (slice(None), slice(1, 3)), [2, 0], (MASK3,),
                                 (slice(None), [3, 1])], ids=str)
def test_setitem_gradcheck(key):
    x0 = dt.zeros(3, 4)
    window_shape = tuple(x0[key].shape)

    def f(x, v):
        y = x * 1
        y[key] = v
        return y

    gradcheck(f, rand(3, 4), rand(*window_shape, seed=1))


def test_setitem_value_gradient_reaches_duplicates():
    x = rand(4)
    v = rand(3, seed=1)
    y = x * 1
    y[[0, 0, 2]] = v
    (y * dt.tensor([5.0, 1.0, 2.0, 3.0], dtype=dt.float64)).sum().backward()
    assert_close(x.grad, [0.0, 1.0, 0.0, 3.0])
    assert_close(v.grad, [5.0, 5.0, 2.0])  # every duplicate gets the window's gradient


def test_setitem_grad_fn_names():
    y = rand(3, 4) * 1
    y[0] = 1.0
    assert y.grad_fn.name() == "CopySlices"
    z = rand(3, 4) * 1
    z[[0]] = 1.0
    assert z.grad_fn.name() == "IndexPutBackward0"


@pytest.mark.parametrize("value, exc, match", [
    (dt.ones(3), RuntimeError, r"The expanded size of the tensor \(2\) must match the existing "
                               r"size \(3\) at non-singleton dimension 0.  Target sizes: \[2\]."
                               r"  Tensor sizes: \[3\]"),
    (dt.ones(2, 1, 2), RuntimeError, r"the number of sizes provided \(1\) must be greater or "
                                     r"equal to the number of dimensions in the tensor \(3\)"),
    ([1.0, 2.0], TypeError, "can't assign a list to a torch.FloatTensor"),
    (np.ones(2), TypeError, "can't assign a numpy.ndarray to a torch.FloatTensor"),
], ids=str)
def test_setitem_basic_errors(value, exc, match):
    with pytest.raises(exc, match=match):
        dt.zeros(3)[0:2] = value


def test_setitem_advanced_value_error():
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot "
                                           r"be broadcast to indexing result of shape \[2\]"):
        dt.zeros(3)[[0, 1]] = dt.ones(3)


def test_index_put():
    x = dt.zeros(3, 2)
    out = dt.index_put(x, (idx(0, 0, 2),), dt.tensor([1.0, 2.0]), accumulate=True)
    assert_close(out, [[2.0, 4.0], [0.0, 0.0], [1.0, 2.0]])  # rows get [1, 2]
    assert_close(x, np.zeros((3, 2), dtype=np.float32))
    x.index_put_((idx(1),), dt.tensor(5.0))
    assert_close(x[1], [5.0, 5.0])
    gradcheck(lambda a, v: dt.index_put(a, (idx(0, 0, 2),), v, accumulate=True),
              rand(3, 2), rand(2, seed=1))
    with pytest.raises(RuntimeError, match="Index put requires the source and destination "
                                           "dtypes match, got Float for the destination and "
                                           "Double for the source."):
        dt.index_put(x, (idx(0),), dt.tensor([1.0], dtype=dt.float64))


# --------------------------------------------------------------------------- gather / scatter

def test_gather_values_and_grad():
    x = arange_t(3, 4)
    index = dt.tensor([[0, 3], [2, 2]])
    assert_close(dt.gather(x, 1, index), [[0.0, 3.0], [6.0, 6.0]])
    assert_close(x.gather(0, dt.tensor([[2, 0, 1, 2]])), [[8.0, 1.0, 6.0, 11.0]])
    assert_close(dt.gather(x, 1, index.int()), [[0.0, 3.0], [6.0, 6.0]])
    gradcheck(lambda a: dt.gather(a, 1, index), rand(3, 4))
    gradcheck(lambda a: dt.gather(a, 0, dt.tensor([[2, 0, 2]])), rand(3, 4))
    assert_close(dt.gather(dt.tensor(5.0), 0, dt.tensor([0])), [5.0])


@pytest.mark.parametrize("index, dim, match", [
    (dt.tensor([[0.0, 1.0]]), 1, r"gather\(\): Expected dtype int32/int64 for index"),
    (dt.tensor([0, 1]), 1, "Index tensor must have the same number of dimensions as input"),
    (dt.tensor([[0, 4]]), 1, "index 4 is out of bounds for dimension 1 with size 4"),
    (dt.tensor([[0, -1]]), 1, "index -1 is out of bounds for dimension 1 with size 4"),
    (dt.zeros(4, 2, dtype=dt.int64), 1, r"Size does not match at dimension 0 expected index "
                                        r"\[4, 2\] to be no larger than self \[3, 4\] apart "
                                        r"from dimension 1"),
], ids=str)
def test_gather_errors(index, dim, match):
    with pytest.raises(RuntimeError, match=match):
        dt.gather(arange_t(3, 4), dim, index)


def test_take_along_dim():
    x = arange_t(3, 4)
    assert_close(dt.take_along_dim(x, dt.tensor([[0], [-1], [2]]), 1), [[0.0], [7.0], [10.0]])
    assert_close(dt.take_along_dim(x, dt.tensor([[1, 0]]), 1), [[1.0, 0.0], [5.0, 4.0],
                                                                 [9.0, 8.0]])
    assert_close(dt.take_along_dim(x, dt.tensor([11, 0])), [11.0, 0.0])
    assert x.take_along_dim(dt.tensor([[1]]), 0).shape == (1, 4)
    gradcheck(lambda a: dt.take_along_dim(a, dt.tensor([[1, 1]]), 1), rand(3, 4))
    gradcheck(lambda a: dt.take_along_dim(a, dt.tensor([[2, 2, 0]]), 0), rand(3, 1))
    gradcheck(lambda a: dt.take_along_dim(a, dt.tensor([5, 5, 0])), rand(2, 3))
    with pytest.raises(RuntimeError, match="dtype of indices should be Long but got Int"):
        dt.take_along_dim(x, dt.tensor([[0]], dtype=dt.int32), 1)
    with pytest.raises(RuntimeError, match="input and indices should have the same number of "
                                           "dimensions, but got 2 dimensions for input, and 1 "
                                           "dimensions for indices"):
        dt.take_along_dim(x, dt.tensor([0]), 1)


def test_scatter_values():
    x = dt.zeros(3, 4)
    index = dt.tensor([[0, 1], [2, 3]])
    src = arange_t(2, 3) + 1
    out = dt.scatter(x, 1, index, src)
    assert_close(out, [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 4.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    out = x.scatter(0, dt.tensor([[0, 2], [1, 1]]), 7.0)
    assert_close(out[:, :2], [[7.0, 0.0], [7.0, 7.0], [0.0, 7.0]])
    assert_close(dt.scatter(x, 1, index, src, reduce="add")[1], [0.0, 0.0, 4.0, 5.0])
    assert out.grad_fn is None and x._version == 0
    y = dt.zeros(3, 4)
    assert y.scatter_(1, index, src) is y
    assert y._version == 1 and y[1, 3].item() == 5.0


def test_scatter_gradcheck():
    index = dt.tensor([[0, 1], [2, 3]])
    gradcheck(lambda a, s: dt.scatter(a, 1, index, s), rand(3, 4), rand(2, 3, seed=1))
    gradcheck(lambda a: dt.scatter(a, 0, dt.tensor([[0, 2], [1, 1]]), 1.5), rand(3, 4))
    gradcheck(lambda a, s: dt.scatter_add(a, 0, dt.tensor([[0, 0, 2, 0]]), s), rand(3, 4),
              rand(2, 4, seed=1))


def test_scatter_grad_fn_names():
    x = rand(3, 4)
    index = dt.tensor([[0, 1]])
    assert dt.scatter(x, 1, index, x).grad_fn.name() == "ScatterBackward0"
    assert dt.scatter(x, 1, index, 2.0).grad_fn.name() == "ScatterBackward1"
    assert dt.scatter_add(x, 1, index, x).grad_fn.name() == "ScatterAddBackward0"


def test_scatter_add_accumulates():
    out = dt.scatter_add(dt.zeros(4), 0, dt.tensor([0, 0, 3, 0]), dt.ones(4))
    assert_close(out, [3.0, 0.0, 0.0, 1.0])
    y = dt.zeros(4)
    y.scatter_add_(0, dt.tensor([1, 1]), dt.ones(2))
    assert_close(y, [0.0, 2.0, 0.0, 0.0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(index=dt.tensor([[0.0]])), r"scatter\(\): Expected dtype int32/int64 for index"),
    (dict(index=dt.tensor([0])), "Index tensor must have the same number of dimensions as self"),
    (dict(index=dt.tensor([[4]])), "index 4 is out of bounds for dimension 1 with size 4"),
    (dict(src=dt.ones(1, 1, dtype=dt.float64)), r"scatter\(\): Expected self.dtype to be equal "
                                                r"to src.dtype"),
    (dict(index=dt.zeros(2, 2, dtype=dt.int64), src=dt.ones(1, 1)),
     r"Expected index \[2, 2\] to be no larger than self \[3, 4\] apart from dimension 1 and "
     r"to be no larger size than src \[1, 1\]"),
], ids=str)
def test_scatter_errors(kwargs, match):
    args = dict(index=dt.tensor([[0]]), src=dt.ones(2, 2))
    args.update(kwargs)
    with pytest.raises(RuntimeError, match=match):
        dt.scatter(dt.zeros(3, 4), 1, args["index"], args["src"])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_values(reduce, include_self):
    a = np.array([1.0, -2.0, 3.0, 4.0])
    src = np.array([5.0, -1.0, 2.0, 7.0, 0.5])
    index = np.array([0, 0, 2, 2, 0])
    out = dt.scatter_reduce(dt.tensor(a), 0, dt.tensor(index), dt.tensor(src), reduce,
                            include_self=include_self)
    expected = a.copy()
    fns = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}
    for i in (0, 2):
        group = list(src[index == i]) + ([a[i]] if include_self else [])
        expected[i] = fns[reduce](group)
    assert_close(out, expected)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    index = dt.tensor([[0, 0, 2], [1, 1, 1]])
    gradcheck(lambda a, s: dt.scatter_reduce(a, 1, index, s, reduce, include_self=include_self),
              rand(2, 3), rand(2, 3, seed=1))


def test_scatter_reduce_prod_with_zeros_gradcheck():
    a = dt.tensor([0.0, 2.0, 3.0], dtype=dt.float64, requires_grad=True)
    s = dt.tensor([0.0, 5.0, 0.0, 1.5], dtype=dt.float64, requires_grad=True)
    gradcheck(lambda a, s: dt.scatter_reduce(a, 0, dt.tensor([1, 1, 2, 0]), s, "prod"), a, s)


def test_scatter_reduce_ties_share_gradient():
    a = dt.tensor([1.0, 0.0], dtype=dt.float64, requires_grad=True)
    s = dt.tensor([1.0, 1.0, -1.0], dtype=dt.float64, requires_grad=True)
    dt.scatter_reduce(a, 0, dt.tensor([0, 0, 1]), s, "amax").sum().backward()
    assert_close(a.grad, [1 / 3, 1.0])
    assert_close(s.grad, [1 / 3, 1 / 3, 0.0])


def test_scatter_reduce_int_mean_floors_and_bad_reduce():
    out = dt.scatter_reduce(-dt.tensor([[0, 1, 2]]), 1, dt.tensor([[0, 0]]),
                            -dt.tensor([[3, 4]]), "mean", include_self=False)
    assert_close(out, np.array([[-4, -1, -2]]))
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, "
                                           "amax or amin, got foo"):
        dt.scatter_reduce(dt.zeros(2), 0, idx(0), dt.ones(1), "foo")
    y = dt.zeros(3)
    y.scatter_reduce_(0, idx(1, 1), dt.tensor([2.0, 5.0]), "amax")
    assert_close(y, [0.0, 5.0, 0.0])


# --------------------------------------------------------------------------- index_*

def test_index_select():
    x = arange_t(3, 4)
    assert_close(dt.index_select(x, 1, idx(3, 0, 3)), x.numpy()[:, [3, 0, 3]])
    assert_close(x.index_select(0, dt.tensor(2)), x.numpy()[[2]])
    assert_close(x.index_select(0, dt.tensor([1], dtype=dt.int32)), x.numpy()[[1]])
    gradcheck(lambda a: dt.index_select(a, 1, idx(3, 0, 3)), rand(3, 4))
    assert dt.index_select(rand(3), 0, idx(0)).grad_fn.name() == "IndexSelectBackward0"


@pytest.mark.parametrize("index, exc, match", [
    (dt.tensor([[0]]), IndexError, r"index_select\(\): Index is supposed to be a vector"),
    (dt.tensor([0.0]), RuntimeError, r"Expected dtype int32 or int64 for index"),
    (dt.tensor([4]), RuntimeError, "INDICES element is out of DATA bounds, id=4 axis_dim=4"),
    (dt.tensor([-1]), RuntimeError, "INDICES element is out of DATA bounds, id=-1 axis_dim=4"),
], ids=str)
def test_index_select_errors(index, exc, match):
    with pytest.raises(exc, match=match):
        dt.index_select(arange_t(3, 4), 1, index)


@pytest.mark.parametrize("shape, dim", [((4,), 0), ((3, 4), 0), ((2, 3, 4), 2)])
def test_index_select_out_of_range_elsewhere_is_index_error(shape, dim):
    for bad in (-1, 9):
        with pytest.raises(IndexError, match="index out of range in self"):
            dt.index_select(dt.zeros(*shape), dim, idx(0, bad))


def test_index_add_copy_fill_values():
    x = dt.zeros(3, 2)
    src = arange_t(3, 2) + 1
    assert_close(dt.index_add(x, 0, idx(0, 0, 2), src, alpha=2),
                 [[8.0, 12.0], [0.0, 0.0], [10.0, 12.0]])
    assert_close(x.index_copy(0, idx(2, 0, 1), src), [[3.0, 4.0], [5.0, 6.0], [1.0, 2.0]])
    assert_close(x.index_fill(1, idx(-1), -1.0), [[0.0, -1.0]] * 3)
    assert_close(x.index_fill(0, dt.tensor(1), dt.tensor(4.0)), [[0, 0], [4, 4], [0, 0]])
    assert x._version == 0
    x.index_add_(1, idx(1), dt.ones(3, 1))
    x.index_fill_(0, idx(0), 9)
    x.index_copy_(0, idx(2), dt.full((1, 2), 5.0))
    assert_close(x, [[9.0, 9.0], [0.0, 1.0], [5.0, 5.0]])
    assert x._version == 3


def test_index_add_copy_fill_gradcheck():
    gradcheck(lambda a, s: dt.index_add(a, 0, idx(0, 0, 2), s, alpha=-1.5), rand(3, 2),
              rand(3, 2, seed=1))
    gradcheck(lambda a, s: dt.index_copy(a, 1, idx(2, 0), s), rand(3, 3), rand(3, 2, seed=1))
    gradcheck(lambda a: dt.index_fill(a, 1, idx(0, 0, 2), 3.0), rand(2, 3))
    gradcheck(lambda a, v: dt.index_fill(a, 1, idx(0, 0, 2), v), rand(2, 3), rand(seed=1))


def test_index_fill_value_gradient_counts_each_filled_entry_once():
    v = dt.tensor(2.0, dtype=dt.float64, requires_grad=True)
    out = dt.index_fill(dt.zeros(3, dtype=dt.float64), 0, idx(0, 0, 2), v)
    assert out.grad_fn.name() == "IndexFillBackward1"
    (out * dt.tensor([1.0, 2.0, 3.0], dtype=dt.float64)).sum().backward()
    assert v.grad.item() == 4.0


@pytest.mark.parametrize("fn, exc, match", [
    (lambda x: x.index_add(0, idx(0, 0), dt.ones(2, 3)), RuntimeError,
     r"source tensor shape must match self tensor shape, excluding the specified dimension. "
     r"Got self.shape = \[3, 4\] source.shape = \[2, 3\]"),
    (lambda x: x.index_add(0, idx(0, 0), dt.ones(3, 4)), RuntimeError,
     r"index_add_\(\): Number of indices \(2\) should be equal to source.size\(dim\): \(3\), "
     r"for dim: 0"),
    (lambda x: x.index_add(0, idx(0, 5), dt.ones(2, 4)), RuntimeError,
     "index 5 is out of bounds for dimension 0 with size 3"),
    (lambda x: x.index_add(0, idx(0), dt.ones(1, 4, dtype=dt.float64)), RuntimeError,
     r"index_add_\(\): self \(Float\) and source \(Double\) must have the same scalar type"),
    (lambda x: x.index_copy(0, idx(0).int(), dt.ones(1, 4)), RuntimeError,
     r"index_copy_\(\): Expected a long tensor for index, but got Int"),
    (lambda x: x.index_copy(0, idx(3), dt.ones(1, 4)), IndexError,
     r"index_copy_\(\): index 3 is out of bounds for dimension 0 with size 3"),
    (lambda x: x.index_copy(0, idx(0), dt.ones(1, 3)), RuntimeError,
     "Source/destination tensor must have same slice shapes"),
    (lambda x: x.index_fill(1, idx(5), 1.0), IndexError,
     "index 5 is out of bounds for dimension 1 with size 4"),
    (lambda x: x.index_fill(1, idx(0).int(), 1.0), IndexError,
     r"index_fill_\(\): Expected dtype int64 for index."),
    (lambda x: x.index_fill(1, idx(0), dt.ones(1)), RuntimeError,
     r"index_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
     r"dimension\(s\)."),
], ids=range(10))
def test_index_op_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(dt.zeros(3, 4))


# --------------------------------------------------------------------------- take / put

def test_take_and_put():
    x = arange_t(3, 4)
    assert_close(dt.take(x, dt.tensor([[0, 11], [5, -1]])), [[0.0, 11.0], [5.0, 11.0]])
    gradcheck(lambda a: dt.take(a, dt.tensor([[0, 5], [5, -1]])), rand(2, 3))
    out = dt.put(x, idx(0, -1), dt.tensor([-1.0, -2.0]))
    assert out[0, 0].item() == -1.0 and out[2, 3].item() == -2.0 and x[0, 0].item() == 0.0
    acc = dt.put(dt.zeros(4), idx(1, 1), dt.tensor([1.0, 2.0]), accumulate=True)
    assert_close(acc, [0.0, 3.0, 0.0, 0.0])
    gradcheck(lambda a, s: dt.put(a, idx(1, 4), s), rand(2, 3), rand(2, seed=1))
    gradcheck(lambda a, s: dt.put(a, idx(1, 1), s, accumulate=True), rand(2, 3),
              rand(2, seed=1))
    y = dt.zeros(2, 2)
    y.put_(idx(3), dt.tensor([7.0]))
    assert y[1, 1].item() == 7.0 and y._version == 1


@pytest.mark.parametrize("fn, exc, match", [
    (lambda x: dt.take(x, idx(12)), IndexError,
     "out of range: tried to access index 12 on a tensor of 12 elements."),
    (lambda x: dt.take(x, idx(-13)), IndexError, "tried to access index -13"),
    (lambda x: dt.take(x, idx(0).int()), RuntimeError,
     r"take\(\): Expected a long tensor for index, but got Int"),
    (lambda x: dt.put(x, idx(0, 1, 2), dt.ones(2)), IndexError,
     r"put_\(\): Expected source and index to have the same number of elements, but got "
     r"source.numel\(\) = 2, index.numel\(\) = 3"),
    (lambda x: dt.put(x, idx(0), dt.ones(1, dtype=dt.float64)), RuntimeError,
     r"put_\(\): self and source expected to have the same dtype, but got self.dtype = Float "
     r"and source.dtype = Double"),
], ids=range(5))
def test_take_put_errors(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn(dt.zeros(3, 4))


# --------------------------------------------------------------------------- masked ops

def test_masked_fill():
    x = arange_t(3, 4)
    m = dt.tensor([True, False, True, False])
    out = dt.masked_fill(x, m, -1.0)
    assert_close(out, np.where([True, False, True, False], -1.0, x.numpy()).astype(np.float32))
    assert dt.masked_fill(dt.arange(4), dt.tensor([True, False, False, True]), 2.7).dtype == \
        dt.int64
    assert_close(dt.masked_fill(dt.arange(4), dt.tensor([True, False, False, True]), 2.7),
                 np.array([2, 1, 2, 2]))
    big = dt.masked_fill(dt.zeros(4), dt.ones(3, 4, dtype=dt.bool), 1.0)
    assert big.shape == (3, 4)
    gradcheck(lambda a: dt.masked_fill(a, m, 2.0), rand(3, 4))
    gradcheck(lambda a, v: a.masked_fill(m, v), rand(3, 4), rand(seed=1))
    y = dt.zeros(2, 4)
    assert y.masked_fill_(m, 5) is y
    assert_close(y, np.where([True, False, True, False], 5.0, np.zeros((2, 4), np.float32)))


def test_masked_fill_names_and_value_gradient():
    x = rand(3)
    v = rand(seed=1)
    m = dt.tensor([True, False, True])
    assert dt.masked_fill(x, m, 1.0).grad_fn.name() == "MaskedFillBackward0"
    out = dt.masked_fill(x, m, v)
    assert out.grad_fn.name() == "MaskedFillBackward1"
    (out * dt.tensor([1.0, 2.0, 3.0], dtype=dt.float64)).sum().backward()
    assert v.grad.item() == 4.0
    assert_close(x.grad, [0.0, 2.0, 0.0])


@pytest.mark.parametrize("fn, match", [
    (lambda x: x.masked_fill(dt.tensor([1, 0, 1, 0]), 1.0),
     "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    (lambda x: x.masked_fill(dt.tensor([True, False]), 1.0),
     r"The size of tensor a \(2\) must match the size of tensor b \(4\)"),
    (lambda x: x.masked_fill(dt.tensor([True] * 4), dt.ones(1)),
     r"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
     r"dimension\(s\)."),
    (lambda x: dt.zeros(4).masked_fill_(dt.ones(3, 4, dtype=dt.bool), 1.0),
     r"output with shape \[4\] doesn't match the broadcast shape \[3, 4\]"),
    (lambda x: x.masked_select(dt.tensor([1, 0, 1, 0])),
     "masked_select: expected BoolTensor for mask"),
    (lambda x: x.masked_scatter(dt.ones(3, 4, dtype=dt.bool), dt.ones(5)),
     "Number of elements of source < number of ones in mask"),
    (lambda x: x.masked_scatter(dt.ones(3, 4, dtype=dt.int64), x),
     "masked_scatter_ only supports boolean masks, but got mask with dtype Long"),
    (lambda x: x.masked_scatter(dt.ones(3, 4, dtype=dt.bool), x.double()),
     "masked_scatter: expected self and source to have same dtypes but gotFloat and Double"),
], ids=range(8))
def test_masked_errors(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn(dt.zeros(3, 4))


def test_masked_select_and_scatter():
    x = arange_t(3, 4)
    m = dt.tensor([True, False, True, False])
    assert_close(dt.masked_select(x, m), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0])
    assert dt.masked_select(dt.arange(4.0), dt.ones(3, 4, dtype=dt.bool)).shape == (12,)
    gradcheck(lambda a: dt.masked_select(a, m), rand(3, 4))
    gradcheck(lambda a: dt.masked_select(a, dt.ones(2, 3, dtype=dt.bool)), rand(3))
    src = -arange_t(12) - 1
    out = dt.masked_scatter(dt.zeros(2, 4), m, src)
    assert_close(out, [[-1.0, 0.0, -2.0, 0.0], [-3.0, 0.0, -4.0, 0.0]])
    gradcheck(lambda a, s: dt.masked_scatter(a, m, s), rand(2, 4), rand(2, 3, seed=1))
    y = dt.zeros(2, 4)
    y.masked_scatter_(m, src)
    assert_close(y, out)


def test_nonzero_and_argwhere():
    x = dt.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert_close(dt.nonzero(x), np.array([[0, 1], [1, 0]]))
    rows, cols = x.nonzero(as_tuple=True)
    assert_close(rows, np.array([0, 1])) and assert_close(cols, np.array([1, 0]))
    assert dt.argwhere(x).dtype == dt.int64
    assert dt.nonzero(dt.tensor(0.0)).shape == (0, 0)
    assert dt.nonzero(dt.tensor(3.0)).shape == (1, 0)
    assert_close(dt.nonzero(dt.tensor(3.0), as_tuple=True)[0], np.array([0]))
