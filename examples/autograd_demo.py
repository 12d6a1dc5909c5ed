"""Train a two-layer network on a synthetic two-spirals problem with plain autograd.

Uses only the tensor/autograd core (no nn/optim yet): parameters are leaf tensors, the loss is
log-softmax cross-entropy written with tensor ops, and SGD-with-momentum updates run in place
under no_grad.

    python examples/autograd_demo.py --steps 1000
"""

from __future__ import annotations

import argparse
import math
import sys

import dist_torch as torch


def two_spirals(n_per_class: int, generator) -> tuple:
    """Points on two interleaved spirals with a little noise; labels 0 and 1."""
    t = torch.rand(n_per_class, generator=generator) * 3 * math.pi + 0.5
    noise = 0.15
    xs, ys = [], []
    for label, sign in ((0, 1.0), (1, -1.0)):
        x = sign * t * torch.cos(t) / 4 + noise * torch.randn(n_per_class, generator=generator)
        y = sign * t * torch.sin(t) / 4 + noise * torch.randn(n_per_class, generator=generator)
        xs.append(torch.stack([x, y], dim=1))
        ys.append(torch.full((n_per_class,), label, dtype=torch.int64))
    return torch.cat(xs), torch.cat(ys)


def init_params(hidden: int, generator):
    def uniform(*shape, fan_in):
        bound = 1 / math.sqrt(fan_in)
        return ((torch.rand(*shape, generator=generator) * 2 - 1) * bound).requires_grad_()
    return [uniform(2, hidden, fan_in=2), uniform(hidden, fan_in=2),
            uniform(hidden, 2, fan_in=hidden), uniform(2, fan_in=hidden)]


def forward(params, x):
    w1, b1, w2, b2 = params
    return torch.tanh(x @ w1 + b1) @ w2 + b2


def cross_entropy(logits, labels):
    log_probs = torch.log_softmax(logits, dim=1)
    return -log_probs.gather(1, labels.unsqueeze(1)).mean()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="gradient steps (default 1000)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--lr", type=float, default=0.2, help="learning rate (default 0.2)")
    parser.add_argument("--momentum", type=float, default=0.9, help="momentum (default 0.9)")
    parser.add_argument("--points", type=int, default=500, help="points per class (default 500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    generator = torch.Generator().manual_seed(args.seed)
    x, y = two_spirals(args.points, generator)
    params = init_params(args.hidden, generator)
    velocities = [torch.zeros_like(p) for p in params]
    width = 30
    for step in range(1, args.steps + 1):
        loss = cross_entropy(forward(params, x), y)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p, v in zip(params, velocities):
                v.mul_(args.momentum).add_(p.grad)
                p.sub_(v, alpha=args.lr)
        if step % 20 == 0 or step == args.steps:
            done = int(width * step / args.steps)
            print(f"\r[{'#' * done}{'.' * (width - done)}] step {step}/{args.steps} "
                  f"loss {loss.item():.4f}", end="", flush=True)
    print()
    with torch.no_grad():
        accuracy = (forward(params, x).argmax(dim=1) == y).float().mean().item()
    print(f"final loss {loss.item():.4f}, training accuracy {accuracy:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
