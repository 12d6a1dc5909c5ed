"""torch.backends.cuda flags (``matmul.allow_tf32`` and friends) and the float32 matmul
precision behind ``torch.set_float32_matmul_precision``.

``matmul.allow_tf32`` and the precision are one setting seen two ways, as in torch:
``allow_tf32`` is True exactly when the precision is ``'high'`` or ``'medium'``; setting it
True makes the precision ``'high'``, False makes it ``'highest'``. On CuPy the setting picks
the cuBLAS compute type of float32 GEMMs (:mod:`dist_torch.backend.cuda_flags`).
"""

import warnings

_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def _get_precision() -> str:
    return _precision


def _set_precision(precision) -> None:
    global _precision
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got "
                           f"{type(precision).__name__}")
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=3)
        return
    _precision = precision
    from dist_torch.backend import cuda_flags
    cuda_flags.apply_matmul_tf32(precision != "highest")


def _check_bool(value, what: str):
    if not isinstance(value, bool):
        raise TypeError(f"{what} expects a bool or a tuple/list of bools, but got "
                        f"{type(value)!r}")
    return value


class _MatmulFlags:
    """``torch.backends.cuda.matmul``: cuBLAS flags. Unknown names raise AttributeError."""

    _REDUCED = ("allow_fp16_reduced_precision_reduction",
                "allow_bf16_reduced_precision_reduction")

    def __init__(self):
        object.__setattr__(self, "_reduced", dict.fromkeys(self._REDUCED, True))

    def __getattr__(self, name):
        if name == "allow_tf32":
            return _precision != "highest"
        if name in self._REDUCED:
            return self._reduced[name]
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            if not isinstance(value, bool):
                raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got "
                                   f"{type(value).__name__}")
            _set_precision("high" if value else "highest")
            return
        if name in self._REDUCED:
            if isinstance(value, (list, tuple)) and value:
                value = value[0]
            self._reduced[name] = _check_bool(value, name)
            return
        raise AttributeError("Unknown attribute " + name)


matmul = _MatmulFlags()


def is_built() -> bool:
    from dist_torch.backend import cuda as _cuda
    return _cuda.cupy is not None
