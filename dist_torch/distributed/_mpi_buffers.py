"""Host buffers for the MPI backend: contiguous views (or copies written back) in the layout
MPI reduces or moves; float16/bfloat16 reduce in float32 and bool as bytes."""

from __future__ import annotations

import numpy as np


def _reduce_buffer(a):
    """``(buffer, write_back)``: an array MPI can reduce for ``a``; ``write_back`` (or None)
    copies the result into ``a``."""
    if a.dtype.kind == "b":
        if a.flags.c_contiguous:
            return a.view(np.uint8), None
        buf = np.ascontiguousarray(a).view(np.uint8)
        return buf, lambda: np.copyto(a, buf.view(np.bool_))
    if a.dtype.itemsize == 2 and a.dtype.kind in "fV":  # float16, bfloat16: reduce in float32
        buf = a.astype(np.float32)
        return buf, lambda: np.copyto(a, buf, casting="unsafe")
    if a.flags.c_contiguous:
        return a, None
    buf = np.ascontiguousarray(a)
    return buf, lambda: np.copyto(a, buf)


def _bytes(a):
    """``(bytes, write_back)``: a flat uint8 view of ``a`` (of a contiguous copy if needed)."""
    if a.flags.c_contiguous:
        return a.reshape(-1).view(np.uint8), None
    buf = np.ascontiguousarray(a)
    return buf.reshape(-1).view(np.uint8), lambda: np.copyto(a, buf)


def _as_array(chunk, like):
    """The uint8 ``chunk`` reinterpreted with ``like``'s dtype and shape."""
    return chunk.view(like.dtype).reshape(like.shape)


def _displacements(counts):
    out, total = [], 0
    for c in counts:
        out.append(total)
        total += c
    return out
