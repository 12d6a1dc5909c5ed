"""The standard DDP communication hooks: plain all-reduce and fp16/bf16 gradient compression.

A hook receives ``(state, bucket)`` and returns a Future whose value is the bucket's averaged
gradients as one flat tensor. ``state`` is the process group to use (None: the default).
"""

from __future__ import annotations

from dist_torch import _dtype


def _group(state):
    from dist_torch import distributed as dist
    return dist._resolve_group(state)


def _allreduce_average(tensor, state):
    """An async SUM all-reduce of ``tensor / world size``; a Future of the tensor."""
    from dist_torch.distributed.process_group import ReduceOp
    group = _group(state)
    tensor._data /= group.size()
    work = group.allreduce([tensor._data], ReduceOp.SUM)
    return work.get_future().then(lambda _: tensor)


def allreduce_hook(state, bucket):
    """Average the bucket's gradients across ranks (what DDP does without a hook)."""
    return _allreduce_average(bucket.buffer(), state)


def _compress_hook(dtype):
    def hook(state, bucket):
        buffer = bucket.buffer()
        compressed = buffer.to(dtype)
        future = _allreduce_average(compressed, state)

        def decompress(fut):
            buffer._data[...] = fut.value()._data.astype(buffer._data.dtype)
            return buffer
        return future.then(decompress)
    return hook


fp16_compress_hook = _compress_hook(_dtype.float16)
fp16_compress_hook.__doc__ = ("Cast gradients to float16, average them across ranks, cast "
                              "back: half the bytes on the wire.")
bf16_compress_hook = _compress_hook(_dtype.bfloat16)
bf16_compress_hook.__doc__ = ("Like fp16_compress_hook with bfloat16 (float32's range, fewer "
                              "mantissa bits).")
