"""torch dtypes, their NumPy counterparts, and torch's type-promotion rules."""

from __future__ import annotations

import builtins

import numpy as np

try:  # bfloat16 has no NumPy dtype of its own; ml_dtypes provides one when installed.
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - exercised only where ml_dtypes is absent
    _ml_dtypes = None

# Category ranks used by promotion: bool < integer < floating.
_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:  # noqa: N801 - torch spells it lowercase
    """A tensor element type, spelled and printed as torch spells it (``torch.float32``)."""

    __slots__ = ("name", "itemsize", "is_floating_point", "is_complex", "is_signed",
                 "_category", "_np")

    def __init__(self, name, np_dtype, category, is_signed):
        self.name = name
        self._np = None if np_dtype is None else np.dtype(np_dtype)
        self.itemsize = 2 if np_dtype is None else self._np.itemsize
        self._category = category
        self.is_floating_point = category == _FLOAT
        self.is_complex = False
        self.is_signed = is_signed

    @property
    def numpy_dtype(self):
        """The NumPy dtype that stores this dtype's elements."""
        if self._np is None:
            raise TypeError(f"torch.{self.name} needs the ml_dtypes package "
                            "(pip install ml_dtypes) to be stored in NumPy arrays")
        return self._np

    def to_real(self):
        return self

    def to_complex(self):
        raise TypeError(f"complex dtypes are not supported (from torch.{self.name})")

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return self.name


bool = dtype("bool", np.bool_, _BOOL, False)  # noqa: A001 - torch.bool
uint8 = dtype("uint8", np.uint8, _INT, False)
int8 = dtype("int8", np.int8, _INT, True)
int16 = dtype("int16", np.int16, _INT, True)
int32 = dtype("int32", np.int32, _INT, True)
int64 = dtype("int64", np.int64, _INT, True)
float16 = dtype("float16", np.float16, _FLOAT, True)
bfloat16 = dtype("bfloat16", None if _ml_dtypes is None else _ml_dtypes.bfloat16, _FLOAT, True)
float32 = dtype("float32", np.float32, _FLOAT, True)
float64 = dtype("float64", np.float64, _FLOAT, True)

short, int, long = int16, int32, int64  # noqa: A001 - torch aliases
half, float, double = float16, float32, float64  # noqa: A001

ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NUMPY = {d._np: d for d in ALL_DTYPES if d._np is not None}


def from_numpy_dtype(np_dtype) -> dtype:
    """The torch dtype stored as ``np_dtype``; TypeError for types torch has no dtype for."""
    try:
        return _BY_NUMPY[np_dtype]
    except KeyError:
        pass
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype).name}. The only supported "
            "types are: float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, "
            "and bool.") from None


# --------------------------------------------------------------------------- default dtype

class _Default:
    dtype = float32


def get_default_dtype() -> dtype:
    """The floating dtype that Python floats and float factories produce (float32 at start)."""
    return _Default.dtype


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype; only float16/bfloat16/float32/float64 are allowed."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _Default.dtype = d


# --------------------------------------------------------------------------- promotion

def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to safely."""
    if a is b:
        return a
    if a._category != b._category:  # a higher category wins outright: int + float16 -> float16
        return a if a._category > b._category else b
    if a is bfloat16 or b is bfloat16:
        other = b if a is bfloat16 else a
        return other if other.itemsize > 2 else float32
    return _BY_NUMPY[np.promote_types(a._np, b._np)]


def scalar_dtype(value) -> dtype:
    """The dtype a Python (or NumPy) scalar stands for: bool, int64 or the default float."""
    if isinstance(value, (builtins.bool, np.bool_)):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return _Default.dtype
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _fold(dtypes):
    out = None
    for d in dtypes:
        out = d if out is None else promote_types(out, d)
    return out


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """torch's rule for letting a lower-priority operand class raise the result's category."""
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type_of(dims, zero_dims, scalars) -> dtype:
    """Result dtype from the dtypes of dimensioned tensors, 0-dim tensors and Python scalars.

    Python scalars and 0-dim tensors only raise the category (a float makes an int tensor the
    default float dtype); they never widen a dimensioned tensor of their own category.
    """
    return _combine(_fold(dims), _combine(_fold(zero_dims), _fold(scalars)))
