"""Tensor printing: ``repr(t)`` laid out character for character as torch prints it, and
``torch.set_printoptions``.

The layout rules (as observed from torch): all elements of a tensor share one width and one
mode (fixed-point with ``precision`` decimals; integral floats as ``1.``; scientific when the
magnitudes span more than 1000x, exceed 1e8 or go below 1e-4); rows wrap at ``linewidth``;
tensors of more than ``threshold`` elements show ``edgeitems`` items at each end of every
dimension around ``...``; dtype, device and autograd state follow as suffixes.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from dist_torch import _dtype
from dist_torch._device import CPU
from dist_torch.backend import to_device

__all__ = ["set_printoptions"]


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()

_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, math.inf, 3, 80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None) -> None:
    """Set how tensors print (as ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which tensors are summarized (default 1000).
        edgeitems: items shown at each end of a summarized dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'`` (never summarize); applied first.
        sci_mode: True/False forces scientific/fixed notation; None (also what an omitted
            argument sets) chooses automatically.

    Example::

        >>> torch.set_printoptions(precision=2)
        >>> torch.tensor([1.2345])
        tensor([1.23])
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"unknown print profile {profile!r}: expected one of "
                             f"{sorted(_PROFILES)}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = _PROFILES[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options as a dict (``set_printoptions(**d)`` restores them)."""
    return {"precision": PRINT_OPTS.precision, "threshold": PRINT_OPTS.threshold,
            "edgeitems": PRINT_OPTS.edgeitems, "linewidth": PRINT_OPTS.linewidth,
            "sci_mode": PRINT_OPTS.sci_mode}


@contextlib.contextmanager
def printoptions(**kwargs):
    """Context manager: ``set_printoptions(**kwargs)`` inside the block, restored after."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """One width and one notation for every element of an array (host NumPy)."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                candidates = (flat.min().item(), flat.max().item())
                self.max_width = max(len(str(v)) for v in candidates)
        else:
            finite = flat[np.isfinite(flat) & (flat != 0)]
            if finite.size:
                self._measure(finite)
            elif PRINT_OPTS.sci_mode is not None:
                self.sci_mode = PRINT_OPTS.sci_mode

    def _measure(self, finite):
        magnitude = np.abs(finite).astype(np.float64)
        smallest, largest = magnitude.min(), magnitude.max()
        self.int_mode = bool((finite == np.ceil(finite)).all())
        # String lengths grow with |value| for each sign, except that scientific exponents
        # also grow towards zero: the extremes of each sign are the widest strings.
        candidates = []
        for part in (finite[finite > 0], finite[finite < 0]):
            if part.size:
                candidates += [part.min().item(), part.max().item()]
        precision = PRINT_OPTS.precision
        with np.errstate(over="ignore"):  # a ratio past 1e308 is inf: still "> 1000"
            spread = largest / smallest
        self.sci_mode = PRINT_OPTS.sci_mode if PRINT_OPTS.sci_mode is not None else \
            spread > 1000.0 or largest > 1.0e8 or (not self.int_mode and smallest < 1.0e-4)
        if self.sci_mode:
            widths = [len(f"{v:.{precision}e}") for v in candidates]
        elif self.int_mode:
            widths = [len(f"{v:.0f}") + 1 for v in candidates]
        else:
            widths = [len(f"{v:.{precision}f}") for v in candidates]
        self.max_width = max(self.max_width, *widths)

    def format(self, value) -> str:
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if math.isfinite(value):
                    text += "."
            else:
                text = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            text = f"{value}"
        return " " * (self.max_width - len(text)) + text


def _summarized(a: np.ndarray) -> np.ndarray:
    """The elements a summarized print shows (what the common width is measured over)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if not e:
        # As torch: a 1-D tensor keeps everything (its tail slice is [-0:]); higher ones nothing.
        return a if a.ndim == 1 else a[(slice(0, 0),) * a.ndim]
    for axis, n in enumerate(a.shape):
        if n > 2 * e:
            a = np.take(a, np.r_[0:e, n - e:n], axis=axis)
    return a


def _vector_str(a, indent, summarize, fmt) -> str:
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2)))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = [fmt.format(v) for v in a[:e].tolist()] + [" ..."] + \
            [fmt.format(v) for v in a[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nd_str(a, indent, summarize, fmt) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    n, e = a.shape[0], PRINT_OPTS.edgeitems
    if summarize and n > 2 * e:
        rows = [_nd_str(a[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."] + \
            [_nd_str(a[i], indent + 1, summarize, fmt) for i in range(n - e, n)]
    else:
        rows = [_nd_str(a[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _tensor_str(a: np.ndarray, indent: int) -> str:
    summarize = a.size > PRINT_OPTS.threshold
    if a.dtype.kind not in "biu" and a.dtype.itemsize < 4:  # float16, bfloat16: as float32
        a = a.astype(np.float32)
    fmt = _Formatter(_summarized(a) if summarize else a)
    return _nd_str(a, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes, indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t, tensor_contents=None) -> str:
    """``repr(t)`` as torch prints it, e.g. ``tensor([1., 2.], requires_grad=True)``."""
    from dist_torch._tensor import Tensor
    cls = type(t)
    prefix = "tensor(" if cls is Tensor or cls.__name__ == "Parameter" else cls.__name__ + "("
    indent = len(prefix)
    suffixes = []
    data = t._data
    if type(data) is not np.ndarray:
        suffixes.append(f"device='{t.device}'")
        data = to_device(data, CPU)
    dtype = t.dtype
    default = _dtype.get_default_dtype()
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(data.shape)}")
        if dtype is not default and dtype is not _dtype.int64 and dtype is not _dtype.bool:
            suffixes.append(f"dtype={dtype!r}")
        body = _tensor_str(data, indent)
    if tensor_contents is not None:
        body = tensor_contents
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
