"""Who did not arrive: each rank's last collective sequence number, readable without its help.

Every rank of a group owns one int64 in an MPI RMA window. A rank's communication thread
writes its own counter (a plain local store; the window uses the unified memory model) when
it enters a collective. A rank whose collective timed out reads everyone's counter with a
passive-target ``Rget`` (no cooperation from the targets: intra-node windows are shared
memory), and reports the ranks whose counter is below the collective's sequence number.
"""

from __future__ import annotations

import time

import numpy as np


class ArrivalBoard:
    """The per-rank "last collective entered" counters of one group (collective to create)."""

    def __init__(self, comm, MPI):  # noqa: N803 - the mpi4py module
        self._MPI = MPI
        self._comm = comm
        self._size = comm.Get_size()
        self._rank = comm.Get_rank()
        self._win = MPI.Win.Allocate(8, 8, comm=comm)
        self._unified = self._win.Get_attr(MPI.WIN_MODEL) == MPI.WIN_UNIFIED
        self._mine = np.frombuffer(self._win.tomemory(), dtype=np.int64)
        self._mine[0] = 0
        self._readable = True
        comm.Barrier()  # every counter is initialised before anyone can read it

    def mark(self, seq: int) -> None:
        """This rank has entered collective number ``seq``."""
        if self._unified:
            self._mine[0] = seq
            return
        value = np.array([seq], dtype=np.int64)
        self._win.Lock(self._rank, self._MPI.LOCK_EXCLUSIVE)
        self._win.Put([value, self._MPI.INT64_T], self._rank)
        self._win.Unlock(self._rank)

    def read(self, limit: float = 5.0) -> list[int] | None:
        """Every rank's counter, or None when the read does not complete within ``limit`` s.

        After a failed read the window stays locked: only call this once the group is broken.
        """
        if not self._readable:
            return None
        out = np.zeros(self._size, dtype=np.int64)
        try:
            self._win.Lock_all(self._MPI.MODE_NOCHECK)
            requests = [self._win.Rget([out[r:r + 1], self._MPI.INT64_T], r)
                        for r in range(self._size)]
        except self._MPI.Exception:
            self._readable = False
            return None
        deadline = time.monotonic() + limit
        pause = 0.0
        while not self._MPI.Request.Testall(requests):
            if time.monotonic() > deadline:
                self._readable = False
                return None
            time.sleep(pause)
            pause = min(2 * pause + 1e-5, 1e-3)
        self._win.Unlock_all()
        return out.tolist()

    def free(self) -> None:
        """Release the window (collective over the group)."""
        if self._win is not None:
            self._mine = None
            self._win.Free()
            self._comm.Free()
            self._win = None


def describe_missing(counters, seq: int, global_ranks: list[int]) -> str:
    """The sentence naming the ranks whose counter is below ``seq``."""
    if counters is None:
        return ("could not determine which ranks did not arrive (reading the other ranks' "
                "arrival counters did not complete)")
    missing = [r for r, c in enumerate(counters) if c < seq]
    if not missing:
        return ("every rank entered it, but it did not complete (a rank may have died, or be "
                "stuck inside it)")
    subgroup = list(global_ranks) != list(range(len(global_ranks)))

    def name(r):
        return f"rank {global_ranks[r]} (group rank {r})" if subgroup else f"rank {r}"
    last = ", ".join(f"{name(r)} is at sequence number {counters[r]}" for r in missing)
    listed = "ranks " + ", ".join(str(global_ranks[r]) for r in missing) if len(missing) > 1 \
        else name(missing[0])
    return f"{listed} did not arrive ({last})"
