"""One epoch of SimpleNet and ConvNet on real MNIST: dist_torch beside PyTorch, same script.

The training loop below is written once and run with ``lib = dist_torch`` and ``lib = torch``:
same architecture, Adam(lr=1e-3), batch 64, shuffled, normalized inputs, one epoch, then
test accuracy. Images are read with dist_torch.vision's IDX reader (torchvision is not
installable beside torch 2.13 here) and handed to both libraries as TensorDatasets, so the
data pipeline is the same on both sides.

    OMP_NUM_THREADS=2 python benchmarks/bench_mnist_epoch.py --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import dist_torch
from dist_torch.vision import datasets

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


def load_arrays(root):
    """Normalized float32 images (N, 1, 28, 28) and int64 labels for both splits."""
    out = []
    for train in (True, False):
        ds = datasets.MNIST(root, train=train)
        images = np.asarray(ds.data, dtype=np.float32)[:, None] / 255.0
        out.append(((images - 0.1307) / 0.3081, np.asarray(ds.targets)))
    return out


def run_epoch(lib, make_model, train, test, seed):
    """Train one epoch and evaluate; returns (seconds, test accuracy)."""
    lib.manual_seed(seed)
    data = lib.utils.data
    model = make_model(lib)
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loader = data.DataLoader(data.TensorDataset(lib.tensor(train[0]), lib.tensor(train[1])),
                             batch_size=64, shuffle=True)
    start = time.perf_counter()
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with lib.no_grad():
        for i in range(0, len(test[1]), 1000):
            logits = model(lib.tensor(test[0][i:i + 1000]))
            correct += int((logits.argmax(1) == lib.tensor(test[1][i:i + 1000])).sum())
    return seconds, correct / len(test[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "shared", "data", "mnist"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if torch is None:
        raise SystemExit("PyTorch is needed for the side-by-side run: pip install -e '.[oracle]'")
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    train, test = load_arrays(args.data)
    print(f"threads: {threads}; MNIST {len(train[1])} train / {len(test[1])} test; one epoch, "
          "Adam lr 1e-3, batch 64\n")
    print("| model | dist_torch accuracy | dist_torch epoch (s) | torch accuracy | "
          "torch epoch (s) | time ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, make in (("SimpleNet", simple_net), ("ConvNet", conv_net)):
        ours = run_epoch(dist_torch, make, train, test, args.seed)
        theirs = run_epoch(torch, make, train, test, args.seed)
        print(f"| {name} | {ours[1]:.2%} | {ours[0]:.1f} | {theirs[1]:.2%} | {theirs[0]:.1f} | "
              f"{ours[0] / theirs[0]:.2f} |")


if __name__ == "__main__":
    main()
