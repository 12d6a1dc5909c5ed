"""Debug mode (``DT_DISTRIBUTED_DEBUG=1``): ranks compare each collective before running it.

Before every collective the ranks of a group exchange what they are about to call (the
collective, its op or root, the shapes and dtypes of their contributions) with a small
allgather on a communicator of its own. When they disagree, every rank raises the same
RuntimeError naming the disagreeing ranks and what each called, instead of hanging or
reducing mismatched buffers.
"""

from __future__ import annotations

import os

from dist_torch.distributed._checks import dtype_name, shape_str

ENV = "DT_DISTRIBUTED_DEBUG"


def enabled() -> bool:
    """True when ``DT_DISTRIBUTED_DEBUG`` is set to something other than 0/off/empty."""
    return os.environ.get(ENV, "").strip().lower() not in ("", "0", "off", "false", "no")


def signature(name: str, params: str = "", arrays=()) -> tuple:
    """What a rank is about to call: ``(call, shapes, dtypes)``; equal on every rank."""
    arrays = [a for a in arrays if a is not None]
    return (f"{name}({params})", tuple(tuple(a.shape) for a in arrays),
            tuple(dtype_name(a) for a in arrays))


def _describe(sig) -> str:
    call, shapes, dtypes = sig
    if not shapes:
        return f"called {call}"
    return (f"called {call} with shapes [{', '.join(shape_str(s) for s in shapes)}] and dtypes "
            f"[{', '.join(dtypes)}]")


def mismatch(signatures: list, seq: int, global_ranks: list[int]) -> str | None:
    """The error message when ranks disagree (None when every rank called the same)."""
    if all(s == signatures[0] for s in signatures):
        return None
    groups: dict = {}
    for r, s in enumerate(signatures):
        groups.setdefault(s, []).append(global_ranks[r])
    items = list(groups.items())
    if len(items) == 2:  # the odd one out first: "rank 1 called X but rank 0 called Y"
        items.sort(key=lambda item: item[0] == signatures[0])
    parts = []
    for s, ranks in items:
        who = f"rank {ranks[0]}" if len(ranks) == 1 else \
            "ranks " + ", ".join(str(r) for r in ranks)
        parts.append(f"{who} {_describe(s)}")
    detail = " but ".join(parts) if len(parts) == 2 else "; ".join(parts)
    return (f"Collective mismatch at sequence number {seq} in a process group of size "
            f"{len(signatures)} ({ENV}=1): {detail}. Every rank must call the same "
            "collectives in the same order with matching arguments.")
