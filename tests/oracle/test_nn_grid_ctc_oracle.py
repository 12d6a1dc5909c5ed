"""affine_grid, grid_sample and ctc_loss / CTCLoss against torch: values, gradients (input,
grid, theta, log_probs), dtypes, edge cases and errors."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


def _grid(*shape):
    return RNG.uniform(-1.3, 1.3, shape)  # some points fall outside the image


def _sample(**kw):
    return lambda m, x, g: m.nn.functional.grid_sample(x, g, **kw)


# --------------------------------------------------------------------------- grid_sample

@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_2d(mode, padding_mode, align_corners):
    check(_sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners),
          _data(2, 3, 5, 6), _grid(2, 4, 7, 2))


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_3d(mode, padding_mode, align_corners):
    check(_sample(mode=mode, padding_mode=padding_mode, align_corners=align_corners),
          _data(2, 2, 4, 5, 3), _grid(2, 3, 2, 4, 3))


def test_grid_sample_float32_unit_dims_and_empty():
    x, g = _data(1, 2, 4, 4).astype(np.float32), _grid(1, 3, 3, 2).astype(np.float32)
    check(_sample(align_corners=False), x, g, rtol=1e-5, atol=1e-6)
    check(_sample(mode="bicubic", padding_mode="border", align_corners=True), x, g,
          rtol=1e-5, atol=1e-5)
    check(_sample(padding_mode="reflection", align_corners=True), _data(1, 1, 1, 3),
          _grid(1, 2, 2, 2))
    check(_sample(align_corners=False), _data(2, 3, 4, 5), _grid(2, 0, 7, 2))
    check(_sample(align_corners=False), _data(0, 3, 4, 5), _grid(0, 6, 7, 2))
    out = dt.nn.functional.grid_sample(dt.zeros(1, 1, 2, 2, requires_grad=True),
                                       dt.zeros(1, 1, 1, 2), align_corners=False)
    assert out.grad_fn.name() == "GridSampler2DBackward0"


def test_grid_sample_errors_and_warning():
    x, g = (lambda m: m.zeros(2, 3, 4, 5)), (lambda m: m.zeros(2, 6, 7, 2))
    cases = [
        lambda m: m.nn.functional.grid_sample(x(m), g(m).double(), align_corners=False),
        lambda m: m.nn.functional.grid_sample(x(m), m.zeros(3, 6, 7, 2), align_corners=False),
        lambda m: m.nn.functional.grid_sample(x(m), m.zeros(2, 6, 7, 3), align_corners=False),
        lambda m: m.nn.functional.grid_sample(m.zeros(2, 3, 0, 5), g(m), align_corners=False),
        lambda m: m.nn.functional.grid_sample(m.zeros(2, 3, 4, 5, 6), m.zeros(2, 3, 3, 3, 3),
                                              mode="bicubic", align_corners=False),
        lambda m: m.nn.functional.grid_sample(x(m).long(), g(m).long(), align_corners=False),
        lambda m: m.nn.functional.grid_sample(x(m), g(m), mode="area"),
        lambda m: m.nn.functional.grid_sample(x(m), g(m), padding_mode="circular"),
    ]
    for case in cases:
        assert_same_error(case)
    for lib in (dt, torch):
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            lib.nn.functional.grid_sample(x(lib), g(lib))


# --------------------------------------------------------------------------- affine_grid

@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(align_corners):
    check(lambda m, t: m.nn.functional.affine_grid(t, (2, 3, 4, 5), align_corners=align_corners),
          _data(2, 2, 3))
    check(lambda m, t: m.nn.functional.affine_grid(t, [2, 1, 3, 4, 2],
                                                   align_corners=align_corners), _data(2, 3, 4))
    # a spatial transformer: grid_sample of affine_grid, gradient to theta and image
    check(lambda m, x, t: m.nn.functional.grid_sample(
        x, m.nn.functional.affine_grid(t, (2, 3, 6, 5), align_corners=align_corners),
        align_corners=align_corners), _data(2, 3, 4, 5), 0.5 * _data(2, 2, 3))


def test_affine_grid_float32_unit_size_and_errors():
    check(lambda m, t: m.nn.functional.affine_grid(t, (1, 1, 3, 2), align_corners=False),
          _data(1, 2, 3).astype(np.float32), rtol=1e-6, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda m, t: m.nn.functional.affine_grid(t, (2, 3, 1, 5), align_corners=True),
              _data(2, 2, 3))

    def theta(m):
        return m.zeros(2, 2, 3)

    cases = [
        lambda m: m.nn.functional.affine_grid(theta(m).long(), (2, 3, 4, 5)),
        lambda m: m.nn.functional.affine_grid(theta(m), (2, 3, 4)),
        lambda m: m.nn.functional.affine_grid(theta(m), (2, 3, 0, 5), align_corners=False),
        lambda m: m.nn.functional.affine_grid(m.zeros(2, 3, 3), (2, 3, 4, 5),
                                              align_corners=False),
        lambda m: m.nn.functional.affine_grid(m.zeros(2, 2, 3), (2, 3, 4, 5, 6),
                                              align_corners=False),
        lambda m: m.nn.functional.affine_grid(theta(m), (3, 3, 4, 5), align_corners=False),
    ]
    for case in cases:
        assert_same_error(case)


# --------------------------------------------------------------------------- ctc_loss

T, N, C = 7, 3, 5
TARGETS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [3, 3, 2, 4]])


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("lengths", [([7, 5, 7], [3, 2, 0]), ([7, 7, 6], [2, 2, 3]),
                                     ([7, 1, 7], [3, 2, 1])])  # sample 1 is impossible
def test_ctc_loss(reduction, zero_infinity, lengths):
    il, tl = lengths

    def fn(m, x):
        return m.nn.functional.ctc_loss(x.log_softmax(2), m.tensor(TARGETS), il, tl,
                                        reduction=reduction, zero_infinity=zero_infinity)
    impossible = il[1] == 1
    # an infinite loss without zero_infinity: compare the values only (its gradient is nan)
    check(fn, _data(T, N, C), grad=not impossible or zero_infinity)
    if impossible:
        out = fn(dt, dt.tensor(_data(T, N, C)))
        assert (out.item() if out.ndim == 0 else out[1].item()) == \
            (0.0 if zero_infinity and reduction == "none" else
             float("inf") if not zero_infinity else out.item())


def test_ctc_loss_formats_blank_and_dtypes():
    x = _data(T, N, C)
    # raw (unnormalized) log_probs: torch's gradient formula, not the plain derivative
    check(lambda m, a: m.nn.functional.ctc_loss(a, m.tensor(TARGETS), m.tensor([7, 6, 7]),
                                                m.tensor([3, 2, 3]), blank=4,
                                                reduction="none"), x)
    flat = np.array([1, 2, 2, 3, 1, 4])
    check(lambda m, a: m.nn.functional.ctc_loss(a.log_softmax(2), m.tensor(flat), (7, 5, 6),
                                                (3, 2, 1)), x)
    check(lambda m, a: m.nn.functional.ctc_loss(a.log_softmax(1), m.tensor([1, 2, 2]), [7], [3],
                                                reduction="none"), x[:, 0])
    check(lambda m, a: m.nn.functional.ctc_loss(a.log_softmax(2), m.tensor(TARGETS),
                                                [0, 5, 6], [0, 2, 1], reduction="none"), x)
    check(lambda m, a: m.nn.functional.ctc_loss(a.log_softmax(2), m.tensor(TARGETS).int(),
                                                m.tensor([7, 5, 6]).int(), m.tensor([3, 2, 1])),
          x.astype(np.float32), rtol=1e-5, atol=1e-6)
    out = dt.nn.functional.ctc_loss(dt.tensor(x, requires_grad=True), dt.tensor(TARGETS),
                                    [7, 7, 7], [1, 1, 1], reduction="none")
    assert out.grad_fn.name() == "CtcLossBackward0"


def test_ctc_loss_module():
    x = _data(T, N, C)
    for kw in ({}, {"blank": 4, "reduction": "sum", "zero_infinity": True}):
        assert repr(dt.nn.CTCLoss(**kw)) == repr(torch.nn.CTCLoss(**kw))
        check(lambda m, a, kw=kw: m.nn.CTCLoss(**kw)(a.log_softmax(2), m.tensor(TARGETS),
                                                     [7, 6, 5], [3, 2, 2]), x)


def test_ctc_loss_errors():
    def call(m, il=(6, 5), tl=(3, 2), targets=((1, 2, 2), (3, 1, 0)), **kw):
        lp = m.zeros(6, 2, 5)
        return m.nn.functional.ctc_loss(lp, m.tensor(targets), list(il), list(tl), **kw)
    cases = [
        lambda m: call(m, il=(7, 5)),
        lambda m: call(m, il=(6, -1)),
        lambda m: call(m, tl=(4, 2)),
        lambda m: call(m, il=(6,)),
        lambda m: call(m, tl=(3,)),
        lambda m: call(m, blank=5),
        lambda m: call(m, reduction="foo"),
        lambda m: call(m, targets=(1, 2, 2, 3)),
    ]
    lp, tg = (lambda m: m.zeros(6, 2, 5)), (lambda m: m.tensor([[1, 2], [3, 1]]))
    for m in (dt, torch):
        with pytest.raises(TypeError):
            m.nn.functional.ctc_loss(lp(m), tg(m), m.tensor([6, 5]), [2, 2])
    for case in cases:
        assert_same_error(case)
