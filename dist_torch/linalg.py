"""torch.linalg: the linear-algebra namespace (``torch.linalg.vector_norm``, ...).

Functions live in the ops modules; this module only re-exports them under torch's names.
"""

from dist_torch.ops.linalg import matmul, vecdot
from dist_torch.ops.linalg_norm import linalg_norm as norm
from dist_torch.ops.linalg_norm import matrix_norm, vector_norm

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul", "vecdot"]
