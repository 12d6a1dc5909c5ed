"""torch.linalg: the linear-algebra namespace (``torch.linalg.vector_norm``, ...).

Functions live in the ops modules; this module only re-exports them under torch's names.
``eig``/``eigvals`` are missing: their results are complex, which dist_torch has no dtype for.
"""

from dist_torch.ops.decompositions import LinAlgError
from dist_torch.ops.decompositions import linalg_cholesky as cholesky
from dist_torch.ops.decompositions import linalg_cholesky_ex as cholesky_ex
from dist_torch.ops.decompositions import linalg_det as det
from dist_torch.ops.decompositions import linalg_inv as inv
from dist_torch.ops.decompositions import linalg_inv_ex as inv_ex
from dist_torch.ops.decompositions import linalg_qr as qr
from dist_torch.ops.decompositions import linalg_slogdet as slogdet
from dist_torch.ops.linalg import matmul, vecdot
from dist_torch.ops.linalg_norm import linalg_norm as norm
from dist_torch.ops.linalg_norm import matrix_norm, vector_norm
from dist_torch.ops.matrix_functions import linalg_cross as cross
from dist_torch.ops.matrix_functions import linalg_diagonal as diagonal
from dist_torch.ops.matrix_functions import linalg_vander as vander
from dist_torch.ops.matrix_functions import matrix_exp, matrix_power, multi_dot
from dist_torch.ops.solvers import linalg_cond as cond
from dist_torch.ops.solvers import linalg_lstsq as lstsq
from dist_torch.ops.solvers import linalg_matrix_rank as matrix_rank
from dist_torch.ops.solvers import linalg_pinv as pinv
from dist_torch.ops.solvers import linalg_solve as solve
from dist_torch.ops.solvers import linalg_solve_ex as solve_ex
from dist_torch.ops.solvers import linalg_solve_triangular as solve_triangular
from dist_torch.ops.spectral import linalg_eigh as eigh
from dist_torch.ops.spectral import linalg_eigvalsh as eigvalsh
from dist_torch.ops.spectral import linalg_svd as svd
from dist_torch.ops.spectral import linalg_svdvals as svdvals

__all__ = [
    "norm", "vector_norm", "matrix_norm", "matmul", "vecdot", "LinAlgError", "inv", "inv_ex",
    "det", "slogdet", "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "svd", "svdvals",
    "eigh", "eigvalsh", "pinv", "lstsq", "matrix_power", "matrix_rank", "matrix_exp",
    "multi_dot", "cross", "vander", "solve_triangular", "diagonal", "cond",
]
