"""The NumPy twins of the CUDA kernels against PyTorch (CPU) and hand-computed values.

These run everywhere (the torch-backed ones skip without torch); the GPU tests then hold each
kernel to its twin.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dist_torch.backend import kernel_twins as tw


def _rng(seed=0):
    return np.random.default_rng(seed)


def _t(torch, a, grad=False):
    return torch.tensor(a, requires_grad=grad)


def _close(actual, expected, rtol=1e-10, atol=1e-12):
    expected = expected.detach().numpy() if hasattr(expected, "detach") else expected
    assert actual.shape == tuple(expected.shape)
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)


# --------------------------------------------------------------------------- softmax

@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape", [(4, 7), (3, 2, 300), (1, 1)])
def test_softmax_matches_torch(torch, log, shape):
    x = _rng().normal(scale=4, size=shape)
    x.reshape(-1)[0] = 500.0  # large values stay finite
    xt = _t(torch, x, grad=True)
    ref = (torch.log_softmax if log else torch.softmax)(xt, -1)
    y = tw.softmax_forward(x, log)
    _close(y, ref)
    g = _rng(1).normal(size=shape)
    ref.backward(torch.tensor(g))
    _close(tw.softmax_backward(g, y, log), xt.grad)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_softmax_low_precision(torch, log, dtype):
    x = _rng().normal(scale=3, size=(5, 33)).astype(dtype)
    y = tw.softmax_forward(x, log)
    assert y.dtype == dtype
    ref = (torch.log_softmax if log else torch.softmax)(_t(torch, x.astype(np.float32)), -1)
    tol = 2e-3 if dtype == np.float16 else 1e-6
    _close(y, ref, rtol=tol, atol=tol)
    g = _rng(1).normal(size=x.shape).astype(dtype)
    gx = tw.softmax_backward(g, y, log)
    assert gx.dtype == dtype
    _close(gx, tw.softmax_backward(g.astype(np.float64), y.astype(np.float64), log),
           rtol=tol, atol=4 * tol)


def test_softmax_nan_row_and_empty():
    x = np.array([[1.0, np.nan, 2.0], [0.0, 0.0, np.log(2.0)]])
    y = tw.softmax_forward(x)
    assert np.isnan(y[0]).all()
    _close(y[1], np.array([0.25, 0.25, 0.5]))
    assert tw.softmax_forward(np.zeros((0, 3))).shape == (0, 3)


# --------------------------------------------------------------------------- cross-entropy

_XENT_CASES = list(itertools.product([False, True], [False, True], [0.0, 0.2],
                                     ["none", "mean", "sum"]))


@pytest.mark.parametrize("weighted,ignore,smoothing,reduction", _XENT_CASES)
def test_cross_entropy_matches_torch(torch, weighted, ignore, smoothing, reduction):
    rng = _rng(3)
    x = rng.normal(scale=2, size=(9, 6))
    t = rng.integers(0, 6, 9)
    if ignore:
        t[[1, 5]] = 3 if weighted else -1
    ignore_index = (3 if weighted else -1) if ignore else -100
    w = rng.uniform(0.2, 2.0, 6) if weighted else None
    loss, lse, row_weight = tw.cross_entropy_forward(x, t, w, ignore_index, smoothing, reduction)
    xt = _t(torch, x, grad=True)
    ref = torch.nn.functional.cross_entropy(
        xt, torch.tensor(t), None if w is None else torch.tensor(w), ignore_index=ignore_index,
        label_smoothing=smoothing, reduction=reduction)
    _close(loss, ref)
    _close(lse, torch.logsumexp(_t(torch, x), 1))
    assert lse.dtype == row_weight.dtype == np.float64
    g = rng.normal(size=ref.shape)
    ref.backward(torch.tensor(g))
    gx = tw.cross_entropy_backward(g, x, t, lse, row_weight, w, ignore_index, smoothing,
                                   reduction)
    _close(gx, xt.grad)


def test_cross_entropy_float32_and_all_ignored(torch):
    rng = _rng(4)
    x = rng.normal(size=(16, 10)).astype(np.float32)
    t = rng.integers(0, 10, 16)
    loss, lse, rw = tw.cross_entropy_forward(x, t, label_smoothing=0.1)
    assert loss.dtype == np.float32 and lse.dtype == np.float32
    ref = torch.nn.functional.cross_entropy(_t(torch, x), torch.tensor(t), label_smoothing=0.1)
    _close(loss, ref, rtol=1e-6, atol=1e-6)
    t[:] = -100  # every row ignored: a NaN mean (as torch) and a zero gradient
    loss, lse, rw = tw.cross_entropy_forward(x, t)
    assert np.isnan(loss)
    assert not tw.cross_entropy_backward(np.float32(1), x, t, lse, rw).any()


def test_cross_entropy_out_of_range_target_is_nan():
    loss, _, _ = tw.cross_entropy_forward(np.zeros((2, 3)), np.array([0, 7]), reduction="none")
    assert loss[0] == pytest.approx(np.log(3)) and np.isnan(loss[1])


def test_cross_entropy_backward_finite_differences():
    rng = _rng(5)
    x = rng.normal(size=(4, 5))
    t = np.array([0, 4, -100, 2])
    w = rng.uniform(0.5, 1.5, 5)
    args = (t, w, -100, 0.3, "mean")
    loss, lse, rw = tw.cross_entropy_forward(x, *args)
    gx = tw.cross_entropy_backward(np.float64(1), x, t, lse, rw, *args[1:])
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):  # a 20-element gradient check
        d = np.zeros_like(x)
        d[i] = 1e-6
        num[i] = (tw.cross_entropy_forward(x + d, *args)[0] -
                  tw.cross_entropy_forward(x - d, *args)[0]) / 2e-6
    _close(gx, num, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- pooling

_POOL_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((3, 2), (2, 1), (1, 0), (2, 1), False),
    (3, 1, 1, 2, True),
    (2, 3, 1, 1, True),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", _POOL_CASES)
def test_max_pool2d_matches_torch(torch, kernel, stride, padding, dilation, ceil_mode):
    x = _rng(6).normal(size=(2, 3, 9, 8))
    x[0, 0, :3, :3] = 1.0  # ties keep the first maximum
    xt = _t(torch, x, grad=True)
    ref, ref_idx = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, dilation,
                                                  ceil_mode, return_indices=True)
    y, idx = tw.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode)
    _close(y, ref, 0, 0)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    g = _rng(7).normal(size=y.shape)
    ref.backward(torch.tensor(g))
    gx = tw.max_pool2d_backward(g, idx, x.shape, kernel, stride, padding, dilation, ceil_mode)
    _close(gx, xt.grad)


def test_max_pool2d_nan_wins_and_unbatched(torch):
    x = _rng(8).normal(size=(2, 6, 6)).astype(np.float32)
    x[0, 1, 1] = x[0, 1, 2] = np.nan  # a NaN wins, a later NaN replaces it
    y, idx = tw.max_pool2d_forward(x, 3, 2, 1)
    ref, ref_idx = torch.nn.functional.max_pool2d(_t(torch, x), 3, 2, 1, return_indices=True)
    _close(y, ref, 0, 0)
    np.testing.assert_array_equal(idx, ref_idx.numpy())
    assert y.dtype == np.float32


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", [
    (2, None, 0, False), (3, 2, 1, False), (3, 2, 1, True), ((3, 2), (2, 3), (1, 1), True),
    (4, 3, 2, True)])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [None, 5])
def test_avg_pool2d_matches_torch(torch, kernel, stride, padding, ceil_mode, count_include_pad,
                                  divisor_override):
    x = _rng(9).normal(size=(2, 2, 9, 7))
    xt = _t(torch, x, grad=True)
    ref = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding, ceil_mode,
                                         count_include_pad, divisor_override)
    y = tw.avg_pool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad,
                              divisor_override)
    _close(y, ref)
    g = _rng(10).normal(size=y.shape)
    ref.backward(torch.tensor(g))
    _close(tw.avg_pool2d_backward(g, x.shape, kernel, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override), xt.grad)


def test_pool_geometry_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        tw.pool2d_geometry((1, 1, 5, 5), 2, 1, 2)
    with pytest.raises(RuntimeError, match="too small"):
        tw.pool2d_geometry((1, 1, 2, 2), 3, 1, 0)


# --------------------------------------------------------------------------- im2col

_CONV_CASES = [(3, 1, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 0), (2, 1)), (1, 1, 0, 1),
               (4, 3, 2, 1)]


@pytest.mark.parametrize("kernel,stride,padding,dilation", _CONV_CASES)
def test_im2col_col2im_match_unfold_fold(torch, kernel, stride, padding, dilation):
    x = _rng(11).normal(size=(2, 3, 8, 7))
    col = tw.im2col(x, kernel, stride, padding, dilation)
    ref = torch.nn.functional.unfold(_t(torch, x), kernel, dilation, padding, stride)
    _close(col, ref, 0, 0)
    c = _rng(12).normal(size=col.shape)
    back = tw.col2im(c, x.shape, kernel, stride, padding, dilation)
    _close(back, torch.nn.functional.fold(_t(torch, c), x.shape[2:], kernel, dilation, padding,
                                          stride))
    # the GEMM layout holds the same numbers as (C*kh*kw, N, L)
    gemm = tw.im2col(x, kernel, stride, padding, dilation, layout="gemm")
    _close(gemm, col.transpose(1, 0, 2).reshape(col.shape[1], -1), 0, 0)
    cg = c.transpose(1, 0, 2).reshape(gemm.shape)
    _close(tw.col2im(cg, x.shape, kernel, stride, padding, dilation, layout="gemm"), back, 0, 0)


def test_im2col_is_the_adjoint_of_col2im():
    rng = _rng(13)
    x = rng.normal(size=(1, 2, 6, 6))
    col = tw.im2col(x, 3, 2, 1, 1)
    c = rng.normal(size=col.shape)
    assert np.vdot(col, c) == pytest.approx(np.vdot(x, tw.col2im(c, x.shape, 3, 2, 1, 1)))
    with pytest.raises(ValueError, match="unknown layout"):
        tw.im2col(x, 3, layout="nchw")


# --------------------------------------------------------------------------- layer norm

@pytest.mark.parametrize("affine", ["none", "weight", "both"])
@pytest.mark.parametrize("shape", [(6, 10), (2, 3, 64)])
def test_layer_norm_matches_torch(torch, affine, shape):
    rng = _rng(14)
    x = rng.normal(loc=3, size=shape)
    cols = shape[-1]
    w = rng.normal(size=cols) if affine != "none" else None
    b = rng.normal(size=cols) if affine == "both" else None
    xt = _t(torch, x, grad=True)
    wt = None if w is None else _t(torch, w, grad=True)
    bt = None if b is None else _t(torch, b, grad=True)
    ref = torch.nn.functional.layer_norm(xt, (cols,), wt, bt, 1e-5)
    y, mean, rstd = tw.layer_norm_forward(x, w, b, 1e-5)
    _close(y, ref)
    _, ref_mean, ref_rstd = torch.native_layer_norm(_t(torch, x), (cols,), None, None, 1e-5)
    _close(mean, ref_mean.reshape(-1))
    _close(rstd, ref_rstd.reshape(-1))
    g = rng.normal(size=shape)
    ref.backward(torch.tensor(g))
    gx, gw, gb = tw.layer_norm_backward(g, x, mean, rstd, w, b)
    _close(gx, xt.grad, atol=1e-10)
    assert (gw is None) == (w is None) and (gb is None) == (b is None)
    if w is not None:
        _close(gw, wt.grad)
    if b is not None:
        _close(gb, bt.grad)


def test_layer_norm_half_computes_in_float(torch):
    x = _rng(15).normal(size=(4, 50)).astype(np.float16)
    w = np.ones(50, np.float16)
    y, mean, rstd = tw.layer_norm_forward(x, w, None)
    assert y.dtype == np.float16 and mean.dtype == rstd.dtype == np.float32
    ref = torch.nn.functional.layer_norm(_t(torch, x.astype(np.float32)), (50,))
    _close(y, ref, rtol=2e-3, atol=2e-3)


# --------------------------------------------------------------------------- bias + activation

def _torch_act(torch, act, v):
    f = torch.nn.functional
    return {"relu": f.relu, "gelu": f.gelu, "gelu_tanh": lambda z: f.gelu(z, approximate="tanh"),
            "silu": f.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
            "identity": lambda z: z}[act](v)


@pytest.mark.parametrize("act", list(tw.ACTIVATIONS))
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_act_matches_torch(torch, act, with_bias):
    rng = _rng(16)
    x = rng.normal(scale=3, size=(7, 12))
    x[0, :3] = [0.0, -0.0, 40.0]
    b = rng.normal(size=12) if with_bias else None
    if b is not None:
        b[0] = 0.0
    xt = _t(torch, x, grad=True)
    bt = None if b is None else _t(torch, b, grad=True)
    ref = _torch_act(torch, act, xt if bt is None else xt + bt)
    _close(tw.bias_act_forward(x, b, act), ref, rtol=1e-13, atol=1e-15)
    g = rng.normal(size=x.shape)
    ref.backward(torch.tensor(g))
    gx, gb = tw.bias_act_backward(g, x, b, act)
    _close(gx, xt.grad, rtol=1e-12, atol=1e-14)
    if b is None:
        assert gb is None
    else:
        _close(gb, bt.grad, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("act", ["relu", "gelu", "silu", "sigmoid"])
def test_bias_act_half(torch, act):
    rng = _rng(17)
    x = rng.normal(size=(3, 40)).astype(np.float16)
    b = rng.normal(size=40).astype(np.float16)
    y = tw.bias_act_forward(x, b, act)
    assert y.dtype == np.float16
    v = _t(torch, x.astype(np.float32)) + _t(torch, b.astype(np.float32))
    _close(y, _torch_act(torch, act, v), rtol=2e-3, atol=2e-3)
    gx, gb = tw.bias_act_backward(np.ones_like(x), x, b, act)
    assert gx.dtype == gb.dtype == np.float16


def test_bias_act_relu_nan_and_unknown_activation():
    y = tw.bias_act_forward(np.array([[np.nan, -1.0, 2.0]]), None, "relu")
    assert np.isnan(y[0, 0]) and list(y[0, 1:]) == [0.0, 2.0]
    with pytest.raises(ValueError, match="unknown activation"):
        tw.bias_act_forward(np.zeros((1, 1)), None, "swish")


# --------------------------------------------------------------------------- Philox, dropout

@pytest.mark.parametrize("counter,key,expected", [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_known_answers(counter, key, expected):
    """The Random123 known-answer vectors of Philox-4x32-10."""
    out = tw.philox4x32(np.array(counter), key)
    assert out.dtype == np.uint32
    assert tuple(int(v) for v in out) == expected


def test_philox_words_layout():
    words = tw.philox_words(10, seed=(7 << 32) | 5, offset=(3 << 32) | 2)
    block = tw.philox4x32(np.array([[0, 0, 2, 3], [1, 0, 2, 3], [2, 0, 2, 3]]), (5, 7))
    np.testing.assert_array_equal(words, block.reshape(-1)[:10])


def test_dropout_mask_is_a_function_of_seed_and_offset():
    x = np.ones(1001, np.float32)
    y1, m1 = tw.dropout_forward(x, 0.3, seed=42, offset=8)
    y2, m2 = tw.dropout_forward(x * 2, 0.3, seed=42, offset=8)
    np.testing.assert_array_equal(m1, m2)
    _, m3 = tw.dropout_forward(x, 0.3, seed=42, offset=9)
    _, m4 = tw.dropout_forward(x, 0.3, seed=43, offset=8)
    assert (m1 != m3).any() and (m1 != m4).any()
    assert m1.dtype == np.uint8 and set(np.unique(m1)) <= {0, 1}
    # the mask of a prefix is the prefix of the mask
    np.testing.assert_array_equal(tw.dropout_forward(x[:77], 0.3, 42, 8)[1], m1[:77])
    _close(y1, np.where(m1 == 1, np.float32(1 / 0.7), 0), 0, 0)


def test_dropout_state_array_replaces_seed_and_adds_to_offset():
    """Under CUDA graph capture the kernel reads (seed, base offset) from a device array."""
    x = np.ones(301, np.float32)
    seed, base = (9 << 40) | 17, (1 << 33) + 12
    state = np.array([seed, base], dtype=np.uint64)
    y, m = tw.dropout_forward(x, 0.4, seed=5, offset=8, state=state)
    y_ref, m_ref = tw.dropout_forward(x, 0.4, seed=seed, offset=base + 8)
    np.testing.assert_array_equal(m, m_ref)
    np.testing.assert_array_equal(y, y_ref)
    # the seed argument is ignored when a state array is given
    np.testing.assert_array_equal(tw.dropout_forward(x, 0.4, seed=6, offset=8, state=state)[1],
                                  m)
    # offsets wrap at 2**64 as the kernel's unsigned arithmetic does
    wrap = np.array([seed, 2**64 - 4], dtype=np.uint64)
    np.testing.assert_array_equal(tw.dropout_forward(x, 0.4, 0, 8, state=wrap)[1],
                                  tw.dropout_forward(x, 0.4, seed, 4)[1])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keep_rate_and_backward(p):
    x = _rng(18).normal(size=(100, 1000))
    y, mask = tw.dropout_forward(x, p, seed=1234)
    assert abs(mask.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / mask.size)
    _close(y, x * mask / (1 - p), rtol=1e-15, atol=0)
    g = _rng(19).normal(size=x.shape)
    _close(tw.dropout_backward(g, mask, p), g * mask / (1 - p), rtol=1e-15, atol=0)


def test_dropout_edges():
    x = np.array([1.0, np.nan, 3.0], np.float32)
    y, mask = tw.dropout_forward(x, 0.0, seed=0)
    assert mask.all() and np.isnan(y[1])
    y, mask = tw.dropout_forward(x, 1.0, seed=0)
    assert not mask.any() and y[0] == 0 and np.isnan(y[1])  # NaN * 0 stays NaN, as torch
    with pytest.raises(ValueError, match="between 0 and 1"):
        tw.dropout_forward(x, 1.5, seed=0)
    y16, _ = tw.dropout_forward(x.astype(np.float16), 0.5, seed=3)
    assert y16.dtype == np.float16


# --------------------------------------------------------------------------- optimizers

def test_multi_tensor_chunks():
    tensor, start = tw.multi_tensor_chunks([5, 0, 12, 4], 4)
    np.testing.assert_array_equal(tensor, [0, 0, 2, 2, 2, 3])
    np.testing.assert_array_equal(start, [0, 4, 0, 4, 8, 0])
    assert tensor.dtype == np.int32 and start.dtype == np.int64


def _params(dtype, seed=20):
    rng = _rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in [(3, 4), (7,), (2, 3, 5)]]


def _grads(dtype, step):
    return _params(dtype, seed=100 + step)


_SGD_CASES = [dict(momentum=0.0), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
              dict(momentum=0.8, nesterov=True), dict(momentum=0.9, weight_decay=0.1),
              dict(momentum=0.0, weight_decay=0.05, maximize=True),
              dict(momentum=0.5, dampening=0.1, weight_decay=0.01, maximize=True),
              dict(momentum=0.9, nesterov=True, weight_decay=0.02, maximize=True)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", _SGD_CASES, ids=str)
def test_sgd_step_matches_torch(torch, dtype, options):
    params = _params(dtype)
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = torch.optim.SGD(tparams, lr=0.05, foreach=True, **options)
    bufs = [None] * len(params)
    kwargs = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                  maximize=False) | options
    for step in range(4):
        grads = _grads(dtype, step)
        for tp, g in zip(tparams, grads):
            tp.grad = torch.tensor(g)
        opt.step()
        bufs = tw.sgd_step(params, grads, bufs, lr=0.05, **kwargs)
    tol = 1e-14 if dtype == np.float64 else 1e-6
    for p, tp in zip(params, tparams):
        assert p.dtype == dtype
        _close(p, tp, rtol=tol, atol=tol)
    if kwargs["momentum"]:
        for b, tp in zip(bufs, tparams):
            _close(b, opt.state[tp]["momentum_buffer"], rtol=tol, atol=tol)


_ADAM_CASES = [dict(), dict(amsgrad=True), dict(weight_decay=0.1),
               dict(weight_decay=0.1, decoupled_weight_decay=True),
               dict(maximize=True, amsgrad=True, weight_decay=0.05),
               dict(decoupled_weight_decay=True, weight_decay=0.01, amsgrad=True, maximize=True),
               dict(beta1=0.3, beta2=0.5)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("options", _ADAM_CASES, ids=str)
def test_adam_step_matches_torch(torch, dtype, options):
    kwargs = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
                  maximize=False, decoupled_weight_decay=False) | options
    params = _params(dtype)
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    cls = torch.optim.AdamW if kwargs["decoupled_weight_decay"] else torch.optim.Adam
    opt = cls(tparams, lr=0.01, betas=(kwargs["beta1"], kwargs["beta2"]), eps=kwargs["eps"],
              weight_decay=kwargs["weight_decay"], amsgrad=kwargs["amsgrad"],
              maximize=kwargs["maximize"], foreach=True)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    vmax = [np.zeros_like(p) for p in params]
    for step in range(1, 6):
        grads = _grads(dtype, step)
        for tp, g in zip(tparams, grads):
            tp.grad = torch.tensor(g)
        opt.step()
        tw.adam_step(params, grads, m, v, vmax, [step] * len(params), lr=0.01, **kwargs)
    tol = 1e-13 if dtype == np.float64 else 2e-6
    for i, tp in enumerate(tparams):
        state = opt.state[tp]
        _close(params[i], tp, rtol=tol, atol=tol)
        _close(m[i], state["exp_avg"], rtol=tol, atol=tol)
        _close(v[i], state["exp_avg_sq"], rtol=tol, atol=1e-12)
        if kwargs["amsgrad"]:
            _close(vmax[i], state["max_exp_avg_sq"], rtol=tol, atol=1e-12)


def test_adam_steps_are_per_parameter(torch):
    """A parameter that joins late has its own step count (its own bias corrections)."""
    a, b = _params(np.float64)[:2]
    ta, tb = (torch.tensor(p.copy(), requires_grad=True) for p in (a, b))
    state = [[np.zeros_like(p) for p in (a, b)] for _ in range(3)]
    opt = torch.optim.Adam([ta, tb], lr=0.1, foreach=True)
    ta.grad = torch.ones_like(ta)
    opt.step()  # tb has no grad: only ta steps
    tw.adam_step([a], [np.ones_like(a)], [state[0][0]], [state[1][0]], [state[2][0]], [1],
                 lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    ta.grad, tb.grad = torch.ones_like(ta), torch.full_like(tb, 2.0)
    opt.step()
    tw.adam_step([a, b], [np.ones_like(a), np.full_like(b, 2.0)], state[0], state[1], state[2],
                 [2, 1], lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    _close(a, ta, rtol=1e-14, atol=1e-14)
    _close(b, tb, rtol=1e-14, atol=1e-14)
