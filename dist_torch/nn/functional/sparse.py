"""Lookup tables of ``torch.nn.functional``: embedding, embedding_bag and one_hot."""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES
from dist_torch.autograd.grad_mode import no_grad
from dist_torch.backend import array_module
from dist_torch.ops import embedding as _emb
from dist_torch.ops._util import check_same_device

__all__ = ["embedding", "embedding_bag", "one_hot"]

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _tensor_type(t: Tensor) -> str:
    return f"torch.{_LEGACY_TYPE_NAMES[t.dtype.name]}Tensor"


def _check_index_dtype(indices: Tensor, argname: str, position: int, fname: str) -> None:
    if indices._data.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"Expected tensor for argument #{position} '{argname}' to have one of "
                           f"the following scalar types: Long, Int; but got "
                           f"{_tensor_type(indices)} instead (while checking arguments for "
                           f"{fname})")


def _padding_index(padding_idx, num_embeddings: int):
    if padding_idx is None:
        return None
    if padding_idx > 0:
        assert padding_idx < num_embeddings, "Padding_idx must be within num_embeddings"
    elif padding_idx < 0:
        assert padding_idx >= -num_embeddings, "Padding_idx must be within num_embeddings"
        padding_idx = num_embeddings + padding_idx
    return padding_idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight`` ``(num_embeddings, embedding_dim)`` at integer ``input``.

    Args:
        padding_idx: this row gets no gradient.
        max_norm: rows looked up with a larger ``norm_type``-norm are rescaled in place to
            this norm first.
        scale_grad_by_freq: divide each row's gradient by its frequency in the batch.
        sparse: accepted for compatibility; the weight gradient is always dense.

    Shape:
        ``input (*)`` -> ``(*, embedding_dim)``.

    Example::

        >>> F.embedding(torch.tensor([[0, 2]]), torch.eye(3))
        tensor([[[1., 0., 0.],
                 [0., 0., 1.]]])
    """
    w = weight._data
    padding_idx = _padding_index(padding_idx, w.shape[0])
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    _check_index_dtype(input, "indices", 1, "embedding")
    check_same_device(weight, input)
    idx = input._data
    _emb.check_indices(idx, w.shape[0])
    if max_norm is not None:
        with no_grad():
            _emb.embedding_renorm_(weight, input, max_norm, norm_type)
    return _emb.Embedding.apply(weight, idx, padding_idx, scale_grad_by_freq)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without materializing the lookups.

    ``input`` is ``(B, L)`` (B bags of L indices) or 1-D with ``offsets`` giving each bag's
    start. ``per_sample_weights`` (``input``'s shape, ``mode='sum'`` only) scale each row.

    Shape:
        output ``(B, embedding_dim)``.
    """
    w = weight._data
    if w.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {w.ndim}")
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if scale_grad_by_freq:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq is not supported")
    idx = input._data
    xp = array_module(idx)
    if idx.ndim == 2:
        if offsets is not None:
            kind = "<class 'torch.Tensor'>" if isinstance(offsets, Tensor) else type(offsets)
            raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated "
                             f"is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {kind}")
        num_bags, length = idx.shape
        starts = xp.arange(0, num_bags * length, length, dtype=np.int64) if length else \
            xp.zeros(num_bags, dtype=np.int64)
        idx = idx.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        starts = offsets._data.astype(np.int64)
        if include_last_offset:
            starts = starts[:-1]
        num_bags = starts.shape[0]
        if num_bags and int(starts[0]) != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{int(starts[0])}\n[ torch.LongTensor{{}} ]")
        if num_bags and int(starts[-1]) > idx.shape[0]:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length "
                               f"{idx.shape[0]} but got offsets[-1] of {int(starts[-1])}")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{idx.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    _check_index_dtype(input, "indices", 2, "embedding_bag")
    bad = (idx < 0) | (idx >= w.shape[0])
    if bad.any():
        pos = int(xp.flatnonzero(bad)[0])
        raise RuntimeError(f"Index {pos} of input takes value {int(idx[pos])} which is not in "
                           f"the valid range [0, {w.shape[0]})")
    padding_idx = _padding_index(padding_idx, w.shape[0])
    if max_norm is not None:
        with no_grad():
            _emb.embedding_renorm_(weight, _wrap(idx), max_norm, norm_type)
    psw = None if per_sample_weights is None else per_sample_weights.reshape(-1)
    return _emb.EmbeddingBag.apply(weight, psw, idx, starts, num_bags, mode, padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dimension of size ``num_classes`` (inferred as
    ``max + 1`` when -1).

    Example::

        >>> F.one_hot(torch.tensor([0, 2]))
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    a = tensor._data
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = array_module(a)
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        if int(a.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        num_classes = int(a.max()) + 1
    elif a.size:
        if int(a.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(a.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _wrap(out)
