"""The real-dtype complex API (real, imag, conj*, resolve_*, is_conj/is_neg, angle, isreal),
Tensor.new, sum_to_size, share_memory_, output_nr, index_reduce, as_strided(_/_scatter) and
nonzero_static against torch: values, dtypes, gradients, edge cases and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
SPECIAL = np.array([1.0, -2.0, 0.0, np.nan, -0.0, np.inf, -np.inf, 3.5])

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")


# --------------------------------------------------------------------------- real identities

@pytest.mark.parametrize("name", ["real", "conj", "conj_physical", "resolve_conj",
                                  "resolve_neg"])
def test_identities_return_self(name):
    x = dt.tensor([1.0, -2.0], requires_grad=True)
    assert getattr(dt, name)(x) is x
    assert (x.real if name == "real" else getattr(x, name)()) is x
    i = dt.arange(3)
    assert getattr(dt, name)(i) is i
    check(lambda lib, a: getattr(lib, name)(a) * 2, SPECIAL[:3])


def test_is_conj_is_neg_isreal():
    x = dt.tensor([1.0, -2.0])
    assert x.is_conj() is False and x.is_neg() is False
    assert dt.is_conj(x) is False and dt.is_neg(x) is False
    for arr in (SPECIAL, np.arange(4), np.array(3.0), np.zeros((0, 2)),
                np.array([True, False])):
        check(lambda lib, a: lib.isreal(a), arr, grad=False)
        check(lambda lib, a: a.isreal(), arr, grad=False)


def test_imag_errors():
    assert_same_error(lambda lib: lib.tensor([1.0]).imag)
    assert_same_error(lambda lib: lib.imag(lib.tensor([1, 2])))


def test_conj_physical_inplace_and_out():
    x = dt.zeros(2)
    assert x.conj_physical_() is x and x._version == 1
    assert dt.conj_physical_(x) is x and x._version == 2
    assert_same_error(lambda lib: lib.zeros(2, requires_grad=True).conj_physical_())
    out = dt.empty(0)
    dt.conj_physical(dt.tensor([-1.0, 2.0]), out=out)
    assert out.tolist() == [-1.0, 2.0]


@pytest.mark.parametrize("arr", [SPECIAL, SPECIAL.astype(np.float32), np.array(-3.0),
                                 np.zeros((2, 0)), RNG.standard_normal((2, 3))])
def test_angle_float(arr):
    check(lambda lib, a: lib.angle(a), arr)
    check(lambda lib, a: a.angle() + a, arr)  # the zero gradient adds to a's own


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8, np.bool_, np.int32])
def test_angle_integer(dtype):
    check(lambda lib, a: lib.angle(a), np.array([1, -2, 0, 5]).astype(dtype), grad=False)


def test_angle_out_and_grad_fn():
    out = dt.empty(0)
    dt.angle(dt.tensor([-1.0]), out=out)
    assert out.tolist() == pytest.approx([np.pi])
    assert_same_error(lambda lib: lib.angle(lib.tensor([-1]), out=lib.empty(0,
                                                                             dtype=lib.long)))
    y = dt.tensor([1.0], requires_grad=True).angle()
    assert y.grad_fn.name() == "AngleBackward0"
    with dt.no_grad():
        dt.set_default_dtype(dt.float64)
        try:
            assert dt.angle(dt.tensor([-1])).dtype == dt.float64
        finally:
            dt.set_default_dtype(dt.float32)


# ------------------------------------------------------------- share_memory_, output_nr

def test_share_memory_returns_self():
    x = dt.zeros(3, requires_grad=True)
    assert x.share_memory_() is x


def test_output_nr():
    x = dt.tensor([3.0, 1.0, 2.0], requires_grad=True)
    assert x.output_nr == 0
    values, indices = x.sort()
    assert (values.output_nr, indices.output_nr) == (0, 0)
    parts = x.unbind()
    assert [p.output_nr for p in parts] == [0, 1, 2]
    theirs = torch.tensor([3.0, 1.0, 2.0], requires_grad=True).unbind()
    assert [p.output_nr for p in theirs] == [0, 1, 2]
    assert [p.output_nr for p in x.chunk(3)] == [0, 1, 2]
    assert (x * 2).output_nr == 0


# --------------------------------------------------------------------------- sum_to_size

X234 = RNG.standard_normal((2, 3, 4))


@pytest.mark.parametrize("size", [((3, 1),), ((1, 3, 1),), ((4,),), ((2, 1, 4),),
                                  (3, 1), (1, 1, 1), ((),), ([2, 1, 4],)])
def test_sum_to_size(size):
    check(lambda lib, a: a.sum_to_size(*size), X234)


def test_sum_to_size_cases():
    x = dt.tensor(X234, requires_grad=True)
    assert x.sum_to_size(2, 3, 4) is x
    assert x.sum_to_size(dt.Size([2, 3, 4])) is x
    check(lambda lib, a: a.sum_to_size(size=(3, 1)), X234)
    check(lambda lib, a: (a.sum_to_size(3, 1).grad_fn.name(),
                          a.sum_to_size(1, 3, 1).grad_fn.name()), X234)
    check(lambda lib, a: a.sum_to_size(3), np.arange(6).reshape(2, 3), grad=False)
    check(lambda lib, a: a.sum_to_size(1), np.array([True, True]), grad=False)
    check(lambda lib, a: a.sum_to_size(1, 0), np.zeros((2, 0)))
    check(lambda lib, a: a.sum_to_size(0), np.zeros((2, 0)))
    check(lambda lib, a: a.sum_to_size(()), np.array(5.0))
    for size in [(5,), (1, 1, 1, 4), (3, -1), (0, 4)]:
        assert_same_error(lambda lib, size=size: lib.tensor(X234).sum_to_size(*size))
    assert_same_error(lambda lib: lib.tensor(5.0).sum_to_size(1))
    assert_same_error(lambda lib: lib.zeros(2, 3).sum_to_size(2, 1.0))
    assert_same_error(lambda lib: lib.zeros(2, 3).sum_to_size())


# --------------------------------------------------------------------------- Tensor.new

@pytest.mark.parametrize("args", [(), (2, 3), ((2, 3),), ([1, 2],), ([[1, 2]],), ([],), ((),),
                                  (np.array([1, 2]),), (np.int64(3),)])
def test_new_shapes_dtypes(args):
    for src in (np.zeros(2), np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.float32)):
        ours = dt.tensor(src).new(*args)
        theirs = torch.tensor(src).new(*args)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype)
        if args and isinstance(args[0], (list, tuple, np.ndarray)):
            assert ours.tolist() == theirs.tolist()
        assert not ours.requires_grad


def test_new_size_forms_and_device():
    x = dt.zeros(2, dtype=dt.float64, requires_grad=True)
    assert tuple(x.new(dt.Size([2, 3])).shape) == (2, 3)
    assert tuple(x.new(size=(2,)).shape) == (2,)
    assert tuple(x.new(2, device="cpu").shape) == (2,)
    assert dt.tensor([1], dtype=dt.int32).new([1.7, 2]).tolist() == [1, 2]
    assert dt.tensor([True]).new([0, 2]).tolist() == [False, True]
    assert x.new([x.detach()[0] + 1, 3]).tolist() == [1.0, 3.0]


def test_new_from_tensor_is_alias():
    x = dt.zeros(2, dtype=dt.float64)
    t = dt.tensor([1.0, 2.0], dtype=dt.float64, requires_grad=True)
    r = x.new(t)
    assert r.data_ptr() == t.data_ptr() and r._base is t
    assert r.grad_fn.name() == "AliasBackward0"
    (r * dt.tensor([3.0, 4.0], dtype=dt.float64)).sum().backward()
    assert t.grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.new(lib.tensor([1, 2])),
    lambda lib, x: x.new(lib.tensor([1.5], dtype=lib.float32)),
    lambda lib, x: x.new(lib.tensor(3)),
    lambda lib, x: x.new(3.0),
    lambda lib, x: x.new(True),
    lambda lib, x: x.new(np.float64(2)),
    lambda lib, x: x.new("ab"),
    lambda lib, x: x.new(-1),
    lambda lib, x: x.new(2, [3]),
    lambda lib, x: x.new(2, 3.0),
    lambda lib, x: x.new(lib.tensor([1.0], dtype=lib.float64), device="cpu"),
    lambda lib, x: x.new([1, 2], device="cuda"),
    lambda lib, x: x.new(2, device="cuda"),
])
def test_new_errors(fn):
    assert_same_error(lambda lib: fn(lib, lib.zeros(2, dtype=lib.float64)))


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.new(2, dtype=lib.int64),
    lambda lib, x: x.new([1, 2], requires_grad=True),
    lambda lib, x: x.new((2, 3), 4),
    lambda lib, x: x.new(lib.tensor([1.0], dtype=lib.float64), 3),
])
def test_new_invalid_combination(fn):
    with pytest.raises(TypeError, match="new\\(\\) received an invalid combination"):
        fn(dt, dt.zeros(2, dtype=dt.float64))
    with pytest.raises(TypeError, match="new\\(\\) received an invalid combination"):
        fn(torch, torch.zeros(2, dtype=torch.float64))


# --------------------------------------------------------------------------- index_reduce

A32 = RNG.standard_normal((3, 2))
S42 = RNG.standard_normal((4, 2))
IDX = np.array([0, 2, 0, 0])


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_values_grads(reduce, include_self):
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor(IDX), s, reduce,
                                           include_self=include_self), A32, S42)
    check(lambda lib, a, s: lib.index_reduce(a, 1, lib.tensor([1, 1, 0]), s, reduce,
                                             include_self=include_self),
          RNG.standard_normal((2, 2, 3)), RNG.standard_normal((2, 3, 3)))
    check(lambda lib, a, s: a.index_reduce(-1, lib.tensor(IDX), s, reduce,
                                           include_self=include_self), A32.T.copy(),
          S42.T.copy())
    index32 = [0, 2, 0, 0]
    # (torch's backward fails for int32 indices with include_self=False; ours works)
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor(index32, dtype=lib.int32), s,
                                           reduce, include_self=include_self), A32, S42,
          grad=include_self)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_ties_and_zeros(reduce, include_self):
    a = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, 6.0]])
    s = np.array([[1.0, 2.0], [0.0, 4.0], [1.0, 6.0], [7.0, 0.0]])
    check(lambda lib, x, y: x.index_reduce(0, lib.tensor(IDX), y, reduce,
                                           include_self=include_self), a, s)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float32])
def test_index_reduce_dtypes(reduce, dtype):
    a = np.array([[2, 3], [4, 5], [6, 7]]).astype(dtype)
    s = np.array([[1, 2], [3, 4], [5, 6], [7, 8]]).astype(dtype)
    for inc in (True, False):
        check(lambda lib, x, y, inc=inc: x.index_reduce(0, lib.tensor(IDX), y, reduce,
                                                        include_self=inc), a, s, grad=False)


def test_index_reduce_edge_cases():
    nan = np.nan
    for reduce in ("amax", "amin"):
        check(lambda lib, a, s, r=reduce: a.index_reduce(0, lib.tensor([0, 0, 1, 2]), s, r),
              np.array([4.0, nan, 1.0]), np.array([nan, 1.0, 2.0, nan]), grad=False)
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor([0]), s, "prod"), np.array(4.0),
          np.array(3.0))
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor(0), s, "mean"), np.array(4.0),
          np.array(3.0))
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor([], dtype=lib.long), s, "amax"),
          A32, np.zeros((0, 2)))
    check(lambda lib, a, s: a.index_reduce(0, lib.tensor([], dtype=lib.long), s, "prod"),
          np.zeros((0, 2)), np.zeros((0, 2)))
    for reduce in ("prod", "amax"):
        check(lambda lib, a, s, r=reduce: a.index_reduce(0, lib.tensor(IDX), s, r),
              np.ones((3, 2), dtype=bool), np.array([[1, 0], [1, 1], [0, 0], [1, 1]],
                                                    dtype=bool), grad=False)


def test_index_reduce_inplace():
    def fn(lib, a, s):
        b = a * 1
        r = b.index_reduce_(0, lib.tensor(IDX), s, "prod")
        assert r is b
        return b
    check(fn, A32, S42)
    x = dt.tensor(A32)
    x.index_reduce_(0, dt.tensor(IDX), dt.tensor(S42), "amax")
    t = torch.tensor(A32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t.index_reduce_(0, torch.tensor(IDX), torch.tensor(S42), "amax")
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    b = dt.tensor(A32, requires_grad=True) * 1
    b.index_reduce_(0, dt.tensor([0]), dt.ones(1, 2, dtype=dt.float64), "prod")
    assert b.grad_fn.name() == "IndexReduceBackward0"
    assert_same_error(lambda lib: lib.zeros(3, 2, requires_grad=True).index_reduce_(
        0, lib.tensor([0]), lib.ones(1, 2), "prod"))


@pytest.mark.parametrize("fn", [
    lambda lib, a, s: a.index_reduce(0, lib.tensor(IDX), s, "sum"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor(IDX), s, "max"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor(IDX), s.double(), "prod"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor([0, 2, 0, 0.0]), s, "prod"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor([0, 3, 0, 0]), s, "prod"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor([0, -1, 0, 0]), s, "prod"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor([[0, 2], [0, 0]]), s, "prod"),
    lambda lib, a, s: a.index_reduce(0, lib.tensor([0, 2, 0]), s, "prod"),
    lambda lib, a, s: lib.zeros(3, 3).index_reduce(0, lib.tensor(IDX), s, "prod"),
    lambda lib, a, s: lib.zeros(3, 2, 1).index_reduce(0, lib.tensor(IDX), s, "prod"),
    lambda lib, a, s: lib.tensor(4.0).index_reduce(0, lib.tensor([0, 0]),
                                                   lib.tensor([2.0, 3.0]), "prod"),
    lambda lib, a, s: lib.ones(3).index_reduce(0, lib.tensor([0]), lib.tensor(3.0), "prod"),
    lambda lib, a, s: a.bool().index_reduce(0, lib.tensor(IDX), s.bool(), "mean"),
    lambda lib, a, s: a.index_reduce(2, lib.tensor(IDX), s, "prod"),
])
def test_index_reduce_errors(fn):
    assert_same_error(lambda lib: fn(lib, lib.zeros(3, 2), lib.ones(4, 2)))


# --------------------------------------------------------------------------- as_strided

@pytest.mark.parametrize("geometry", [((2, 2), (1, 2), None), ((2, 2), (1, 2), 0),
                                      ((3,), (3,), 1), ((3, 3), (1, 1), 1), ((), (), 5),
                                      ((2, 3), (0, 1), 2), ((0,), (1,), 9), ([3], [2], 0)])
def test_as_strided_of_slice(geometry):
    size, stride, offset = geometry
    check(lambda lib, b: lib.as_strided(b[2:8], size, stride, offset), np.arange(10.0))
    check(lambda lib, b: b[1:].as_strided(size, stride, offset), np.arange(10.0))


def test_as_strided_geometries():
    check(lambda lib, w: w.view(2, 3).t().as_strided((2, 2), (3, 1), 0), np.arange(6.0))
    check(lambda lib, w: w.expand(3, 4).as_strided((2,), (1,), 0), np.arange(4.0))
    check(lambda lib, w: w.expand(3, 4).as_strided((3, 2), (0, 1), 1), np.arange(4.0))
    check(lambda lib, w: w.as_strided((2, 2), (1, 2)).as_strided((3,), (2,), 1),
          np.arange(8.0))
    check(lambda lib, w: lib.as_strided(w, (1,), (0,)), np.array(5.0))
    check(lambda lib, w: lib.as_strided(w, (4,), (1,)), np.arange(4).reshape(2, 2).T,
          grad=False)
    check(lambda lib, w: lib.as_strided(w * 2, (2, 3), (1, 2), 1).sin(),
          RNG.standard_normal((3, 3)).astype(np.float32))
    y = dt.arange(8.0, requires_grad=True)[1:7].as_strided((3, 3), (1, 1), 1)
    assert y.grad_fn.name() == "AsStridedBackward0"


def test_as_strided_is_view():
    base = dt.arange(6.0)
    v = base.as_strided((2,), (3,), 1)
    v.mul_(10)
    assert base.tolist() == [0.0, 10.0, 2.0, 3.0, 40.0, 5.0]
    assert v._base is base
    a = dt.arange(6.0, requires_grad=True)
    b = a * 1
    b.as_strided((2,), (2,), 0).mul_(3)
    b.sum().backward()
    assert a.grad.tolist() == [3.0, 1.0, 3.0, 1.0, 1.0, 1.0]
    assert_same_error(lambda lib: lib.arange(6.0).as_strided((3, 3), (0, 1)).add_(1))


@pytest.mark.parametrize("geometry", [((3,), (4,), 2), ((3,), (-1,), 2), ((-3,), (1,), 2),
                                      ((3,), (1,), -1), ((3, 2), (1,), 0), ((3,), (1.0,), 0),
                                      ((3,), 1.5, 0)])
def test_as_strided_errors(geometry):
    size, stride, offset = geometry
    assert_same_error(lambda lib: lib.arange(10.0)[2:8].as_strided(size, stride, offset))


def test_as_strided_inplace():
    def fn(lib, w):
        z = w * 1
        r = z.as_strided_((2, 2), (1, 2), 1)
        assert r is z and z._version == 1
        return z * 1
    check(fn, np.arange(6.0))
    z = dt.arange(6.0)
    z.as_strided_((2,), (2,))
    assert z.tolist() == [0.0, 2.0] and z.stride() == (2,)
    z = dt.arange(6.0, requires_grad=True) * 1
    z.as_strided_((2,), (2,))
    assert z.grad_fn.name() == "AsStridedBackward1"
    assert_same_error(lambda lib: lib.arange(6.0, requires_grad=True).as_strided_((2,), (1,)))


def test_as_strided_scatter():
    src = np.array([-1.0, -2.0])
    for offset in (0, None, 5):
        check(lambda lib, b, s, o=offset: lib.as_strided_scatter(b[2:8], s, (2,), (2,), o),
              np.arange(10.0), src, grad=False)
    check(lambda lib, b, s: b[2:8].view(2, 3).t().as_strided_scatter(s, (2,), (1,), 0),
          np.arange(10.0), src, grad=False)
    check(lambda lib, b: lib.as_strided_scatter(b, lib.tensor([-1, -2]), (2,), (2,), 0),
          np.arange(6.0), grad=False)
    check(lambda lib, b, s: lib.as_strided_scatter(b, s, (2, 2), (2, 1), 0),
          np.arange(6.0), np.arange(4.0).reshape(2, 2) - 9, grad=False)
    a = dt.arange(6.0, requires_grad=True) * 1
    assert dt.as_strided_scatter(a, dt.zeros(1), (1,), (1,)).grad_fn.name() == \
        "AsStridedScatterBackward0"


@pytest.mark.parametrize("geometry", [((3,), (2,), 1), ((2, 2), (1, 1), 1), ((2, 2), (3, 1), 0)])
def test_as_strided_scatter_gradients(geometry):
    """The gradient of ``src`` is torch's; the gradient of ``input`` is the true one (1
    outside the written window), checked by finite differences: torch 2.13's
    as_strided_scatter_backward returns the window's gradient instead and fails its own
    gradcheck."""
    size, stride, offset = geometry
    a = np.arange(6.0) + 1
    s = RNG.standard_normal(size)
    ours_a = dt.tensor(a, requires_grad=True)
    ours_s = dt.tensor(s, requires_grad=True)
    theirs_s = torch.tensor(s, requires_grad=True)
    g = RNG.standard_normal(6)
    out = dt.as_strided_scatter(ours_a * 1, ours_s, size, stride, offset)
    (out * dt.tensor(g)).sum().backward()
    ref = torch.as_strided_scatter(torch.tensor(a), theirs_s, size, stride, offset)
    (ref * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy())
    np.testing.assert_allclose(ours_s.grad.numpy(), theirs_s.grad.numpy())
    written = np.zeros(6, dtype=bool)
    pos = offset + sum(np.arange(n).reshape([-1 if d == i else 1 for d in range(len(size))])
                       * st for i, (n, st) in enumerate(zip(size, stride)))
    written[np.asarray(pos).ravel()] = True
    np.testing.assert_allclose(ours_a.grad.numpy(), np.where(written, 0.0, g))
    if len(set(np.asarray(pos).ravel().tolist())) == written.sum() == np.asarray(pos).size:
        # (with a self-overlapping window only the last write counts, while src's gradient
        # is torch's: every src element gets the gradient of its storage position)
        assert dt.autograd.gradcheck(
            lambda x, y: dt.as_strided_scatter(x * 1, y, size, stride, offset),
            (dt.tensor(a, requires_grad=True), dt.tensor(s, requires_grad=True)))


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.as_strided_scatter(x, lib.tensor([1.0, 2, 3]), (2,), (2,), 0),
    lambda lib, x: lib.as_strided_scatter(x, lib.tensor([[1.0, 2]]), (2,), (2,), 0),
    lambda lib, x: lib.as_strided_scatter(x, lib.tensor([1.0]), (1,), (1,), 10),
    lambda lib, x: lib.as_strided_scatter(x, lib.tensor([1.0]), (1,), (-1,), 0),
])
def test_as_strided_scatter_errors(fn):
    assert_same_error(lambda lib: fn(lib, lib.arange(10.0)[2:8]))


def test_as_strided_scatter_requires_contiguous_when_grad():
    x = dt.arange(6.0, requires_grad=True).view(2, 3).t()
    with pytest.raises(RuntimeError, match="only supported for contiguous inputs"):
        dt.as_strided_scatter(x, dt.tensor([-1.0]), (1,), (1,), 0)


# --------------------------------------------------------------------------- nonzero_static

NZ = np.array([[0, 1, 0], [2, 0, 3]])


@pytest.mark.parametrize("size,fill", [(2, -1), (5, -1), (5, 7), (0, -1), (3, 0)])
def test_nonzero_static(size, fill):
    for arr in (NZ, NZ.astype(np.float32), np.array([0.0, np.nan]), np.array(3.0),
                np.array(0.0), np.zeros((0, 3)), np.array([True, False, True]),
                RNG.standard_normal((2, 3, 2)) > 0):
        check(lambda lib, a: lib.nonzero_static(a, size=size, fill_value=fill), arr,
              grad=False)
        check(lambda lib, a: a.nonzero_static(size=size), arr, grad=False)


def test_nonzero_static_out_and_errors():
    o = dt.empty(0, dtype=dt.long)
    r = dt.nonzero_static(dt.tensor(NZ), size=3, out=o)
    assert r is o and o.tolist() == [[0, 1], [1, 0], [1, 2]]
    assert_same_error(lambda lib: lib.nonzero_static(lib.tensor(NZ), size=3, out=lib.empty(0)))
    assert_same_error(lambda lib: lib.nonzero_static(lib.tensor(NZ), size=-1))
    assert_same_error(lambda lib: lib.nonzero_static(lib.tensor(NZ), size=2.0))
    assert_same_error(lambda lib: lib.nonzero_static(lib.tensor(NZ), size=True))
    assert_same_error(lambda lib: lib.nonzero_static(lib.tensor(NZ), size=2, fill_value=1.5))
    with pytest.raises(TypeError):
        dt.nonzero_static(dt.tensor(NZ), 3)


def test_storage_offset_of_strided_views_matches_torch():
    for lib in (dt, torch):
        base = lib.arange(8.0)
        offsets = [base[3:].storage_offset(), base[2:].as_strided((2,), (2,)).storage_offset(),
                   base[1:].as_strided((2,), (1,), 2).storage_offset(),
                   lib.empty_strided((2, 3), (1, 2)).storage_offset()]
        assert offsets == [3, 2, 2, 0], (lib.__name__, offsets)
