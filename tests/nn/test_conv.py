"""Convolutions: gradients of every option, hand values, layers, init statistics, errors."""

import math
import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from tests.helpers import assert_close, gradcheck, rand


def _np(t):
    return np.asarray(t.detach())


def _ref_conv2d(x, w, b, stride, padding, dilation, groups):
    """Direct (looping) cross-correlation as a reference, float64."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * cg:(g + 1) * cg,
                           i * dilation[0]:i * dilation[0] + (ho - 1) * stride[0] + 1:stride[0],
                           j * dilation[1]:j * dilation[1] + (wo - 1) * stride[1] + 1:stride[1]]
                out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
        if b is not None:
            out[:, oc] += b[oc]
    return out


# --------------------------------------------------------------------------- values

CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), dict()),
    ((2, 4, 7, 6), (6, 2, 3, 2), dict(groups=2)),
    ((1, 3, 8, 9), (2, 3, 3, 3), dict(stride=2, padding=1)),
    ((2, 2, 9, 8), (3, 2, 2, 3), dict(stride=(2, 1), padding=(2, 0), dilation=(2, 3))),
    ((1, 6, 5, 5), (6, 1, 3, 3), dict(groups=6, padding=1)),
    ((2, 3, 4, 4), (5, 3, 1, 1), dict()),
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_direct_loop(xs, ws, kw, bias):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if bias else None
    out = F.conv2d(torch.tensor(x), torch.tensor(w), None if b is None else torch.tensor(b), **kw)
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    ref = _ref_conv2d(x, w, b, pair(kw.get("stride", 1)), pair(kw.get("padding", 0)),
                      pair(kw.get("dilation", 1)), kw.get("groups", 1))
    assert_close(out, ref, rtol=1e-10, atol=1e-12, check_dtype=False)


def test_conv2d_hand_values():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    w = torch.ones(1, 1, 2, 2)
    out = F.conv2d(x, w, torch.tensor([1.0]), stride=2)
    assert out.tolist() == [[[[0 + 1 + 4 + 5 + 1, 2 + 3 + 6 + 7 + 1],
                              [8 + 9 + 12 + 13 + 1, 10 + 11 + 14 + 15 + 1]]]]
    same = F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3), padding="same")
    assert same.tolist() == [[[[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]]]


def test_conv1d_and_conv3d_values():
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])
    assert F.conv1d(x, torch.tensor([[[1.0, -1.0]]])).tolist() == [[[-1.0, -1.0, -1.0]]]
    assert F.conv1d(x, torch.tensor([[[1.0, 1.0]]]), dilation=2).tolist() == [[[4.0, 6.0]]]
    out = F.conv3d(torch.ones(1, 2, 3, 3, 3), torch.ones(4, 2, 2, 2, 2), stride=1)
    assert out.shape == (1, 4, 2, 2, 2) and float(out.max()) == 16.0


def test_same_padding_even_kernel_pads_right_and_warns():
    x = torch.arange(5.0).reshape(1, 1, 5)
    with pytest.warns(UserWarning, match="even kernel lengths"):
        out = F.conv1d(x, torch.tensor([[[1.0, 1.0]]]), padding="same")
    assert out.tolist() == [[[1.0, 3.0, 5.0, 7.0, 4.0]]]


def test_conv_transpose_hand_values():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = F.conv_transpose2d(x, torch.ones(1, 1, 2, 2), stride=2)
    assert out.tolist() == [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0],
                              [3.0, 3.0, 4.0, 4.0], [3.0, 3.0, 4.0, 4.0]]]]
    overlap = F.conv_transpose1d(torch.tensor([[[1.0, 2.0]]]), torch.ones(1, 1, 3))
    assert overlap.tolist() == [[[1.0, 3.0, 3.0, 2.0]]]


@pytest.mark.parametrize("stride,padding,output_padding,dilation,groups", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 2), (3, 0, 2, 1, 1), (2, 2, 0, 2, 1), ((2, 1), (0, 1), (1, 0),
                                                                      (1, 2), 2)])
def test_conv_transpose2d_is_adjoint_of_conv2d(stride, padding, output_padding, dilation,
                                               groups):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3, 3, 2))       # conv_transpose: (in, out / groups, kh, kw)
    y = rng.standard_normal((2, 4, 4, 3))
    out = F.conv_transpose2d(torch.tensor(y), torch.tensor(w), stride=stride, padding=padding,
                             output_padding=output_padding, dilation=dilation, groups=groups)
    x = rng.standard_normal(tuple(out.shape))
    conv = F.conv2d(torch.tensor(x), torch.tensor(w), stride=stride, padding=padding,
                    dilation=dilation, groups=groups)
    assert tuple(conv.shape) == y.shape
    # <conv(x), y> == <x, conv_transpose(y)>
    assert math.isclose(float((conv * torch.tensor(y)).sum()),
                        float((torch.tensor(x) * out).sum()), rel_tol=1e-10)


def test_unbatched_and_dtypes():
    w = torch.randn(4, 3, 3, 3)
    x = torch.randn(3, 6, 6)
    out = F.conv2d(x, w)
    assert out.shape == (4, 4, 4) and out.dtype == torch.float32
    assert_close(out, F.conv2d(x.unsqueeze(0), w)[0])
    assert F.conv1d(torch.randn(3, 5), torch.randn(2, 3, 2)).shape == (2, 4)
    ints = F.conv2d(torch.ones(1, 1, 3, 3, dtype=torch.int64),
                    torch.ones(1, 1, 2, 2, dtype=torch.int64))
    assert ints.dtype == torch.int64 and ints.tolist() == [[[[4, 4], [4, 4]]]]
    assert F.conv2d(torch.randn(0, 3, 5, 5), w).shape == (0, 4, 3, 3)


def test_float32_backward_stays_float32():
    conv = nn.Conv2d(2, 3, 3)
    x = torch.randn(2, 2, 5, 5, requires_grad=True)
    conv(x).sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == torch.float32
    assert conv.weight.grad.shape == conv.weight.shape
    assert conv(x).grad_fn.name() == "ConvolutionBackward0"


# --------------------------------------------------------------------------- gradients

@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES + [
    ((1, 2, 5, 5), (3, 2, 4, 3), dict(padding="same")),
    ((1, 2, 5, 5), (3, 2, 3, 3), dict(padding="same", dilation=2)),
    ((2, 2, 5, 4), (3, 2, 2, 2), dict(padding="valid", stride=(1, 2))),
    ((2, 5, 4), (3, 2, 2, 2), dict(padding=1)),
])
def test_gradcheck_conv2d(xs, ws, kw):
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), rand(*xs, seed=1), rand(*ws, seed=2),
              rand(ws[0], seed=3))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2),
                                dict(groups=2, padding="same"), dict(padding=(1,))])
def test_gradcheck_conv1d(kw):
    gradcheck(lambda x, w, b: F.conv1d(x, w, b, **kw), rand(2, 4, 7, seed=4),
              rand(2, 4 // kw.get("groups", 1), 3, seed=5), rand(2, seed=6))


@pytest.mark.parametrize("kw", [dict(), dict(stride=(1, 2, 1), padding=1, groups=2)])
def test_gradcheck_conv3d(kw):
    gradcheck(lambda x, w: F.conv3d(x, w, **kw), rand(1, 2, 3, 4, 3, seed=7),
              rand(2, 2 // kw.get("groups", 1), 2, 2, 2, seed=8))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, output_padding=1),
                                dict(stride=2, padding=1, dilation=2, output_padding=1),
                                dict(groups=2, stride=(1, 2), padding=(1, 0))])
def test_gradcheck_conv_transpose2d(kw):
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), rand(2, 4, 3, 3, seed=9),
              rand(4, 3, 3, 2, seed=10), rand(3 * kw.get("groups", 1), seed=11))


def test_gradcheck_conv_transpose1d_3d_unbatched():
    gradcheck(lambda x, w: F.conv_transpose1d(x, w, stride=3, padding=1), rand(2, 4, seed=12),
              rand(2, 3, 3, seed=13))
    gradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=2), rand(1, 2, 2, 2, 2, seed=14),
              rand(2, 1, 2, 1, 2, seed=15))


def test_backward_skips_unneeded_gradients():
    x = torch.randn(2, 3, 5, 5)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad is not None
    # with weights frozen, only the input gradient is computed
    w2 = torch.randn(4, 3, 3, 3)
    x2 = torch.randn(2, 3, 5, 5, requires_grad=True)
    out = F.conv2d(x2, w2)
    out.backward(torch.ones_like(out))
    expected = F.conv_transpose2d(torch.ones_like(out), w2)
    assert_close(x2.grad, expected, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- layers

def test_conv2d_layer_parameters_and_init_statistics():
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    bound = 1 / math.sqrt(16 * 9)
    w, b = _np(conv.weight), _np(conv.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)
    assert abs(w.mean()) < 0.05 * bound
    grouped = nn.ConvTranspose2d(8, 6, 3, groups=2, bias=False)
    assert grouped.weight.shape == (8, 3, 3, 3) and grouped.bias is None
    assert np.abs(_np(grouped.weight)).max() <= 1 / math.sqrt(3 * 9)


@pytest.mark.parametrize("layer,text", [
    (lambda: nn.Conv2d(1, 32, 3), "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: nn.Conv2d(1, 32, (3, 5), stride=2, padding=1, dilation=2, bias=False,
                       padding_mode="reflect"),
     "Conv2d(1, 32, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
     "bias=False, padding_mode=reflect)"),
    (lambda: nn.Conv2d(4, 32, 3, padding="same"),
     "Conv2d(4, 32, kernel_size=(3, 3), stride=(1, 1), padding=same)"),
    (lambda: nn.Conv1d(4, 32, 3, padding="valid", groups=2),
     "Conv1d(4, 32, kernel_size=(3,), stride=(1,), padding=valid, groups=2)"),
    (lambda: nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1),
     "ConvTranspose2d(4, 8, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))"),
    (lambda: nn.Conv3d(2, 4, 2), "Conv3d(2, 4, kernel_size=(2, 2, 2), stride=(1, 1, 1))"),
])
def test_conv_reprs(layer, text):
    assert repr(layer()) == text


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_padding_modes(mode):
    conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode=mode)
    x = torch.randn(1, 2, 4, 5)
    out = conv(x)
    assert out.shape == (1, 3, 4, 5)
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="constant" if mode == "zeros" else mode),
                        conv.weight, conv.bias)
    assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_conv_transpose2d_output_size():
    up = nn.ConvTranspose2d(1, 1, 3, stride=2)
    x = torch.randn(1, 1, 4, 4)
    assert up(x).shape == (1, 1, 9, 9)
    assert up(x, output_size=(10, 10)).shape == (1, 1, 10, 10)
    assert up(x, output_size=(1, 1, 10, 9)).shape == (1, 1, 10, 9)
    with pytest.raises(ValueError, match=r"requested an output size of \(12, 12\), but valid "
                                         r"sizes range from \[9, 9\] to \[10, 10\]"):
        up(x, output_size=(12, 12))


@pytest.mark.parametrize("kwargs,message", [
    (dict(groups=2, in_channels=3), "in_channels must be divisible by groups"),
    (dict(groups=2, out_channels=3), "out_channels must be divisible by groups"),
    (dict(groups=0), "groups must be a positive integer"),
    (dict(padding="foo"), "Invalid padding string 'foo'"),
    (dict(padding="same", stride=2), "padding='same' is not supported for strided"),
    (dict(padding_mode="foo"), "padding_mode must be one of"),
])
def test_conv_layer_constructor_errors(kwargs, message):
    args = dict(in_channels=4, out_channels=4, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**args)


def test_conv_transpose_rejects_padding_modes():
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                         "ConvTranspose2d"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


# --------------------------------------------------------------------------- errors

X = torch.randn(64, 3, 28, 28)
W = torch.randn(32, 1, 3, 3)
SMALL = torch.randn(1, 1, 5, 5)


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv2d(torch.randn(28, 28), W),
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[28, 28\]"),
    (lambda: F.conv2d(X, W),
     r"Given groups=1, weight of size \[32, 1, 3, 3\], expected input\[64, 3, 28, 28\] to have "
     r"1 channels, but got 3 channels instead"),
    (lambda: F.conv2d(torch.randn(1, 1, 2, 2), W),
     r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel "
     "size can't be greater than actual input size"),
    (lambda: F.conv2d(SMALL, W, dilation=3), r"Kernel size: \(7 x 7\)"),
    (lambda: F.conv2d(SMALL, W, stride=2, padding="same"),
     "padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(SMALL, W, padding="foo"), "Invalid padding string: 'foo'"),
    (lambda: F.conv2d(SMALL, W, padding=-1), "negative padding is not supported"),
    (lambda: F.conv2d(SMALL, W, stride=0), "non-positive stride is not supported"),
    (lambda: F.conv2d(SMALL, W, dilation=0),
     r"dilation should be greater than zero, but got \[0, 0\]"),
    (lambda: F.conv2d(SMALL, W, groups=0), "non-positive groups is not supported"),
    (lambda: F.conv2d(SMALL, W, stride=(1, 1, 1)),
     r"expected stride to be a single integer value or a list of 2 values to match the "
     r"convolution dimensions, but got stride=\[1, 1, 1\]"),
    (lambda: F.conv2d(SMALL, torch.randn(2, 1)), "weight should have at least three dimensions"),
    (lambda: F.conv2d(torch.randn(1, 4, 5, 5), torch.randn(5, 2, 3, 3), groups=2),
     r"Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of "
     r"size \[\[5, 2, 3, 3\]\] instead"),
    (lambda: F.conv2d(SMALL, W, bias=torch.randn(5)),
     r"expected bias to be 1-dimensional with 32 elements, but got bias of size \[5\]"),
    (lambda: F.conv2d(SMALL.double(), W), "expected scalar type Double but found Float"),
    (lambda: F.conv2d(SMALL, W, bias=torch.randn(32).double()),
     r"Input type \(float\) and bias type \(double\) should be the same"),
    (lambda: F.conv2d(SMALL, torch.randn(2, 1, 0, 3)),
     "kernel size should be greater than zero, but got kernel_height: 0 kernel_width: 3"),
    (lambda: F.conv1d(torch.randn(5), torch.randn(2, 1, 3)),
     r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
    (lambda: F.conv1d(torch.randn(1, 1, 2), torch.randn(2, 1, 3)),
     r"Calculated padded input size per channel: \(2\). Kernel size: \(3\)"),
    (lambda: F.conv_transpose2d(SMALL, torch.randn(1, 1, 3, 3), stride=2, output_padding=2),
     "output padding must be smaller than either stride or dilation, but got "
     "output_padding_height: 2 output_padding_width: 2 stride_height: 2"),
    (lambda: F.conv_transpose2d(SMALL, torch.randn(2, 1, 3, 3)),
     r"Given transposed=1, weight of size \[2, 1, 3, 3\], expected input\[1, 1, 5, 5\] to have "
     "2 channels, but got 1 channels instead"),
    (lambda: F.conv_transpose2d(torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3), padding=3),
     r"Given input size per channel: \(4 x 4\). Calculated output size per channel: \(0 x 0\). "
     "Output size is too small"),
])
def test_conv_errors(call, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=message):
            call()


def test_conv_argument_type_errors():
    with pytest.raises(TypeError, match="must be Tensor"):
        F.conv2d([1.0], W)
    with pytest.raises(TypeError, match="must be tuple of ints"):
        F.conv2d(SMALL, W, stride=1.5)


def test_large_column_matrix_is_rebuilt_in_backward(monkeypatch):
    from dist_torch.ops import conv as conv_ops
    x, w = rand(2, 3, 6, 5, seed=20), rand(4, 3, 3, 2, seed=21)
    expected = torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), (x, w))
    monkeypatch.setattr(conv_ops, "_KEEP_COLUMNS_BYTES", 0)
    got = torch.autograd.grad(F.conv2d(x, w, padding=1).sum(), (x, w))
    for a, b in zip(got, expected):
        assert_close(a, b, rtol=1e-12)
    gradcheck(lambda x, w: F.conv2d(x, w, stride=2), x, w)


def test_non_contiguous_inputs():
    x = torch.randn(2, 5, 6, 3).permute(0, 3, 1, 2)          # (2, 3, 5, 6), not contiguous
    w = torch.randn(4, 3, 3, 3)
    assert_close(F.conv2d(x, w, padding=1), F.conv2d(x.contiguous(), w, padding=1))
    assert_close(F.max_pool2d(x, 2), F.max_pool2d(x.contiguous(), 2))
    assert_close(F.avg_pool2d(x, 3, 1, 1), F.avg_pool2d(x.contiguous(), 3, 1, 1))


# --------------------------------------------------------------------------- unfold / fold

def test_unfold_fold_values():
    x = torch.arange(9.0).reshape(1, 1, 3, 3)
    cols = F.unfold(x, 2)
    assert cols.tolist() == [[[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0],
                              [4.0, 5.0, 7.0, 8.0]]]
    # fold sums overlapping blocks: fold(unfold(x)) multiplies x by its block count
    counts = F.fold(F.unfold(torch.ones(1, 1, 3, 3), 2), (3, 3), 2)
    assert counts.tolist() == [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    w = torch.randn(4, 2, 3, 3)
    img = torch.randn(2, 2, 5, 6)
    as_gemm = (w.reshape(4, -1) @ F.unfold(img, 3, padding=1)).reshape(2, 4, 5, 6)
    assert_close(as_gemm, F.conv2d(img, w, padding=1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), padding=1,
                                                          stride=2, dilation=(1, 2))])
def test_gradcheck_unfold_fold(kw):
    gradcheck(lambda x: F.unfold(x, **kw), rand(2, 2, 5, 7))
    cols = F.unfold(rand(2, 2, 5, 7), **kw)
    gradcheck(lambda c: F.fold(c, (5, 7), **kw), rand(*cols.shape, seed=3))
    gradcheck(lambda c: F.fold(c, (5, 7), **kw), rand(*cols.shape[1:], seed=4))


@pytest.mark.parametrize("call,message", [
    (lambda: F.unfold(torch.randn(2, 3, 5, 6), 7),
     r"calculated shape of the array of sliding blocks as \(-1, 0\)"),
    (lambda: F.unfold(torch.randn(2, 3, 5, 6), 2, stride=0),
     "stride should be greater than zero, but got stride_height: 0 stride_width: 0"),
    (lambda: F.unfold(torch.randn(2, 3, 5, 6), (2, 2, 2)),
     "It is expected kernel_size equals to 2, but got size 3"),
    (lambda: F.fold(torch.randn(2, 11, 20), (5, 6), 2),
     r"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
     r"got input.size\(1\)=11 and kernel_size=\(2, 2\)."),
    (lambda: F.fold(torch.randn(2, 12, 21), (5, 6), 2),
     r"calculated number of sliding blocks 4 \* 5 = 20, but got input.size\(2\)=21."),
])
def test_unfold_fold_errors(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()
