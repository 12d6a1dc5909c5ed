"""ProcessGroup: the interface every communication backend implements (DESIGN.md rule 5).

Distributed code above this layer (the torch-shaped API in ``distributed/__init__.py``,
DistributedDataParallel, SyncBatchNorm) talks to a ProcessGroup only; it never imports mpi4py
or NCCL. Collectives work on *arrays* (NumPy or CuPy on the MPI backend, which stages CuPy
arrays through host memory; CuPy on NCCL), always return a :class:`Work`, and are issued in
the same order on every rank of the group. A backend runs each
operation asynchronously where it can: ``Work.wait()`` blocks until it is done (and raises a
:class:`DistTimeoutError` that names the collective, its sequence number and the ranks that
did not arrive when the group's timeout passes).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

__all__ = ["ReduceOp", "Work", "ProcessGroup", "DistError", "DistBackendError",
           "DistTimeoutError", "register_backend", "backend_class"]


class DistError(RuntimeError):
    """Base of the distributed errors (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A backend failed (torch.distributed.DistBackendError)."""


class DistTimeoutError(DistError):
    """A collective waited longer than its process group's timeout."""


class ReduceOp(enum.Enum):
    """Reduction operators, as ``torch.distributed.ReduceOp``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self):
        return f"<RedOpType.{self.name}>"


class Work(ABC):
    """A pending operation (torch.distributed.Work)."""

    @abstractmethod
    def wait(self, timeout: float | None = None) -> bool:
        """Block until done; raise the operation's error (or DistTimeoutError)."""

    @abstractmethod
    def is_completed(self) -> bool:
        """True once the operation has finished (successfully or not)."""

    def is_success(self) -> bool:
        return self.is_completed() and self.exception() is None

    def exception(self):
        return None

    def result(self):
        """The arrays the operation wrote (after ``wait``)."""
        return []

    def get_future(self):
        """A :class:`dist_torch.futures.Future` of ``result()``, completed by ``wait()``."""
        from dist_torch.futures import Future

        def finish():
            self.wait()
            return self.result()
        return Future(_waiter=finish)


class ProcessGroup(ABC):
    """A set of ranks that communicate; ``rank()`` and ``size()`` are within the group.

    Every method takes arrays of one backend's kind and returns a :class:`Work`; arguments
    named like torch's collectives mean the same. In-place operations write their inputs.
    """

    backend_name = "undefined"

    def __init__(self, rank: int, size: int, global_ranks: list[int], timeout: float):
        self._rank = rank
        self._size = size
        self.global_ranks = list(global_ranks)
        self.timeout = timeout

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def name(self) -> str:
        return self.backend_name

    # ---- collectives on arrays ----------------------------------------------------------

    @abstractmethod
    def allreduce(self, arrays: list, op: ReduceOp = ReduceOp.SUM) -> Work:
        """Reduce each array across ranks, in place, leaving the result on every rank."""

    @abstractmethod
    def broadcast(self, arrays: list, src: int) -> Work:
        """Overwrite each array with rank ``src``'s."""

    @abstractmethod
    def reduce(self, arrays: list, dst: int, op: ReduceOp = ReduceOp.SUM) -> Work:
        """Reduce into rank ``dst``'s arrays (others' are left as they were)."""

    @abstractmethod
    def allgather(self, outputs: list, input) -> Work:
        """``outputs[r]`` receives rank r's ``input`` (all shapes equal)."""

    @abstractmethod
    def allgather_into(self, output, input) -> Work:
        """``output`` (size * input rows) receives every rank's ``input``, concatenated."""

    @abstractmethod
    def gather(self, outputs: list | None, input, dst: int) -> Work:
        """On ``dst``, ``outputs[r]`` receives rank r's ``input``."""

    @abstractmethod
    def scatter(self, output, inputs: list | None, src: int) -> Work:
        """``output`` receives ``inputs[rank]`` from rank ``src``."""

    @abstractmethod
    def reduce_scatter(self, output, inputs: list, op: ReduceOp = ReduceOp.SUM) -> Work:
        """``output`` receives the reduction over ranks of ``inputs[rank]``."""

    @abstractmethod
    def reduce_scatter_into(self, output, input, op: ReduceOp = ReduceOp.SUM) -> Work:
        """``output`` receives this rank's block of the reduction of flat ``input``."""

    @abstractmethod
    def alltoall(self, outputs: list, inputs: list) -> Work:
        """``outputs[r]`` receives rank r's ``inputs[rank]``."""

    @abstractmethod
    def barrier(self) -> Work:
        """Done when every rank has entered the barrier."""

    @abstractmethod
    def send(self, array, dst: int, tag: int = 0) -> Work:
        """Point-to-point send to group rank ``dst``."""

    @abstractmethod
    def recv(self, array, src: int | None, tag: int = 0) -> Work:
        """Receive into ``array`` from ``src`` (None: any rank; ``Work.source_rank()``)."""

    # ---- Python objects (pickled, as torch's *_object collectives) ------------------------

    @abstractmethod
    def broadcast_object(self, obj, src: int):
        """Rank ``src``'s ``obj`` on every rank (blocking)."""

    @abstractmethod
    def allgather_object(self, obj) -> list:
        """Every rank's ``obj``, in rank order (blocking)."""

    @abstractmethod
    def gather_object(self, obj, dst: int) -> list | None:
        """On ``dst`` every rank's ``obj``; None elsewhere (blocking)."""

    # ---- groups -------------------------------------------------------------------------

    @abstractmethod
    def new_group(self, ranks: list[int], timeout: float | None = None) -> ProcessGroup | None:
        """A group of the given (this group's) ranks; None on ranks outside it. Collective."""

    def shutdown(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release the group's resources (idempotent)."""


_BACKENDS: dict[str, str] = {
    "mpi": "dist_torch.distributed.mpi:MPIProcessGroup",
    "nccl": "dist_torch.distributed.nccl:NCCLProcessGroup",
}


def register_backend(name: str, target: str) -> None:
    """Register a backend by name as ``"package.module:ClassName"`` (imported lazily)."""
    _BACKENDS[name.lower()] = target


def backend_class(name: str):
    """The ProcessGroup class registered as ``name``, imported on first use."""
    try:
        target = _BACKENDS[name.lower()]
    except KeyError:
        raise ValueError(f"Invalid backend: '{name}'; registered backends are "
                         f"{sorted(_BACKENDS)}") from None
    module_name, _, class_name = target.partition(":")
    import importlib
    return getattr(importlib.import_module(module_name), class_name)
