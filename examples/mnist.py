"""Train the classic PyTorch MNIST models (SimpleNet MLP or ConvNet) on one or many ranks.

This is the PyTorch example with ``import torch`` -> ``import dist_torch as torch`` and
``torchvision`` -> ``dist_torch.vision``. The default data set is scikit-learn's bundled 8x8
digits (resized to 28x28), so it runs without a network; ``--dataset mnist --data DIR`` uses
the real IDX files.

Started by ``dtrun -n N`` (or ``mpiexec -n N``) it trains data-parallel: every global batch of
``--batch-size`` rows is split across the ranks and DistributedDataParallel weights each
rank's gradient by its share of rows, so N ranks follow the same training run as one process
(same batches, same gradients up to rounding, same accuracy). Rank 0 prints and writes the
checkpoint; with ``--resume`` every rank restarts from it, which is what ``dtrun
--max-restarts`` relies on.

    python examples/mnist.py --model conv --epochs 2
    python examples/mnist.py --device cuda           # the default when a GPU is visible
    python examples/mnist.py --dataset mnist --data ../shared/data/mnist --model simple
    dtrun -n 2 examples/mnist.py --epochs 3
    dtrun -n 2 --max-restarts 1 examples/mnist.py --checkpoint ckpt.safetensors --resume \\
        --simulate-failure 1
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import dist_torch as torch
import dist_torch.distributed as dist
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from dist_torch.nn.parallel import DistributedDataParallel
from dist_torch.optim.lr_scheduler import StepLR
from dist_torch.utils.data import DataLoader, DistributedBatchSampler
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


def launched_with_several_ranks() -> bool:
    """True under dtrun / mpiexec / srun with more than one rank (read from the environment,
    so a plain ``python examples/mnist.py`` never starts MPI)."""
    for var in ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit():
            return int(value) > 1
    return False


def sum_over_ranks(*values: float) -> list[float]:
    """Element-wise sums of ``values`` over every rank (the values themselves on one rank)."""
    if not dist.is_initialized():
        return list(values)
    total = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(total)
    return total.tolist()


def train_epoch(model, loader, optimizer, epoch, device, show_progress):
    """One epoch; returns the mean training loss over every row of every rank."""
    model.train()
    # None: tqdm shows the bar on a terminal only (under dtrun/mpiexec output is a pipe)
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=None if show_progress else True,
               leave=False)
    loss_sum, rows = 0.0, 0
    for data, target in bar:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        if len(target):  # a rank may hold no rows of a last, small global batch
            loss_sum += loss.item() * len(target)
            rows += len(target)
        if show_progress and rows:
            bar.set_postfix(loss=f"{loss_sum / rows:.4f}", refresh=False)
    loss_sum, rows = sum_over_ranks(loss_sum, rows)
    return loss_sum / max(rows, 1)


def evaluate(model, loader, device):
    """Test loss and accuracy over the whole test set (each rank scores its share)."""
    model.eval()
    correct, seen, loss = 0, 0, 0.0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(dim=1) == target).sum().item()
            seen += len(target)
    loss, correct, seen = sum_over_ranks(loss, correct, seen)
    return loss / seen, correct / seen


def pick_device(name: str | None, rank: int):
    """``--device``, or a GPU when one is visible; ranks share the GPUs round-robin (the MPI
    backend stages CUDA tensors through host memory, so several ranks may use one GPU)."""
    device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    return device


def save_checkpoint(path, model, optimizer, scheduler, epoch):
    """Rank 0 writes (atomically: a crash never leaves a half-written file); all ranks wait."""
    if not dist.is_initialized() or dist.get_rank() == 0:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch,
                    "rng_state": torch.get_rng_state()}, path)
    if dist.is_initialized():
        dist.barrier()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="conv")
    parser.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist"],
                        default="digits")
    parser.add_argument("--data", default=None,
                        help="directory with the IDX files (MNIST/Fashion-MNIST)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64,
                        help="global batch size (split across ranks)")
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--gamma", type=float, default=0.7, help="StepLR decay per epoch")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checkpoint", default=None, help="save a checkpoint here each epoch")
    parser.add_argument("--resume", action="store_true",
                        help="resume from --checkpoint when it exists (else start afresh)")
    parser.add_argument("--simulate-failure", type=int, default=None, metavar="EPOCH",
                        help="on a job's first attempt, the last rank raises after this epoch "
                             "(to try dtrun --max-restarts with --resume)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--device", default=None,
                        help="cpu, cuda or cuda:N (default: cuda when a GPU is visible)")
    args = parser.parse_args(argv)
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint")

    if launched_with_several_ranks() and not dist.is_initialized():
        dist.init_process_group("mpi")
    rank = dist.get_rank() if dist.is_initialized() else 0
    world = dist.get_world_size() if dist.is_initialized() else 1
    show = rank == 0
    device = pick_device(args.device, rank)

    torch.manual_seed(args.seed)
    train_set, test_set = make_datasets(args.dataset, args.data)
    # every rank draws the same shuffled global batches and takes its rows of each
    train_sampler = DistributedBatchSampler(dataset=train_set, batch_size=args.batch_size,
                                            shuffle=True, seed=args.seed,
                                            num_replicas=world, rank=rank)
    test_sampler = DistributedBatchSampler(dataset=test_set, batch_size=args.test_batch_size,
                                           num_replicas=world, rank=rank)
    train_loader = DataLoader(train_set, batch_sampler=train_sampler,
                              num_workers=args.num_workers)
    test_loader = DataLoader(test_set, batch_sampler=test_sampler)

    net = MODELS[args.model]().to(device)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    first_epoch = 1
    if args.resume and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_state"])
        first_epoch = state["epoch"] + 1
        if show:
            print(f"resumed from {args.checkpoint} after epoch {state['epoch']}")
    # one process: the plain model; several ranks: DDP, weighting ranks by their rows
    model = DistributedDataParallel(net, batch_weighting="rows") if world > 1 else net

    if show:
        print(f"{args.model} on {args.dataset}: {len(train_set)} training and {len(test_set)} "
              f"test images, {sum(p.numel() for p in net.parameters())} parameters, "
              f"{world} rank{'s' if world > 1 else ''} on {device}")
    for epoch in range(first_epoch, args.epochs + 1):
        start = time.perf_counter()
        train_sampler.set_epoch(epoch)
        train_loss = train_epoch(model, train_loader, optimizer, epoch, device,
                                 show and not args.no_progress)
        scheduler.step()
        test_loss, accuracy = evaluate(model, test_loader, device)
        if show:
            print(f"epoch {epoch}: train loss {train_loss:.4f}, test loss {test_loss:.4f}, "
                  f"test accuracy {accuracy:.2%} ({time.perf_counter() - start:.1f} s)")
        if args.checkpoint:
            save_checkpoint(args.checkpoint, net, optimizer, scheduler, epoch)
        if epoch == args.simulate_failure and rank == world - 1 and \
                os.environ.get("DT_RESTART_COUNT", "0") == "0":
            raise RuntimeError(f"simulated failure on rank {rank} after epoch {epoch}")
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
