"""torch.linalg decompositions, solvers and matrix functions against torch: values, dtypes,
batch dims, gradients (vs torch and finite differences), errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


def spd(*batch, n=3):
    a = rand(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def sym(*batch, n=3):
    a = rand(*batch, n, n)
    return a + np.swapaxes(a, -1, -2)


# --------------------------------------------------------------------------- values and grads

@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 3, 3), (0, 2, 2)])
def test_inv_det_slogdet(shape):
    a = rand(*shape) + 2 * np.eye(shape[-1])
    check(lambda lib, x: lib.linalg.inv(x), a)
    check(lambda lib, x: tuple(lib.linalg.inv_ex(x)), a)
    check(lambda lib, x: lib.linalg.det(x), a)
    check(lambda lib, x: tuple(lib.linalg.slogdet(x)), a)
    check(lambda lib, x: (x.det(), x.inverse(), torch_or(lib).logdet(x @ x.mT)), a)


def torch_or(lib):
    return lib


def test_det_gradient_of_singular_matrix():
    # rank 2: the gradient is the (nonzero) cofactor matrix; torch 2.13 returns zeros here
    a = np.array([[1., 2., 3.], [2., 4., 6.], [0., 1., 1.]])
    x = dt.tensor(np.stack([a, np.eye(3) + a]), requires_grad=True)
    dt.linalg.det(x).sum().backward()
    cof = np.array([[-2., 2., -2.], [1., -1., 1.], [0., 0., 0.]]).T * 0 + \
        np.array([[4 * 1 - 6 * 1, -(2 * 1 - 6 * 0), 2 * 1 - 4 * 0],
                  [-(2 * 1 - 3 * 1), 1 * 1 - 3 * 0, -(1 * 1 - 2 * 0)],
                  [2 * 6 - 3 * 4, -(1 * 6 - 3 * 2), 1 * 4 - 2 * 2]])
    np.testing.assert_allclose(x.grad.numpy()[0], cof, atol=1e-12)
    assert dt.autograd.gradcheck(lambda t: dt.linalg.det(t), (x,))


@pytest.mark.parametrize("a_shape,b_shape", [((3, 3), (3,)), ((3, 3), (3, 2)),
                                             ((2, 3, 3), (2, 3)), ((2, 3, 3), (3, 4)),
                                             ((2, 1, 3, 3), (4, 3, 1)), ((3, 3), (2, 3, 2))])
def test_solve_broadcasting_and_vectors(a_shape, b_shape):
    a = rand(*a_shape) + 3 * np.eye(3)
    b = rand(*b_shape)
    check(lambda lib, x, y: lib.linalg.solve(x, y), a, b)
    check(lambda lib, x, y: tuple(lib.linalg.solve_ex(x, y)), a, b)


def test_solve_left_false():
    a, b = rand(2, 3, 3) + 3 * np.eye(3), rand(2, 4, 3)
    check(lambda lib, x, y: lib.linalg.solve(x, y, left=False), a, b)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    a = spd(2, n=4)
    a = a + np.triu(rand(4, 4), 1) * (0 if upper else 1)  # junk in the unread triangle
    if upper:
        a = a + np.tril(rand(4, 4), -1)
    check(lambda lib, x: lib.linalg.cholesky(x, upper=upper), a)
    check(lambda lib, x: tuple(lib.linalg.cholesky_ex(x, upper=upper)), a)
    check(lambda lib, x: lib.cholesky(x, upper), a)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (2, 4, 2), (3, 5), (2, 2, 4)])
def test_qr_reduced(shape):
    check(lambda lib, x: tuple(lib.linalg.qr(x)), rand(*shape))
    check(lambda lib, x: tuple(lib.qr(x)), rand(*shape))


def test_qr_modes():
    a = rand(3, 5)
    check(lambda lib, x: tuple(lib.linalg.qr(x, mode="complete")), a)
    check(lambda lib, x: lib.linalg.qr(x, mode="r")[1], rand(5, 3), grad=False)
    for lib in (dt, torch):
        assert tuple(lib.linalg.qr(lib.ones(5, 3), mode="r").Q.shape) == (0,)


def _svd_invariants(lib, x, full):
    u, s, vh = lib.linalg.svd(x, full_matrices=full)
    k = s.shape[-1]
    return s, u[..., :k] @ vh[..., :k, :], u ** 2, vh ** 2


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 4, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_svd(shape, full):
    a = rand(*shape)
    if full and shape[-1] != shape[-2]:   # the extra singular vectors are arbitrary
        check(lambda lib, x: _svd_invariants(lib, x, full)[:2], a)
    else:
        check(lambda lib, x: _svd_invariants(lib, x, full), a)
    check(lambda lib, x: lib.linalg.svdvals(x), a)


def test_torch_svd_old_semantics():
    a = rand(2, 5, 3)

    def fn(lib, x):
        u, s, v = lib.svd(x)
        return s, u @ v.mT, v ** 2
    check(fn, a)
    for some in (True, False):
        ours, theirs = dt.svd(dt.tensor(a), some=some), torch.svd(torch.tensor(a), some=some)
        assert [tuple(t.shape) for t in ours] == [tuple(t.shape) for t in theirs]
    ours = dt.svd(dt.tensor(a), compute_uv=False)
    assert tuple(ours.U.shape) == (2, 5, 5) and not ours.V.numpy().any()


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(uplo):
    a = sym(2, n=4) + np.triu(rand(4, 4), 1) * 3   # asymmetric: only UPLO's triangle is read

    def fn(lib, x):
        w, v = lib.linalg.eigh(x, UPLO=uplo)
        d = lib.arange(4, dtype=lib.float64)
        return w, v ** 2, (v * d) @ v.mT
    check(fn, a)
    check(lambda lib, x: lib.linalg.eigvalsh(x, uplo), a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_pinv(shape):
    check(lambda lib, x: lib.linalg.pinv(x), rand(*shape))
    check(lambda lib, x: lib.pinverse(x), rand(*shape))


def test_pinv_tolerances_and_hermitian():
    a = np.diag([3.0, 1.0, 1e-3]) @ np.linalg.qr(rand(3, 3))[0]
    for kw in ({"rtol": 0.01}, {"atol": 0.5}, {"atol": 0.0}, {"atol": 2.0, "rtol": 0.1}):
        check(lambda lib, x, kw=kw: lib.linalg.pinv(x, **kw), a, grad=False)
    s = sym(n=3)
    check(lambda lib, x: lib.linalg.pinv(x, hermitian=True), s, grad=False)
    check(lambda lib, x: lib.linalg.pinv(x + x.mT, hermitian=True), s)


@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
def test_lstsq(driver):
    a, b = rand(2, 5, 3), rand(2, 5, 2)
    check(lambda lib, x, y: tuple(lib.linalg.lstsq(x, y, driver=driver)), a, b)
    check(lambda lib, x, y: tuple(lib.linalg.lstsq(x, y, driver=driver)), rand(5, 3), rand(5))


def test_lstsq_rank_deficient_and_wide():
    a = np.ones((4, 3))
    check(lambda lib, x, y: tuple(lib.linalg.lstsq(x, y, driver="gelsd")), a, rand(4, 1),
          grad=False)
    check(lambda lib, x, y: lib.linalg.lstsq(x, y).solution, rand(3, 5), rand(3, 2))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -3])
def test_matrix_power(n):
    a = rand(2, 3, 3) + 2 * np.eye(3)
    check(lambda lib, x: lib.linalg.matrix_power(x, n), a)
    check(lambda lib, x: x.matrix_power(n), a)


def test_matrix_power_integer():
    a = np.arange(9).reshape(3, 3)
    check(lambda lib, x: lib.linalg.matrix_power(x, 3), a, grad=False)


@pytest.mark.parametrize("scale", [0.01, 1.0, 30.0])
def test_matrix_exp(scale):
    a = rand(2, 4, 4) * scale
    check(lambda lib, x: lib.linalg.matrix_exp(x), a, rtol=1e-9)
    check(lambda lib, x: lib.matrix_exp(x), np.zeros((0, 2, 2)))


def test_matrix_rank_and_cond():
    a = rand(2, 4, 3) @ rand(2, 3, 5)
    check(lambda lib, x: lib.linalg.matrix_rank(x), a, grad=False)
    check(lambda lib, x: lib.linalg.matrix_rank(x, atol=1.0, rtol=0.1), a, grad=False)
    check(lambda lib, x: lib.linalg.matrix_rank(x, hermitian=True), sym(2, n=4), grad=False)
    b = rand(2, 3, 3)
    for p in (None, 2, -2):
        check(lambda lib, x, p=p: lib.linalg.cond(x, p), b)
    for p in ("fro", "nuc", 1, -1, float("inf")):   # torch 2.13 cannot backpropagate these
        check(lambda lib, x, p=p: lib.linalg.cond(x, p), b, grad=False)
    assert dt.autograd.gradcheck(lambda x: dt.linalg.cond(x, "fro"),
                                 (dt.tensor(b, requires_grad=True),))


def test_multi_dot():
    shapes = [(4,), (4, 10), (10, 2), (2, 7), (7,)]
    arrays = [rand(*s) for s in shapes]
    check(lambda lib, *xs: lib.linalg.multi_dot(xs), *arrays)
    check(lambda lib, *xs: lib.linalg.multi_dot(xs), *arrays[1:4])
    check(lambda lib, *xs: lib.linalg.multi_dot(xs), rand(3, 4), rand(4))


def test_cross():
    check(lambda lib, x, y: lib.linalg.cross(x, y), rand(2, 4, 3), rand(1, 4, 3))
    check(lambda lib, x, y: lib.linalg.cross(x, y, dim=0), rand(3, 2), rand(3, 1))
    check(lambda lib, x, y: lib.cross(x, y, dim=1), rand(2, 3), rand(2, 3))
    check(lambda lib, x, y: x.cross(y, dim=-1), rand(2, 3), rand(2, 3))
    check(lambda lib, x, y: lib.linalg.cross(x, y), np.arange(6).reshape(2, 3),
          np.arange(6)[::-1].reshape(2, 3).copy())
    with pytest.warns(UserWarning, match="deprecated"):
        out = dt.cross(dt.ones(4, 3, 2), dt.ones(4, 3, 2))
    assert tuple(out.shape) == (4, 3, 2)


def test_solve_triangular_and_cholesky_helpers():
    a, b = rand(2, 4, 4) + 4 * np.eye(4), rand(2, 4, 3)
    for upper in (True, False):
        for unit in (True, False):
            kw = {"upper": upper, "unitriangular": unit}
            check(lambda lib, x, y, kw=kw: lib.linalg.solve_triangular(x, y, **kw), a, b)
            check(lambda lib, x, y, kw=kw: lib.linalg.solve_triangular(x, y.mT, left=False,
                                                                       **kw), a, b)
        low = np.linalg.cholesky(spd(2, n=4))
        f = low.swapaxes(-1, -2).copy() if upper else low
        check(lambda lib, x, y, u=upper: lib.cholesky_solve(y, x, u), f, b)
        check(lambda lib, x, u=upper: lib.cholesky_inverse(x, u), f[0])


def test_trace_vander_diagonal():
    check(lambda lib, x: lib.trace(x), rand(3, 4))
    check(lambda lib, x: x.trace(), np.arange(9, dtype=np.int32).reshape(3, 3), grad=False)
    check(lambda lib, x: lib.linalg.vander(x), rand(2, 4))
    check(lambda lib, x: lib.linalg.vander(x, N=2), np.arange(3))
    check(lambda lib, x: lib.vander(x), rand(4), grad=False)   # torch 2.13's backward fails
    check(lambda lib, x: lib.vander(x, N=3, increasing=True), np.arange(4, dtype=np.int32))
    check(lambda lib, x: lib.vander(x, N=0), rand(3), grad=False)
    check(lambda lib, x: lib.vander(x, N=1), rand(3), grad=False)
    assert dt.autograd.gradcheck(lambda x: dt.vander(x), (dt.tensor(rand(4), requires_grad=True),))
    check(lambda lib, x: lib.linalg.diagonal(x, offset=1), rand(2, 3, 4))


def test_float32_results():
    a = (rand(2, 4, 4) + 4 * np.eye(4)).astype(np.float32)
    s = spd(n=4).astype(np.float32)
    for fn in (lambda lib, x: lib.linalg.inv(x), lambda lib, x: lib.linalg.det(x),
               lambda lib, x: lib.linalg.solve(x, x[..., 0]),
               lambda lib, x: lib.linalg.matrix_exp(x * 0.3),
               lambda lib, x: lib.linalg.pinv(x), lambda lib, x: lib.linalg.svdvals(x)):
        check(fn, a, rtol=1e-4, atol=1e-5)
    check(lambda lib, x: lib.linalg.cholesky(x), s, rtol=1e-4, atol=1e-5)
    check(lambda lib, x: lib.linalg.eigvalsh(x), s, rtol=1e-4, atol=1e-5)


def test_gradcheck_finite_differences():
    a = dt.tensor(rand(3, 3) + 2 * np.eye(3), requires_grad=True)
    b = dt.tensor(rand(3, 2), requires_grad=True)
    s = dt.tensor(spd(n=3), requires_grad=True)
    for fn, inputs in [
            (lambda x: dt.linalg.inv(x), (a,)), (lambda x: dt.linalg.det(x), (a,)),
            (lambda x, y: dt.linalg.solve(x, y), (a, b)),
            (lambda x: dt.linalg.cholesky(x + x.mT), (s,)),
            (lambda x: dt.linalg.qr(x).Q.abs(), (b,)),
            (lambda x: dt.linalg.svdvals(x), (b,)),
            (lambda x: dt.linalg.eigvalsh(x + x.mT), (a,)),
            (lambda x: dt.linalg.pinv(x), (b,)),
            (lambda x: dt.linalg.matrix_exp(x), (a,)),
            (lambda x, y: dt.linalg.solve_triangular(x, y, upper=True), (a, b))]:
        assert dt.autograd.gradcheck(fn, inputs)


def test_grad_fn_names():
    a = dt.tensor(rand(3, 3), requires_grad=True)
    assert dt.linalg.inv(a).grad_fn.name() == "LinalgInvExBackward0"
    assert dt.linalg.svd(a).U.grad_fn.name() == "LinalgSvdBackward0"
    assert dt.linalg.eigh(a).eigenvalues.grad_fn.name() == "LinalgEighBackward0"
    assert dt.linalg.slogdet(a).sign.grad_fn.name() == "LinalgSlogdetBackward0"


def test_backward_errors_for_qr_modes():
    a = dt.tensor(rand(5, 3), requires_grad=True)
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        dt.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        dt.linalg.qr(a, mode="complete").Q.sum().backward()


# --------------------------------------------------------------------------- errors

def _same_error(fn, *arrays):
    errors = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:
            fn(lib, *[lib.tensor(a) for a in arrays])
        errors.append(info.value)
    ours, theirs = errors
    assert isinstance(ours, RuntimeError) == isinstance(theirs, RuntimeError)
    assert str(ours) == str(theirs)
    return ours


SINGULAR = np.array([[1., 2.], [2., 4.]])


def test_singular_and_not_positive_definite_errors():
    batch = np.stack([np.eye(2), SINGULAR])
    for fn, arr in [(lambda lib, x: lib.linalg.inv(x), SINGULAR),
                    (lambda lib, x: lib.linalg.inv(x), batch),
                    (lambda lib, x: lib.linalg.solve(x, x[..., 0]), SINGULAR),
                    (lambda lib, x: lib.linalg.solve(x, x), batch),
                    (lambda lib, x: lib.linalg.cholesky(x), SINGULAR),
                    (lambda lib, x: lib.linalg.cholesky(x), np.stack([np.eye(2), -np.eye(2)])),
                    (lambda lib, x: lib.linalg.cholesky_ex(x, check_errors=True), -np.eye(3)),
                    (lambda lib, x: lib.linalg.inv_ex(x, check_errors=True), SINGULAR),
                    (lambda lib, x: lib.linalg.solve_ex(x, x, check_errors=True), batch)]:
        err = _same_error(fn, arr)
        assert isinstance(err, dt.linalg.LinAlgError)
    assert issubclass(dt.linalg.LinAlgError, RuntimeError)


def test_info_outputs():
    batch = np.stack([np.eye(2), SINGULAR, np.zeros((2, 2))])
    for name in ("inv_ex", "cholesky_ex"):
        ours = getattr(dt.linalg, name)(dt.tensor(batch)).info
        theirs = getattr(torch.linalg, name)(torch.tensor(batch)).info
        assert ours.dtype == dt.int32 and ours.tolist() == theirs.tolist()
    ours = dt.linalg.solve_ex(dt.tensor(batch), dt.tensor(batch)).info
    assert ours.tolist() == torch.linalg.solve_ex(torch.tensor(batch), torch.tensor(batch)) \
        .info.tolist()


@pytest.mark.parametrize("fn,arrays", [
    (lambda lib, x: lib.linalg.inv(x), (np.ones((2, 3)),)),
    (lambda lib, x: lib.linalg.inv(x), (np.ones(3),)),
    (lambda lib, x: lib.linalg.inv(x), (np.ones((2, 2), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.inv(x.half()), (np.ones((2, 2)),)),
    (lambda lib, x: lib.linalg.det(x), (np.ones((2, 2), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.svd(x), (np.ones((2, 2), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.eigh(x), (np.ones((2, 3)),)),
    (lambda lib, x: lib.linalg.eigh(x, UPLO="X"), (np.ones((2, 2)),)),
    (lambda lib, x: lib.linalg.qr(x, mode="x"), (np.ones((2, 2)),)),
    (lambda lib, x, y: lib.linalg.solve(x, y), (np.ones((2, 2)), np.ones(3))),
    (lambda lib, x, y: lib.linalg.solve(x, y.float()), (np.ones((2, 2)), np.ones(2))),
    (lambda lib, x: lib.linalg.matrix_power(x, 2), (np.ones((2, 3)),)),
    (lambda lib, x: lib.linalg.matrix_power(x, -1), (np.ones((2, 2), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.matrix_exp(x), (np.ones((2, 2), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.cross(x, x), (np.ones((2, 2)),)),
    (lambda lib, x, y: lib.linalg.cross(x, y), (np.ones((2, 3, 3)), np.ones((3, 3)))),
    (lambda lib, x: lib.cross(x, x), (np.ones((2, 4)),)),
    (lambda lib, x: lib.linalg.vander(x, N=1), (np.ones(3),)),
    (lambda lib, x: lib.vander(x), (np.ones((2, 3)),)),
    (lambda lib, x: lib.vander(x, N=-1), (np.ones(3),)),
    (lambda lib, x, y: lib.linalg.solve_triangular(x, y, upper=True), (np.ones((2, 2)),
                                                                       np.ones(2))),
    (lambda lib, x, y: lib.linalg.solve_triangular(x, y, upper=True), (np.ones((2, 2)),
                                                                       np.ones((3, 2)))),
    (lambda lib, x, y: lib.linalg.lstsq(x, y), (np.ones((3, 2)), np.ones(4))),
    (lambda lib, x, y: lib.linalg.lstsq(x, y, driver="foo"), (np.ones((3, 2)), np.ones(3))),
    (lambda lib, x, y: lib.linalg.lstsq(x, y.float()), (np.ones((3, 2)), np.ones(3))),
    (lambda lib, x: lib.linalg.multi_dot([x]), (np.ones(2),)),
    (lambda lib, x: lib.linalg.multi_dot([x, x]), (np.ones((2, 2, 2)),)),
    (lambda lib, x: lib.linalg.matrix_rank(x), (np.ones((3, 3), dtype=np.int64),)),
    (lambda lib, x: lib.linalg.pinv(x), (np.ones((3, 3), dtype=np.int64),)),
    (lambda lib, x: lib.trace(x), (np.ones((2, 2, 2)),)),
    (lambda lib, x, y: lib.cholesky_solve(x, y), (np.ones((3, 2)), np.eye(4))),
    (lambda lib, x: lib.cholesky_inverse(x), (np.ones(3),)),
    (lambda lib, x: lib.linalg.svd(x, driver="gesvd"), (np.ones((2, 2)),)),
])
def test_errors_match_torch(fn, arrays):
    _same_error(fn, *arrays)
