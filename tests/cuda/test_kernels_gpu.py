"""Each CUDA kernel wrapper against its NumPy twin on random inputs (skipped without a GPU).

float32 and float64 everywhere, float16 (and bfloat16 where CuPy takes ml_dtypes' bfloat16)
for the families that provide them. Dropout masks, Philox words, pooling indices and im2col
are compared bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from dist_torch.backend import cuda_kernels as K
from dist_torch.backend import kernel_twins as T
from tests.fake_cupy import needs_real_cuda

pytestmark = [pytest.mark.cuda, needs_real_cuda]  # kernels vs twins: twins both sides emulated

try:
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dev dependency
    _BF16 = None

F64, F32, F16 = np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16)
FULL = [F64, F32]
LOW = FULL + [F16, "bfloat16"]
TOL = {F64: 1e-12, F32: 1e-5, F16: 2e-3, "bfloat16": 2e-2}


def _dtype(cp, name):
    """The NumPy dtype for a parameter, skipping bfloat16 where CuPy does not take it."""
    if name != "bfloat16":
        return np.dtype(name)
    if _BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    try:
        cp.asarray(np.zeros(2, _BF16)).get()
    except Exception as exc:  # CuPy without bfloat16 support
        pytest.skip(f"CuPy does not take bfloat16 arrays: {exc}")
    return _BF16


def _tol(dtype):
    return TOL["bfloat16" if dtype == _BF16 and _BF16 is not None else dtype]


def _rand(shape, dtype, seed=0, scale=1.0, loc=0.0):
    return np.random.default_rng(seed).normal(loc, scale, size=shape).astype(dtype)


def _host(a):
    return None if a is None else (a.get() if hasattr(a, "get") else np.asarray(a))


def _dev(cp, a):
    return None if a is None else cp.asarray(a)


def _check(actual, expected, tol, exact=False):
    """Compare a kernel output (CuPy) with a twin output (NumPy), or None with None."""
    if expected is None:
        assert actual is None
        return
    a = _host(actual)
    assert a.shape == expected.shape and a.dtype == expected.dtype
    if exact:
        assert a.tobytes() == expected.tobytes()
    else:
        np.testing.assert_allclose(a.astype(np.float64), expected.astype(np.float64),
                                   rtol=tol, atol=tol, equal_nan=True)


# --------------------------------------------------------------------------- softmax, loss

@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", [(5, 37), (3, 1500), (2, 3, 10), (1, 1)])
@pytest.mark.parametrize("name", LOW)
def test_softmax(cp, name, shape, log):
    dtype = _dtype(cp, name)
    x = _rand(shape, dtype, scale=3)
    y = T.softmax_forward(x, log)
    _check(K.softmax_forward(cp.asarray(x), log), y, _tol(dtype))
    g = _rand(shape, dtype, seed=1)
    _check(K.softmax_backward(cp.asarray(g), cp.asarray(y), log), T.softmax_backward(g, y, log),
           4 * _tol(dtype))


def test_softmax_non_contiguous_input(cp):
    x = _rand((40, 6), F32)
    _check(K.softmax_forward(cp.asarray(x).T), T.softmax_forward(np.ascontiguousarray(x.T)),
           1e-6)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", LOW)
def test_cross_entropy(cp, name, weighted, smoothing, reduction):
    dtype = _dtype(cp, name)
    tol = _tol(dtype)
    rng = np.random.default_rng(2)
    x = _rand((33, 700), dtype, scale=2)
    t = rng.integers(0, 700, 33)
    t[[0, 7]] = -100
    w = rng.uniform(0.5, 2.0, 700).astype(dtype) if weighted else None
    args = (w, -100, smoothing, reduction)
    loss, lse, rw = T.cross_entropy_forward(x, t, *args)
    out = K.cross_entropy_forward(cp.asarray(x), cp.asarray(t), _dev(cp, w), *args[1:])
    for a, e in zip(out, (loss, lse, rw)):
        _check(a, e, tol)
    g = _rand(np.shape(loss), dtype, seed=3)
    gx = K.cross_entropy_backward(cp.asarray(g), cp.asarray(x), cp.asarray(t), cp.asarray(lse),
                                  cp.asarray(rw), _dev(cp, w), *args[1:])
    _check(gx, T.cross_entropy_backward(g, x, t, lse, rw, *args), 4 * tol)


# --------------------------------------------------------------------------- pooling

_MAX_CASES = [(2, None, 0, 1, False), (3, 2, 1, 1, True), ((3, 2), (2, 1), (1, 0), (2, 1), False),
              (3, 1, 1, 2, True), (2, 3, 1, 1, True)]


@pytest.mark.parametrize("case", _MAX_CASES, ids=str)
@pytest.mark.parametrize("dtype", FULL)
def test_max_pool2d(cp, dtype, case):
    x = _rand((2, 3, 17, 15), dtype, seed=4)
    x[0, 0, :3, :3] = 1.0
    x[1, 2, 4, 4] = np.nan
    y, idx = T.max_pool2d_forward(x, *case)
    ky, kidx = K.max_pool2d_forward(cp.asarray(x), *case)
    _check(ky, y, 0, exact=True)
    _check(kidx, idx, 0, exact=True)
    g = _rand(y.shape, dtype, seed=5)
    _check(K.max_pool2d_backward(cp.asarray(g), cp.asarray(idx), x.shape, *case),
           T.max_pool2d_backward(g, idx, x.shape, *case), _tol(dtype))


def test_max_pool2d_unbatched(cp):
    x = _rand((3, 9, 9), F32, seed=6)
    y, idx = T.max_pool2d_forward(x, 3, 2, 1)
    ky, kidx = K.max_pool2d_forward(cp.asarray(x), 3, 2, 1)
    _check(ky, y, 0, exact=True)
    _check(kidx, idx, 0, exact=True)


@pytest.mark.parametrize("divisor_override", [None, 5])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", [(2, None, 0, False), (3, 2, 1, True),
                                  ((3, 2), (2, 3), (1, 1), True), (4, 3, 2, True)], ids=str)
@pytest.mark.parametrize("dtype", FULL)
def test_avg_pool2d(cp, dtype, case, count_include_pad, divisor_override):
    x = _rand((2, 3, 13, 11), dtype, seed=7)
    opts = (count_include_pad, divisor_override)
    y = T.avg_pool2d_forward(x, *case, *opts)
    _check(K.avg_pool2d_forward(cp.asarray(x), *case, *opts), y, _tol(dtype))
    g = _rand(y.shape, dtype, seed=8)
    _check(K.avg_pool2d_backward(cp.asarray(g), x.shape, *case, *opts),
           T.avg_pool2d_backward(g, x.shape, *case, *opts), _tol(dtype))


# --------------------------------------------------------------------------- im2col

@pytest.mark.parametrize("layout", ["unfold", "gemm"])
@pytest.mark.parametrize("case", [(3, 1, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)),
                                  (4, 3, 2, 1)], ids=str)
@pytest.mark.parametrize("dtype", FULL)
def test_im2col_col2im(cp, dtype, case, layout):
    x = _rand((2, 3, 12, 9), dtype, seed=9)
    col = T.im2col(x, *case, layout=layout)
    _check(K.im2col(cp.asarray(x), *case, layout=layout), col, 0, exact=True)
    c = _rand(col.shape, dtype, seed=10)
    _check(K.col2im(cp.asarray(c), x.shape, *case, layout=layout),
           T.col2im(c, x.shape, *case, layout=layout), _tol(dtype))


# --------------------------------------------------------------------------- layer norm

@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("shape", [(6, 40), (4, 3, 1500), (2000, 64)])
@pytest.mark.parametrize("name", LOW)
def test_layer_norm(cp, name, shape, affine):
    dtype = _dtype(cp, name)
    tol = 4 * _tol(dtype)
    cols = shape[-1]
    x = _rand(shape, dtype, seed=11, loc=2)
    w = _rand(cols, dtype, seed=12) if affine != "none" else None
    b = _rand(cols, dtype, seed=13) if affine == "both" else None
    y, mean, rstd = T.layer_norm_forward(x, w, b, 1e-5)
    out = K.layer_norm_forward(cp.asarray(x), _dev(cp, w), _dev(cp, b), 1e-5)
    for a, e in zip(out, (y, mean, rstd)):
        _check(a, e, tol)
    g = _rand(shape, dtype, seed=14)
    expected = T.layer_norm_backward(g, x, mean, rstd, w, b)
    got = K.layer_norm_backward(cp.asarray(g), cp.asarray(x), cp.asarray(mean),
                                cp.asarray(rstd), _dev(cp, w), _dev(cp, b))
    _check(got[0], expected[0], tol)
    rows = x.size // cols
    for a, e in zip(got[1:], expected[1:]):  # column sums over many rows
        _check(a, e, tol * max(1.0, np.sqrt(rows) / 4))


# --------------------------------------------------------------------------- bias + activation

@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("act", list(T.ACTIVATIONS))
@pytest.mark.parametrize("name", LOW)
def test_bias_act(cp, name, act, with_bias):
    dtype = _dtype(cp, name)
    tol = _tol(dtype)
    x = _rand((37, 129), dtype, seed=15, scale=3)
    b = _rand(129, dtype, seed=16) if with_bias else None
    _check(K.bias_act_forward(cp.asarray(x), _dev(cp, b), act), T.bias_act_forward(x, b, act),
           tol)
    g = _rand(x.shape, dtype, seed=17)
    gx, gb = K.bias_act_backward(cp.asarray(g), cp.asarray(x), _dev(cp, b), act)
    ex, eb = T.bias_act_backward(g, x, b, act)
    _check(gx, ex, 4 * tol)
    _check(gb, eb, 16 * tol)


# --------------------------------------------------------------------------- Philox, dropout

@pytest.mark.parametrize("n,seed,offset", [(1, 0, 0), (1003, 2**40 + 5, 2**33 + 1),
                                           (100_000, 42, 7)])
def test_philox_words_bit_identical(cp, n, seed, offset):
    _check(K.philox_words(n, seed, offset), T.philox_words(n, seed, offset), 0, exact=True)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("name", LOW)
def test_dropout_bit_identical(cp, name, p):
    dtype = _dtype(cp, name)
    x = _rand((7, 1001), dtype, seed=18)
    y, mask = T.dropout_forward(x, p, seed=123456789, offset=99)
    ky, kmask = K.dropout_forward(cp.asarray(x), p, seed=123456789, offset=99)
    _check(kmask, mask, 0, exact=True)
    _check(ky, y, 0, exact=True)
    g = _rand(x.shape, dtype, seed=19)
    _check(K.dropout_backward(cp.asarray(g), cp.asarray(mask), p), T.dropout_backward(g, mask, p),
           0, exact=True)


# --------------------------------------------------------------------------- optimizers

_SIZES = [(3, 4), (70001,), (5,), (0,), (40000,), (2, 2)]


def _state(cp, dtypes, seed):
    host = [_rand(s, d, seed=seed + i) for i, (s, d) in enumerate(zip(_SIZES, dtypes))]
    return host, [cp.asarray(a) for a in host]


@pytest.mark.parametrize("options", [dict(momentum=0.0),
                                     dict(momentum=0.9, dampening=0.2, weight_decay=0.1),
                                     dict(momentum=0.9, nesterov=True, maximize=True,
                                          weight_decay=0.01)], ids=str)
@pytest.mark.parametrize("dtypes", ["f32", "f64", "mixed"])
def test_sgd_multi_tensor(cp, dtypes, options):
    dts = {"f32": [F32] * 6, "f64": [F64] * 6, "mixed": [F32, F64] * 3}[dtypes]
    params, kparams = _state(cp, dts, 20)
    bufs, kbufs = [None] * 6, [None] * 6
    for step in range(3):
        grads, kgrads = _state(cp, dts, 100 + 10 * step)
        bufs = T.sgd_step(params, grads, bufs, lr=0.1, **options)
        kbufs = K.sgd_step(kparams, kgrads, kbufs, lr=0.1, **options)
    for i, d in enumerate(dts):
        _check(kparams[i], params[i], _tol(d))
        if options["momentum"]:
            _check(kbufs[i], bufs[i], _tol(d))


@pytest.mark.parametrize("options", [dict(), dict(amsgrad=True, weight_decay=0.1),
                                     dict(decoupled_weight_decay=True, weight_decay=0.1,
                                          maximize=True, amsgrad=True), dict(beta1=0.2)],
                         ids=str)
@pytest.mark.parametrize("dtypes", ["f32", "f64", "mixed"])
def test_adam_multi_tensor(cp, dtypes, options):
    dts = {"f32": [F32] * 6, "f64": [F64] * 6, "mixed": [F32, F64] * 3}[dtypes]
    kwargs = dict(beta1=0.9, beta2=0.999, eps=1e-8) | options
    params, kparams = _state(cp, dts, 30)
    state = [[np.zeros_like(p) for p in params] for _ in range(3)]
    kstate = [[cp.zeros_like(p) for p in kparams] for _ in range(3)]
    for step in range(1, 5):
        grads, kgrads = _state(cp, dts, 200 + 10 * step)
        steps = [step] * 6
        steps[0] = step + 3  # per-parameter step counts
        T.adam_step(params, grads, *state, steps, lr=0.01, **kwargs)
        K.adam_step(kparams, kgrads, *kstate, steps, lr=0.01, **kwargs)
    for i, d in enumerate(dts):
        _check(kparams[i], params[i], _tol(d))
        for j in range(3 if kwargs.get("amsgrad") else 2):
            _check(kstate[j][i], state[j][i], _tol(d))


def test_multi_tensor_refuses_mismatched_state(cp):
    p = cp.zeros(4, np.float32)
    with pytest.raises(ValueError, match="C-contiguous CuPy arrays"):
        K.sgd_step([p], [cp.zeros(4, np.float64)], [None], lr=0.1)


def test_modules_are_compiled_once_per_device(cp):
    K.get_kernel("softmax", "softmax_fwd_f32")
    K.get_kernel("softmax", "log_softmax_fwd_f64")
    device = cp.cuda.runtime.getDevice()
    assert sum(1 for family, dev in K._modules if family == "softmax" and dev == device) == 1
