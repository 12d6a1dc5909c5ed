"""Argument checks shared by the backends: every message names the shapes, dtypes and ranks.

The backends check arrays (DDP and SyncBatchNorm call them directly); the torch-shaped API in
``distributed/__init__.py`` checks Tensors and group membership before it gets here.
"""

from __future__ import annotations

from dist_torch import _dtype
from dist_torch.distributed.process_group import ReduceOp

_BITWISE = (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR)


def dtype_name(array) -> str:
    """The torch name of an array's dtype (``float32``, ``bfloat16``, ...)."""
    try:
        return _dtype.from_numpy_dtype(array.dtype).name
    except TypeError:
        return str(array.dtype)


def kind(array) -> str:
    """'f' (floating, bfloat16 included), 'i' (integer) or 'b' (bool)."""
    d = array.dtype
    if d.kind == "b":
        return "b"
    if d.kind in "iu":
        return "i"
    return "f"


def shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_op(name: str, op, arrays) -> ReduceOp:
    """``op`` as a ReduceOp that is valid for every array's dtype."""
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{name}: op must be a dist.ReduceOp (e.g. ReduceOp.SUM), got "
                        f"{op!r} of type {type(op).__name__}")
    for a in arrays:
        k = kind(a)
        if op in _BITWISE and k == "f":
            raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype "
                               f"(got a tensor of dtype {dtype_name(a)} in {name})")
        if op is ReduceOp.AVG and k != "f":
            raise RuntimeError(f"{name}: ReduceOp.AVG needs floating tensors: result type Float "
                               f"can't be cast to the desired output type {dtype_name(a)}")
    return op


def check_root(name: str, root, size: int, what: str = "root") -> int:
    if not isinstance(root, int) or isinstance(root, bool) or not 0 <= root < size:
        raise RuntimeError(f"{name}: invalid {what} rank: {root} (the group has {size} "
                           f"rank{'s' if size != 1 else ''}: 0..{size - 1})")
    return root


def check_list(name: str, arrays, size: int, what: str) -> list:
    """A list of exactly ``size`` arrays (one per rank)."""
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name}: {what} must be a list of tensors, got {type(arrays).__name__}")
    if len(arrays) != size:
        raise RuntimeError(f"{name}: {what} has {len(arrays)} tensors but the process group has "
                           f"{size} rank{'s' if size != 1 else ''} (one tensor per rank)")
    return list(arrays)


def check_like(name: str, arrays, reference, what: str, ref_what: str) -> None:
    """Every array has ``reference``'s shape and dtype."""
    for i, a in enumerate(arrays):
        if a.dtype != reference.dtype:
            raise ValueError(f"{name}: invalid tensor type at index {i} of {what}: expected "
                             f"dtype {dtype_name(reference)} (as {ref_what}), got "
                             f"{dtype_name(a)}")
        if a.shape != reference.shape:
            raise RuntimeError(f"{name}: invalid tensor size at index {i} of {what} (expected "
                               f"{shape_str(reference.shape)} as {ref_what}, got "
                               f"{shape_str(a.shape)})")


def check_same_dtype(name: str, a, b, what_a: str, what_b: str) -> None:
    if a.dtype != b.dtype:
        raise ValueError(f"{name}: {what_a} has dtype {dtype_name(a)} but {what_b} has dtype "
                         f"{dtype_name(b)}; they must match")


def check_numel(name: str, output, input, size: int, gather: bool) -> None:
    """``output`` holds ``size`` times ``input``'s elements (gather) or a ``size``-th (scatter)."""
    big, small = (output, input) if gather else (input, output)
    if big.size != small.size * size:
        raise RuntimeError(
            f"{name}: {'output' if gather else 'input'} tensor of shape {shape_str(big.shape)} "
            f"must have {size} (world size) times the elements of the "
            f"{'input' if gather else 'output'} tensor of shape {shape_str(small.shape)}")
