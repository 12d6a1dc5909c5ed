"""DistributedDataParallel on CPU ranks: synchronisation bandwidth, overlap and weak scaling.

One command runs every part, each under its own ``mpiexec`` with one thread per rank::

    python benchmarks/bench_ddp.py            # 2 ranks; --ranks N for more

(a) **sync**: a model of 10 M float32 parameters whose backward is almost free (each
    parameter is multiplied by one input value), so a DDP backward is nearly all gradient
    synchronisation (bucketing, the communication thread, MPI). Its added time over a local
    backward (``no_sync``) is compared with one raw mpi4py ``Allreduce`` of a flat buffer of
    the same 40 MB: bandwidth ratio = raw time / DDP sync time (goal >= 0.9).
(b) **overlap**: an MLP of ~10 M parameters at batch 64, where backward has real work. A DDP
    step is compared with the local step plus the raw all-reduce of all gradients: the
    fraction of the all-reduce hidden behind backward is
    ``(local + raw - ddp) / raw``.
(c) **weak scaling**: the MNIST ConvNet at 64 rows per rank on 1 rank and on N ranks;
    efficiency = throughput(N) / (N * throughput(1)).

Times are medians over ``--repeats`` steps; each step's time is the slowest rank's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- rank side

def _median_step(step, repeats, comm) -> float:
    """Median over ``repeats`` of the slowest rank's time for ``step()``."""
    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        step()
        times.append(comm.allreduce(time.perf_counter() - start, op=_mpi().MAX))
    return float(np.median(times))


def _mpi():
    from mpi4py import MPI
    return MPI


def _raw_allreduce_seconds(n_floats: int, repeats: int, comm) -> float:
    buffer = np.ones(n_floats, dtype=np.float32)
    return _median_step(lambda: comm.Allreduce(_mpi().IN_PLACE, buffer), repeats, comm)


def _scaled_parameters(n_params: int, elements: int):
    """``n_params`` vectors of ``elements``; output = sum_i x_i * sum(p_i) (a cheap backward)."""
    import dist_torch as torch
    import dist_torch.nn as nn

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.ParameterList(
                nn.Parameter(torch.zeros(elements)) for _ in range(n_params))

        def forward(self, x):
            return sum(w.sum() * x[i] for i, w in enumerate(self.weights))

    return Scaled()


def _ddp_and_local_step(model_fn, make_batch, repeats, comm, as_view=False):
    """Median step times (zero_grad + forward + backward) with DDP and with no_sync."""
    import dist_torch as torch
    from dist_torch.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
    torch.manual_seed(0)
    model = DDP(model_fn(), gradient_as_bucket_view=as_view)
    batch = make_batch()

    def step():
        model.zero_grad(set_to_none=False)
        out = model(*batch)
        (out if out.ndim == 0 else out.sum()).backward()

    def local():
        with model.no_sync():
            step()

    ddp = _median_step(step, repeats, comm)
    alone = _median_step(local, repeats, comm)
    n_params = sum(p.numel() for p in model.parameters())
    return ddp, alone, n_params


def part_sync(repeats: int) -> dict:
    import dist_torch as torch
    comm = _mpi().COMM_WORLD
    n_params, elements = 10, 1_000_000
    result = {}
    for as_view in (False, True):
        ddp, local, total = _ddp_and_local_step(
            lambda: _scaled_parameters(n_params, elements), lambda: (torch.ones(n_params),),
            repeats, comm, as_view=as_view)
        key = "view" if as_view else "copy"
        result.update({f"{key}_ddp_ms": ddp * 1e3, f"{key}_local_ms": local * 1e3,
                       f"{key}_sync_ms": (ddp - local) * 1e3})
    raw = _raw_allreduce_seconds(total, repeats, comm)
    result.update(params=total, raw_ms=raw * 1e3)
    return result


def _mlp():
    import dist_torch.nn as nn
    return nn.Sequential(nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                         nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10))


def part_overlap(repeats: int) -> dict:
    import dist_torch as torch
    comm = _mpi().COMM_WORLD
    rng = np.random.default_rng(comm.Get_rank())
    x = torch.tensor(rng.standard_normal((64, 1024), dtype=np.float32))
    ddp, local, total = _ddp_and_local_step(_mlp, lambda: (x,), repeats, comm)
    raw = _raw_allreduce_seconds(total, repeats, comm)
    hidden = (local + raw - ddp) / raw
    return {"params": total, "ddp_ms": ddp * 1e3, "local_ms": local * 1e3,
            "raw_ms": raw * 1e3, "hidden_fraction": hidden}


def part_scaling(repeats: int) -> dict:
    import dist_torch as torch
    import dist_torch.nn.functional as F
    from dist_torch.nn.parallel import DistributedDataParallel as DDP  # noqa: N817
    sys.path.insert(0, str(ROOT / "examples"))
    from mnist import ConvNet
    comm = _mpi().COMM_WORLD
    torch.manual_seed(0)
    net = ConvNet()
    model = DDP(net) if comm.Get_size() > 1 else net
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(comm.Get_rank())
    x = torch.tensor(rng.standard_normal((64, 1, 28, 28), dtype=np.float32))
    y = torch.tensor(rng.integers(0, 10, 64))

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    seconds = _median_step(step, repeats, comm)
    return {"ranks": comm.Get_size(), "step_ms": seconds * 1e3,
            "samples_per_s": 64 * comm.Get_size() / seconds}


PARTS = {"sync": part_sync, "overlap": part_overlap, "scaling": part_scaling}


def worker(part: str, repeats: int) -> None:
    import dist_torch.distributed as dist
    dist.init_process_group("mpi")
    result = PARTS[part](repeats)
    if dist.get_rank() == 0:
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


# ----------------------------------------------------------------------------- driver

def _launch(part: str, ranks: int, repeats: int) -> dict:
    mpiexec = Path(sys.executable).parent / "mpiexec"
    command = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(ranks),
               sys.executable, __file__, "--worker", part, "--repeats", str(repeats)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{part} on {ranks} ranks failed:\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--worker", choices=sorted(PARTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.repeats)

    n = args.ranks
    sync = _launch("sync", n, args.repeats)
    print(f"(a) sync, {sync['params'] / 1e6:.1f} M float32 parameters on {n} ranks; raw "
          f"Allreduce of {sync['params'] * 4 / 1e6:.0f} MB: {sync['raw_ms']:.1f} ms")
    for key, what in (("copy", "default (gradients packed into the bucket)"),
                      ("view", "gradient_as_bucket_view=True (no copies)")):
        ratio = sync["raw_ms"] / sync[f"{key}_sync_ms"]
        print(f"    {what}: DDP backward {sync[f'{key}_ddp_ms']:.1f} ms - local "
              f"{sync[f'{key}_local_ms']:.1f} ms = sync {sync[f'{key}_sync_ms']:.1f} ms; "
              f"bandwidth ratio {ratio:.2f} (goal >= 0.9)")
    overlap = _launch("overlap", n, args.repeats)
    print(f"(b) overlap, MLP {overlap['params'] / 1e6:.1f} M parameters, batch 64 per rank: "
          f"DDP step {overlap['ddp_ms']:.1f} ms vs local {overlap['local_ms']:.1f} ms + raw "
          f"all-reduce {overlap['raw_ms']:.1f} ms = "
          f"{overlap['local_ms'] + overlap['raw_ms']:.1f} ms; "
          f"{overlap['hidden_fraction']:.0%} of the all-reduce hidden")
    one, many = _launch("scaling", 1, args.repeats), _launch("scaling", n, args.repeats)
    efficiency = many["samples_per_s"] / (n * one["samples_per_s"])
    print(f"(c) weak scaling, ConvNet, 64 rows per rank: 1 rank {one['samples_per_s']:.0f} "
          f"samples/s ({one['step_ms']:.1f} ms/step); {n} ranks "
          f"{many['samples_per_s']:.0f} samples/s ({many['step_ms']:.1f} ms/step); "
          f"efficiency {efficiency:.0%}")


if __name__ == "__main__":
    main()
