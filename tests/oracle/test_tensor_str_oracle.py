"""repr(tensor) compared character for character with torch."""

import numpy as np
import pytest
import torch

import dist_torch as dt

_rng = np.random.default_rng(0)
_F32 = np.float32


def _arrays():
    yield "scalar", np.array(3.5, _F32)
    yield "scalar_int", np.array(7)
    yield "scalar_bool", np.array(True)
    yield "scalar_nan", np.array(np.nan, _F32)
    yield "scalar_neg_small", np.array(-1.25e-7, _F32)
    yield "empty", np.zeros((0,), _F32)
    yield "empty_0x3", np.zeros((0, 3), _F32)
    yield "empty_int", np.zeros((0,), np.int64)
    yield "empty_i32", np.zeros((2, 0), np.int32)
    for mag in (1e-8, 1e-5, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e5, 1e7, 1e9, 1e12, 1e30):
        for shape in ((5,), (3, 4), (2, 3, 4)):
            yield f"randn*{mag:g}{shape}", (_rng.standard_normal(shape) * mag).astype(_F32)
    yield "uniform_0_1", _rng.random(7).astype(_F32)
    yield "mixed_magnitudes", np.array([1e-6, 1.0, 1e6], _F32)
    yield "integral", np.array([1.0, 2.0, 3.0], _F32)
    yield "integral_negative", np.array([-1.0, 20.0, -300.0], _F32)
    yield "integral_huge", np.array([1.0, 2.0, 3e8], _F32)
    yield "integral_spread", np.array([1.0, 2000.0], _F32)
    yield "nan_inf_mixed", np.array([np.nan, np.inf, -np.inf, 1.5, -0.0], _F32)
    yield "nan_inf_integral", np.array([np.nan, np.inf, -np.inf, 1.0, -0.0], _F32)
    yield "only_nan", np.array([np.nan, np.nan], _F32)
    yield "only_inf", np.array([np.inf, -np.inf], _F32)
    yield "zeros", np.zeros((2, 3), _F32)
    yield "negative_zero", np.array([-0.0, 0.0], _F32)
    yield "negzero_integral", np.array([-0.0, 1.0, -2.0], _F32)
    yield "at_1e-4", np.array([1e-4, 2e-4], _F32)
    yield "below_1e-4", np.array([0.00009, 0.5], _F32)
    yield "sci_negative", np.array([-1e-5, 3.0], _F32)
    yield "rounds_up", np.array([0.99999, 9.99996], _F32)
    yield "int_large", np.array([1, -2**40, 2**62], np.int64)
    yield "int_2x3x4", np.arange(24).reshape(2, 3, 4)
    yield "int_4d", np.arange(16).reshape(2, 2, 2, 2)
    yield "float_4d", _rng.standard_normal((2, 2, 2, 2)).astype(_F32)
    yield "bool_2d", _rng.standard_normal((3, 4)) > 0
    yield "bool_1d", np.array([True, False])
    yield "long_2000", _rng.standard_normal(2000).astype(_F32)
    yield "long_int", np.arange(2000)
    yield "square_40", _rng.standard_normal((40, 40)).astype(_F32)
    yield "cube_summarized", _rng.standard_normal((10, 20, 30)).astype(_F32)
    yield "exactly_1000", np.arange(1000.0, dtype=_F32)
    yield "just_over_1000", np.arange(1001.0, dtype=_F32)
    yield "int_7^4", np.arange(7**4).reshape(7, 7, 7, 7)
    yield "wrapping_row", _rng.standard_normal(30).astype(_F32)
    yield "wrapping_rows", _rng.standard_normal((3, 30)).astype(_F32)
    yield "wrapping_ints", np.arange(100) * 12345
    yield "float64", _rng.standard_normal((3, 3))
    yield "float64_thirds", np.array([1 / 3, 2 / 3])
    yield "float64_extremes", np.array([1e-100, 1e100, -1e-300])
    yield "float16", _rng.standard_normal((3, 3)).astype(np.float16)
    yield "float16_large", np.array([60000, 1, 2], np.float16)
    yield "int32", np.arange(6, dtype=np.int32).reshape(2, 3)
    yield "uint8", np.arange(250, 256, dtype=np.uint8)
    yield "int8", np.arange(-3, 3, dtype=np.int8)
    yield "int16", np.arange(-3, 3, dtype=np.int16)
    yield "single", np.array([0.1], _F32)
    yield "1x1x5", _rng.standard_normal((1, 1, 5)).astype(_F32)


ARRAYS = dict(_arrays())


@pytest.mark.parametrize("name", list(ARRAYS))
def test_repr_matches_torch(name):
    a = ARRAYS[name]
    assert repr(dt.tensor(a)) == repr(torch.tensor(a))


@pytest.mark.parametrize("name", ["float64", "long_2000", "scalar", "empty_0x3", "1x1x5"])
def test_requires_grad_and_grad_fn_suffixes_match_torch(name):
    a = ARRAYS[name].astype(np.float64)
    ours, theirs = dt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    assert repr(ours) == repr(theirs)
    assert repr(ours * 2) == repr(theirs * 2)
    assert repr(-ours) == repr(-theirs)
    assert repr(ours + 1) == repr(theirs + 1)


def test_bfloat16_matches_torch():
    a = np.array([1 / 3, 2 / 3, 100.0, -7.25, 1e-3])
    assert repr(dt.tensor(a, dtype=dt.bfloat16)) == repr(torch.tensor(a, dtype=torch.bfloat16))


_OPTION_ARRAYS = [
    _rng.standard_normal((3, 4)).astype(_F32),
    _rng.standard_normal(2000).astype(_F32),
    np.arange(1500),
    np.array([1e-5, 1.0], _F32),
    np.arange(10000).reshape(100, 100) * 1.5,
    np.arange(27).reshape(3, 3, 3),
    np.array([1.0, 2000.0], _F32),
]


@pytest.mark.parametrize("options", [
    dict(precision=2), dict(precision=8), dict(threshold=5), dict(edgeitems=1, threshold=10),
    dict(edgeitems=0, threshold=10), dict(linewidth=40), dict(linewidth=10),
    dict(profile="short"), dict(sci_mode=True), dict(sci_mode=False),
    dict(profile="full", linewidth=200),
], ids=str)
def test_print_options_match_torch(options):
    def render(lib):
        lib.set_printoptions(**options)
        try:
            return [repr(lib.tensor(a)) for a in _OPTION_ARRAYS]
        finally:
            lib.set_printoptions(profile="default")

    assert render(dt) == render(torch)


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_default_dtype_suffixes_match_torch(default):
    def render(lib):
        old = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            return [repr(lib.tensor([1.5, 2])), repr(lib.tensor([1.5], dtype=lib.float32)),
                    repr(lib.zeros(0)), repr(lib.zeros(0, dtype=lib.float32)),
                    repr(lib.tensor([1, 2]))]
        finally:
            lib.set_default_dtype(old)

    assert render(dt) == render(torch)
