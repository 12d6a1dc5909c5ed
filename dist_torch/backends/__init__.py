"""torch.backends: the flags scripts set or query (cudnn, cuda.matmul, mps), and the float32
matmul precision (``torch.set_float32_matmul_precision``).

dist_torch has no cuDNN or MPS backend; their flags exist so that scripts which set them run
unchanged, and ``mps.is_available()`` answers False. The TF32 flags take effect on CuPy.
"""

from dist_torch.backends import cuda, cudnn, mps  # noqa: F401

__all__ = ["get_float32_matmul_precision", "set_float32_matmul_precision"]


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision: ``'highest'`` (default), ``'high'`` or ``'medium'``."""
    return cuda._get_precision()


def set_float32_matmul_precision(precision: str) -> None:
    """Set the internal precision of float32 matmuls on CUDA.

    Args:
        precision: ``'highest'`` (float32), ``'high'`` or ``'medium'`` (TF32 on GPUs that
            have it). Same as ``torch.backends.cuda.matmul.allow_tf32 = precision !=
            'highest'``. Another string warns and changes nothing.
    """
    cuda._set_precision(precision)
