"""Per-op overhead and a 256x256 matmul, dist_torch against PyTorch CPU in one process.

Each case builds the same small graph in both libraries and times forward + backward. The
ratio is dist_torch's time over torch's (below 1: dist_torch is faster).

    python benchmarks/bench_overhead.py [--repeat 7] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import timeit

import numpy as np

import dist_torch

try:
    import torch
except ImportError:  # the comparison needs PyTorch: pip install -e ".[oracle]"
    torch = None


def _leaf(lib, array, grad=True):
    t = lib.tensor(array)
    return t.requires_grad_() if grad else t


def _cases():
    rng = np.random.default_rng(0)
    small = rng.standard_normal(16).astype(np.float32)
    small2 = rng.standard_normal(16).astype(np.float32)
    mat = rng.standard_normal((16, 16)).astype(np.float32)
    big_a = rng.standard_normal((256, 256)).astype(np.float32)
    big_b = rng.standard_normal((256, 256)).astype(np.float32)

    def unary(name):
        def make(lib):
            x = _leaf(lib, small)
            op = getattr(lib, name)
            return lambda: op(x).sum().backward()
        return make

    def binary(op):
        def make(lib):
            x, w = _leaf(lib, small), _leaf(lib, small2, grad=False)
            return lambda: op(x, w).sum().backward()
        return make

    def view_chain(lib):
        x = _leaf(lib, mat)
        return lambda: x.reshape(256).view(16, 16).t()[2:10].sum().backward()

    def matmul(a, b):
        def make(lib):
            x, w = _leaf(lib, a), _leaf(lib, b)
            return lambda: (x @ w).sum().backward()
        return make

    def forward_only(lib):
        x, w = _leaf(lib, small), _leaf(lib, small2, grad=False)
        return lambda: x * w

    return [
        ("mul fwd only (16)", forward_only, 20000),
        ("mul + sum + backward (16)", binary(lambda a, b: a * b), 5000),
        ("add + sum + backward (16)", binary(lambda a, b: a + b), 5000),
        ("exp + sum + backward (16)", unary("exp"), 5000),
        ("relu + sum + backward (16)", unary("relu"), 5000),
        ("reshape/view/t/slice + backward (16x16)", view_chain, 3000),
        ("matmul + sum + backward (16x16)", matmul(mat, mat), 3000),
        ("matmul + sum + backward (256x256)", matmul(big_a, big_b), 50),
    ]


def _time(make, lib, number, repeat):
    fn = make(lib)
    fn()  # warm up
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("PyTorch is needed for the side-by-side run: pip install -e '.[oracle]'")
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    print(f"threads: {threads}; times in microseconds per iteration (min of {args.repeat})\n")
    print("| case | dist_torch (us) | torch (us) | ratio |")
    print("|---|---:|---:|---:|")
    for name, make, number in _cases():
        ours = _time(make, dist_torch, number, args.repeat)
        theirs = _time(make, torch, number, args.repeat)
        print(f"| {name} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
