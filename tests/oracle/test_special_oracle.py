"""The special functions (lgamma, digamma, polygamma, mvlgamma, i0, sinc, logit, deg2rad,
rad2deg) and torch.special against torch: float64 accuracy over wide ranges (negative
non-integers, large x, near poles), special values, gradients, dtypes, in-place, out= and
errors."""

import math

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)
NEG_INT = np.arange(-12.0, 0.0)
# wide: uniform, tiny and huge magnitudes, near the poles and between them
WIDE = np.concatenate([
    RNG.uniform(-40, 40, 400), RNG.uniform(0, 3, 200), 10 ** RNG.uniform(-300, 300, 100),
    -RNG.uniform(0, 60, 100), NEG_INT + 1e-9, NEG_INT - 1e-7, NEG_INT + 0.5, NEG_INT + 0.25,
    [1e-320, 0.5, 1.0, 2.0, 3.0, 10.0, 1e17, 1e300],
])
SPECIAL = np.array([0.0, -0.0, -1.0, -2.0, 1.0, 2.0, np.inf, -np.inf, np.nan])
X = RNG.uniform(0.2, 4.0, (3, 4))
SIGNED = RNG.uniform(-3.0, 3.0, (3, 4))


def _values(fn, x, rtol, atol=0.0):
    ours = fn(dt, dt.tensor(x)).numpy()
    theirs = fn(torch, torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))


# --------------------------------------------------------------------------- float64 accuracy

def test_lgamma_accuracy():
    # reflection below -0.5 cancels near the negative roots (lgamma ~ 0): absolute 1e-14 there
    _values(lambda lib, x: lib.lgamma(x), WIDE, rtol=1e-14, atol=1e-14)


def test_lgamma_near_the_roots_1_and_2():
    x = np.concatenate([1 + 10.0 ** -np.arange(1, 16), 2 - 10.0 ** -np.arange(1, 16),
                        1 - 10.0 ** -np.arange(1, 16), 2 + 10.0 ** -np.arange(1, 16)])
    _values(lambda lib, x: lib.lgamma(x), x, rtol=1e-14)


def test_digamma_accuracy():
    # digamma crosses zero near 1.4616: absolute tolerance there
    _values(lambda lib, x: lib.digamma(x), WIDE, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_polygamma_accuracy(n):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-20, 20, 200), rng.uniform(0, 3, 100),
                        10 ** rng.uniform(-5, 5, 100), NEG_INT + 0.25, NEG_INT + 0.7])
    # (at half-integers odd orders cancel to tiny values: torch is off by 1e-5 there)
    _values(lambda lib, x: lib.polygamma(n, x), x, rtol=1e-13, atol=1e-13)


def test_trigamma_exact_values():
    rng = np.random.default_rng(2)
    # torch's own trigamma truncates its series (about 1e-9 relative): check known values
    x = dt.tensor([1.0, 0.5, -0.5, 2.0, 1.5], dtype=dt.float64)
    pi2 = math.pi ** 2
    expected = [pi2 / 6, pi2 / 2, pi2 / 2 + 4, pi2 / 6 - 1, pi2 / 2 - 4]
    np.testing.assert_allclose(dt.polygamma(1, x).numpy(), expected, rtol=1e-14)
    wide = np.concatenate([rng.uniform(-20, 20, 200), 10 ** rng.uniform(-5, 5, 100)])
    _values(lambda lib, x: lib.polygamma(1, x), wide, rtol=1e-8)


def test_zeta_accuracy():
    rng = np.random.default_rng(3)
    s = np.concatenate([rng.uniform(1.01, 20, 300), np.round(rng.uniform(2, 12, 100))])
    q = np.concatenate([rng.uniform(0.01, 30, 300), -rng.uniform(0, 30, 100)])
    ours = dt.special.zeta(dt.tensor(s), dt.tensor(q)).numpy()
    theirs = torch.special.zeta(torch.tensor(s), torch.tensor(q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    # known values: zeta(2) = pi^2/6, zeta(4, 1) = pi^4/90, zeta(2, 0.5) = pi^2/2
    got = dt.special.zeta(dt.tensor([2.0, 4.0, 2.0], dtype=dt.float64),
                          dt.tensor([1.0, 1.0, 0.5], dtype=dt.float64)).numpy()
    np.testing.assert_allclose(got, [math.pi ** 2 / 6, math.pi ** 4 / 90, math.pi ** 2 / 2],
                               rtol=1e-15)


def test_zeta_special_values():
    s = np.array([1.0, 0.5, 2.0, 2.0, 2.5, 3.0, np.nan, 2.0])
    q = np.array([1.0, 1.0, 0.0, -1.0, -2.5, -2.5, 1.0, np.nan])
    check(lambda lib, s, q: lib.special.zeta(s, q), s, q, grad=False)


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e"])
def test_bessel_accuracy(name):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.uniform(-40, 40, 400), rng.uniform(-3, 3, 100),
                        10 ** rng.uniform(-300, 2.8, 100), [0.0, 20.0, -20.0, 700.0, 800.0]])
    _values(lambda lib, x: getattr(lib.special, name)(x), x, rtol=1e-14)


def test_erfcx_log_ndtr_ndtri_accuracy():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-26, 30, 400), rng.uniform(-3, 3, 200),
                        10 ** rng.uniform(-300, 300, 100), [0.0, 1.25, 28.0, -26.0]])
    _values(lambda lib, x: lib.special.erfcx(x), x, rtol=1e-14)
    both = np.concatenate([x, -x])
    _values(lambda lib, x: lib.special.log_ndtr(x), both, rtol=1e-14)
    # ndtr is (1 + erf(x/sqrt 2)) / 2 in torch: it cancels in the left tail
    _values(lambda lib, x: lib.special.ndtr(x), both, rtol=1e-14, atol=1e-15)
    p = np.concatenate([rng.uniform(0, 1, 400), 10 ** rng.uniform(-320, 0, 200),
                        1 - 10 ** rng.uniform(-16, 0, 100), [5e-324, 1e-300, 0.5]])
    _values(lambda lib, p: lib.special.ndtri(p), p, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0", "sinc", "deg2rad", "rad2deg"])
def test_unary_special_values(name):
    check(lambda lib, x: getattr(lib, name)(x), SPECIAL, grad=False)


@pytest.mark.parametrize("name", ["entr", "erfcx", "ndtri", "log_ndtr", "ndtr", "i0e", "i1",
                                  "i1e", "expit", "gammaln", "psi"])
def test_special_namespace_special_values(name):
    values = np.concatenate([SPECIAL, [0.5, 1e-300, -5.0, 40.0, -40.0, 1e300]])
    check(lambda lib, x: getattr(lib.special, name)(x), values, grad=False)


def test_polygamma_special_values():
    for n in (0, 2, 3):
        check(lambda lib, x, n=n: lib.polygamma(n, x), SPECIAL[[0, 2, 4, 6, 7, 8]],
              grad=False)


def test_sinc_logit_values():
    check(lambda lib, x: lib.sinc(x), np.array([0.0, 1.0, 2.5, -3.0, 1e20, 1e-30]), grad=False)
    p = np.array([0.0, 1.0, -1.0, 0.5, 0.05, 0.999, 2.0, np.nan])
    check(lambda lib, x: lib.logit(x), p, grad=False)
    check(lambda lib, x: lib.logit(x, eps=0.1), p, grad=False)
    check(lambda lib, x: lib.special.logit(x, 1e-6), p, grad=False)


# --------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0", "sinc", "deg2rad", "rad2deg"])
def test_unary_gradients(name):
    check(lambda lib, x: getattr(lib, name)(x), X)
    check(lambda lib, x: getattr(x, name)(), SIGNED + 0.01)


def test_digamma_gradient_uses_trigamma():
    # torch's trigamma is accurate to about 1e-9
    check(lambda lib, x: lib.digamma(x), SIGNED + 0.01, rtol=1e-8)


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_polygamma_gradient(n):
    check(lambda lib, x: lib.polygamma(n, x), X, rtol=1e-8)
    check(lambda lib, x: x.polygamma(n), X, rtol=1e-8)


@pytest.mark.parametrize("p", [1, 2, 5])
def test_mvlgamma(p):
    x = X + (p - 1) / 2
    check(lambda lib, x: lib.mvlgamma(x, p), x)
    check(lambda lib, x: x.mvlgamma(p=p), x)
    check(lambda lib, x: lib.special.multigammaln(x, p), x)


def test_logit_gradients():
    p = np.array([[0.05, 0.3, 0.5, 0.97], [0.01, 0.2, 0.6, 0.9]])
    check(lambda lib, x: lib.logit(x), p)
    check(lambda lib, x: lib.logit(x, eps=0.1), p)
    check(lambda lib, x: x.logit(0.25), p)
    outside = np.array([-0.5, 1.5, 0.5])
    check(lambda lib, x: lib.logit(x), outside)           # NaN gradient outside [0, 1]
    check(lambda lib, x: lib.logit(x, 0.2), outside)      # zero gradient outside [eps, 1-eps]


@pytest.mark.parametrize("name", ["i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtr", "entr",
                                  "expit", "gammaln", "psi", "sinc", "i0", "erf", "erfc",
                                  "expm1", "exp2", "log1p"])
def test_special_gradients(name):
    rng = np.random.default_rng(6)
    check(lambda lib, x: getattr(lib.special, name)(x), SIGNED)
    big = np.concatenate([rng.uniform(-30, 30, 10), [0.0, 25.0]])
    if name in ("i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtr"):
        check(lambda lib, x: getattr(lib.special, name)(x), big)


def test_ndtri_gradient():
    check(lambda lib, x: lib.special.ndtri(x), np.array([1e-10, 0.01, 0.3, 0.5, 0.8, 0.999]))


def test_entr_gradient_at_zero_and_below():
    check(lambda lib, x: lib.special.entr(x), np.array([0.0, -1.0, 2.0, 0.5]))


def test_xlog1py():
    rng = np.random.default_rng(7)
    x = np.array([[0.0, 0.0, 1.5, -2.0], [3.0, 0.0, 0.7, 1.0]])
    y = np.array([[-1.0, 0.5, 0.2, 3.0], [-0.5, np.nan, -1.0, -2.0]])
    check(lambda lib, x, y: lib.special.xlog1py(x, y), x, y)
    check(lambda lib, x, y: lib.special.xlog1py(x, y), X, rng.uniform(-0.5, 2, (4,)))
    check(lambda lib, x: lib.special.xlog1py(x, 2.5), x)
    check(lambda lib, y: lib.special.xlog1py(3, y), X)
    check(lambda lib, x, y: lib.special.xlog1py(x, y), np.array([1, 0, 2]), np.array([3, 4, 0]),
          grad=False)
    check(lambda lib, x: lib.special.xlogy(x, 2), np.array([0.0, 2.0]))


def test_zeta_gradient_in_q_only():
    s = np.array([2.0, 3.5, 5.0])
    check(lambda lib, q: lib.special.zeta(lib.tensor([2.0, 3.5, 5.0], dtype=lib.float64), q),
          np.array([0.5, 2.0, 7.0]))
    check(lambda lib, q: lib.special.zeta(3, q), np.array([0.5, 2.0, 7.0]))
    ours = dt.special.zeta(dt.tensor(s, requires_grad=True), 2.0)
    assert ours.grad_fn.name() == "SpecialZetaBackward2"
    with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented"):
        ours.sum().backward()


def test_grad_fn_names():
    x = dt.tensor([0.5, 1.5], requires_grad=True)
    t = torch.tensor([0.5, 1.5], requires_grad=True)
    pairs = [
        (lambda lib, v: lib.lgamma(v)), (lambda lib, v: lib.digamma(v)),
        (lambda lib, v: lib.polygamma(2, v)), (lambda lib, v: lib.mvlgamma(v + 1, 2)),
        (lambda lib, v: lib.i0(v)), (lambda lib, v: lib.sinc(v)), (lambda lib, v: lib.logit(v)),
        (lambda lib, v: lib.deg2rad(v)), (lambda lib, v: lib.rad2deg(v)),
        (lambda lib, v: lib.special.i0e(v)), (lambda lib, v: lib.special.i1(v)),
        (lambda lib, v: lib.special.i1e(v)), (lambda lib, v: lib.special.erfcx(v)),
        (lambda lib, v: lib.special.log_ndtr(v)), (lambda lib, v: lib.special.ndtri(v / 2)),
        (lambda lib, v: lib.special.entr(v)), (lambda lib, v: lib.special.xlog1py(v, v)),
        (lambda lib, v: lib.special.xlog1py(2.0, v)), (lambda lib, v: lib.special.zeta(2, v)),
    ]
    for fn in pairs:
        assert fn(dt, x).grad_fn.name() == fn(torch, t).grad_fn.name()


# --------------------------------------------------------------------------- dtypes, shapes

@pytest.mark.parametrize("name", ["lgamma", "digamma", "i0", "sinc", "logit", "deg2rad",
                                  "rad2deg"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float32, np.float16])
def test_unary_dtypes(name, dtype):
    x = np.array([[0, 1, 3], [2, 1, 0]]).astype(dtype)
    tol = 2e-3 if dtype == np.float16 else 1e-6
    check(lambda lib, x: getattr(lib, name)(x), x, grad=False, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["entr", "erfcx", "ndtri", "log_ndtr", "ndtr", "i0e", "i1",
                                  "i1e", "gammaln"])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float32])
def test_special_dtypes(name, dtype):
    x = np.array([[0, 1, 3], [2, 1, 0]]).astype(dtype)
    check(lambda lib, x: getattr(lib.special, name)(x), x, grad=False, rtol=1e-6, atol=1e-6)


def test_float32_inputs_and_gradients():
    x = X.astype(np.float32)
    for fn in (lambda lib, v: lib.lgamma(v), lambda lib, v: lib.polygamma(3, v),
               lambda lib, v: lib.special.i1e(v), lambda lib, v: lib.special.erfcx(v),
               lambda lib, v: lib.special.zeta(3.0, v)):
        check(fn, x, rtol=1e-5, atol=1e-6)


def test_polygamma_and_mvlgamma_dtypes():
    check(lambda lib, x: lib.polygamma(2, x), np.array([1, 2, 3]), grad=False)
    check(lambda lib, x: lib.mvlgamma(x, 3), np.array([3, 4]), grad=False, rtol=1e-6)
    check(lambda lib, s, q: lib.special.zeta(s, q), np.array([2, 3]), np.array([1, 2]),
          grad=False, rtol=1e-6)
    check(lambda lib, q: lib.special.zeta(2, q), np.array([1, 2]), grad=False, rtol=1e-6)
    check(lambda lib, s: lib.special.zeta(s, 2), np.array([2, 3]), grad=False, rtol=1e-6)


def test_empty_zero_dim_and_broadcasting():
    check(lambda lib, x: lib.lgamma(x), np.zeros((2, 0)), grad=False)
    check(lambda lib, x: lib.polygamma(1, x), np.zeros((0,)), grad=False)
    check(lambda lib, x: lib.special.ndtri(x), np.zeros((0, 3)), grad=False)
    check(lambda lib, x: lib.digamma(x), np.array(2.5))
    check(lambda lib, x: lib.special.i1(x), np.array(-1.5))
    check(lambda lib, x: lib.mvlgamma(x, 2), np.array(3.5))
    check(lambda lib, s, q: lib.special.zeta(s, q), np.array([[2.0], [3.0]]),
          np.array([0.5, 1.0, 4.0]), grad=False)
    check(lambda lib, x, y: lib.special.xlog1py(x, y), X, np.array(0.5))


# --------------------------------------------------------------------------- in-place and out=

@pytest.mark.parametrize("name", ["lgamma_", "digamma_", "i0_", "sinc_", "deg2rad_",
                                  "rad2deg_", "logit_"])
def test_inplace_methods(name):
    check(lambda lib, x: getattr(x * 0.5, name)(), X)


def test_inplace_with_arguments_and_torch_level():
    check(lambda lib, x: (x * 1).polygamma_(2), X)
    check(lambda lib, x: (x + 1).mvlgamma_(2), X)
    check(lambda lib, x: (x / 5).logit_(eps=0.1), X)
    check(lambda lib, x: lib.i0_(x * 1), X)
    check(lambda lib, x: lib.sinc_(x * 1), X)
    check(lambda lib, x: lib.logit_(x / 5, 0.1), X)
    check(lambda lib, x: lib.deg2rad_(x * 1), X)
    check(lambda lib, x: lib.rad2deg_(x * 1), X)
    assert_same_error(lambda lib: lib.tensor([1, 2]).lgamma_())
    assert_same_error(lambda lib: lib.tensor([1, 2]).polygamma_(1))


def test_out():
    for lib in (dt, torch):
        x = lib.tensor([0.5, 2.5], dtype=lib.float64)
        out = lib.empty(2, dtype=lib.float64)
        assert lib.lgamma(x, out=out) is out
        lib.polygamma(2, x, out=out)
        np.testing.assert_allclose(out.numpy(), torch.polygamma(2, torch.tensor(
            [0.5, 2.5], dtype=torch.float64)).numpy(), rtol=1e-14)
    ours = dt.empty(2, dtype=dt.float32)
    dt.special.entr(dt.tensor([0.5, 2.0]), out=ours)
    np.testing.assert_allclose(ours.numpy(), [0.34657359, -1.38629436], rtol=1e-6)
    ours64 = dt.empty(2, dtype=dt.float64)
    dt.special.zeta(dt.tensor([2.0, 4.0], dtype=dt.float64), 1.0, out=ours64)
    np.testing.assert_allclose(ours64.numpy(), [math.pi ** 2 / 6, math.pi ** 4 / 90],
                               rtol=1e-15)
    assert_same_error(lambda lib: lib.lgamma(lib.tensor([1.5]), out=lib.empty(1,
                                                                              dtype=lib.int64)))


# --------------------------------------------------------------------------- errors and namespace

def test_errors():
    assert_same_error(lambda lib: lib.polygamma(-1, lib.tensor([1.0])))
    assert_same_error(lambda lib: lib.mvlgamma(lib.tensor([3.0]), 0))
    assert_same_error(lambda lib: lib.special.ndtri(lib.tensor([0.5], dtype=lib.float16)))
    assert_same_error(lambda lib: lib.special.erfcx(lib.tensor([0.5], dtype=lib.float16)))
    assert_same_error(lambda lib: lib.special.log_ndtr(lib.tensor([0.5], dtype=lib.float16)))
    assert_same_error(lambda lib: lib.lgamma(2.0))
    assert_same_error(lambda lib: lib.special.zeta(lib.tensor([2.0], dtype=lib.float16), 1.0))
    assert_same_error(lambda lib: lib.special.zeta(2, lib.tensor([2.0], dtype=lib.bfloat16)))
    for fn in (lambda lib: lib.special.zeta(2, 3), lambda lib: lib.special.xlog1py(2, 3)):
        ours, theirs = [type(e).__name__ if e is not None else None
                        for e in _raised(fn)]
        assert ours == theirs == "TypeError"


def _raised(fn):
    out = []
    for lib in (dt, torch):
        try:
            fn(lib)
        except Exception as err:  # noqa: BLE001 - compared by the caller
            out.append(err)
        else:
            out.append(None)
    return out


def test_special_namespace():
    ours = set(dt.special.__all__)
    assert ours <= set(dir(torch.special))
    for name in ours:
        assert callable(getattr(dt.special, name)), name
    assert dt.special.gammaln is dt.lgamma
    assert dt.special.psi is dt.digamma
    assert dt.special.expit is dt.sigmoid
    assert dt.special.multigammaln is dt.mvlgamma
    assert dt.special.logsumexp is dt.logsumexp
    for name in ("lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc", "logit",
                 "deg2rad", "rad2deg"):
        assert hasattr(dt.Tensor, name) and hasattr(dt.Tensor, name + "_"), name


def test_special_aliases_of_existing_functions():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4))
    check(lambda lib, x: lib.special.softmax(x, 1), x)
    check(lambda lib, x: lib.special.log_softmax(x, 0, dtype=lib.float32), x, rtol=1e-6)
    check(lambda lib, x: lib.special.logsumexp(x, 1, keepdim=True), x)
    check(lambda lib, x: lib.special.round(x * 10), x)
    check(lambda lib, x: lib.special.erfinv(x / 4), x)
    check(lambda lib, x: lib.special.exp2(x), x)


@pytest.mark.parametrize("name", ["modified_bessel_i0", "modified_bessel_i1",
                                  "spherical_bessel_j0"])
def test_gradient_free_functions(name):
    rng = np.random.default_rng(9)
    x = np.concatenate([rng.uniform(-50, 50, 300), rng.uniform(-1, 1, 200),
                        10 ** rng.uniform(-300, 2.8, 100), SPECIAL, [0.5, -0.5, 0.4999]])
    _values(lambda lib, x: getattr(lib.special, name)(x), x, rtol=1e-14)
    for lib in (dt, torch):
        t = lib.tensor([0.5, 2.0], requires_grad=True)
        result = getattr(lib.special, name)(t)
        assert not result.requires_grad and result.grad_fn is None
    check(lambda lib, x: getattr(lib.special, name)(x), np.array([0, 1, 3]), grad=False)
    check(lambda lib, x: getattr(lib.special, name)(x), np.array([True]), grad=False)
    assert_same_error(lambda lib: getattr(lib.special, name)(lib.tensor([1.0],
                                                                         dtype=lib.float16)))
