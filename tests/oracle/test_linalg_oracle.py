"""Matrix products, einsum and tensordot compared with torch: values, dtypes, gradients, errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from dist_torch.linalg import vecdot
from tests.oracle.compare import check


def arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 6)), ((1, 3, 4), (4, 5)), ((2, 3, 4), (1, 4, 5)),
    ((2, 2, 3, 4), (4, 2)), ((3,), (2, 2, 3, 2)), ((2, 1, 2, 3), (3,)), ((0, 3), (3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    check(lambda lib, a, b: lib.matmul(a, b), arr(*sa), arr(*sb, seed=1))


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:6])
def test_matmul_operators(sa, sb):
    check(lambda lib, a, b: (a @ b, b.__rmatmul__(a), lib.linalg.matmul(a, b)
                             if lib is torch else lib.matmul(a, b)), arr(*sa), arr(*sb, seed=1))


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((4,), (2, 4, 3))])
def test_matmul_one_side_requires_grad(sa, sb):
    check(lambda lib, a, b: lib.matmul(a, b.detach()), arr(*sa), arr(*sb, seed=1))
    check(lambda lib, a, b: lib.matmul(a.detach(), b), arr(*sa), arr(*sb, seed=1))


@pytest.mark.parametrize("fn,shapes", [
    ("mm", [(2, 3), (3, 4)]), ("bmm", [(2, 2, 3), (2, 3, 4)]), ("mv", [(2, 3), (3,)]),
    ("dot", [(4,), (4,)]), ("vdot", [(4,), (4,)]), ("outer", [(3,), (4,)]),
    ("ger", [(3,), (4,)]), ("inner", [(2, 4), (3, 4)]), ("inner", [(4,), (3, 4)]),
    ("inner", [(), (3, 4)]),
])
def test_products(fn, shapes):
    check(lambda lib, *xs: getattr(lib, fn)(*xs), *[arr(*s, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("fn", ["mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner"])
def test_product_methods(fn):
    shapes = {"mm": [(2, 3), (3, 4)], "bmm": [(2, 2, 3), (2, 3, 4)], "mv": [(2, 3), (3,)]}.get(
        fn, [(3,), (3,)])
    check(lambda lib, a, b: getattr(a, fn)(b), *[arr(*s, seed=i) for i, s in enumerate(shapes)])


ADD_CASES = [
    ("addmm", [(4,), (2, 3), (3, 4)]), ("addmm", [(2, 4), (2, 3), (3, 4)]),
    ("addmm", [(), (2, 3), (3, 4)]), ("addmm", [(2, 1), (2, 3), (3, 4)]),
    ("addmv", [(2,), (2, 3), (3,)]), ("addmv", [(1,), (2, 3), (3,)]),
    ("addbmm", [(2, 4), (5, 2, 3), (5, 3, 4)]), ("addbmm", [(4,), (5, 2, 3), (5, 3, 4)]),
    ("baddbmm", [(5, 2, 4), (5, 2, 3), (5, 3, 4)]), ("baddbmm", [(2, 4), (5, 2, 3), (5, 3, 4)]),
    ("addr", [(2, 4), (2,), (4,)]), ("addr", [(4,), (2,), (4,)]),
]


@pytest.mark.parametrize("fn,shapes", ADD_CASES)
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 3)])
def test_add_products(fn, shapes, beta, alpha):
    arrays = [arr(*s, seed=i) for i, s in enumerate(shapes)]
    check(lambda lib, *xs: getattr(lib, fn)(*xs, beta=beta, alpha=alpha), *arrays)


@pytest.mark.parametrize("fn,shapes", [ADD_CASES[i] for i in (1, 4, 6, 8, 10)])
def test_add_products_inplace(fn, shapes):
    def run(lib, c, *xs):
        out = c.clone()
        getattr(out, fn + "_")(*xs, beta=0.5, alpha=2.0)
        return out
    check(run, *[arr(*s, seed=i) for i, s in enumerate(shapes)])


def test_beta_zero_ignores_nan():
    c = np.full((2, 4), np.nan)
    check(lambda lib, c, a, b: lib.addmm(c, a, b, beta=0), c, arr(2, 3), arr(3, 4))


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ii->i", [(3, 3)]), ("ii->", [(3, 3)]),
    ("ij->ji", [(2, 3)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]), ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("ijk->", [(2, 3, 4)]), ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij->", [(2, 3)]),
    ("ij,jk", [(2, 3), (3, 4)]), ("ba", [(2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]), ("iij->ij", [(2, 2, 3)]), ("iji->j", [(2, 3, 2)]),
    ("ij,k->jk", [(2, 3), (4,)]), ("bi,bi->b", [(4, 3), (4, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]), ("ij,ij->ij", [(2, 1), (2, 3)]),
    ("i...j->ji", [(2, 3, 4)]), ("i...j->j...i", [(2, 3, 4)]), (",i->i", [(), (3,)]),
    ("bqd,kd->bqk", [(2, 3, 4), (5, 4)]), ("abc,cd->dba", [(2, 3, 4), (4, 5)]),
    ("ij,ji->", [(3, 4), (4, 3)]), ("iii->i", [(2, 2, 2)]), ("ij,j->i", [(2, 3), (1,)]),
    ("i,i->i", [(1,), (3,)]), ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("ii,i->i", [(3, 3), (1,)]), ("ij,jk->ik", [(0, 3), (3, 2)]), ("ij,jk->", [(2, 3), (3, 2)]),
    ("Ab,bA->A", [(2, 3), (3, 2)]), ("ab,cd->abcd", [(2, 3), (1, 2)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 3), (3, 2)]), ("ijk,ikl->ijl", [(3, 2, 4), (3, 4, 2)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM_CASES)
def test_einsum(equation, shapes):
    check(lambda lib, *xs: lib.einsum(equation, *xs),
          *[arr(*s, seed=i) for i, s in enumerate(shapes)])


def test_einsum_list_and_sublist_forms():
    a, b = arr(2, 3), arr(3, 4, seed=1)
    check(lambda lib, x, y: lib.einsum("ij,jk->ik", [x, y]), a, b)
    check(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    check(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 27]), a, b)
    check(lambda lib, x: lib.einsum(x, [Ellipsis, 0]), arr(2, 3, 4))


@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (4, 5), 0), ((2, 3, 4), (4, 3, 5), ([1, 2], [1, 0])),
    ((2, 3, 4), (4, 3, 5), [[2], [0]]), ((2, 3, 4), (4, 3, 5), ([-1], [0])),
    ((2, 1, 4), (3, 4, 5), 2), ((3, 4), (3, 4), 2),
])
def test_tensordot(sa, sb, dims):
    check(lambda lib, a, b: lib.tensordot(a, b, dims=dims), arr(*sa), arr(*sb, seed=1))


@pytest.mark.parametrize("sx,sy,dim", [((3,), (3,), -1), ((2, 4), (3, 1, 4), -1),
                                       ((2, 4), (3, 1, 4), 0), ((2, 3), (2, 3), 0)])
def test_vecdot(sx, sy, dim):
    check(lambda lib, x, y: (torch.linalg.vecdot if lib is torch else vecdot)(x, y, dim=dim),
          arr(*sx), arr(*sy, seed=1))


INT_CASES = [
    ("matmul", [(2, 3), (3, 4)]), ("matmul", [(3,), (3,)]), ("matmul", [(2, 3, 4), (4,)]),
    ("matmul", [(2, 3, 4), (2, 4, 2)]), ("mm", [(2, 3), (3, 4)]), ("bmm", [(2, 2, 3), (2, 3, 2)]),
    ("mv", [(2, 3), (3,)]), ("dot", [(3,), (3,)]), ("outer", [(2,), (3,)]),
    ("addmm", [(4,), (2, 3), (3, 4)]), ("tensordot", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("fn,shapes", INT_CASES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "float16", "bfloat16"])
def test_result_dtypes(fn, shapes, dtype):
    arrays = [np.random.default_rng(i).integers(0, 4, size=s) for i, s in enumerate(shapes)]
    results = []
    for lib in (dt, torch):
        xs = [lib.tensor(a).to(getattr(lib, dtype)) for a in arrays]
        r = getattr(lib, fn)(*xs) if fn != "tensordot" else lib.tensordot(*xs, dims=1)
        results.append((str(r.dtype), np.asarray(r.double().tolist())))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-2)


@pytest.mark.parametrize("equation,shapes", [
    ("i->", [(3,)]), ("ii->i", [(3, 3)]), ("ij->j", [(2, 3)]), ("i,i->", [(3,), (3,)]),
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]),
])
@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_einsum_integer_dtypes(equation, shapes, dtype):
    arrays = [np.random.default_rng(i).integers(0, 3, size=s) for i, s in enumerate(shapes)]
    outcomes = []
    for lib in (dt, torch):
        try:
            r = lib.einsum(equation, *[lib.tensor(a).to(getattr(lib, dtype)) for a in arrays])
            outcomes.append((str(r.dtype), np.asarray(r.tolist())))
        except Exception as err:  # torch refuses bool contractions: so must we
            outcomes.append((type(err), None))
    assert outcomes[0][0] == outcomes[1][0]
    if outcomes[1][1] is not None:
        np.testing.assert_array_equal(outcomes[0][1], outcomes[1][1])


def test_addmm_integer_scale_factors():
    def run(lib, c, a, b):
        c, a, b = (x.long() for x in (c, a, b))
        return lib.addmm(c, a, b, beta=-1.5, alpha=2.7), lib.addmv(c[0, :2], a, b[:, 0],
                                                                       beta=2.5)
    check(run, np.full((2, 3), 3.0), np.full((2, 2), 2.0), np.ones((2, 3)), grad=False)


def f32(*s):
    return ("float32", s)


def f64(*s):
    return ("float64", s)


def b8(*s):
    return ("bool", s)


def i64(*s):
    return ("int64", s)


ERROR_CASES = [
    ("matmul", [f32(4, 3), f32(5, 2)]), ("matmul", [f32(4, 3), f64(3, 2)]),
    ("matmul", [f32(), f32(2, 3)]), ("matmul", [f32(3), f32()]), ("matmul", [f32(3), f32(4)]),
    ("matmul", [f32(3), f64(3)]), ("matmul", [f32(3), f32(4, 2)]), ("matmul", [f32(2, 3), f32(4)]),
    ("matmul", [f32(2, 3), f64(3)]), ("matmul", [f32(2, 3, 4), f32(5)]),
    ("matmul", [f32(2, 3, 4), f32(5, 2)]), ("matmul", [f32(5), f32(2, 3, 4)]),
    ("matmul", [f32(2, 3, 4), f32(2, 5, 2)]), ("matmul", [f32(2, 3, 4), f32(3, 4, 2)]),
    ("matmul", [f32(2, 3, 4), f64(2, 4, 2)]), ("matmul", [f64(2, 3, 4), f32(4, 2)]),
    ("matmul", [b8(2, 3), b8(3, 2)]), ("matmul", [b8(3), b8(3)]), ("matmul", [b8(2, 3), b8(3)]),
    ("matmul", [b8(2, 2, 3), b8(2, 3, 2)]), ("matmul", [i64(2, 3), f32(3, 2)]),
    ("mm", [f32(2, 3, 3), f32(3, 4)]), ("mm", [f32(3, 3), f32(3)]), ("mm", [f32(4, 3), f32(4, 2)]),
    ("mm", [f32(4, 3), f64(3, 2)]), ("mm", [b8(2, 2), b8(2, 2)]),
    ("bmm", [f32(2, 4, 3), f32(3, 3, 2)]), ("bmm", [f32(2, 4, 3), f32(2, 4, 2)]),
    ("bmm", [f32(4, 3), f32(2, 3, 2)]), ("bmm", [f32(2, 4, 3), f32(3, 2)]),
    ("bmm", [f64(2, 2, 3), f32(2, 3, 4)]), ("bmm", [b8(1, 2, 3), b8(1, 3, 4)]),
    ("mv", [f32(4, 3), f32(4)]), ("mv", [f32(4), f32(4)]), ("mv", [f32(4, 3), f32(3, 1)]),
    ("mv", [f64(2, 3), f32(3)]), ("mv", [b8(2, 3), b8(3)]),
    ("dot", [f32(3), f32(4)]), ("dot", [f32(3, 1), f32(3)]), ("dot", [f32(3), f64(3)]),
    ("dot", [b8(3), b8(3)]), ("vdot", [f32(3), f32(4)]), ("vdot", [f32(3), f32(3, 1)]),
    ("outer", [f32(3, 1), f32(4)]), ("outer", [f32(3), f32()]),
    ("addmm", [f32(3), f32(2, 3), f32(3, 4)]), ("addmm", [f32(3, 4), f32(2, 3), f32(3, 4)]),
    ("addmm", [f32(1, 2, 4), f32(2, 3), f32(3, 4)]), ("addmm", [f64(4), f32(2, 3), f32(3, 4)]),
    ("addmm", [f32(4), f64(2, 3), f32(3, 4)]), ("addmm", [f32(4), f32(2, 3), f32(2, 4)]),
    ("addmm", [f32(4), f32(3), f32(3, 4)]), ("addmm", [b8(4), b8(2, 3), b8(3, 4)]),
    ("addmv", [f32(3), f32(2, 3), f32(3)]), ("addmv", [f64(2), f32(2, 3), f32(3)]),
    ("addmv", [f32(2), f32(2, 3), f32(4)]), ("addmv", [f32(1, 2), f32(2, 3), f32(3)]),
    ("addbmm", [f32(2, 4), f32(5, 2, 3), f32(4, 3, 4)]),
    ("addbmm", [f32(3, 4), f32(5, 2, 3), f32(5, 3, 4)]),
    ("addbmm", [f64(2, 4), f32(5, 2, 3), f32(5, 3, 4)]),
    ("addbmm", [f32(2, 4), f32(2, 3), f32(5, 3, 4)]),
    ("addbmm", [f32(2, 4), f32(5, 2, 3), f32(5, 2, 4)]),
    ("baddbmm", [f32(3, 2, 4), f32(5, 2, 3), f32(5, 3, 4)]),
    ("baddbmm", [f32(5, 2, 4), f32(5, 2, 3), f32(5, 2, 4)]),
    ("baddbmm", [f64(5, 2, 4), f32(5, 2, 3), f32(5, 3, 4)]),
    ("baddbmm", [f32(5, 2, 4), f32(5, 2, 3), f64(5, 3, 4)]),
    ("baddbmm", [f32(5, 2, 4), f32(5, 2, 3), f32(3, 4)]),
    ("baddbmm", [b8(5, 2, 4), b8(5, 2, 3), b8(5, 3, 4)]),
    ("addr", [f32(3, 4), f32(2), f32(4)]), ("addr", [f32(2, 4), f32(2, 1), f32(4)]),
    ("inner", [f32(2, 4), f32(3, 5)]), ("inner", [f32(4), f64(3, 4)]),
]


def _make(lib, spec):
    dtype, shape = spec
    return lib.ones(shape, dtype=getattr(lib, dtype))


def _outcome(fn):
    try:
        fn()
    except Exception as err:
        return type(err), str(err)
    return None, None


@pytest.mark.parametrize("fn,specs", ERROR_CASES)
def test_errors_match_torch(fn, specs):
    ours = _outcome(lambda: getattr(dt, fn)(*[_make(dt, s) for s in specs]))
    theirs = _outcome(lambda: getattr(torch, fn)(*[_make(torch, s) for s in specs]))
    assert theirs[0] is not None
    assert ours == theirs


EINSUM_ERRORS = [
    ("ij,jk->ik", [(2, 3)]), ("ij->ij", [(2, 3), (3, 4)]), ("ij,jk->ik", [(2, 3), (4, 4)]),
    ("ij,jk->ik", [(2, 3, 1), (3, 4)]), ("ij->ik", [(2, 3)]), ("ij->ii", [(2, 3)]),
    ("i1->i", [(2, 3)]), ("ii->i", [(2, 3)]), ("...ij,...jk", [(5, 2, 3), (4, 3, 4)]),
    ("...ij,...jk", [(5, 2, 3), (7, 4, 3, 4)]), ("i->i->i", [(2,)]), ("...i...->i", [(2, 3)]),
    ("ij.->", [(3, 2)]), ("ij->.", [(3, 2)]), ("ij->....", [(3, 2)]), ("...i,j", [(), (3,)]),
    ("i->i", [()]), ("ij-", [(3, 2)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM_ERRORS)
def test_einsum_errors_match_torch(equation, shapes):
    ours = _outcome(lambda: dt.einsum(equation, *[dt.ones(s) for s in shapes]))
    theirs = _outcome(lambda: torch.einsum(equation, *[torch.ones(s) for s in shapes]))
    assert theirs[0] is not None
    assert ours == theirs


@pytest.mark.parametrize("args", [
    lambda lib: ("ij,jk->ik", lib.ones(2, 3), lib.ones(3, 4, dtype=lib.float64)),
    lambda lib: ("i->i", [1, 2]), lambda lib: ("i->i",), lambda lib: (1, lib.ones(2)),
    lambda lib: (lib.ones(2, 3), [0, 52]),
])
def test_einsum_argument_errors_match_torch(args):
    ours = _outcome(lambda: dt.einsum(*args(dt)))
    theirs = _outcome(lambda: torch.einsum(*args(torch)))
    assert theirs[0] is not None
    assert ours == theirs


@pytest.mark.parametrize("sa,sb,dims", [
    ((2, 3, 4), (4, 3, 5), ([1], [1, 0])), ((2, 3, 4), (4, 3, 5), ([1], [0])),
    ((2, 3, 4), (3, 4, 5), -1), ((2, 3, 4), (3, 4, 5), 4), ((2, 3, 4), (4, 3, 5), ([5], [0])),
    ((2, 3, 4), (4, 4, 5), ([2, 2], [0, 1])), ((2, 3, 4), (4, 3, 5), (2, 0)),
])
def test_tensordot_errors_match_torch(sa, sb, dims):
    ours = _outcome(lambda: dt.tensordot(dt.ones(sa), dt.ones(sb), dims=dims))
    theirs = _outcome(lambda: torch.tensordot(torch.ones(sa), torch.ones(sb), dims=dims))
    assert theirs[0] is not None
    assert ours == theirs


@pytest.mark.parametrize("sx,sy,dx,dy", [((2, 4), (3, 1, 5), "float32", "float32"),
                                         ((3,), (3,), "float32", "float64"),
                                         ((3,), (3,), "int64", "int64")])
def test_vecdot_errors_match_torch(sx, sy, dx, dy):
    ours = _outcome(lambda: vecdot(dt.ones(sx, dtype=getattr(dt, dx)),
                                   dt.ones(sy, dtype=getattr(dt, dy))))
    theirs = _outcome(lambda: torch.linalg.vecdot(torch.ones(sx, dtype=getattr(torch, dx)),
                                                  torch.ones(sy, dtype=getattr(torch, dy))))
    assert theirs[0] is not None
    assert ours == theirs


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, 3) @ lib.ones(3, 4), lambda lib: lib.ones(3) @ lib.ones(3),
    lambda lib: lib.ones(2, 3) @ lib.ones(3), lambda lib: lib.ones(3) @ lib.ones(3, 2),
    lambda lib: lib.ones(2, 2, 3) @ lib.ones(2, 3, 4), lambda lib: lib.bmm(
        lib.ones(2, 2, 3), lib.ones(2, 3, 4)),
    lambda lib: lib.addmm(lib.ones(4), lib.ones(2, 3), lib.ones(3, 4)),
    lambda lib: lib.addmv(lib.ones(2), lib.ones(2, 3), lib.ones(3)),
    lambda lib: lib.baddbmm(lib.ones(2, 4), lib.ones(1, 2, 3), lib.ones(1, 3, 4)),
    lambda lib: lib.addbmm(lib.ones(2, 4), lib.ones(1, 2, 3), lib.ones(1, 3, 4)),
    lambda lib: lib.addr(lib.ones(2, 4), lib.ones(2), lib.ones(4)),
    lambda lib: lib.outer(lib.ones(2), lib.ones(4)), lambda lib: lib.dot(lib.ones(2), lib.ones(2)),
    lambda lib: lib.vdot(lib.ones(2), lib.ones(2)),
])
def test_grad_fn_names(make):
    assert make(_WithGrad(dt)).grad_fn.name() == type(make(_WithGrad(torch)).grad_fn).__name__


class _WithGrad:
    """A stand-in for the library whose ``ones`` makes tensors that require grad."""

    def __init__(self, lib):
        self.lib = lib

    def ones(self, *shape):
        return self.lib.ones(*shape, requires_grad=True)

    def __getattr__(self, name):
        return getattr(self.lib, name)


@pytest.mark.parametrize("fn", [
    lambda lib, a, b: a.transpose(-1, -2) @ b,
    lambda lib, a, b: a @ b.transpose(-1, -2)[..., :2],
    lambda lib, a, b: lib.einsum("bji,bjk->bik", a, b),
    lambda lib, a, b: lib.einsum("bij,bij->", a, a) + lib.matmul(a, a.transpose(-1, -2)).sum(),
    lambda lib, a, b: lib.bmm(a.transpose(1, 2), b),
    lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b.detach()),
    lambda lib, a, b: lib.einsum("bij,bjk,bkl->bil", a.detach(), b, a),
    lambda lib, a, b: lib.tensordot(a.detach(), b, dims=([1, 2], [2, 1])),
])
def test_non_contiguous_and_repeated_operands(fn):
    check(fn, arr(2, 3, 3), arr(2, 3, 3, seed=1))
