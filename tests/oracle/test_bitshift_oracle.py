"""bitwise_left_shift / bitwise_right_shift (functions, methods, in-place forms and the
``<<``/``>>`` operators, including negative and too-large shift counts) and frexp against
torch."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

INT_DTYPES = ["int8", "uint8", "int16", "int32", "int64"]


def _values(dtype):
    return np.array([1, -8, 5, 127, 0, 3, -1, 100], dtype=np.int64).astype(dtype)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_tensor_shift_counts(dtype):
    bits = np.dtype(dtype).itemsize * 8
    counts = np.array([0, 1, 3, bits - 1, bits, bits + 1, -1, 64]).astype(dtype)
    check(lambda lib, x, n: (x << n, x >> n, lib.bitwise_left_shift(x, n),
                             x.bitwise_right_shift(n)), _values(dtype), counts)


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_scalar_shift_counts(dtype):
    bits = np.dtype(dtype).itemsize * 8
    for k in (0, 1, 3, bits - 1, bits, bits + 5, -1, -100, 64, 200):
        check(lambda lib, x, k=k: (x << k, x >> k, lib.bitwise_left_shift(x, k),
                              lib.bitwise_right_shift(x, k)), _values(dtype))
        # a number shifted by a tensor: the tensor's dtype
        check(lambda lib, x, k=k: (k << x[:3].abs(), lib.bitwise_right_shift(k, x[:3].abs())),
              _values(dtype))


def test_promotion_broadcasting_and_scalars():
    small = np.array([1, 2, 3], dtype=np.int8)
    check(lambda lib, x, n: (x << n, x >> n), small, np.array([[1], [2]], dtype=np.int64))
    check(lambda lib, x, n: (x << n, n >> x), small, np.array([3, 2, 1], dtype=np.uint8))
    check(lambda lib, x: (x << 1, x >> 1), np.array([True, False]))
    check(lambda lib, x: (x << 2, x >> 1), np.array(5, dtype=np.int16))
    check(lambda lib, x: (x << 2, x >> 1), np.zeros((0, 3), dtype=np.int32))
    check(lambda lib, x: lib.bitwise_left_shift(3, x), np.array([1, 2]))
    check(lambda lib, x: x << np.int64(2), np.array([1, 2]))


def test_inplace_forms_and_out():
    def fn(lib, x):
        a, b, c, d = x.clone(), x.clone(), x.clone(), x.clone()
        a <<= 2
        b >>= 1
        c.bitwise_left_shift_(3)
        d.bitwise_right_shift_(lib.tensor([1, 0, 2]))
        out = lib.zeros(3, dtype=lib.int64)
        lib.bitwise_left_shift(x, 1, out=out)
        e = x.to(lib.int8)
        e <<= lib.tensor([1, 6, 9])          # computed in int64, written back as int8
        return a, b, c, d, out, e
    check(fn, np.array([1, -2, 7]))
    x = dt.tensor([1, 2])
    same = x
    x <<= 1
    assert x is same and x.tolist() == [2, 4]


@pytest.mark.parametrize("fn", [
    lambda lib: lib.tensor([1.0, 2.0]) << 1,
    lambda lib: lib.tensor([1, 2]) << 1.5,
    lambda lib: lib.tensor([1.0]) >> lib.tensor([1]),
    lambda lib: lib.tensor([True]) << lib.tensor([True]),
    lambda lib: lib.bitwise_right_shift(lib.tensor([1.0]), 1),
    lambda lib: lib.tensor([1, 2]) >> lib.tensor([1, 2, 3]),
    lambda lib: lib.tensor([1, 2]) << "a",
    lambda lib: lib.tensor([1, 2]).__ilshift__(lib.tensor([1.0, 2.0])),
])
def test_shift_errors(fn):
    assert_same_error(fn)


# --------------------------------------------------------------------------- frexp

def test_frexp_values():
    special = np.array([0.0, -0.0, 1.0, -3.5, 1e-310, np.inf, -np.inf, np.nan, 7.25, 1e300])
    check(lambda lib, x: lib.frexp(x), special, grad=False)
    check(lambda lib, x: x.frexp(), np.random.default_rng(0).standard_normal((3, 4)))
    check(lambda lib, x: lib.frexp(x), np.array(0.75))
    check(lambda lib, x: lib.frexp(x), np.zeros((2, 0)))


def test_frexp_gradient():
    check(lambda lib, x: lib.frexp(x * 3), np.array([0.1, 1.0, -3.5, 7.25, 1e30]))
    check(lambda lib, x: lib.frexp(x).mantissa * 2, np.array([[0.3, 12.0], [-0.01, 5.0]]))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_frexp_dtypes(dtype):
    values = [0.3, -5.0, 1e-3, 6.5e4, 0.0]
    ours = dt.frexp(dt.tensor(values).to(getattr(dt, dtype)))
    theirs = torch.frexp(torch.tensor(values).to(getattr(torch, dtype)))
    assert str(ours.mantissa.dtype) == str(theirs.mantissa.dtype)
    assert str(ours.exponent.dtype) == str(theirs.exponent.dtype) == "torch.int32"
    assert ours.mantissa.float().tolist() == theirs.mantissa.float().tolist()
    assert ours.exponent.tolist() == theirs.exponent.tolist()


def test_frexp_out():
    def fn(lib, x):
        m, e = lib.zeros(0, dtype=lib.float64), lib.zeros(0, dtype=lib.int32)
        lib.frexp(x, out=(m, e))
        return m, e
    check(fn, np.array([3.0, -0.125]), grad=False)


def test_frexp_errors():
    assert_same_error(lambda lib: lib.frexp(lib.tensor([1, 2])))
