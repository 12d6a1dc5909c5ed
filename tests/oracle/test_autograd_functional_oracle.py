"""torch.autograd.functional (vjp, jvp, jacobian) against torch: values, structure, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close

RNG = np.random.default_rng(0)
A = RNG.standard_normal((2, 3))
B = RNG.standard_normal(3)
S = np.array(0.7)


def same(ours, theirs):
    """Same nesting (tuple/list/dict), dtypes and values (float64 precision)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, dt.Tensor), f"expected a Tensor, got {type(ours).__name__}"
        assert str(ours.dtype) == str(theirs.dtype), f"dtype {ours.dtype} vs {theirs.dtype}"
        assert ours.requires_grad == theirs.requires_grad
        assert_close(ours, theirs, rtol=1e-6 if ours.dtype == dt.float32 else 1e-10,
                     atol=1e-6 if ours.dtype == dt.float32 else 1e-12, check_dtype=False)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for k in theirs:
            same(ours[k], theirs[k])
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs), f"{type(ours).__name__} vs {type(theirs).__name__}"
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            same(o, t)
    else:
        assert ours == theirs


def both(fn, *arrays, dtype=np.float64):
    """``fn(lib, *tensors)`` for dist_torch and torch; results compared with ``same``."""
    ours = fn(dt, *[dt.tensor(a.astype(dtype)) for a in arrays])
    theirs = fn(torch, *[torch.tensor(a.astype(dtype)) for a in arrays])
    same(ours, theirs)
    return ours


def errors_match(fn, *arrays, upto=None):
    """dist_torch and torch raise the same exception class with the same message (up to the
    first ``upto`` in it, where torch prints its own objects after that)."""
    with pytest.raises(Exception) as theirs:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(theirs.type) as ours:
        fn(dt, *[dt.tensor(a) for a in arrays])
    expected, got = str(theirs.value), str(ours.value)
    if upto is not None:
        assert upto in expected
        expected = expected[:expected.index(upto)]
        got = got[:len(expected)]
    assert got == expected


def f_single(lib, x):
    return (x.sin() * x).sum(-1)


def f_multi(lib, x, y):
    return (x * y).exp(), (x @ y).tanh(), y.sum() ** 2


# --- vjp -------------------------------------------------------------------------------------

def test_vjp_single_and_tuple_structure():
    v2 = RNG.standard_normal(2)
    both(lambda lib, x, v: lib.autograd.functional.vjp(lambda a: f_single(lib, a), x, v), A, v2)
    both(lambda lib, x, v: lib.autograd.functional.vjp(lambda a: f_single(lib, a), (x,), v),
         A, v2)
    vs = (RNG.standard_normal((2, 3)), RNG.standard_normal(2), np.array(1.3))
    both(lambda lib, x, y, *v: lib.autograd.functional.vjp(lambda a, b: f_multi(lib, a, b),
                                                           (x, y), v), A, B, *vs)


def test_vjp_scalar_output_without_v_and_float32():
    fn = lambda lib, x: lib.autograd.functional.vjp(lambda a: (a ** 3).sum(), x)  # noqa: E731
    both(fn, A)
    both(fn, A, dtype=np.float32)
    both(fn, S)


def test_vjp_unused_input_gets_zeros_and_strict_errors():
    fn = lambda lib, x, y: lib.autograd.functional.vjp(  # noqa: E731
        lambda a, b: a.sum() * 2, (x, y))
    both(fn, A, B)
    errors_match(lambda lib, x, y: lib.autograd.functional.vjp(
        lambda a, b: a.sum() * 2, (x, y), strict=True), A, B)
    errors_match(lambda lib, x: lib.autograd.functional.vjp(
        lambda a: lib.ones(()), x, strict=True), A)


def test_vjp_argument_errors():
    fv = lambda lib, x, v=None: lib.autograd.functional.vjp(  # noqa: E731
        lambda a: a * 2, x, v)
    errors_match(fv, A)                                   # v needed for a non-scalar output
    errors_match(fv, A, B)                                # wrong v size
    errors_match(lambda lib, x, y: lib.autograd.functional.vjp(
        lambda a: (a, a), x, (y,)), A, A)                 # wrong tuple length
    errors_match(lambda lib, x, y: lib.autograd.functional.vjp(
        lambda a: (a, a), x, (y, y[:1])), A, A)           # entry size
    errors_match(lambda lib, x: lib.autograd.functional.vjp(lambda a: [a], x, x), A)
    errors_match(lambda lib, x: lib.autograd.functional.vjp(lambda a: a, (x, 3), x), A)
    errors_match(lambda lib, x: lib.autograd.functional.vjp(lambda a: a, [x], x), A)


def test_vjp_does_not_touch_the_callers_tensors():
    x = dt.tensor(A, requires_grad=True)
    out, g = dt.autograd.functional.vjp(lambda a: (a * a).sum(), x)
    assert x.grad is None and not out.requires_grad and not g.requires_grad
    assert_close(g, 2 * A)


# --- jvp -------------------------------------------------------------------------------------

def test_jvp_values_and_structure():
    both(lambda lib, x, v: lib.autograd.functional.jvp(lambda a: f_single(lib, a), x, v),
         A, RNG.standard_normal((2, 3)))
    both(lambda lib, x, y, u, w: lib.autograd.functional.jvp(
        lambda a, b: f_multi(lib, a, b), (x, y), (u, w)), A, B, A * 0.5, B - 1)
    both(lambda lib, x, y, u, w: lib.autograd.functional.jvp(
        lambda a, b: f_multi(lib, a, b), (x, y), (u, w)), A, B, A * 0.5, B - 1,
         dtype=np.float32)
    both(lambda lib, s: lib.autograd.functional.jvp(lambda a: a.exp() * 3, s), S)


def test_jvp_unreached_output_is_zero_and_errors():
    fn = lambda lib, x, y: lib.autograd.functional.jvp(  # noqa: E731
        lambda a, b: (a * 2, lib.ones(2)), (x, y), (x, y))
    both(fn, A, B)
    errors_match(lambda lib, x: lib.autograd.functional.jvp(lambda a: a * 2, x), A)
    errors_match(lambda lib, x, v: lib.autograd.functional.jvp(lambda a: a * 2, x, v), A, B)
    errors_match(lambda lib, x, y: lib.autograd.functional.jvp(
        lambda a, b: a * 2, (x, y), (x, y), strict=True), A, B)
    errors_match(lambda lib, x, y: lib.autograd.functional.jvp(
        lambda a, b: a * 2, (x, y), (x,)), A, B)


# --- jacobian --------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"vectorize": True},
                                {"vectorize": True, "strategy": "forward-mode"}])
def test_jacobian_all_structures(kw):
    J = lambda lib: lib.autograd.functional.jacobian  # noqa: E731
    both(lambda lib, x: J(lib)(lambda a: f_single(lib, a), x, **kw), A)
    both(lambda lib, x: J(lib)(lambda a: f_single(lib, a), (x,), **kw), A)
    both(lambda lib, x: J(lib)(lambda a: (f_single(lib, a), a.sum()), x, **kw), A)
    both(lambda lib, x, y: J(lib)(lambda a, b: f_multi(lib, a, b), (x, y), **kw), A, B)
    both(lambda lib, x, y: J(lib)(lambda a, b: f_multi(lib, a, b), (x, y), **kw), A, B,
         dtype=np.float32)
    both(lambda lib, s: J(lib)(lambda a: a * a, s, **kw), S)


def test_jacobian_unused_input_and_constant_output_are_zeros():
    both(lambda lib, x, y: lib.autograd.functional.jacobian(
        lambda a, b: (a * 3, lib.zeros(2)), (x, y)), A, B)


def test_jacobian_errors():
    J = lambda lib: lib.autograd.functional.jacobian  # noqa: E731
    errors_match(lambda lib, x, y: J(lib)(lambda a, b: a * 3, (x, y), strict=True), A, B)
    errors_match(lambda lib, x: J(lib)(lambda a: lib.zeros(2), x, strict=True), A)
    errors_match(lambda lib, x: J(lib)(lambda a: a * 2, x, strict=True, vectorize=True), A)
    errors_match(lambda lib, x: J(lib)(lambda a: a * 2, x, strategy="forward-mode"), A)
    errors_match(lambda lib, x: J(lib)(lambda a: a * 2, x, strategy="forward-mode",
                                       vectorize=True, strict=True), A)
    errors_match(lambda lib, x: J(lib)(lambda a: a * 2, x, strategy="forward-mode",
                                       vectorize=True, create_graph=True), A)
    errors_match(lambda lib, x: J(lib)(lambda a: a * 2, x, strategy="sideways"), A)
    errors_match(lambda lib, x: J(lib)(lambda a: {"a": a}, x), A)


def test_double_backward_features_raise_not_implemented():
    x = dt.tensor(B)
    F = dt.autograd.functional
    for call in (lambda: F.hessian(lambda a: (a ** 3).sum(), x),
                 lambda: F.hvp(lambda a: (a ** 3).sum(), x, x),
                 lambda: F.vhp(lambda a: (a ** 3).sum(), x, x),
                 lambda: F.jacobian(lambda a: a ** 2, x, create_graph=True),
                 lambda: F.vjp(lambda a: a ** 2, x, x, create_graph=True)):
        with pytest.raises(NotImplementedError, match="double backward"):
            call()


def test_jacobian_and_vjp_with_empty_input():
    E, C = np.zeros(0), np.ones(2)
    both(lambda lib, e, c: lib.autograd.functional.jacobian(lambda a, b: a.sum() * b, (e, c)),
         E, C)
    both(lambda lib, e, c: lib.autograd.functional.vjp(lambda a, b: a.sum() * b, (e, c), c),
         E, C)
