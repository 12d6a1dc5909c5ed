"""dtype attributes and promotion rules vs torch, over every pair of dtypes."""

import itertools

import pytest
import torch

import dist_torch as dt

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]
ALIASES = ["float", "double", "half", "long", "int", "short"]
PAIRS = list(itertools.product(NAMES, NAMES))


@pytest.mark.parametrize("name", NAMES + ALIASES)
def test_dtype_attributes_match_torch(name):
    ours, theirs = getattr(dt, name), getattr(torch, name)
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert ours.itemsize == theirs.itemsize
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_signed == theirs.is_signed
    assert ours.is_complex == theirs.is_complex


@pytest.mark.parametrize("a, b", PAIRS)
def test_promote_types_matches_torch(a, b):
    assert str(dt.promote_types(getattr(dt, a), getattr(dt, b))) == \
        str(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("a, b", PAIRS)
def test_can_cast_matches_torch(a, b):
    assert dt.can_cast(getattr(dt, a), getattr(dt, b)) == \
        torch.can_cast(getattr(torch, a), getattr(torch, b))


def _operand(lib, kind, name):
    if kind == "tensor":
        return lib.ones(2, dtype=getattr(lib, name))
    if kind == "zero_dim":
        return lib.ones((), dtype=getattr(lib, name))
    return {"bool": True, "int64": 2, "float32": 2.5}[name]


_KINDS = [("tensor", n) for n in NAMES] + [("zero_dim", n) for n in NAMES] + \
    [("scalar", n) for n in ("bool", "int64", "float32")]


@pytest.mark.parametrize("first", _KINDS, ids=lambda k: f"{k[0]}-{k[1]}")
def test_result_type_matches_torch(first):
    for second in _KINDS:
        ours = dt.result_type(_operand(dt, *first), _operand(dt, *second))
        theirs = torch.result_type(_operand(torch, *first), _operand(torch, *second))
        assert str(ours) == str(theirs), (first, second)


@pytest.mark.parametrize("default", ["float64", "float16", "bfloat16"])
def test_result_type_with_another_default_matches_torch(default):
    def results(lib):
        old = lib.get_default_dtype()
        lib.set_default_dtype(getattr(lib, default))
        try:
            return [str(lib.result_type(_operand(lib, *a), _operand(lib, *b)))
                    for a in _KINDS for b in (("scalar", "float32"), ("scalar", "int64"))]
        finally:
            lib.set_default_dtype(old)

    assert results(dt) == results(torch)


def test_errors_match_torch():
    for fn in (lambda lib: lib.can_cast(lib.int32, 1),
               lambda lib: lib.result_type(lib.ones(1), "a"),
               lambda lib: lib.set_default_dtype(lib.int64)):
        classes = []
        for lib in (dt, torch):
            with pytest.raises(Exception) as info:  # noqa: B017 - compared below
                fn(lib)
            classes.append(type(info.value))
        assert classes[0] is classes[1]
