"""meshgrid, cartesian_prod, combinations, tril/triu_indices, block_diag, kron, diff, trace,
repeat_interleave, cdist, dist, renorm, trapezoid/trapz/cumulative_trapezoid and vander
against torch: values, dtypes, gradients, edge cases and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
V3 = RNG.standard_normal(3)
V4 = RNG.standard_normal(4)
M = RNG.standard_normal((3, 4))


# --------------------------------------------------------------------------- grids

@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    check(lambda lib, a, b: lib.meshgrid(a, b, indexing=indexing), V3, V4)
    check(lambda lib, a, b, c: lib.meshgrid([a, b, c], indexing=indexing), V3, V4,
          np.array(2.0))
    check(lambda lib, a: lib.meshgrid(a, indexing=indexing), V3)
    check(lambda lib, a, b: lib.meshgrid(a, b, indexing=indexing), np.arange(2),
          np.arange(3), grad=False)


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="required to pass the indexing argument"):
        grids = dt.meshgrid(dt.tensor([1, 2]), dt.tensor([3, 4, 5]))
    assert tuple(grids[0].shape) == (2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dt.meshgrid(dt.tensor([1, 2]), indexing="ij")


def test_meshgrid_errors():
    assert_same_error(lambda lib: lib.meshgrid(indexing="ij"))
    assert_same_error(lambda lib: lib.meshgrid(lib.ones(2), lib.ones(2, dtype=lib.long),
                                               indexing="ij"))
    assert_same_error(lambda lib: lib.meshgrid(lib.ones(2), indexing="foo"))
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        dt.meshgrid(dt.ones(2), dt.ones(2, 2), indexing="ij")


def test_cartesian_prod_and_combinations():
    check(lambda lib, a, b: lib.cartesian_prod(a, b), V3, V4)
    check(lambda lib, a, b, c: lib.cartesian_prod(a, b, c), V3, np.arange(2.0), V4)
    check(lambda lib, a: lib.cartesian_prod(a), V3)
    check(lambda lib, a, b: lib.cartesian_prod(a, b), np.arange(3), np.arange(2), grad=False)
    for r in (0, 1, 2, 3, 5):
        for rep in (False, True):
            check(lambda lib, a, r=r, rep=rep: lib.combinations(a, r, with_replacement=rep), V4)
    check(lambda lib, a: lib.combinations(a), np.array([1, 2, 3], dtype=np.int32),
          grad=False)
    check(lambda lib, a: lib.combinations(a, 2), np.zeros(0))
    assert_same_error(lambda lib: lib.cartesian_prod(lib.ones(2, 2)))
    assert_same_error(lambda lib: lib.combinations(lib.ones(2, 2)))
    assert_same_error(lambda lib: lib.combinations(lib.ones(2), -1))


@pytest.mark.parametrize("shape", [(3, 3), (3, 5), (5, 2), (0, 3), (1, 1)])
@pytest.mark.parametrize("offset", [0, 1, -2, 7])
def test_tril_triu_indices(shape, offset):
    for name in ("tril_indices", "triu_indices"):
        check(lambda lib, name=name: getattr(lib, name)(*shape, offset), grad=False)
        check(lambda lib, name=name: getattr(lib, name)(*shape, offset=offset, dtype=lib.int32,
                                                        device="cpu"), grad=False)


def test_tri_indices_errors():
    assert_same_error(lambda lib: lib.tril_indices(-1, 2))
    assert_same_error(lambda lib: lib.triu_indices(2, 2, dtype=lib.float32))


# --------------------------------------------------------------------------- block products

def test_block_diag():
    check(lambda lib, a, b, c: lib.block_diag(a, b, c), np.array(1.5), V3, M)
    check(lambda lib, a: lib.block_diag(a), M)
    check(lambda lib, a, b: lib.block_diag(a, b), np.zeros((2, 0)), M)
    check(lambda lib, a, b: lib.block_diag(a, b), np.arange(4).reshape(2, 2),
          np.array([[True]]), grad=False)
    check(lambda lib, a, b: lib.block_diag(a, b), np.arange(3, dtype=np.int32), M)
    check(lambda lib: lib.block_diag(), grad=False)
    assert_same_error(lambda lib: lib.block_diag(lib.ones(1, 1, 1)))


@pytest.mark.parametrize("shapes", [((2, 3), (4, 2)), ((3,), (2, 2)), ((2, 1, 2), (3,)),
                                    ((), (3,)), ((0, 2), (2, 2))])
def test_kron(shapes):
    a = RNG.standard_normal(shapes[0])
    b = RNG.standard_normal(shapes[1])
    check(lambda lib, x, y: lib.kron(x, y), a, b)
    check(lambda lib, x, y: x.kron(y), b, a)


def test_kron_dtypes():
    check(lambda lib, x, y: lib.kron(x, y), np.arange(4).reshape(2, 2), np.array([1, 10]),
          grad=False)
    check(lambda lib, x, y: lib.kron(x, y), np.arange(4).reshape(2, 2),
          np.array([0.5, 2.0], dtype=np.float32), grad=False)


# --------------------------------------------------------------------------- differences

@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("dim", [0, -1])
def test_diff(n, dim):
    x = RNG.standard_normal((4, 3))
    check(lambda lib, a: lib.diff(a, n, dim), x)
    check(lambda lib, a, p, q: a.diff(n, dim, p, q), x, RNG.standard_normal((1, 3)) if dim == 0
          else RNG.standard_normal((4, 2)), RNG.standard_normal((2, 3)) if dim == 0 else
          RNG.standard_normal((4, 1)))


def test_diff_dtypes_and_errors():
    check(lambda lib, a: lib.diff(a, 2), np.array([1, 4, 9, 16], dtype=np.int32), grad=False)
    check(lambda lib, a: lib.diff(a), np.array([3, 1, 2], dtype=np.uint8), grad=False)
    check(lambda lib, a: lib.diff(a, 2), np.array([True, False, False, True]), grad=False)
    check(lambda lib, a: lib.diff(a, append=lib.tensor([5.0])), V3)
    assert_same_error(lambda lib: lib.diff(lib.tensor(1.0)))
    assert_same_error(lambda lib: lib.diff(lib.ones(3), n=-1))
    assert_same_error(lambda lib: lib.diff(lib.ones(3, 2), prepend=lib.ones(3)))


def test_trace():
    check(lambda lib, a: lib.trace(a), M)
    check(lambda lib, a: a.trace(), M.T)
    check(lambda lib, a: lib.trace(a), np.arange(9, dtype=np.int32).reshape(3, 3), grad=False)
    check(lambda lib, a: lib.trace(a), np.zeros((0, 2)))
    assert_same_error(lambda lib: lib.trace(lib.ones(3)))
    assert_same_error(lambda lib: lib.trace(lib.ones(2, 2, dtype=lib.bool)))


def test_repeat_interleave():
    x = RNG.standard_normal((2, 3))
    check(lambda lib, a: lib.repeat_interleave(a, 2), x)
    check(lambda lib, a: a.repeat_interleave(3, dim=1), x)
    check(lambda lib, a, r: lib.repeat_interleave(a, r, dim=0), x, np.array([0, 3]))
    check(lambda lib, a, r: lib.repeat_interleave(a, r, dim=-1, output_size=6), x,
          np.array([1, 2, 3]))
    check(lambda lib, a, r: lib.repeat_interleave(a, r), x, np.array([2]))
    check(lambda lib, a, r: lib.repeat_interleave(a, r), x, np.array(2))
    check(lambda lib, a: lib.repeat_interleave(a, 2), np.array(1.5))
    check(lambda lib, r: lib.repeat_interleave(r), np.array([2, 0, 1]), grad=False)
    check(lambda lib, a: lib.repeat_interleave(a, 2, dim=0), np.arange(4, dtype=np.int8),
          grad=False)


def test_repeat_interleave_errors():
    assert_same_error(lambda lib: lib.repeat_interleave(lib.ones(3), lib.tensor([1, 2])))
    assert_same_error(lambda lib: lib.repeat_interleave(lib.ones(3), -1))
    assert_same_error(lambda lib: lib.repeat_interleave(lib.ones(3), lib.tensor([1.0, 2, 3])))
    assert_same_error(lambda lib: lib.repeat_interleave(lib.ones(3), lib.tensor([1, -2, 3])))
    assert_same_error(lambda lib: lib.repeat_interleave(lib.tensor([[1, 2]])))


# --------------------------------------------------------------------------- distances

@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, float("inf"), 0.0])
def test_cdist(p):
    a = RNG.standard_normal((4, 3))
    b = RNG.standard_normal((5, 3))
    check(lambda lib, x, y: lib.cdist(x, y, p), a, b, grad=p != 0.0)
    check(lambda lib, x, y: lib.cdist(x, y, p, "donot_use_mm_for_euclid_dist"),
          RNG.standard_normal((2, 1, 3, 2)), RNG.standard_normal((4, 2, 2)), grad=p != 0.0)


def test_cdist_float32_zero_distance_and_empty():
    a = RNG.standard_normal((3, 4)).astype(np.float32)
    check(lambda lib, x, y: lib.cdist(x, y), a, a[::-1].copy(), grad=False, rtol=1e-5)
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    check(lambda lib, x: lib.cdist(x, x), pts)  # zero distances: zero gradient there
    check(lambda lib, x, y: lib.cdist(x, y), np.zeros((0, 3)), RNG.standard_normal((2, 3)),
          grad=False)


@pytest.mark.parametrize("mode", [None, "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_cdist_matmul_path(mode):
    # more than 25 rows: torch switches to the matmul expansion for p=2 unless told not to
    a = RNG.standard_normal((2, 30, 3))
    b = RNG.standard_normal((27, 3))
    kwargs = {} if mode is None else {"compute_mode": mode}
    check(lambda lib, x, y: lib.cdist(x, y, **kwargs), a, b, rtol=1e-9)
    check(lambda lib, x, y: lib.cdist(x, y, **kwargs), a[0, :4].astype(np.float32),
          b[:3].astype(np.float32), grad=False, rtol=1e-5)


def test_cdist_errors():
    assert_same_error(lambda lib: lib.cdist(lib.ones(3), lib.ones(2, 3)))
    assert_same_error(lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 4)))
    assert_same_error(lambda lib: lib.cdist(lib.ones(2, 3, dtype=lib.long),
                                            lib.ones(2, 3, dtype=lib.long)))
    assert_same_error(lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 3), p=-1))
    assert_same_error(lambda lib: lib.cdist(lib.ones(2, 3), lib.ones(2, 3), compute_mode="x"))


@pytest.mark.parametrize("p", [2, 1, 3.5, float("inf"), 0])
def test_dist(p):
    check(lambda lib, x, y: lib.dist(x, y, p), M, RNG.standard_normal(4), grad=p != 0)
    check(lambda lib, x, y: x.dist(y, p), V3, V3[::-1].copy(), grad=p != 0)
    assert_same_error(lambda lib: lib.dist(lib.tensor([1, 2]), lib.tensor([2, 3])))


@pytest.mark.parametrize("p", [2, 1, 3.0])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_renorm(p, dim):
    x = RNG.standard_normal((3, 4, 2)) * 2
    check(lambda lib, a: lib.renorm(a, p, dim, 1.5), x)
    check(lambda lib, a: a.renorm(p, dim, 0.0), x)


def test_renorm_inplace_float32_and_errors():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    ours, theirs = dt.tensor(x), torch.tensor(x)
    ours.renorm_(2, 0, 1.0)
    theirs.renorm_(2, 0, 1.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert_same_error(lambda lib: lib.renorm(lib.ones(3), 2, 0, 1))
    assert_same_error(lambda lib: lib.renorm(lib.ones(3, 2, dtype=lib.long), 2, 0, 1))
    assert_same_error(lambda lib: lib.renorm(lib.ones(3, 2), 0, 0, 1))
    assert_same_error(lambda lib: lib.renorm(lib.ones(3, 2), 2, 0, -1))


# --------------------------------------------------------------------------- integration

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_trapezoid(dim):
    y = RNG.standard_normal((3, 4, 5))
    x1 = np.sort(RNG.standard_normal(y.shape[dim]))
    xf = np.sort(RNG.standard_normal(y.shape), axis=dim)
    for fn in ("trapezoid", "trapz", "cumulative_trapezoid"):
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a, dim=dim), y)
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a, dx=0.3, dim=dim), y)
        check(lambda lib, a, x, fn=fn: getattr(lib, fn)(a, x, dim=dim), y, x1)
        check(lambda lib, a, x, fn=fn: getattr(lib, fn)(a, x, dim=dim), y, xf)


def test_trapezoid_dtypes_and_edges():
    ints = np.array([1, 2, 4])
    for fn in ("trapezoid", "trapz", "cumulative_trapezoid"):
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a), ints, grad=False)
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a, dx=2), ints, grad=False)
        check(lambda lib, a, x, fn=fn: getattr(lib, fn)(a, x), ints, np.array([1, 2, 5]),
              grad=False)
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a), np.zeros((2, 0)))
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a), np.ones((2, 1)))
        check(lambda lib, a, fn=fn: getattr(lib, fn)(a), V4.astype(np.float32), grad=False)
    assert_same_error(lambda lib: lib.trapezoid(lib.ones(3), lib.ones(2)))
    assert_same_error(lambda lib: lib.trapezoid(lib.ones(3), dx=1, dim=3))


@pytest.mark.parametrize("N", [None, 0, 1, 2, 5])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander(N, increasing):  # noqa: N803 - torch's argument name
    x = np.array([0.0, 1.5, -2.0, 0.7])
    # torch 2.13's own vander backward fails (it writes into a tensor it saved), so values
    # come from torch.vander and gradients from torch's x ** k
    check(lambda lib, a: lib.vander(a, N, increasing), x, grad=False)
    cols = x.shape[0] if N is None else N
    powers = np.arange(cols)[::1 if increasing else -1].copy()
    x = x + 0.1  # no zero: pow's gradient at 0 ** 0 differs from the product form's

    def fn(lib, a):
        if lib is torch:
            return a.unsqueeze(1) ** torch.tensor(powers, dtype=torch.float64)
        return lib.vander(a, N, increasing)
    check(fn, x, grad=cols > 1)  # N <= 1: no graph, as torch.vander
    leaf = dt.tensor(x, requires_grad=True)
    assert dt.vander(leaf, N).requires_grad == torch.vander(
        torch.tensor(x, requires_grad=True), N).requires_grad
    check(lambda lib, a: lib.vander(a, N=N, increasing=increasing),
          np.array([1, 2, 3], dtype=np.int32), grad=False)
    check(lambda lib, a: lib.vander(a, N, increasing), np.array([True, False]), grad=False)


def test_vander_errors():
    assert_same_error(lambda lib: lib.vander(lib.ones(2, 2)))
    assert_same_error(lambda lib: lib.vander(lib.ones(2), N=-1))
