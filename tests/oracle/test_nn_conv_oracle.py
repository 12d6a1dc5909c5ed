"""Convolutions against torch: every option (values, input/weight/bias grads), layers, reprs,
init statistics, float32, and errors (class and message)."""

import math

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check, check_module, errors

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


def _fn(name, **kw):
    return lambda m, *args: getattr(m.nn.functional, name)(*args, **kw)


CONV_CASES = [
    # name, input shape, weight shape, kwargs
    ("conv1d", (2, 4, 9), (6, 4, 3), {}),
    ("conv1d", (2, 4, 9), (6, 2, 3), dict(groups=2, stride=2, padding=1, dilation=2)),
    ("conv1d", (4, 9), (3, 4, 4), dict(padding="same")),
    ("conv1d", (2, 4, 9), (3, 4, 3), dict(padding="valid", stride=3)),
    ("conv2d", (2, 3, 7, 6), (4, 3, 3, 3), {}),
    ("conv2d", (2, 4, 7, 6), (6, 2, 3, 2), dict(groups=2)),
    ("conv2d", (1, 3, 8, 9), (2, 3, 3, 3), dict(stride=2, padding=1)),
    ("conv2d", (2, 2, 9, 8), (3, 2, 2, 3), dict(stride=(2, 1), padding=(2, 0),
                                                dilation=(2, 3))),
    ("conv2d", (1, 6, 5, 5), (6, 1, 3, 3), dict(groups=6, padding=1)),
    ("conv2d", (2, 3, 5, 6), (4, 3, 4, 3), dict(padding="same")),
    ("conv2d", (2, 3, 5, 6), (4, 3, 3, 2), dict(padding="same", dilation=(1, 3))),
    ("conv2d", (3, 5, 6), (4, 3, 1, 1), dict(stride=2)),
    ("conv2d", (2, 6, 6, 6), (4, 3, 3, 3), dict(groups=2, stride=(1, 2), padding=(0, 2),
                                                dilation=2)),
    ("conv3d", (1, 2, 4, 5, 4), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
    ("conv3d", (2, 4, 3, 4, 4), (4, 2, 2, 2, 2), dict(groups=2, dilation=(1, 2, 1))),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,xs,ws,kw", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_functional(name, xs, ws, kw, bias):
    args = [_data(*xs), _data(*ws)] + ([_data(ws[0])] if bias else [])
    check(_fn(name, **kw), *args)


TRANSPOSE_CASES = [
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), {}),
    ("conv_transpose1d", (4, 5), (4, 1, 3), dict(stride=3, padding=1, output_padding=2,
                                                 groups=2)),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 3, 3), {}),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, output_padding=1)),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 2, 3, 3), dict(stride=2, padding=1, output_padding=1,
                                                          groups=2, dilation=2)),
    ("conv_transpose2d", (1, 2, 4, 3), (2, 3, 2, 3), dict(stride=(3, 1), padding=(1, 2),
                                                          output_padding=(2, 0))),
    ("conv_transpose2d", (2, 4, 4), (2, 3, 3, 3), dict(dilation=(2, 1), output_padding=(1, 0))),
    ("conv_transpose3d", (1, 2, 2, 3, 2), (2, 2, 2, 2, 3), dict(stride=2, padding=(0, 1, 1))),
]


@pytest.mark.parametrize("name,xs,ws,kw", TRANSPOSE_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose_functional(name, xs, ws, kw, bias):
    out_channels = ws[1] * kw.get("groups", 1)
    args = [_data(*xs), _data(*ws)] + ([_data(out_channels)] if bias else [])
    check(_fn(name, **kw), *args)


LAYER_CASES = [
    ("Conv1d", (4, 6, 3), dict(padding=2, padding_mode="reflect"), (2, 4, 8)),
    ("Conv1d", (4, 6, 3), dict(padding=1, padding_mode="circular", groups=2), (4, 8)),
    ("Conv2d", (1, 32, 3), {}, (3, 1, 10, 10)),
    ("Conv2d", (4, 6, 3), dict(stride=2, padding=1, bias=False), (2, 4, 7, 8)),
    ("Conv2d", (4, 6, (2, 3)), dict(padding=(1, 2), padding_mode="reflect", dilation=(2, 1)),
     (2, 4, 7, 8)),
    ("Conv2d", (4, 6, 3), dict(padding=2, padding_mode="replicate", stride=2), (2, 4, 5, 6)),
    ("Conv2d", (4, 6, 3), dict(padding=1, padding_mode="circular", groups=2), (2, 4, 5, 6)),
    ("Conv2d", (4, 6, 4), dict(padding="same"), (2, 4, 6, 5)),
    ("Conv2d", (4, 6, 3), dict(padding="same", padding_mode="reflect", dilation=2), (2, 4, 6, 5)),
    ("Conv3d", (2, 3, 2), dict(padding=1, padding_mode="replicate"), (1, 2, 3, 4, 3)),
    ("ConvTranspose1d", (3, 4, 3), dict(stride=2, output_padding=1), (2, 3, 5)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=2), (2, 4, 4, 3)),
    ("ConvTranspose2d", (4, 6, 3), dict(bias=False), (4, 3, 4)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=(1, 2, 2)), (1, 2, 2, 3, 2)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,args,kw,shape", LAYER_CASES)
def test_conv_layers(name, args, kw, shape):
    check_module(getattr(dt.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw),
                 _data(*shape))


@pytest.mark.parametrize("output_size", [(9, 9), (10, 10), (1, 2, 10, 9)])
def test_conv_transpose_output_size(output_size):
    ours, theirs = dt.nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3,
                                                                                      stride=2)
    x = _data(1, 2, 4, 4)
    theirs = theirs.double()
    ours.double().load_state_dict({k: dt.tensor(v.detach().numpy())
                                   for k, v in theirs.state_dict().items()})
    assert_close(ours(dt.tensor(x), output_size=output_size),
                 theirs(torch.tensor(x), output_size=output_size), check_dtype=False)


@pytest.mark.parametrize("name,args,kw", [
    (name, args, kw) for name, args, kw, _ in LAYER_CASES] + [
    ("Conv2d", (1, 32, 3), dict(padding=(0, 0), dilation=(1, 1), stride=(1, 1))),
    ("Conv2d", (2, 4, (3, 5)), dict(stride=2, padding="valid", groups=2)),
    ("ConvTranspose2d", (4, 8, 3), dict(stride=2, padding=1, output_padding=1, groups=2,
                                        bias=False, dilation=2)),
])
def test_conv_reprs_and_shapes(name, args, kw):
    ours, theirs = getattr(dt.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours._reversed_padding_repeated_twice == list(theirs._reversed_padding_repeated_twice)


@pytest.mark.parametrize("name,args", [("Conv2d", (8, 32, 3)), ("Conv1d", (6, 64, 5)),
                                       ("ConvTranspose2d", (16, 8, 3, 1, 0, 0, 2))])
def test_conv_init_statistics_match_torch(name, args):
    dt.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = getattr(dt.nn, name)(*args), getattr(torch.nn, name)(*args)
    for p_name in ("weight", "bias"):
        a = np.asarray(getattr(ours, p_name).detach())
        b = getattr(theirs, p_name).detach().numpy()
        bound = 1 / math.sqrt(np.prod(b.shape[1:])) if p_name == "weight" else \
            1 / math.sqrt(np.prod(theirs.weight.shape[1:]))
        assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
        assert a.dtype == b.dtype == np.float32
        if a.size > 500:
            assert abs(a.std() - b.std()) < 0.08 * bound
            assert abs(a.mean()) < 0.08 * bound


def test_conv_float32_matches_torch():
    x, w, b = (_data(4, 3, 12, 12).astype(np.float32), _data(8, 3, 3, 3).astype(np.float32),
               _data(8).astype(np.float32))
    ours = dt.nn.functional.conv2d(dt.tensor(x), dt.tensor(w), dt.tensor(b), padding=1)
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                        padding=1)
    assert ours.dtype == dt.float32
    assert_close(ours, theirs, rtol=1e-5, atol=1e-5, check_dtype=False)


def test_conv_grad_fn_names_match_torch():
    for name, xs, ws, kw in CONV_CASES[:2] + TRANSPOSE_CASES[2:3]:
        ours = getattr(dt.nn.functional, name)(dt.tensor(_data(*xs), requires_grad=True),
                                               dt.tensor(_data(*ws)), **kw)
        theirs = getattr(torch.nn.functional, name)(
            torch.tensor(_data(*xs), requires_grad=True), torch.tensor(_data(*ws)), **kw)
        assert ours.grad_fn.name() == type(theirs.grad_fn).__name__


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), padding=1,
                                                          stride=2, dilation=(1, 2)),
                                dict(kernel_size=3, padding=(0, 2), stride=(2, 1))])
def test_unfold_fold(kw):
    x = _data(2, 3, 6, 7)
    check(_fn("unfold", **kw), x)
    check(_fn("unfold", **kw), x[0])
    cols = torch.nn.functional.unfold(torch.tensor(x), **kw).numpy()
    fold = lambda m, c: m.nn.functional.fold(c, (6, 7), **kw)  # noqa: E731
    check(fold, _data(*cols.shape))
    check(fold, _data(*cols.shape[1:]))


ERROR_CALLS = [
    lambda m: m.nn.functional.conv2d(m.zeros(28, 28), m.zeros(32, 1, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(2, 2, 1, 28, 28), m.zeros(32, 1, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(64, 3, 28, 28), m.zeros(32, 1, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(64, 3, 28, 28), m.zeros(32, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 2, 2), m.zeros(32, 1, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), dilation=3),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), stride=2,
                                     padding="same"),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), padding="foo"),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), padding=-1),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), stride=0),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), dilation=0),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3), groups=0),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3),
                                     stride=(1, 1, 1)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3),
                                     padding=(1, 1, 1)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 4, 5, 5), m.zeros(6, 2, 3, 3), groups=3),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 4, 5, 5), m.zeros(5, 2, 3, 3), groups=2),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 4, 5, 5), m.zeros(6, 2, 3, 3), groups=2,
                                     bias=m.zeros(5)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3),
                                     bias=m.zeros(2, dtype=m.float64)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5, dtype=m.float64), m.zeros(2, 1, 3, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 3, 3, dtype=m.float64)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(2, 1, 0, 3)),
    lambda m: m.nn.functional.conv2d(m.zeros(1, 1, 5, 5), m.zeros(0, 1, 3, 3)),
    lambda m: m.nn.functional.conv1d(m.zeros(5), m.zeros(2, 1, 3)),
    lambda m: m.nn.functional.conv1d(m.zeros(3, 5), m.zeros(2, 1, 3)),
    lambda m: m.nn.functional.conv1d(m.zeros(1, 1, 2), m.zeros(2, 1, 3)),
    lambda m: m.nn.functional.conv1d(m.zeros(1, 1, 5), m.zeros(2, 1, 3), dilation=0),
    lambda m: m.nn.functional.conv1d(m.zeros(1, 1, 5), m.zeros(2, 1, 3), padding=(1, 1)),
    lambda m: m.nn.functional.conv3d(m.zeros(1, 1, 5, 5, 5), m.zeros(2, 1, 0, 3, 3)),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 4, 4), m.zeros(1, 1, 3, 3),
                                               stride=2, output_padding=2),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 4, 4), m.zeros(2, 1, 3, 3)),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 4, 4), m.zeros(1, 1, 3, 3),
                                               padding=3),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(4, 4), m.zeros(1, 1, 3, 3)),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 4, 4), m.zeros(1, 1, 3, 3),
                                               bias=m.zeros(2)),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 4, 4), m.zeros(1, 1, 3, 3),
                                               groups=2),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 5, 5), m.zeros(1, 2, 3, 3),
                                               output_padding=-1),
    lambda m: m.nn.functional.conv_transpose2d(m.zeros(1, 1, 5, 5), m.zeros(1, 2, 3, 3),
                                               dilation=0),
    lambda m: m.nn.functional.conv_transpose1d(m.zeros(1, 1, 5), m.zeros(1, 2, 3), stride=2,
                                               output_padding=2),
    lambda m: m.nn.functional.conv_transpose1d(m.zeros(1, 1, 5), m.zeros(1, 2, 3), padding=4),
    lambda m: m.nn.functional.conv_transpose3d(m.zeros(1, 1, 5, 5, 5), m.zeros(1, 2, 3, 3, 3),
                                               stride=2, output_padding=2),
    lambda m: m.nn.Conv2d(3, 4, 3, groups=2),
    lambda m: m.nn.Conv2d(4, 3, 3, groups=2),
    lambda m: m.nn.Conv2d(4, 4, 3, groups=0),
    lambda m: m.nn.Conv2d(4, 4, 3, padding_mode="foo"),
    lambda m: m.nn.Conv2d(4, 4, 3, padding="same", stride=2),
    lambda m: m.nn.Conv2d(4, 4, 3, padding="foo"),
    lambda m: m.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"),
    lambda m: m.nn.ConvTranspose2d(1, 1, 3, stride=2)(m.zeros(1, 1, 4, 4), output_size=(12, 12)),
    lambda m: m.nn.ConvTranspose2d(1, 1, 3, stride=2)(m.zeros(1, 1, 4, 4),
                                                      output_size=(1, 10, 10)),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 7),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 0),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, stride=0),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, dilation=0),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, padding=-1),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), (2, 2, 2)),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6), 2, stride=(1, 2, 3)),
    lambda m: m.nn.functional.unfold(m.zeros(2, 3, 5, 6, 2), 2),
    lambda m: m.nn.functional.unfold(m.zeros(2, 0, 5, 6), 2),
    lambda m: m.nn.functional.unfold(m.zeros(5, 6), 2),
    lambda m: m.nn.functional.fold(m.zeros(2, 12, 20), (5, 6), 2, padding=1),
    lambda m: m.nn.functional.fold(m.zeros(2, 11, 20), (5, 6), 2),
    lambda m: m.nn.functional.fold(m.zeros(2, 12, 21), (5, 6), 2),
    lambda m: m.nn.functional.fold(m.zeros(12), (5, 6), 2),
    lambda m: m.nn.functional.fold(m.zeros(2, 12, 20), (5, 6, 1), 2),
    lambda m: m.nn.functional.fold(m.zeros(2, 12, 20), 5, 2),
    lambda m: m.nn.functional.fold(m.zeros(2, 12, 20, 1), (5, 6), 2),
]


@pytest.mark.parametrize("call", ERROR_CALLS)
def test_conv_errors_match_torch(call):
    ours, theirs = errors(call)
    assert theirs is not None
    assert ours == theirs
