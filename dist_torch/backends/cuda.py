"""torch.backends.cuda flags (``matmul.allow_tf32`` and friends)."""


class _MatmulFlags:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built() -> bool:
    from dist_torch.backend import cuda as _cuda
    return _cuda.cupy is not None
