"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``.

``collate(batch, collate_fn_map=...)`` dispatches on the type of the first sample: the map's
functions handle leaves (tensors, NumPy arrays and scalars, Python numbers, strings), and
mappings, namedtuples and sequences are transposed and collated field by field, as torch does.
Stacking a field is one NumPy call over the samples' arrays (no per-sample tensor ops); any
case the fast path does not cover (mixed dtypes, mismatched shapes, tensors that require
grad) goes through :func:`dist_torch.stack`, which gives torch's results and errors.
"""

from __future__ import annotations

import collections.abc
import copy
import re

import numpy as np

import dist_torch
from dist_torch._dtype import _BY_NUMPY
from dist_torch._tensor import Tensor, _wrap
from dist_torch.backend import array_module

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
    "found {}")

_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)


def _stack_arrays(arrays, n: int, shape: tuple):
    """Stack equally shaped arrays of one dtype along a new first axis."""
    xp = array_module(arrays[0])
    if xp is not np:
        return xp.stack(arrays)
    if not shape:
        return np.array(arrays)
    # concatenate is cheaper than stack (no per-array expand_dims); the result is contiguous
    return np.concatenate(arrays).reshape((n, *shape))


def _uniform(arrays):
    """The common (shape, dtype) of ``arrays``, or None when they differ."""
    first = arrays[0]
    shape, dtype = first.shape, first.dtype
    for a in arrays:
        if a.shape != shape or a.dtype != dtype:
            return None
    return shape, dtype


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Stack tensors along a new first dimension (``torch.stack(batch, 0)``)."""
    if type(batch) is list or type(batch) is tuple:
        arrays = [t._data for t in batch if type(t) is Tensor and not t._requires_grad]
        if arrays and len(arrays) == len(batch) and _uniform(arrays) is not None:
            return _wrap(_stack_arrays(arrays, len(arrays), arrays[0].shape))
    return dist_torch.stack(batch, 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """NumPy arrays become one tensor (strings and objects are rejected as torch does)."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    arrays = [np.asarray(b) for b in batch]
    common = _uniform(arrays)
    if common is not None and common[1] in _BY_NUMPY:
        return _wrap(_stack_arrays(arrays, len(arrays), common[0]))
    return collate([dist_torch.as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """NumPy scalars (``np.float32(1)``, ``np.bool_(True)``...) keep their dtype."""
    return dist_torch.as_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats become a float64 tensor."""
    if all(type(x) is float for x in batch):
        return _wrap(np.array(batch, dtype=_FLOAT64))
    return dist_torch.tensor(batch, dtype=dist_torch.float64)


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints become an int64 tensor (all bools: bool; ints mixed with floats: float)."""
    if all(type(x) is int for x in batch):
        try:
            return _wrap(np.array(batch, dtype=_INT64))
        except OverflowError:
            pass
    return dist_torch.tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes stay a list."""
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map=None):
    """Collate ``batch`` using ``collate_fn_map`` (type -> function) for its leaves.

    The first sample's exact type is looked up first, then each key with ``isinstance`` in
    the map's order; mappings, namedtuples and sequences recurse field by field.

    Args:
        batch: a sequence of samples.
        collate_fn_map: ``{type or tuple of types: fn(batch, *, collate_fn_map)}``.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(elem_type)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        fields = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                  for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                out = copy.copy(elem)
                out.update(fields)
                return out
            return elem_type(fields)
        except TypeError:  # the mapping type cannot be built from a dict
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(field, collate_fn_map=collate_fn_map)
                           for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(field, collate_fn_map=collate_fn_map) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return fields  # torch returns a list for tuples
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                out = copy.copy(elem)
                for i, value in enumerate(fields):
                    out[i] = value
                return out
            return elem_type(fields)
        except TypeError:
            return fields
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def default_collate(batch):
    """The DataLoader's default ``collate_fn`` when batching: stack samples into a batch.

    Tensors are stacked along a new first dimension; NumPy arrays become tensors and are
    stacked; Python ints become int64 tensors, floats float64 and bools bool; strings stay
    lists; mappings, namedtuples and sequences are collated field by field (tuples and lists
    of samples become lists of batched fields).

    Example::

        >>> default_collate([(torch.zeros(2), 1), (torch.ones(2), 2)])
        [tensor([[0., 0.],
                [1., 1.]]), tensor([1, 2])]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """The DataLoader's ``collate_fn`` without batching: NumPy arrays and scalars to tensors.

    Recurses into mappings, namedtuples and sequences; everything else is returned as is
    (tuples become lists, as in torch).
    """
    if isinstance(data, Tensor):
        return data
    elem_type = type(data)
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "bytes_"):
        if isinstance(data, np.ndarray) and \
                np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return dist_torch.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        fields = {key: default_convert(data[key]) for key in data}
        try:
            if isinstance(data, collections.abc.MutableMapping):
                out = copy.copy(data)
                out.update(fields)
                return out
            return elem_type(fields)
        except TypeError:
            return fields
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        fields = [default_convert(d) for d in data]
        try:
            if isinstance(data, collections.abc.MutableSequence):
                out = copy.copy(data)
                for i, value in enumerate(fields):
                    out[i] = value
                return out
            return elem_type(fields)
        except TypeError:
            return fields
    return data


class EmptyBatch(list):
    """A batch of no indices (an empty list) that remembers one ``template`` index: the
    DataLoader's fetcher collates that sample and keeps zero rows of it, so a rank without
    rows of a global batch still gets tensors of the right shapes and dtypes (see
    DistributedBatchSampler)."""

    def __init__(self, template):
        super().__init__()
        self.template = template

    def __reduce__(self):  # pickled to worker processes
        return (EmptyBatch, (self.template,))


def zero_rows(batch):
    """``batch`` (a collated structure) with every tensor cut to zero rows along dim 0."""
    if isinstance(batch, Tensor):
        return batch[:0]
    if isinstance(batch, np.ndarray):
        return batch[:0]
    if isinstance(batch, collections.abc.Mapping):
        return type(batch)({k: zero_rows(v) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(zero_rows(v) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(zero_rows(v) for v in batch)
    return batch
