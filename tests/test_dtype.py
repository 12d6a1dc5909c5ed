"""dtypes: attributes, aliases, promotion (promote_types, result_type, can_cast)."""

import pickle

import numpy as np
import pytest

import dist_torch as torch

ALL = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
       torch.float16, torch.bfloat16, torch.float32, torch.float64]


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("dtype, name, itemsize, floating, signed", [
    (torch.bool, "bool", 1, False, False),
    (torch.uint8, "uint8", 1, False, False),
    (torch.int8, "int8", 1, False, True),
    (torch.int16, "int16", 2, False, True),
    (torch.int32, "int32", 4, False, True),
    (torch.int64, "int64", 8, False, True),
    (torch.float16, "float16", 2, True, True),
    (torch.bfloat16, "bfloat16", 2, True, True),
    (torch.float32, "float32", 4, True, True),
    (torch.float64, "float64", 8, True, True),
])
def test_dtype_attributes(dtype, name, itemsize, floating, signed):
    assert repr(dtype) == str(dtype) == f"torch.{name}"
    assert dtype.itemsize == itemsize
    assert dtype.is_floating_point is floating
    assert dtype.is_signed is signed
    assert dtype.is_complex is False


def test_aliases_are_the_same_objects():
    assert torch.float is torch.float32 and torch.double is torch.float64
    assert torch.half is torch.float16 and torch.long is torch.int64
    assert torch.int is torch.int32 and torch.short is torch.int16
    assert repr(torch.float) == "torch.float32"


def test_dtypes_are_hashable_and_picklable():
    assert len(set(ALL)) == len(ALL)
    assert {torch.float: 1}[torch.float32] == 1
    for d in ALL:
        assert pickle.loads(pickle.dumps(d)) is d


def test_numpy_dtype_mapping():
    assert torch.float32.numpy_dtype == np.float32
    assert torch.tensor(np.zeros(1, np.int16)).dtype is torch.int16


@pytest.mark.parametrize("a, b, expected", [
    (torch.int32, torch.float32, torch.float32),
    (torch.int64, torch.float16, torch.float16),
    (torch.uint8, torch.int8, torch.int16),
    (torch.bool, torch.uint8, torch.uint8),
    (torch.int16, torch.int32, torch.int32),
    (torch.float16, torch.bfloat16, torch.float32),
    (torch.bfloat16, torch.int64, torch.bfloat16),
    (torch.bfloat16, torch.float64, torch.float64),
    (torch.float32, torch.float64, torch.float64),
    (torch.bool, torch.bool, torch.bool),
])
def test_promote_types(a, b, expected):
    assert torch.promote_types(a, b) is expected
    assert torch.promote_types(b, a) is expected


@pytest.mark.parametrize("a, b, expected", [
    (lambda: torch.tensor([1]), 2.0, torch.float32),
    (lambda: torch.tensor([1], dtype=torch.int8), 1000, torch.int8),
    (lambda: torch.tensor([1], dtype=torch.float16), 2.0, torch.float16),
    (lambda: torch.tensor([True]), 2, torch.int64),
    (lambda: torch.tensor([1], dtype=torch.int8), lambda: torch.tensor(1.0, dtype=torch.float64),
     torch.float64),
    (lambda: torch.tensor([1.0], dtype=torch.float16),
     lambda: torch.tensor(1.0, dtype=torch.float64), torch.float16),
    (lambda: torch.tensor([1], dtype=torch.int8), lambda: torch.tensor(1), torch.int8),
    (lambda: torch.tensor([1], dtype=torch.int8), lambda: torch.tensor([1], dtype=torch.int32),
     torch.int32),
    (1, 2.0, torch.float32),
    (1, 2, torch.int64),
    (True, False, torch.bool),
])
def test_result_type(a, b, expected):
    a = a() if callable(a) else a
    b = b() if callable(b) else b
    assert torch.result_type(a, b) is expected


def test_result_type_follows_the_default_dtype(default_float64):
    assert torch.result_type(torch.tensor([1]), 1.5) is torch.float64
    assert torch.result_type(torch.tensor([1.0], dtype=torch.float32), 1.5) is torch.float32


def test_result_type_rejects_non_numbers():
    with pytest.raises(TypeError, match="result_type"):
        torch.result_type(torch.tensor([1]), "a")
    with pytest.raises(TypeError, match="result_type"):
        torch.result_type(torch.tensor([1]), None)


@pytest.mark.parametrize("src, dst, expected", [
    (torch.float32, torch.int32, False),
    (torch.int32, torch.float32, True),
    (torch.int32, torch.bool, False),
    (torch.bool, torch.int8, True),
    (torch.float64, torch.float16, True),
    (torch.int64, torch.uint8, True),
    (torch.float16, torch.bool, False),
])
def test_can_cast(src, dst, expected):
    assert torch.can_cast(src, dst) is expected


def test_can_cast_argument_types():
    with pytest.raises(TypeError, match="argument 'to' \\(position 2\\) must be torch.dtype, "
                                        "not int"):
        torch.can_cast(torch.int32, 1)


def test_set_default_dtype_accepts_floating_types_only():
    old = torch.get_default_dtype()
    try:
        for d in (torch.float16, torch.bfloat16, torch.float64, torch.float32):
            torch.set_default_dtype(d)
            assert torch.get_default_dtype() is d
            assert torch.tensor([0.5]).dtype is d
    finally:
        torch.set_default_dtype(old)
    for bad in (torch.int32, torch.bool, "float32"):
        with pytest.raises(TypeError, match="only floating-point types"):
            torch.set_default_dtype(bad)
