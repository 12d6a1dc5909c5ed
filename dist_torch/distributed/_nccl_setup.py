"""NCCL backend setup: device choice, the one-GPU-per-rank check, and NCCL's type codes.

Kept apart from nccl.py so that it can be tested without a GPU or libnccl (a stand-in module
with nccl.h's constants replaces ``cupy.cuda.nccl``).
"""

from __future__ import annotations

import os

from dist_torch.distributed.process_group import ReduceOp


def _local_rank(node_rank: int) -> int:
    for var in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK",
                "SLURM_LOCALID"):
        value = os.environ.get(var, "").strip()
        if value.isdigit():
            return int(value)
    return node_rank


def _setup_comms(comm):
    """(node-local rank, a Dup for the arrival counters): run in the bootstrap's FIFO."""
    from dist_torch.distributed.mpi import mpi
    node = comm.Split_type(mpi().COMM_TYPE_SHARED)
    node_rank = node.Get_rank()
    node.Free()
    return node_rank, comm.Dup()


def _bus_id(cupy, index: int) -> str:
    """The PCI bus id of device ``index`` (the same GPU has the same id in every process)."""
    try:
        return str(cupy.cuda.runtime.deviceGetPCIBusId(index)).lower()
    except Exception:  # a runtime without it: the properties carry the same numbers
        p = cupy.cuda.runtime.getDeviceProperties(index)
        return f"{p['pciDomainID']:04x}:{p['pciBusID']:02x}:{p['pciDeviceID']:02x}"


def _shared_gpus(placements, global_ranks) -> str | None:
    """Why NCCL cannot run when two ranks' ``(host, bus id)`` placements are equal (None if
    every rank has a GPU of its own)."""
    first = {}
    for rank, place in enumerate(placements):
        if place in first:
            host, bus = place
            other = first[place]
            return (f"the NCCL backend needs one GPU per process, but ranks "
                    f"{global_ranks[other]} and {global_ranks[rank]} both use the GPU at PCI "
                    f"bus id {bus} on host {host!r} (NCCL refuses this with 'Duplicate GPU "
                    f"detected'). Use backend='mpi', which runs collectives on CUDA tensors "
                    f"by staging them through host memory and lets ranks share a GPU, or "
                    f"start at most as many processes per host as it has GPUs (pass device_id "
                    f"to choose each rank's GPU)")
        first[place] = rank
    return None


def _device_index(device_id) -> int | None:
    if device_id is None:
        return None
    if isinstance(device_id, int):
        return device_id
    if not isinstance(device_id, str):  # a device object (str.index is a method)
        index = getattr(device_id, "index", None)
        if index is not None:
            return int(index)
    text = str(device_id)
    return int(text.split(":")[1]) if ":" in text else 0


def _check_not_self(name: str, peer: int, rank: int) -> None:
    if peer == rank:
        which = "destination" if name == "send" else "source"
        raise ValueError(f"Invalid {which} rank: {which} rank should not be the same as the "
                         f"rank of the current process ({peer}).")


class _Types:
    """NCCL datatype and op codes, resolved once."""

    def __init__(self, nccl):
        import numpy as np
        self.by_dtype = {
            np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int8): nccl.NCCL_INT8,
            np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.int64): nccl.NCCL_INT64,
            np.dtype(np.uint8): nccl.NCCL_UINT8,
        }
        for name, code in (("uint32", "NCCL_UINT32"), ("uint64", "NCCL_UINT64")):
            if hasattr(nccl, code):
                self.by_dtype[np.dtype(name)] = getattr(nccl, code)
        try:
            version = int(nccl.get_version())
        except Exception:  # a very old NCCL without ncclGetVersion
            version = 0
        modern = version >= 21000  # NCCL 2.10 brought ncclBfloat16 (9) and ncclAvg (4)
        self.bfloat16 = getattr(nccl, "NCCL_BFLOAT16", 9) if modern else None
        self.uint8 = nccl.NCCL_UINT8
        # without ncclAvg, AVG is SUM and the result is divided by the group size
        self.native_avg = modern
        avg = getattr(nccl, "NCCL_AVG", 4) if modern else nccl.NCCL_SUM
        self.ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: avg,
                    ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MIN: nccl.NCCL_MIN,
                    ReduceOp.MAX: nccl.NCCL_MAX}
        self.bool_ops = {ReduceOp.SUM: nccl.NCCL_MAX, ReduceOp.MAX: nccl.NCCL_MAX,
                         ReduceOp.BOR: nccl.NCCL_MAX, ReduceOp.PRODUCT: nccl.NCCL_MIN,
                         ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.BAND: nccl.NCCL_MIN}
