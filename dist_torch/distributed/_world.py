"""The default process group and the functions that create, describe and destroy groups."""

from __future__ import annotations

import os
import warnings
from datetime import timedelta

from dist_torch.distributed.process_group import ProcessGroup, backend_class

__all__ = ["init_process_group", "destroy_process_group", "is_initialized", "get_rank",
           "get_world_size", "get_backend", "new_group", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "GroupMember", "group", "Backend", "default_pg_timeout",
           "is_torchelastic_launched", "get_node_local_rank", "get_pg_count"]

default_pg_timeout = timedelta(minutes=30)
TIMEOUT_ENV = "DT_DISTRIBUTED_TIMEOUT"
NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


class Backend(str):
    """A backend name (``Backend.MPI == "mpi"``), as ``torch.distributed.Backend``."""

    UNDEFINED = "undefined"
    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, got "
                             f"{type(name).__name__}")
        return super().__new__(cls, name.lower())


class _GroupMember(type):
    @property
    def WORLD(cls):  # noqa: N802 - torch's name
        return _state.default


class GroupMember(metaclass=_GroupMember):
    """``GroupMember.WORLD`` (the default group, None before init) and NON_GROUP_MEMBER."""

    NON_GROUP_MEMBER = -100


class group(metaclass=_GroupMember):  # noqa: N801 - torch's name
    """``dist.group.WORLD``: the default process group."""


class _State:
    default: ProcessGroup | None = None
    groups: list = []  # every group this rank belongs to, default first


_state = _State()


def _timeout_seconds(timeout) -> float:
    if timeout is None:
        value = os.environ.get(TIMEOUT_ENV)
        if value:
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got "
                                 f"{value!r}") from None
        return default_pg_timeout.total_seconds()
    if isinstance(timeout, timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout).__name__}")
    if seconds <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    return seconds


def _choose_backend(backend, device_id) -> str:
    """The registered backend name for ``backend`` (None: nccl on a CUDA machine, else mpi)."""
    if backend is None:
        from dist_torch.backend import cuda_available
        wants_cuda = device_id is not None and "cuda" in str(device_id) or \
            isinstance(device_id, int)
        return "cpu:mpi,cuda:nccl" if cuda_available() or wants_cuda else "mpi"
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, got {type(backend).__name__}")
    name = backend.lower().strip()
    if ":" in name or "," in name:
        return name
    if name == "gloo":  # torch's CPU backend: MPI carries CPU collectives here
        return "mpi"
    if name == "undefined":
        raise ValueError("Invalid backend: 'undefined'")
    return name


def _require_nccl() -> None:
    from dist_torch.distributed import nccl
    try:
        nccl._nccl()
    except ImportError as err:
        raise RuntimeError(f"init_process_group: backend 'nccl' is not available: {err}") \
            from None
    from dist_torch.backend import cuda_available
    if not cuda_available():
        raise RuntimeError("init_process_group: backend 'nccl' is not available: no CUDA GPU "
                           "is visible (use backend='mpi' for CPU tensors)")


def _check_against_mpi(world_size, rank, init_method, size, mine) -> None:
    if init_method == "env://":
        for var, value in (("WORLD_SIZE", size), ("RANK", mine)):
            given = os.environ.get(var)
            if given is not None and given.strip() and int(given) != value:
                raise ValueError(
                    f"init_process_group: environment variable {var}={given} but MPI started "
                    f"this process as rank {mine} of {size}. Start the job with an MPI launcher "
                    "(mpiexec -n N, srun, dtrun -n N), which sets both.")
    if world_size not in (-1, None) and int(world_size) != size:
        raise ValueError(f"init_process_group: world_size={world_size} but the MPI job has "
                         f"{size} process{'es' if size != 1 else ''} (start it with mpiexec -n "
                         f"{world_size} or dtrun -n {world_size})")
    if rank not in (-1, None) and int(rank) != mine:
        raise ValueError(f"init_process_group: rank={rank} but MPI started this process as "
                         f"rank {mine}")


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None,
                       **kwargs) -> None:
    """Create the default process group over every process of the MPI job.

    Ranks and the world size come from MPI: run the script with ``mpiexec -n N``, ``dtrun -n
    N`` or ``srun``; run it plainly for a world of one process. ``world_size`` and ``rank``,
    when given, are checked against MPI's.

    Args:
        backend: ``"mpi"`` (CPU tensors; CUDA tensors are staged through the host),
            ``"nccl"`` (CUDA tensors), ``"cpu:mpi,cuda:nccl"`` (both), or None: both on a
            machine with CUDA, else ``"mpi"``. ``"gloo"`` is accepted as ``"mpi"``.
        init_method: accepted for compatibility; ``"env://"`` also checks WORLD_SIZE/RANK.
        timeout: how long a collective may wait (default 30 minutes; the environment
            variable ``DT_DISTRIBUTED_TIMEOUT`` in seconds overrides the default).
        device_id: the CUDA device NCCL binds to (default: local rank modulo device count).

    Example::

        import dist_torch.distributed as dist
        dist.init_process_group()
        print(dist.get_rank(), dist.get_world_size())
    """
    if _state.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    seconds = _timeout_seconds(timeout)
    name = _choose_backend(backend, device_id)
    if ":" in name or "," in name:
        from dist_torch.distributed._dispatch import DeviceDispatchGroup, _parse
        _parse(name)
        cls = None
    else:
        cls = backend_class(name)  # unknown names fail here, before MPI starts
    if name == "nccl":
        _require_nccl()
    from dist_torch.distributed.mpi import mpi
    world = mpi().COMM_WORLD
    size, mine = world.Get_size(), world.Get_rank()
    _check_against_mpi(world_size, rank, init_method, size, mine)
    if cls is None:
        pg = DeviceDispatchGroup.from_spec(name, timeout=seconds, device_id=device_id)
    else:
        extra = {"device_id": device_id} if device_id is not None and name == "nccl" else {}
        pg = cls(timeout=seconds, **extra)
    _state.default = pg
    _state.groups = [pg]
    if size > 1:
        from dist_torch.distributed import _abort
        _abort.install()


def is_initialized() -> bool:
    """True once ``init_process_group`` has run (and until ``destroy_process_group``)."""
    return _state.default is not None


def _default_group() -> ProcessGroup:
    if _state.default is None:
        raise ValueError(NOT_INITIALIZED)
    return _state.default


def _not_member(grp) -> bool:
    return isinstance(grp, int) and not isinstance(grp, bool) and \
        grp == GroupMember.NON_GROUP_MEMBER


def _resolve_group(grp=None) -> ProcessGroup:
    """The ProcessGroup for a ``group=`` argument (None: the default group)."""
    if grp is None:
        return _default_group()
    if _not_member(grp):
        raise RuntimeError("this rank is not a member of the process group "
                           "(new_group returned GroupMember.NON_GROUP_MEMBER here)")
    if isinstance(grp, ProcessGroup):
        _default_group()
        return grp
    raise TypeError(f"group must be a ProcessGroup returned by new_group (or None for the "
                    f"default group), got {type(grp).__name__}")


def _warn_not_in_group(op_name: str) -> None:
    rank = -1 if _state.default is None else _state.default.rank()
    warnings.warn(f"Running {op_name} on global rank {rank} which does not belong to the given "
                  "group.", UserWarning, stacklevel=3)


def get_rank(group=None) -> int:
    """This process's rank in ``group`` (default: the world); -1 outside the group."""
    if _not_member(group):
        return -1
    return _resolve_group(group).rank()


def get_world_size(group=None) -> int:
    """The number of ranks in ``group`` (default: the world); -1 outside the group."""
    if _not_member(group):
        return -1
    return _resolve_group(group).size()


def get_backend(group=None) -> Backend:
    """The backend name of ``group`` (``"mpi"``, ``"nccl"``, ...)."""
    if _not_member(group):
        raise ValueError("Invalid process group specified")
    return Backend(_resolve_group(group).name())


def get_process_group_ranks(group) -> list[int]:
    """The global ranks of ``group``'s members, in group-rank order."""
    return list(_resolve_group(group).global_ranks)


def get_global_rank(group, group_rank: int) -> int:
    """The global rank of ``group``'s rank ``group_rank``."""
    pg = _resolve_group(group)
    if pg is _state.default:
        return group_rank  # torch: the world's ranks are global ranks
    ranks = pg.global_ranks
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {ranks}")
    return ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    """``global_rank``'s rank within ``group``."""
    pg = _resolve_group(group)
    if pg is _state.default:
        return global_rank
    ranks = pg.global_ranks
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {ranks}")
    return ranks.index(global_rank)


def _group_rank(pg: ProcessGroup, rank, group_rank, what: str) -> int:
    """The group rank meant by a ``src=``/``dst=`` (global) or ``group_src=`` argument."""
    if rank is not None and group_rank is not None:
        raise ValueError("Can't specify both group_rank and global_rank")
    if group_rank is not None:
        return group_rank
    if rank is None:
        raise ValueError(f"Must specify global_rank or group_rank (argument {what})")
    ranks = pg.global_ranks
    if ranks == list(range(len(ranks))) and pg is _state.default:
        return rank  # the backend names an out-of-range rank
    if rank not in ranks:
        raise ValueError(f"Global rank {rank} is not part of group {ranks} ({what})")
    return ranks.index(rank)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A process group of the given global ranks; every rank of the world must call it.

    Returns the group on its members and ``GroupMember.NON_GROUP_MEMBER`` elsewhere.
    """
    default = _default_group()
    size = default.size()
    if ranks is None:
        ranks = list(range(size))
    ranks = [int(r) for r in ranks]
    if len(ranks) > size:
        raise ValueError("the new group's world size should be less or equal to the world "
                         "size set by init_process_group")
    for r in ranks:
        if not 0 <= r < size:
            raise ValueError(f"The new group's rank should be within the world_size set by "
                             f"init_process_group (got rank {r}, world size {size})")
    if sort_ranks:
        ranks = sorted(ranks)
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"new_group: ranks {ranks} contain duplicates")
    seconds = default.timeout if timeout is None else _timeout_seconds(timeout)
    pg = default.new_group(ranks, seconds)
    if backend is not None and pg is not None:
        wanted = _choose_backend(backend, device_id)
        if wanted != default.name() and wanted not in default.name():
            warnings.warn(f"new_group(backend={backend!r}): subgroups use the default group's "
                          f"backend ({default.name()})", UserWarning, stacklevel=2)
    if pg is None:
        return GroupMember.NON_GROUP_MEMBER
    _state.groups.append(pg)
    return pg


def destroy_process_group(group=None) -> None:
    """Release ``group`` (default: every group, after which ``is_initialized()`` is False)."""
    if _not_member(group):
        return
    if group is None or group is _state.default:
        default = _default_group()
        for pg in reversed(_state.groups):
            pg.shutdown()
        _state.default, _state.groups = None, []
        from dist_torch.distributed import _abort
        _abort.uninstall()
        del default
        return
    pg = _resolve_group(group)
    pg.shutdown()
    if pg in _state.groups:
        _state.groups.remove(pg)


def get_pg_count() -> int:
    """How many process groups this rank belongs to."""
    return len(_state.groups)


def is_torchelastic_launched() -> bool:
    return False


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank on its node (LOCAL_RANK, or MPI's node-local rank)."""
    for var in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                "SLURM_LOCALID"):
        if os.environ.get(var, "").strip().isdigit():
            return int(os.environ[var])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not in the environment; pass fallback_rank")
