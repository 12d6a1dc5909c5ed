"""What real CuPy has: names read once from the installed cupy package (no device call), so
that the emulation refuses what CuPy would not have. Imported before the fake replaces
``cupy`` in ``sys.modules``."""

from __future__ import annotations

import importlib

import numpy as np

_real = importlib.import_module("cupy")
if getattr(_real, "__fake_cupy__", False):  # pragma: no cover - plugin ordering mistake
    raise ImportError("tests.fake_cupy.spec must be imported before the fake is installed")


def _names(obj) -> frozenset:
    return frozenset(dir(obj))


MODULE = _names(_real)
ARRAY = _names(_real.ndarray)
LINALG = _names(_real.linalg)
STRIDE_TRICKS = _names(_real.lib.stride_tricks)
TESTING = _names(_real.testing)
RUNTIME = _names(_real.cuda.runtime)

# CuPy 14's ufunc.at (see dist_torch/backend/compat.py)
_AT = tuple(np.dtype(t) for t in (np.int32, np.uint32, np.uint64, np.float32, np.float64))
UFUNC_AT = {"add": frozenset(_AT + (np.dtype(np.float16),)), "maximum": frozenset(_AT),
            "minimum": frozenset(_AT)}

# functions that CuPy computes on the device although NumPy returns a Python scalar
SCALAR_TO_ARRAY = frozenset({"count_nonzero", "allclose", "array_equal", "array_equiv"})
# functions whose results are host values (dtypes, bools, shapes) in CuPy as in NumPy
HOST_RESULT = frozenset({"result_type", "can_cast", "promote_types", "min_scalar_type",
                         "may_share_memory", "shares_memory", "isscalar", "ndim", "shape",
                         "size", "iinfo", "finfo", "issubdtype", "common_type", "dtype"})
# functions that take host arrays (they copy them to the device) or only look at metadata
HOST_OK = frozenset({"result_type", "can_cast", "promote_types", "min_scalar_type",
                     "isscalar", "ndim", "shape", "size", "iinfo", "finfo", "issubdtype",
                     "common_type"})


def has_module_attr(name: str) -> bool:
    return name in MODULE or hasattr(_real, name)


def has_array_attr(name: str) -> bool:
    return name in ARRAY
