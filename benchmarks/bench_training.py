"""Training-step throughput of SimpleNet and ConvNet (batch 64, Adam), dist_torch vs torch CPU.

Both libraries build the same model from the same initial weights and train on the same
random batches; the ratio is torch's step time over ours (throughput ratio: above 1 means
dist_torch is faster).

    OMP_NUM_THREADS=1 python benchmarks/bench_training.py [--steps 30] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

import numpy as np

import dist_torch

try:
    import torch
except ImportError:
    torch = None


def simple_net(lib):
    nn = lib.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def conv_net(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: dist_torch.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


def _train_steps(lib, model, batches):
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.functional.cross_entropy

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    step(*batches[0])  # warm up
    start = time.perf_counter()
    for x, y in batches:
        step(x, y)
    return (time.perf_counter() - start) / len(batches)


def run(name, make, steps, batch, profile):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((steps, batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, (steps, batch))
    theirs = make(torch)
    ours = make(dist_torch)
    _copy_weights(ours, theirs)
    ours_batches = [(dist_torch.tensor(x), dist_torch.tensor(y)) for x, y in zip(images, labels)]
    theirs_batches = [(torch.tensor(x), torch.tensor(y)) for x, y in zip(images, labels)]
    t_theirs = _train_steps(torch, theirs, theirs_batches)
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
    t_ours = _train_steps(dist_torch, ours, ours_batches)
    if profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    print(f"| {name} | {batch / t_ours:.0f} | {batch / t_theirs:.0f} | "
          f"{t_theirs / t_ours:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--profile", action="store_true", help="cProfile dist_torch's steps")
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("PyTorch is needed for the side-by-side run: pip install -e '.[oracle]'")
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(f"threads: {threads}; batch {args.batch}; Adam; {args.steps} steps each\n")
    print("| model | dist_torch (samples/s) | torch (samples/s) | throughput ratio |")
    print("|---|---:|---:|---:|")
    run("SimpleNet", simple_net, args.steps, args.batch, args.profile)
    run("ConvNet", conv_net, args.steps, args.batch, args.profile)


if __name__ == "__main__":
    main()
