"""Train the classic PyTorch MNIST models (SimpleNet MLP or ConvNet) with dist_torch.

This is the PyTorch example with ``import torch`` -> ``import dist_torch as torch`` and
``torchvision`` -> ``dist_torch.vision``. The default data set is scikit-learn's bundled 8x8
digits (resized to 28x28), so it runs without a network; ``--dataset mnist --data DIR`` uses
the real IDX files.

    python examples/mnist.py --model conv --epochs 2
    python examples/mnist.py --dataset mnist --data ../shared/data/mnist --model simple
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from dist_torch.optim.lr_scheduler import StepLR
from dist_torch.utils.data import DataLoader
from dist_torch.vision import datasets, transforms

try:
    from tqdm import tqdm
except ImportError:  # a plain iterator when tqdm is absent
    def tqdm(iterable, **kwargs):
        return iterable


class SimpleNet(nn.Module):
    """784 -> 128 -> 10 MLP."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class ConvNet(nn.Module):
    """conv 1->32 3x3, maxpool 2, conv 32->64 3x3, maxpool 2, fc 1600 -> 128 -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


MODELS = {"simple": SimpleNet, "conv": ConvNet}
NORMALIZE = {"mnist": ((0.1307,), (0.3081,)), "fashion-mnist": ((0.2860,), (0.3530,)),
             "digits": ((0.3, ), (0.4, ))}


def make_datasets(name: str, root: str | None):
    mean, std = NORMALIZE[name]
    if name == "digits":
        transform = transforms.Compose([transforms.ToTensor(), transforms.Resize(28),
                                        transforms.Normalize(mean, std)])
        return (datasets.Digits(root, train=True, transform=transform),
                datasets.Digits(root, train=False, transform=transform))
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    return (cls(root, train=True, download=True, transform=transform),
            cls(root, train=False, download=True, transform=transform))


def train_epoch(model, loader, optimizer, epoch, show_progress):
    model.train()
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not show_progress, leave=False)
    total_loss, batches = 0.0, 0
    for data, target in bar:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        batches += 1
        if show_progress and batches % 20 == 0:
            bar.set_postfix(loss=f"{total_loss / batches:.4f}")
    return total_loss / max(batches, 1)


def evaluate(model, loader):
    model.eval()
    correct, seen, loss = 0, 0, 0.0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(dim=1) == target).sum().item()
            seen += len(target)
    return loss / seen, correct / seen


def save_checkpoint(path, model, optimizer, scheduler, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch,
                "rng_state": torch.get_rng_state()}, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="conv")
    parser.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist"],
                        default="digits")
    parser.add_argument("--data", default=None,
                        help="directory with the IDX files (MNIST/Fashion-MNIST)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--gamma", type=float, default=0.7, help="StepLR decay per epoch")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checkpoint", default=None, help="save a checkpoint here each epoch")
    parser.add_argument("--resume", action="store_true", help="resume from --checkpoint")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    train_set, test_set = make_datasets(args.dataset, args.data)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              num_workers=args.num_workers)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size)

    model = MODELS[args.model]()
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    first_epoch = 1
    if args.resume:
        if not args.checkpoint or not os.path.exists(args.checkpoint):
            parser.error("--resume needs an existing --checkpoint file")
        state = torch.load(args.checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_state"])
        first_epoch = state["epoch"] + 1
        print(f"resumed from {args.checkpoint} after epoch {state['epoch']}")

    print(f"{args.model} on {args.dataset}: {len(train_set)} training and {len(test_set)} test "
          f"images, {sum(p.numel() for p in model.parameters())} parameters")
    for epoch in range(first_epoch, args.epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, train_loader, optimizer, epoch, not args.no_progress)
        scheduler.step()
        test_loss, accuracy = evaluate(model, test_loader)
        print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
              f"test accuracy {accuracy:.2%} ({time.perf_counter() - start:.1f} s)")
        if args.checkpoint:
            save_checkpoint(args.checkpoint, model, optimizer, scheduler, epoch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
