"""torch.distributed for dist_torch: process groups and collectives over MPI and NCCL.

Run a script with ``mpiexec -n N python train.py`` (or ``dtrun -n N train.py``, or ``srun``);
run it plainly for a world of one process. Ranks and the world size come from MPI::

    import dist_torch as torch
    import dist_torch.distributed as dist

    dist.init_process_group()                 # "mpi" on CPU; NCCL too where CUDA is
    t = torch.tensor([float(dist.get_rank() + 1)])
    dist.all_reduce(t)                        # every rank: the sum over ranks
    dist.destroy_process_group()

Backends are ProcessGroup classes registered by name and imported on first use
(``mpi``: mpi4py; ``nccl``: cupy.cuda.nccl, bootstrapped over MPI). Failures are loud: an
uncaught exception on one rank aborts the job (MPI_Abort), and a collective that waits past
the group's timeout raises DistTimeoutError naming the collective, its sequence number and
the ranks that did not arrive. ``DT_DISTRIBUTED_DEBUG=1`` checks that every rank calls the
same collective with matching shapes before running it.
"""

from __future__ import annotations

import importlib.util

from dist_torch.distributed._collectives import *  # noqa: F403
from dist_torch.distributed._collectives import __all__ as _collectives_all
from dist_torch.distributed._objects import *  # noqa: F403
from dist_torch.distributed._objects import __all__ as _objects_all
from dist_torch.distributed._world import *  # noqa: F403
from dist_torch.distributed._world import __all__ as _world_all
from dist_torch.distributed._world import _resolve_group  # noqa: F401 - used by nn, DDP hooks
from dist_torch.distributed.process_group import (
    DistBackendError,
    DistError,
    DistTimeoutError,
    ProcessGroup,
    ReduceOp,
    Work,
    register_backend,
)

__all__ = ["is_available", "is_mpi_available", "is_nccl_available", "is_gloo_available",
           "is_backend_available", "ReduceOp", "Work", "ProcessGroup", "DistError",
           "DistBackendError", "DistTimeoutError", "register_backend", "reduce_op",
           *_world_all, *_collectives_all, *_objects_all]

reduce_op = ReduceOp  # torch's deprecated alias


def is_available() -> bool:
    """True: the distributed package is always built (backends may still be missing)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py is installed (checked without initialising MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """True when CuPy with NCCL support is installed and a GPU is visible."""
    from dist_torch.distributed.nccl import is_available as nccl_available
    return nccl_available()


def is_gloo_available() -> bool:
    """False: there is no Gloo here (``init_process_group("gloo")`` uses MPI)."""
    return False


def is_backend_available(backend: str) -> bool:
    """Whether ``backend`` (``"mpi"``, ``"nccl"``, ...) can be used on this machine."""
    name = str(backend).lower()
    if name in ("mpi", "gloo"):
        return is_mpi_available()
    if name == "nccl":
        return is_nccl_available()
    from dist_torch.distributed.process_group import _BACKENDS
    return name in _BACKENDS
