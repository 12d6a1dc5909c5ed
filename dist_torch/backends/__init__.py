"""torch.backends: the flags scripts set or query (cudnn, cuda.matmul, mps).

dist_torch has no cuDNN or MPS backend; the flags exist so that scripts which set them run
unchanged, and ``mps.is_available()`` answers False.
"""

from dist_torch.backends import cuda, cudnn, mps  # noqa: F401
