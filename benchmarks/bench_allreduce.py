"""All-reduce bandwidth: raw mpi4py ``Allreduce`` beside ``dist.all_reduce`` on a Tensor.

Both sum a flat float32 buffer across the ranks; ``dist.all_reduce`` goes through the MPI
backend's communication thread (enqueue, run, signal), so the ratio shows what that costs.
Bandwidth is the algorithm bandwidth, bytes / time (the buffer's size over the time of one
all-reduce). Run under MPI with one thread per rank::

    OMP_NUM_THREADS=1 mpiexec -n 2 python benchmarks/bench_allreduce.py

Also reports an overlapped all-reduce: ``async_op=True`` issued before a NumPy computation,
and how much of the communication was hidden behind it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from mpi4py import MPI

import dist_torch as torch
import dist_torch.distributed as dist


def timed(fn, repeats: int, comm) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs (ranks start each run together)."""
    fn()  # warm up
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    # the slowest rank decides how long a collective took
    return comm.allreduce(float(np.median(times)), op=MPI.MAX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*",
                        default=[1_000, 100_000, 1_000_000, 10_000_000],
                        help="buffer sizes in float32 elements (default: 1e3 .. 1e7)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per size")
    args = parser.parse_args()

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD.Dup()
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank == 0:
        print(f"all-reduce (SUM) of float32 buffers on {size} ranks; median of "
              f"{args.repeats} runs")
        print(f"{'elements':>12} {'MB':>8} {'mpi4py ms':>10} {'GB/s':>7} "
              f"{'dist ms':>10} {'GB/s':>7} {'dist/mpi4py':>12}")
    for n in args.sizes:
        raw = np.full(n, rank + 1, dtype=np.float32)
        tensor = torch.full((n,), float(rank + 1))
        t_raw = timed(lambda raw=raw: comm.Allreduce(MPI.IN_PLACE, raw), args.repeats, comm)
        t_dist = timed(lambda tensor=tensor: dist.all_reduce(tensor), args.repeats, comm)
        if rank == 0:
            mb = n * 4 / 1e6
            print(f"{n:>12,} {mb:>8.2f} {t_raw * 1e3:>10.3f} {mb / 1e3 / t_raw:>7.2f} "
                  f"{t_dist * 1e3:>10.3f} {mb / 1e3 / t_dist:>7.2f} {t_dist / t_raw:>12.2f}")

    # overlap: an async all-reduce of the largest buffer while the main thread computes
    n = args.sizes[-1]
    tensor = torch.full((n,), 1.0)
    work_array = np.random.default_rng(0).standard_normal((600, 600))
    comm.Barrier()
    issued = time.perf_counter()
    work = dist.all_reduce(tensor, async_op=True)
    computed = time.perf_counter()
    for _ in range(8):
        work_array = np.tanh(work_array @ work_array.T / 600)
    computed = time.perf_counter() - computed
    completed_before_wait = work.is_completed()
    waited = time.perf_counter()
    work.wait()
    waited = time.perf_counter() - waited
    total = time.perf_counter() - issued
    ok = bool(np.all(tensor.numpy() == size))
    stats = comm.gather((computed, waited, total, completed_before_wait, ok), root=0)
    if rank == 0:
        for r, (c, w, t, done, good) in enumerate(stats):
            print(f"overlap rank {r}: compute {c * 1e3:.1f} ms while all-reducing {n * 4 / 1e6:.0f}"
                  f" MB; done before wait: {done}; wait {w * 1e3:.1f} ms; total "
                  f"{t * 1e3:.1f} ms; correct: {good}")
    comm.Free()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
