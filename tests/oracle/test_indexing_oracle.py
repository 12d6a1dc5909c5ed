"""Indexing, scatter/gather and masked ops against torch: values, dtypes, gradients, grad_fn
names and errors (class and message)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

S = slice
MASK_34 = np.array([[True, False, True, False], [False, False, True, True],
                    [True, True, False, False]])
MASK_3 = np.array([True, False, True])
MASK_4 = np.array([False, True, True, False])
MASK_5 = np.array([True, False, False, True, True])


def build(lib, desc):
    """A key for ``lib`` from ``desc``: a tuple of items, or ``("key", item)`` for a bare one.

    Items are ints, slices, None, Ellipsis and bools as themselves; ``("t", data)`` a lib
    tensor, ``("T", data, dtype)`` one of the named dtype, ``("l", data)`` a list,
    ``("a", data)`` a NumPy array.
    """
    if isinstance(desc, tuple) and desc and desc[0] == "key":
        return _item(lib, desc[1])
    return tuple(_item(lib, d) for d in desc)


def _item(lib, d):
    if isinstance(d, tuple) and d and isinstance(d[0], str):
        kind = d[0]
        if kind == "t":
            return lib.tensor(np.asarray(d[1]))
        if kind == "T":
            return lib.tensor(np.asarray(d[1]), dtype=getattr(lib, d[2]))
        if kind == "l":
            return list(d[1])
        return np.asarray(d[1])
    return d


def same_error(fn):
    """``fn(lib)`` raises the same exception class and message on both libraries."""
    errors = []
    for lib in (dt, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fn(lib)
            except Exception as e:  # noqa: BLE001 - comparing whatever torch raises
                errors.append(e)
            else:
                errors.append(None)
    ours, theirs = errors
    assert theirs is not None, "torch did not raise"
    assert ours is not None, f"dist_torch did not raise; torch: {theirs!r}"
    assert type(ours) is type(theirs), f"{ours!r} vs torch {theirs!r}"
    assert str(ours) == str(theirs), f"{str(ours)!r}\nvs torch\n{str(theirs)!r}"


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


GET_KEYS = [
    ("key", 0), ("key", -1), ("key", S(1, None)), ("key", S(None)), ("key", Ellipsis),
    ("key", None), ("key", S(None, None, 2)), ("key", S(-2, None)), ("key", S(5, 10)),
    (0, S(1, None)), (0, S(None)), (S(None), 0), (0, None), (None, 0), (Ellipsis, 0),
    (Ellipsis, S(1, 3)), (0, 1, 2), (-1, -2, -3), (0, S(None, None, 2)), (S(None),) * 3,
    (S(0, 3),), (None, Ellipsis, None), (Ellipsis, None), (S(1, None), None, S(None, None, 3)),
    ("key", True), ("key", False), (True, 0), (0, True), (None, True, 1),
    ("key", ("t", 1)), (("t", 1), 0), ("key", ("t", [0, 2])), ("key", ("l", [0, 2, 2, -1])),
    ("key", ("a", [2, 0])), (0, ("l", [0, 2])), (S(None), ("l", [0, 2])),
    (("l", [0, 1]), S(None), ("l", [1, 2])), (("l", [0, 1]), 0, ("l", [1, 2])),
    (0, S(None), ("l", [0, 1])), (("l", [0, 1]), None, ("l", [0, 1])),
    (Ellipsis, ("l", [0, 1, 1])), (("t", [[0], [1]]), ("t", [0, 1, 2])),
    (("t", [[0, 1], [2, 2]]), S(1, 3)), (S(None), ("t", [[3, 1], [0, 0]]), S(None, None, 2)),
    ("key", ("t", MASK_3)), ("key", ("t", MASK_34)), (S(None), ("t", MASK_4)),
    (Ellipsis, ("t", MASK_5)), (("t", MASK_3), ("l", [0, 3])), (("t", MASK_34), S(1, 4)),
    (0, ("t", MASK_4)), ("key", ("a", MASK_3)), ("key", ("l", [True, False, True])),
    (("t", 1), ("l", [0, 1])), (("T", [0, 2], "int32"),), (None, ("t", [0, 1]), None),
    (("t", True),), ("key", ("l", [])), (S(None), ("T", [1, 0, 1, 1], "bool"), 0),
    (("t", [0, 0, 0]), ("t", [1, 1, 1])), (("t", MASK_3), None, ("t", MASK_4)),
    (S(1, 3), ("t", [[0, 1]]), ("t", [[4], [0]])), (("t", [0, 2]), ("t", MASK_4)),
]


@pytest.mark.parametrize("desc", GET_KEYS, ids=str)
def test_getitem(desc):
    check(lambda lib, x: x[build(lib, desc)], data(3, 4, 5))
    check(lambda lib, x: (x * 1)[build(lib, desc)] * 2, data(3, 4, 5))


@pytest.mark.parametrize("desc", GET_KEYS, ids=str)
def test_getitem_grad_fn_name(desc):
    ours = (dt.zeros(3, 4, 5, requires_grad=True) * 1)[build(dt, desc)]
    theirs = (torch.zeros(3, 4, 5, requires_grad=True) * 1)[build(torch, desc)]
    assert ours.grad_fn.name() == type(theirs.grad_fn).__name__
    assert (ours._base is not None) == theirs._is_view()


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "int32"])
def test_getitem_keeps_dtype(dtype):
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    for key in (1, (S(None), [0, 2]), (dt.tensor(MASK_34), torch.tensor(MASK_34))):
        ours = dt.tensor(a)[key[0] if isinstance(key, tuple) and len(key) == 2 and
                            isinstance(key[0], dt.Tensor) else key]
        theirs = torch.tensor(a)[key[1] if isinstance(key, tuple) and len(key) == 2 and
                                 isinstance(key[0], dt.Tensor) else key]
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


SET_CASES = [
    (("key", 0), (4, 5)), (("key", 0), (5,)), (("key", 0), 2.5), (("key", S(1, None)), (1, 5)),
    ((0, S(1, 3)), (2, 5)), ((Ellipsis, 1), (3, 4)), ((None, 1), (1, 5)), ((0, 1, 2), ()),
    (("key", ("l", [0, 2])), (2, 4, 5)), (("key", ("l", [0, 2])), (4, 5)),
    (("key", ("l", [0, 2, 0])), (3, 1, 5)), (("key", ("t", MASK_3)), (5,)),
    (("key", ("t", MASK_34)), (6, 5)), ((S(None), ("t", MASK_4)), -1.0),
    ((("l", [0, 1]), S(None), ("l", [1, 2])), (2, 4)), ((0, S(None), ("l", [0, 1])), (4, 2)),
    (("key", ("t", [[0], [1]])), (1, 1, 4, 5)), (("key", S(None, None, 2)), (1, 1, 1, 5)),
    (("key", True), (3, 4, 5)), ((S(None), ("t", [3, 3, 1])), (3, 3, 5)),
    ((("t", [0, 1]), ("t", [1, 1])), 7), (("key", Ellipsis), (5,)),
]


SET_PARAMS = [(desc, value, mode) for desc, value in SET_CASES
              for mode in (("grad", "const", "leaf-target") if isinstance(value, tuple)
                           else ("number",))]


@pytest.mark.parametrize("desc, value, mode", SET_PARAMS, ids=str)
def test_setitem(desc, value, mode):
    if mode == "number":
        def fn(lib, x):
            y = x * 1
            y[build(lib, desc)] = value
            return y * y
        check(fn, data(3, 4, 5))
        return
    v = data(*value, seed=1)
    if mode == "grad":
        def fn(lib, x, w):
            y = x * 1
            y[build(lib, desc)] = w * 2
            return y * 1
        check(fn, data(3, 4, 5), v)
    elif mode == "const":
        def fn(lib, x):
            y = x * 1
            y[build(lib, desc)] = lib.tensor(v)
            return y
        check(fn, data(3, 4, 5))
    else:  # a plain tensor receiving a value that requires grad
        def fn(lib, w):
            y = lib.zeros(3, 4, 5, dtype=lib.float64)
            y[build(lib, desc)] = w
            return y
        check(fn, v)


@pytest.mark.parametrize("target, value", [
    ("float32", np.array([1.7, -2.5])), ("int64", np.array([1.7, -2.5])),
    ("bool", np.array([0.0, 3.0])), ("int32", 2.9), ("float64", True),
])
def test_setitem_casts_to_target_dtype(target, value):
    results = []
    for lib in (dt, torch):
        y = lib.zeros(4, dtype=getattr(lib, target))
        y[1:3] = lib.tensor(value) if isinstance(value, np.ndarray) else value
        results.append(y)
    assert str(results[0].dtype) == str(results[1].dtype)
    np.testing.assert_array_equal(np.asarray(results[0]), results[1].numpy())


GET_ERRORS = [
    ("key", 3), ("key", -4), (0, 7), (None, 5), (0, 0, 9), (Ellipsis, 9), (S(None), None, 9),
    ("key", ("l", [0, 5])), ("key", ("t", [0, -5])), (S(None), ("l", [0, 9])),
    (("l", [0, 1]), ("l", [0, 9])), (("l", [5, 9]), ("l", [9, 0])), (("l", [0, 5]), ("l", [9, 0])),
    (("l", [0, 1]), S(None), ("l", [0, 9])), ("key", S(None, None, -1)), ("key", S(None, None, 0)),
    ("key", 1.5), (0, 0, 0, 0), ("key", ("t", [True, False])), (S(None), ("t", [True, False])),
    (0, ("t", [True, False])), (("t", [0, 1]), ("t", [True, False])),
    (None, None, ("t", np.zeros((2, 2), bool))), (("t", MASK_34), ("l", [0, 9])),
    (("t", [0, 1]), ("t", [0, 1, 2])), ("key", ("t", [0.0, 1.0])), ("key", ("T", [0, 1], "int8")),
    (("l", [0, 1]), False), (("t", MASK_3), None, ("t", MASK_5)),
]


@pytest.mark.parametrize("desc", GET_ERRORS, ids=str)
def test_getitem_errors(desc):
    same_error(lambda lib: lib.zeros(3, 4, 5)[build(lib, desc)])


@pytest.mark.parametrize("desc", GET_ERRORS, ids=str)
def test_setitem_index_errors(desc):
    def fn(lib):
        lib.zeros(3, 4, 5)[build(lib, desc)] = 1.0
    same_error(fn)


@pytest.mark.parametrize("fn", [
    lambda lib: lib.tensor(1.0)[0],
    lambda lib: lib.zeros(3).__setitem__(S(0, 2), lib.ones(3)),
    lambda lib: lib.zeros(3).__setitem__(S(0, 2), lib.ones(2, 1, 2)),
    lambda lib: lib.zeros(3, 4).__setitem__(0, lib.ones(2, 4)),
    lambda lib: lib.zeros(3).__setitem__([0, 1], lib.ones(3)),
    lambda lib: lib.zeros(3).__setitem__([0, 1], lib.ones(2, 1)),
    lambda lib: lib.zeros(3).__setitem__(0, [1.0]),
    lambda lib: lib.zeros(3).__setitem__(0, np.ones(1)),
    lambda lib: lib.zeros(3, requires_grad=True).__setitem__(0, 1.0),
    lambda lib: lib.zeros(3, requires_grad=True).__setitem__([0], 1.0),
    lambda lib: lib.zeros(3, requires_grad=True)[1:].__setitem__(0, 1.0),
], ids=range(11))
def test_other_indexing_errors(fn):
    same_error(fn)


# --------------------------------------------------------------------------- scatter family

I34 = np.array([[0, 1, 3, 0], [2, 2, 1, 3], [1, 0, 0, 2]])
PERM = np.array([[2, 0, 1, 1], [0, 1, 2, 0]])  # no duplicate target within a column


def ti(lib, a, dtype="int64"):
    return lib.tensor(np.asarray(a), dtype=getattr(lib, dtype))


@pytest.mark.parametrize("case", [
    lambda lib, x: lib.gather(x, 1, ti(lib, I34)),
    lambda lib, x: lib.gather(x, 0, ti(lib, PERM[:, :3])),
    lambda lib, x: x.gather(-1, ti(lib, I34[:2, :2], "int32")),
    lambda lib, x: lib.take_along_dim(x, ti(lib, [[1], [0], [3]]), 1),
    lambda lib, x: lib.take_along_dim(x, ti(lib, [[2, 0, 1, 1]]), 0),
    lambda lib, x: lib.take_along_dim(x, ti(lib, [[-1, 0]]), 1),
    lambda lib, x: lib.take_along_dim(x, ti(lib, [11, 0, 5])),
    lambda lib, x: lib.index_select(x, 1, ti(lib, [3, 0, 3])),
    lambda lib, x: x.index_select(0, ti(lib, 2)),
    lambda lib, x: lib.take(x, ti(lib, [[0, 11], [5, -1]])),
    lambda lib, x: lib.masked_select(x, lib.tensor(MASK_34)),
    lambda lib, x: lib.masked_select(x, lib.tensor(MASK_4)),
    lambda lib, x: lib.masked_select(x[0], lib.tensor(MASK_34)),
    lambda lib, x: lib.masked_fill(x, lib.tensor(MASK_4), -2.5),
    lambda lib, x: x.masked_fill(lib.tensor(MASK_34), 3),
    lambda lib, x: lib.masked_fill(x[0], lib.tensor(MASK_34), 1.0),
    lambda lib, x: lib.index_fill(x, 1, ti(lib, [0, 0, -1]), 4.0),
    lambda lib, x: lib.scatter(x, 0, ti(lib, PERM), -1.0),
    lambda lib, x: lib.gather(x[:, 1:], 1, ti(lib, [[0, 2], [1, 1], [2, 0]])),
], ids=range(19))
def test_single_input_ops(case):
    check(case, data(3, 4))


@pytest.mark.parametrize("case", [
    # torch's scatter backward fails when src is larger than index, so src fits index here
    lambda lib, x, s: lib.scatter(x, 0, ti(lib, PERM), s[:2, :4]),
    lambda lib, x, s: x.scatter(1, ti(lib, [[0, 3], [1, 2]]), s[:2, :2]),
    lambda lib, x, s: lib.scatter_add(x, 1, ti(lib, I34[:2]), s[:2, :4]),
    lambda lib, x, s: lib.scatter_add(x, 0, ti(lib, [[0, 0, 2, 0]], "int32"), s[:1, :4]),
    lambda lib, x, s: lib.index_add(x, 0, ti(lib, [0, 2]), s[:2, :4]),
    lambda lib, x, s: lib.index_add(x, 1, ti(lib, [1, 1, 3, 0, 1]), s, alpha=0.5),
    lambda lib, x, s: lib.index_copy(x, 0, ti(lib, [2, 0]), s[:2, :4]),
    lambda lib, x, s: lib.masked_scatter(x, lib.tensor(MASK_34), s),
    lambda lib, x, s: lib.masked_scatter(x[0], lib.tensor(MASK_34), s),
    lambda lib, x, s: lib.masked_fill(x, lib.tensor(MASK_4), s[0, 0]),
    lambda lib, x, s: lib.index_fill(x, 1, ti(lib, [0, 0, 2]), s[1, 1]),
    lambda lib, x, s: lib.put(x, ti(lib, [0, -1, 5, 6, 7]), s[0]),
    lambda lib, x, s: lib.put(x, ti(lib, [[0, 0], [1, 0]]), s[:2, :2], accumulate=True),
    lambda lib, x, s: lib.index_put(x, (ti(lib, [0, 0, 2]), ti(lib, [1, 1, 3])), s[0, :3],
                                    accumulate=True),
    lambda lib, x, s: lib.index_put(x, (ti(lib, [2, 0]),), s[:2, :4]),
], ids=range(15))
def test_two_input_ops(case):
    check(case, data(3, 4), data(3, 5, seed=1))


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_reduce(reduce, include_self, dim):
    index = np.array([[0, 0, 2], [1, 0, 0]])
    check(lambda lib, x, s: lib.scatter_reduce(x, dim, ti(lib, index), s, reduce,
                                               include_self=include_self),
          data(3, 3), data(2, 3, seed=1))  # torch's backward needs src shaped as index


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin", "mean"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros(reduce, include_self):
    x = np.array([0.0, 2.0, 3.0, 1.0])
    s = np.array([0.0, 2.0, 2.0, 0.0, 1.0])
    index = np.array([0, 1, 1, 2, 3])
    check(lambda lib, x, s: lib.scatter_reduce(x, 0, ti(lib, index), s, reduce,
                                               include_self=include_self), x, s)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_integer(reduce, include_self):
    x = np.array([[5, -3, 2, 7]])
    s = np.array([[4, -9, 1, 3]])
    check(lambda lib, x, s: lib.scatter_reduce(x, 1, ti(lib, [[0, 0, 3, 3]]), s, reduce,
                                               include_self=include_self), x, s)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_nonzero(dtype):
    a = (np.arange(12).reshape(3, 4) % 3 == 0).astype(dtype)
    for value in (a, a[0, 0], a[0, 1]):
        check(lambda lib, x: (lib.nonzero(x), lib.argwhere(x), x.nonzero(as_tuple=True)),
              np.asarray(value), grad=False)


@pytest.mark.parametrize("name", ["masked_fill_", "index_fill_", "scatter_", "index_add_",
                                  "index_copy_", "masked_scatter_", "put_", "scatter_add_",
                                  "scatter_reduce_"])
def test_inplace_variants_on_views(name):
    ops = {
        "masked_fill_": lambda lib, v, s: v.masked_fill_(lib.tensor(MASK_3), s[0, 0]),
        "index_fill_": lambda lib, v, s: v.index_fill_(0, ti(lib, [2]), s[0, 0]),
        "scatter_": lambda lib, v, s: v.scatter_(0, ti(lib, [2, 0]), s[0, :2]),
        "index_add_": lambda lib, v, s: v.index_add_(0, ti(lib, [1, 1]), s[0, :2]),
        "index_copy_": lambda lib, v, s: v.index_copy_(0, ti(lib, [1]), s[0, :1]),
        "masked_scatter_": lambda lib, v, s: v.masked_scatter_(lib.tensor(MASK_3), s[1]),
        "put_": lambda lib, v, s: v.put_(ti(lib, [0, 0]), s[1, :2], accumulate=True),
        "scatter_add_": lambda lib, v, s: v.scatter_add_(0, ti(lib, [2, 2]), s[0, :2]),
        "scatter_reduce_": lambda lib, v, s: v.scatter_reduce_(0, ti(lib, [2, 0]), s[0, :2],
                                                               "prod"),
    }

    def fn(lib, x, s):
        y = x * 1
        ops[name](lib, y[:, 1], s * 1)
        return y * y

    check(fn, data(3, 4), data(2, 3, seed=1))


def _ops_dtype_cases():
    return [
        lambda lib: lib.masked_fill(lib.arange(4), lib.tensor(MASK_4), 2.7),
        lambda lib: lib.masked_fill(lib.zeros(4, dtype=lib.bool), lib.tensor(MASK_4), 1),
        lambda lib: lib.masked_fill(lib.arange(4.0), lib.tensor(MASK_4), lib.tensor(3)),
        lambda lib: lib.index_fill(lib.arange(4), 0, lib.tensor([1]), -1.5),
        lambda lib: lib.scatter(lib.arange(4), 0, lib.tensor([2]), 9.9),
        lambda lib: lib.gather(lib.arange(4, dtype=lib.int32), 0, lib.tensor([2])),
        lambda lib: lib.masked_select(lib.arange(4, dtype=lib.int16), lib.tensor(MASK_4)),
    ]


@pytest.mark.parametrize("case", _ops_dtype_cases(), ids=range(7))
def test_result_dtypes(case):
    ours, theirs = case(dt), case(torch)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.gather(x, 1, lib.tensor([[0.0]])),
    lambda lib, x: lib.gather(x, 1, lib.tensor([0, 1])),
    lambda lib, x: lib.gather(x, 1, lib.tensor([[0, 4]])),
    lambda lib, x: lib.gather(x, 1, lib.tensor([[0, -1]])),
    lambda lib, x: lib.gather(x, 1, lib.zeros(4, 2, dtype=lib.int64)),
    lambda lib, x: lib.gather(x, 2, lib.tensor([[0]])),
    lambda lib, x: lib.scatter(x, 1, lib.tensor([[0.0]]), x),
    lambda lib, x: lib.scatter(x, 1, lib.tensor([0]), x),
    lambda lib, x: lib.scatter(x, 1, lib.tensor([[4]]), x),
    lambda lib, x: lib.scatter(x, 1, lib.tensor([[0, 1], [2, 3]]), lib.ones(1, 1)),
    lambda lib, x: lib.scatter(x, 1, lib.tensor([[0]]), x.double()),
    lambda lib, x: lib.scatter_add(x, 1, lib.tensor([[0, -1]]), x),
    lambda lib, x: lib.scatter_reduce(x, 1, lib.tensor([[0]]), x, "foo"),
    lambda lib, x: lib.index_select(x, 1, lib.tensor([[0]])),
    lambda lib, x: lib.index_select(x, 1, lib.tensor([0.0])),
    lambda lib, x: lib.index_select(x, 1, lib.tensor([4])),
    lambda lib, x: lib.index_select(x, 1, lib.tensor([-1])),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([0, 0]), lib.ones(2, 3)),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([0, 0]), lib.ones(3, 4)),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([0, 5]), lib.ones(2, 4)),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([0]), lib.ones(1, 4, dtype=lib.float64)),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([0.0]), lib.ones(1, 4)),
    lambda lib, x: lib.index_add(x, 0, lib.tensor([[0]]), lib.ones(1, 4)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([0.0]), lib.ones(1, 4)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([3]), lib.ones(1, 4)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([-1]), lib.ones(1, 4)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([0]), lib.ones(1, 3)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([0, 1]), lib.ones(1, 4)),
    lambda lib, x: lib.index_copy(x, 0, lib.tensor([0]), lib.ones(1, 4, dtype=lib.float64)),
    lambda lib, x: lib.index_fill(x, 0, lib.tensor([0.0]), 1),
    lambda lib, x: lib.index_fill(x, 1, lib.tensor([-5]), 1),
    lambda lib, x: lib.index_fill(x, 0, lib.tensor([[0]]), 1),
    lambda lib, x: lib.index_fill(x, 1, lib.tensor([0]), lib.tensor([1.0])),
    lambda lib, x: lib.masked_fill(x, lib.tensor([1, 0, 1, 0]), 1.0),
    lambda lib, x: lib.masked_fill(x, lib.tensor([1, 0, 1, 0], dtype=lib.uint8), 1.0),
    lambda lib, x: lib.masked_fill(x, lib.tensor([True, False, True]), 1.0),
    lambda lib, x: lib.masked_fill(x, lib.tensor([True] * 4), lib.tensor([1.0])),
    lambda lib, x: lib.zeros(4).masked_fill_(lib.ones(3, 4, dtype=lib.bool), 1),
    lambda lib, x: lib.masked_select(x, lib.tensor([1, 0, 1, 0])),
    lambda lib, x: lib.masked_select(x, lib.tensor([True, False])),
    lambda lib, x: lib.masked_scatter(x, lib.ones(3, 4, dtype=lib.bool), lib.ones(3)),
    lambda lib, x: lib.masked_scatter(x, lib.ones(3, 4, dtype=lib.int64), x),
    lambda lib, x: lib.masked_scatter(x, lib.ones(3, 4, dtype=lib.bool), x.double()),
    lambda lib, x: lib.zeros(4).masked_scatter_(lib.ones(3, 4, dtype=lib.bool), x),
    lambda lib, x: lib.take(x, lib.tensor([12])),
    lambda lib, x: lib.take(x, lib.tensor([-13])),
    lambda lib, x: lib.take(x, lib.tensor([1], dtype=lib.int32)),
    lambda lib, x: lib.take_along_dim(x, lib.tensor([[0]], dtype=lib.int32), 1),
    lambda lib, x: lib.take_along_dim(x, lib.tensor([0, 1]), 1),
    lambda lib, x: lib.take_along_dim(x, lib.tensor([[0], [0]]), 1),
    lambda lib, x: lib.take_along_dim(x, lib.tensor([-1])),
    lambda lib, x: lib.put(x, lib.tensor([0], dtype=lib.int32), lib.tensor([1.0])),
    lambda lib, x: lib.put(x, lib.tensor([0, 1, 2]), lib.tensor([1.0, 2.0])),
    lambda lib, x: lib.put(x, lib.tensor([0]), lib.tensor([1.0], dtype=lib.float64)),
    lambda lib, x: lib.put(x, lib.tensor([12]), lib.tensor([1.0])),
    lambda lib, x: lib.index_put(x, (lib.tensor([0]),), lib.tensor([1.0], dtype=lib.float64)),
    lambda lib, x: lib.zeros(3, requires_grad=True).masked_fill_(lib.tensor(MASK_3), 1.0),
    lambda lib, x: lib.zeros(3, requires_grad=True).scatter_(0, lib.tensor([0]), 1.0),
    lambda lib, x: lib.zeros(3, requires_grad=True).index_add_(0, lib.tensor([0]),
                                                                lib.ones(1)),
    lambda lib, x: lib.index_put(x, (None, lib.tensor([0])), lib.tensor(1.0)),
], ids=range(60))
def test_scatter_family_errors(fn):
    same_error(lambda lib: fn(lib, lib.arange(12.0).reshape(3, 4)))
