"""Ops that route CuPy arrays to the hand-written CUDA kernels (softmax, log_softmax,
cross-entropy, layer norm, 2-D max/avg pooling, dropout, SGD/Adam/AdamW, 1-D/2-D convolution
and transposed convolution, unfold/fold, the relu/gelu/silu/tanh/sigmoid activations).

Three layers of checks:

- everywhere: on NumPy arrays no kernel wrapper is ever called (they are patched to raise);
- everywhere: the routing code itself, with the NumPy twins of the wrappers standing in for
  the kernels (``backend.use_kernels``/``backend.kernels`` patched), against the generic path;
- on a GPU (skipped otherwise): CUDA tensors against the same ops on CPU, forward and
  backward, float32 and float64, and the wrappers are seen to be called.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import backend
from dist_torch.backend import cuda as _cuda
from dist_torch.backend import cuda_kernels as K
from dist_torch.backend import kernel_twins as T
from dist_torch.nn import functional as F
from dist_torch.ops import conv as _conv

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)
TOL = {F64: 1e-9, F32: 2e-5}
WRAPPERS = [name for name in K.__all__ if name not in ("FAMILY_DTYPES", "kernel_source",
                                                        "get_kernel")]


# --------------------------------------------------------------------------- the cases

def _t(a, device, grad=True):
    return torch.tensor(a, device=device, requires_grad=grad)


def _grads(out, inputs, rng):
    g = rng.standard_normal(out.shape).astype(out.numpy(force=True).dtype)
    out.backward(torch.tensor(g, device=out.device))
    return [out.numpy(force=True)] + [x.grad.numpy(force=True) for x in inputs]


def case_softmax(device, dtype, rng):
    res = []
    for fn in (F.softmax, F.log_softmax):
        for shape, dim in (((6, 33), -1), ((3, 4, 5), 1), ((7,), 0)):
            x = _t(rng.normal(scale=3, size=shape).astype(dtype), device)
            res += _grads(fn(x, dim=dim), [x], rng)
    return res


def case_cross_entropy(device, dtype, rng):
    res = []
    n, c = 8, 11
    target = rng.integers(0, c, n)
    ignored = target.copy()
    ignored[[1, 4]] = -100
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    for t, weight, eps, red in ((target, None, 0.0, "mean"), (ignored, w, 0.1, "mean"),
                                (ignored, None, 0.2, "sum"), (target, w, 0.0, "none"),
                                (ignored, w, 0.0, "none")):
        x = _t(rng.normal(scale=2, size=(n, c)).astype(dtype), device)
        wt = None if weight is None else torch.tensor(weight, device=device)
        out = F.cross_entropy(x, torch.tensor(t, device=device), weight=wt, reduction=red,
                              label_smoothing=eps)
        res += _grads(out, [x], rng)
    return res


def case_layer_norm(device, dtype, rng):
    res = []
    for shape, norm, affine in (((4, 5, 6), (5, 6), True), ((3, 40), (40,), False),
                                ((2, 3, 7), (7,), True)):
        x = _t(rng.normal(loc=1, size=shape).astype(dtype), device)
        inputs = [x]
        w = b = None
        if affine:
            w = _t(rng.normal(size=norm).astype(dtype), device)
            b = _t(rng.normal(size=norm).astype(dtype), device)
            inputs += [w, b]
        res += _grads(F.layer_norm(x, norm, w, b, eps=1e-5), inputs, rng)
    return res


def case_pooling(device, dtype, rng):
    res = []
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
               dict(kernel_size=3, stride=2, ceil_mode=True), dict(kernel_size=2, dilation=2)):
        x = _t(rng.normal(size=(2, 3, 9, 9)).astype(dtype), device)
        y, idx = F.max_pool2d(x, return_indices=True, **kw)
        res += _grads(y, [x], rng) + [idx.numpy(force=True)]
    x = _t(rng.normal(size=(3, 8, 8)).astype(dtype), device)  # unbatched
    res += _grads(F.max_pool2d(x, 2), [x], rng)
    for kw in (dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=2),
               dict(kernel_size=3, stride=2, padding=1, count_include_pad=False,
                    ceil_mode=True), dict(kernel_size=3, divisor_override=5)):
        x = _t(rng.normal(size=(2, 3, 9, 9)).astype(dtype), device)
        res += _grads(F.avg_pool2d(x, **kw), [x], rng)
    return res


def _optimizers(params):
    return [torch.optim.SGD(params, lr=0.1), torch.optim.SGD(params, lr=0.1, momentum=0.9,
                                                             nesterov=True, weight_decay=0.01),
            torch.optim.SGD(params, lr=0.05, momentum=0.5, dampening=0.1, maximize=True),
            torch.optim.Adam(params, lr=0.01), torch.optim.Adam(params, lr=0.01,
                                                                weight_decay=0.1, amsgrad=True),
            torch.optim.AdamW(params, lr=0.01, weight_decay=0.05)]


def case_optim(device, dtype, rng):
    res = []
    shapes = ((5, 3), (7,), (2, 2, 2))
    init = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(3)]
    for k in range(len(_optimizers([_t(init[0], "cpu")]))):
        params = [_t(a, device) for a in init]
        opt = _optimizers(params)[k]
        for step in grads:
            for p, g in zip(params, step):
                p.grad = torch.tensor(g, device=device)
            opt.step()
        res += [p.numpy(force=True) for p in params]
    return res


def _conv_inputs(device, dtype, rng, x_shape, w_shape, bias):
    x = _t(rng.normal(size=x_shape).astype(dtype), device)
    w = _t(rng.normal(scale=0.5, size=w_shape).astype(dtype), device)
    b = _t(rng.normal(size=w_shape[0] if bias is True else bias).astype(dtype), device) \
        if bias else None
    return x, w, b


def _conv_run(fn, device, dtype, rng, x_shape, w_shape, bias=True, **kw):
    x, w, b = _conv_inputs(device, dtype, rng, x_shape, w_shape, bias)
    return _grads(fn(x, w, b, **kw), [x, w] + ([b] if b is not None else []), rng)


CONV2D = [((2, 4, 9, 9), (6, 4, 3, 3), dict(stride=1, padding=1)),
          ((2, 4, 9, 8), (6, 2, 3, 2), dict(stride=2, padding=(1, 2), dilation=(2, 1),
                                           groups=2)),
          ((3, 4, 7, 7), (8, 1, 3, 3), dict(padding=2, dilation=2, groups=4, stride=(1, 2))),
          ((2, 3, 8, 7), (5, 3, 4, 2), dict(padding="same")),      # uneven padding
          ((2, 3, 8, 7), (5, 3, 3, 3), dict(stride=3)),            # non-overlapping windows
          ((4, 6, 6), (2, 4, 1, 1), dict(stride=2, padding=1)),    # unbatched
          ((0, 4, 6, 6), (5, 4, 3, 3), dict(padding=1))]           # zero batch (generic path)


def case_conv2d(device, dtype, rng):
    res = []
    for x_shape, w_shape, kw in CONV2D:
        for bias in (True, False):
            res += _conv_run(F.conv2d, device, dtype, rng, x_shape, w_shape, bias, **kw)
    # only the input gradient, or only the weight gradient
    x, w, _ = _conv_inputs(device, dtype, rng, (2, 3, 6, 6), (4, 3, 3, 3), False)
    res += _grads(F.conv2d(x, w.detach(), padding=1), [x], rng)
    x, w, _ = _conv_inputs(device, dtype, rng, (2, 3, 6, 6), (4, 3, 3, 3), False)
    res += _grads(F.conv2d(x.detach(), w, stride=2), [w], rng)
    return res


def case_conv2d_rebuild(device, dtype, rng):
    """Backward rebuilds the column matrix from the saved input (as for very large ones)."""
    keep, _conv._KEEP_COLUMNS_BYTES = _conv._KEEP_COLUMNS_BYTES, 0
    try:
        return (_conv_run(F.conv2d, device, dtype, rng, (2, 4, 9, 8), (6, 2, 3, 3),
                          stride=2, padding=1, dilation=(1, 2), groups=2)
                + _conv_run(F.conv2d, device, dtype, rng, (2, 3, 8, 7), (5, 3, 4, 2),
                            padding="same")
                + _conv_run(F.conv1d, device, dtype, rng, (2, 3, 11), (4, 3, 3), padding=2))
    finally:
        _conv._KEEP_COLUMNS_BYTES = keep


def case_conv1d(device, dtype, rng):
    res = []
    for x_shape, w_shape, kw in (((2, 4, 13), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
                                 ((3, 3, 10), (4, 3, 4), dict(padding="same", dilation=1)),
                                 ((3, 3, 10), (4, 3, 3), dict(dilation=3, padding=2)),
                                 ((4, 9), (2, 4, 2), dict(stride=3))):
        res += _conv_run(F.conv1d, device, dtype, rng, x_shape, w_shape, **kw)
    return res


CONV_T2D = [((2, 4, 5, 5), (4, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
            ((2, 4, 5, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(0, 1), groups=2,
                                             dilation=(1, 2))),
            ((2, 2, 4, 4), (2, 3, 2, 2), dict(stride=2)),          # non-overlapping windows
            ((2, 2, 4, 4), (2, 3, 3, 3), dict(stride=1, dilation=2, output_padding=1)),
            ((3, 4, 4), (3, 2, 3, 3), dict(stride=2, padding=1)),  # unbatched
            ((0, 3, 4, 4), (3, 2, 3, 3), dict(stride=2))]          # zero batch


def case_conv_transpose(device, dtype, rng):
    res = []
    for x_shape, w_shape, kw in CONV_T2D:
        for bias in (w_shape[1] * kw.get("groups", 1), False):
            res += _conv_run(F.conv_transpose2d, device, dtype, rng, x_shape, w_shape, bias,
                             **kw)
    res += _conv_run(F.conv_transpose1d, device, dtype, rng, (2, 4, 7), (4, 3, 3), 6,
                     stride=2, padding=1, output_padding=1, groups=2)
    return res


def case_fold(device, dtype, rng):
    res = []
    for shape, kw in (((2, 3, 8, 7), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1,
                                          stride=(1, 2))),
                      ((3, 6, 6), dict(kernel_size=3, stride=3)),
                      ((2, 2, 5, 5), dict(kernel_size=3, padding=1))):
        x = _t(rng.normal(size=shape).astype(dtype), device)
        res += _grads(F.unfold(x, **kw), [x], rng)
    for shape, size, kw in (((2, 12, 12), (5, 6), dict(kernel_size=(2, 3), padding=(1, 0),
                                                        stride=(1, 2))),
                            ((18, 4), (5, 5), dict(kernel_size=3, dilation=2, padding=1,
                                                   stride=2))):
        c = _t(rng.normal(size=shape).astype(dtype), device)
        res += _grads(F.fold(c, size, **kw), [c], rng)
    return res


ACTIVATIONS = [F.gelu, lambda x: F.gelu(x, approximate="tanh"), F.silu]
UNARY_ACTIVATIONS = [F.relu, torch.relu, torch.tanh, torch.sigmoid, lambda x: x.tanh(),
                     lambda x: x.sigmoid()]


def _act_case(device, dtype, rng, functions, inplace_ops):
    res = []
    a = rng.normal(scale=2, size=(5, 7)).astype(dtype)
    a[0, :3] = 0.0
    for fn in functions:
        x = _t(a, device)
        res += _grads(fn(x), [x], rng)
    for op in inplace_ops:   # in place on a non-leaf: returns it, and the gradient still flows
        x = _t(a, device)
        h = x * 1.5
        out = op(h)
        assert out is h
        res += _grads(out, [x], rng)
    return res


def case_activation(device, dtype, rng):
    return _act_case(device, dtype, rng, ACTIVATIONS, [lambda h: F.silu(h, inplace=True)])


def case_activation_unary(device, dtype, rng):
    """relu, tanh and sigmoid (their primitives are in ops/unary.py)."""
    return _act_case(device, dtype, rng, UNARY_ACTIVATIONS,
                     [lambda h: F.relu(h, inplace=True), F.relu_, torch.relu_,
                      lambda h: h.relu_(), lambda h: h.tanh_(), lambda h: h.sigmoid_()])


def case_linear(device, dtype, rng):
    """Linear is not routed: its bias is added in place to the GEMM's output, one pass that
    the bias+activation kernel would not beat. Checked against the CPU on a GPU."""
    res = []
    for x_shape, bias in (((6, 5), True), ((2, 3, 5), True), ((5,), False)):
        x = _t(rng.normal(size=x_shape).astype(dtype), device)
        w = _t(rng.normal(size=(4, 5)).astype(dtype), device)
        b = _t(rng.normal(size=4).astype(dtype), device) if bias else None
        res += _grads(F.linear(x, w, b), [x, w] + ([b] if bias else []), rng)
    return res


_IM2COL = {"im2col", "col2im"}
_ACT = {"bias_act_forward", "bias_act_backward"}

CASES = {"softmax": (case_softmax, {"softmax_forward", "softmax_backward"}),
         "cross_entropy": (case_cross_entropy, {"cross_entropy_forward",
                                                "cross_entropy_backward"}),
         "layer_norm": (case_layer_norm, {"layer_norm_forward", "layer_norm_backward"}),
         "pooling": (case_pooling, {"max_pool2d_forward", "max_pool2d_backward",
                                    "avg_pool2d_forward", "avg_pool2d_backward"}),
         "optim": (case_optim, {"sgd_step", "adam_step"}),
         "conv2d": (case_conv2d, _IM2COL),
         "conv2d_rebuild": (case_conv2d_rebuild, _IM2COL),
         "conv1d": (case_conv1d, _IM2COL),
         "conv_transpose": (case_conv_transpose, _IM2COL),
         "fold": (case_fold, _IM2COL),
         "activation": (case_activation, _ACT),
         "activation_unary": (case_activation_unary, _ACT),
         "linear": (case_linear, set())}


def _compare(got, want, dtype):
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, (i, a.shape, b.shape, a.dtype,
                                                            b.dtype)
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype], err_msg=f"item {i}")


def _spy(monkeypatch, module, names, calls):
    for name in names:
        fn = getattr(module, name)

        def wrapper(*args, _fn=fn, _name=name, **kwargs):
            calls.add(_name)
            return _fn(*args, **kwargs)
        monkeypatch.setattr(module, name, wrapper)


# --------------------------------------------------------------------------- everywhere

@pytest.fixture
def no_kernels(monkeypatch):
    """Every kernel wrapper raises when called."""
    for name in WRAPPERS:
        def boom(*args, _name=name, **kwargs):
            raise AssertionError(f"kernel wrapper {_name} called on NumPy arrays")
        monkeypatch.setattr(K, name, boom)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_arrays_never_reach_the_kernels(no_kernels, name):
    CASES[name][0]("cpu", F32, np.random.default_rng(0))


def test_numpy_dropout_never_reaches_the_kernels(no_kernels):
    x = _t(np.ones((4, 5), np.float32), "cpu")
    F.dropout(x, 0.5).sum().backward()
    assert not backend.use_kernels(x._data) and not backend.use_kernels(x._data, "softmax")


@pytest.fixture
def twins(monkeypatch):
    """NumPy arrays take the kernel paths, with the NumPy twins as the kernels; returns the
    set of wrapper names called."""
    calls = set()
    fake = types.SimpleNamespace(FAMILY_DTYPES=K.FAMILY_DTYPES,
                                 **{n: getattr(T, n) for n in WRAPPERS})
    _spy(monkeypatch, fake, WRAPPERS, calls)
    monkeypatch.setattr(backend, "use_kernels", lambda a, family=None: (
        type(a) is np.ndarray and (family is None or a.dtype.name in K.FAMILY_DTYPES[family])))
    monkeypatch.setattr(backend, "kernels", lambda: fake)
    return calls


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("name", list(CASES))
def test_kernel_paths_with_twins_match_the_generic_path(name, dtype, request):
    case, expected = CASES[name]
    want = case("cpu", dtype, np.random.default_rng(1))
    calls = request.getfixturevalue("twins")
    got = case("cpu", dtype, np.random.default_rng(1))
    assert expected <= calls, expected - calls
    _compare(got, want, dtype)


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_dropout_kernel_path_with_twins(twins, monkeypatch, dtype):
    monkeypatch.setattr(_cuda, "_philox", {})
    state = _cuda.philox_state(None)  # the "device" of a NumPy array
    state.manual_seed(7)
    x = _t(np.random.default_rng(2).normal(size=(6, 50)).astype(dtype), "cpu")
    y = F.dropout(x, 0.3)
    assert state.offset == 300
    y.backward(torch.ones(6, 50, dtype=y.dtype))
    words = T.philox_words(300, 7, 0)
    keep = (words.astype(np.uint64) >= T.dropout_threshold(0.3)).reshape(6, 50)
    scale = dtype.type(1 / 0.7)
    np.testing.assert_allclose(y.numpy(force=True),
                               np.where(keep, x.numpy(force=True) * scale, 0), rtol=TOL[dtype])
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, scale, 0), rtol=TOL[dtype])
    assert {"dropout_forward", "dropout_backward"} <= twins
    assert 0.2 < 1 - keep.mean() < 0.4


def test_activation_kernel_path_keeps_the_saved_tensor_checks(twins):
    """gelu and silu save their input (as torch), relu its output: writing over either in
    place before backward still fails loudly on the kernel path."""
    x = _t(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), "cpu")
    for fn in (F.gelu, F.silu):
        h = x * 1
        y = fn(h)
        h.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
    y = F.relu(x * 1)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    assert "bias_act_forward" in twins


# The generic path rounds to half between steps (tanh' = 1 - out * out from a half output),
# the kernel once: a few half ulps apart where the derivative is small.
HALF_TOL = dict(rtol=2e-3, atol=4e-3)


def _half_activations(device, rng):
    a = rng.normal(scale=2, size=(6, 9)).astype(np.float16)
    res = []
    for fn in (F.gelu, lambda v: F.gelu(v, approximate="tanh"), F.silu, F.relu, torch.tanh,
               torch.sigmoid):
        x = _t(a, device)
        y = fn(x)
        y.backward(torch.tensor(rng.normal(size=a.shape).astype(np.float16), device=device))
        res += [y.numpy(force=True), x.grad.numpy(force=True)]
    return res


def test_half_activation_kernel_path_with_twins(request):
    want = _half_activations("cpu", np.random.default_rng(5))
    calls = request.getfixturevalue("twins")
    got = _half_activations("cpu", np.random.default_rng(5))
    assert _ACT <= calls
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.float16
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), **HALF_TOL)


# --------------------------------------------------------------------------- on a GPU

@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("name", list(CASES))
def test_cuda_ops_match_cpu(cp, monkeypatch, name, dtype):
    # float32 convolutions would otherwise be allowed TF32 (torch's cudnn default)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    case, expected = CASES[name]
    want = case("cpu", dtype, np.random.default_rng(3))
    calls = set()
    _spy(monkeypatch, K, WRAPPERS, calls)
    got = case("cuda", dtype, np.random.default_rng(3))
    assert expected <= calls, expected - calls
    _compare(got, want, dtype)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_cuda_dropout(cp, dtype):
    torch.cuda.manual_seed(11)
    a = np.random.default_rng(4).normal(size=(64, 33)).astype(dtype)
    x = _t(a, "cuda")
    y = F.dropout(x, 0.25)
    y.backward(torch.ones(64, 33, dtype=y.dtype, device="cuda"))
    out, g = y.numpy(force=True), x.grad.numpy(force=True)
    keep = g != 0
    np.testing.assert_allclose(out, np.where(keep, a / dtype.type(0.75), 0), rtol=TOL[dtype])
    np.testing.assert_allclose(g[keep], 1 / 0.75, rtol=TOL[dtype])
    assert 0.15 < 1 - keep.mean() < 0.35
    torch.cuda.manual_seed(11)
    again = F.dropout(_t(a, "cuda"), 0.25).numpy(force=True)
    np.testing.assert_array_equal(again, out)
    assert not np.array_equal(F.dropout(_t(a, "cuda"), 0.25).numpy(force=True), out)


@pytest.mark.cuda
def test_cuda_half_activations_match_cpu(cp, monkeypatch):
    want = _half_activations("cpu", np.random.default_rng(6))
    calls = set()
    _spy(monkeypatch, K, WRAPPERS, calls)
    got = _half_activations("cuda", np.random.default_rng(6))
    assert _ACT <= calls
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.float16
        np.testing.assert_allclose(a.astype(np.float32), b.astype(np.float32), **HALF_TOL)
