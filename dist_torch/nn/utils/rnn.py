"""torch.nn.utils.rnn: pad, pack and unpack variable-length sequences.

A :class:`PackedSequence` stores a batch of sequences sorted by decreasing length, time-major:
``data`` holds the rows of time step 0 for every sequence, then those of step 1 for the
sequences still running, and so on; ``batch_sizes[t]`` is how many sequences step ``t`` has.
Packing and padding are single gathers (differentiable index selects), never a loop over
samples.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from dist_torch._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

PackedSequence_ = namedtuple("PackedSequence_",
                             ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _index(array, device):
    from dist_torch._creation import tensor
    return tensor(np.asarray(array, dtype=np.int64), device=device)


def invert_permutation(permutation):
    """The inverse of a permutation tensor (None stays None)."""
    if permutation is None:
        return None
    from dist_torch._creation import empty_like
    out = empty_like(permutation)
    perm = np.asarray(permutation.cpu().numpy(), dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size)
    out.copy_(_index(inverse, "cpu"))
    return out


class PackedSequence(PackedSequence_):
    """Packed variable-length batch: ``(data, batch_sizes, sorted_indices, unsorted_indices)``.

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`; RNN, LSTM and GRU
    accept it and return one.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise ValueError("PackedSequence needs batch_sizes")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """Move/cast ``data`` (``batch_sizes`` stays on the CPU); the indices follow data."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = None if self.sorted_indices is None else \
            self.sorted_indices.to(data.device)
        unsorted_indices = None if self.unsorted_indices is None else \
            self.unsorted_indices.to(data.device)
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args, **kwargs):
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self):
        return self.to("cpu")

    def double(self):
        return self.to(dtype=_dtype("float64"))

    def float(self):
        return self.to(dtype=_dtype("float32"))

    def half(self):
        return self.to(dtype=_dtype("float16"))

    def long(self):
        return self.to(dtype=_dtype("int64"))

    def int(self):
        return self.to(dtype=_dtype("int32"))

    def short(self):
        return self.to(dtype=_dtype("int16"))

    def char(self):
        return self.to(dtype=_dtype("int8"))

    def byte(self):
        return self.to(dtype=_dtype("uint8"))

    def bool(self):
        return self.to(dtype=_dtype("bool"))

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


def _dtype(name):
    import dist_torch
    return getattr(dist_torch, name)


def _lengths_array(lengths):
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu" or lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device} tensor")
        return np.asarray(lengths.numpy(), dtype=np.int64)
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (or ``(B, T, *)``) of sequences of ``lengths``.

    With ``enforce_sorted=False`` the batch is sorted by length first and the permutation is
    kept in ``sorted_indices``/``unsorted_indices``.
    """
    lens = _lengths_array(lengths)
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _index(order, input.device)
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)  # noqa: A001
    steps, batch = int(lens[0]) if lens.size else 0, lens.size
    if steps > input.size(0):
        raise RuntimeError(f"Expected sequence length to be at most {input.size(0)}, but got "
                           f"a length of {steps}")
    batch_sizes = (np.arange(steps)[:, None] < lens[None, :]).sum(axis=1)
    # row (t, j) of the sorted batch is row (t, order[j]) of the input
    cols = np.arange(batch) if order is None else order
    t_idx = np.repeat(np.arange(steps), batch_sizes)
    j_idx = np.concatenate([np.arange(b) for b in batch_sizes]) if steps else \
        np.zeros(0, np.int64)
    flat = t_idx * input.size(1) + cols[j_idx]
    rest = tuple(input.shape[2:])
    data = input.reshape((-1,) + rest).index_select(0, _index(flat, input.device))
    return PackedSequence(data, _index(batch_sizes, "cpu"), sorted_indices, None)


def _padded_gather(batch_sizes, order, steps):
    """For every (t, b) of a padded ``(steps, B)`` grid: the packed row it comes from, or the
    extra padding row ``n``; ``order[b]`` is the sorted position of original sample ``b``."""
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    lens = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    n = int(batch_sizes.sum())
    t = np.arange(steps)[:, None]
    j = order[None, :]
    valid = t < lens[j]
    rows = np.where(valid, offsets[np.minimum(t, batch_sizes.size - 1)] + j, n)
    return rows.reshape(-1), lens


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of :func:`pack_padded_sequence`: returns ``(padded, lengths)``.

    ``padded`` is ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``), in the original batch
    order; ``lengths`` is an int64 CPU tensor.
    """
    from dist_torch._creation import full
    from dist_torch.ops.join import cat
    data = sequence.data
    batch_sizes = np.asarray(sequence.batch_sizes.numpy(), dtype=np.int64)
    max_len = batch_sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        steps = total_length
    else:
        steps = max_len
    batch = int(batch_sizes[0]) if max_len else 0
    if sequence.unsorted_indices is None:
        order = np.arange(batch)
    else:
        order = np.asarray(sequence.unsorted_indices.cpu().numpy(), dtype=np.int64)
    rows, lens_sorted = _padded_gather(batch_sizes, order, steps)
    rest = tuple(data.shape[1:])
    pad_row = full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad_row], 0).index_select(0, _index(rows, data.device))
    padded = padded.reshape((steps, batch) + rest)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _index(lens_sorted[order], "cpu")


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with
    ``batch_first``), filling with ``padding_value`` on the ``padding_side``."""
    from dist_torch._creation import full
    from dist_torch.ops.join import cat
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    lens = np.array([s.size(0) for s in sequences], dtype=np.int64)
    steps, batch = int(lens.max()), len(sequences)
    rest = tuple(sequences[0].shape[1:])
    first = sequences[0]
    flat = cat(list(sequences) + [full((1,) + rest, padding_value, dtype=first.dtype,
                                       device=first.device)], 0)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    t = np.arange(steps)[:, None]
    pos = t if padding_side == "right" else t - (steps - lens)[None, :]
    valid = (pos >= 0) & (pos < lens[None, :])
    rows = np.where(valid, starts[None, :] + pos, int(lens.sum()))
    out = flat.index_select(0, _index(rows.reshape(-1), first.device))
    out = out.reshape((steps, batch) + rest)
    return out.transpose(0, 1) if batch_first else out


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of ``(L_i, *)`` tensors."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = _lengths_array(lengths)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of ``(L_i, *)`` tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.size(0) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Inverse of :func:`pack_sequence`: a list of ``(L_i, *)`` tensors."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
