"""Run one function on dist_torch and on torch with the same float64 inputs; compare all.

``check(fn, *arrays)`` calls ``fn(lib, *tensors)`` with ``lib`` = dist_torch then torch, where
floating arrays become tensors that require grad. It compares every output tensor (values,
shape, dtype), then backpropagates the same random upstream gradient through both and
compares the input gradients.
"""

from __future__ import annotations

import numpy as np
import torch

import dist_torch as dt
from tests.helpers import assert_close


def _leaves(lib, arrays, grad):
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = lib.tensor(a.copy())
            if grad and a.dtype.kind == "f":
                t.requires_grad_(True)
            out.append(t)
        else:
            out.append(a)
    return out


def _flatten(result):
    if isinstance(result, (tuple, list)):
        items = []
        for r in result:
            items.extend(_flatten(r))
        return items
    return [result]


def check(fn, *arrays, grad=True, rtol=1e-7, atol=1e-10, seed=0):
    """Compare ``fn(lib, *tensors)`` between dist_torch and torch (forward and backward)."""
    ours_in = _leaves(dt, arrays, grad)
    theirs_in = _leaves(torch, arrays, grad)
    ours = _flatten(fn(dt, *ours_in))
    theirs = _flatten(fn(torch, *theirs_in))
    assert len(ours) == len(theirs), f"{len(ours)} outputs vs torch's {len(theirs)}"
    for o, t in zip(ours, theirs):
        if isinstance(t, torch.Tensor):
            assert isinstance(o, dt.Tensor), f"expected a Tensor, got {type(o).__name__}"
            assert str(o.dtype) == str(t.dtype), f"dtype {o.dtype} vs torch {t.dtype}"
            assert_close(o, t, rtol=rtol, atol=atol, check_dtype=False)
        else:
            assert o == t, f"{o!r} vs torch {t!r}"
    if not grad:
        return
    rng = np.random.default_rng(seed)
    ours_loss, theirs_loss = 0, 0
    used = False
    for o, t in zip(ours, theirs):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            assert o.requires_grad, "torch's output requires grad, ours does not"
            w = rng.standard_normal(tuple(t.shape))
            ours_loss = ours_loss + (o * dt.tensor(w, dtype=o.dtype)).sum()
            theirs_loss = theirs_loss + (t * torch.tensor(w, dtype=t.dtype)).sum()
            used = True
    if not used:
        return
    ours_loss.backward()
    theirs_loss.backward()
    for i, (o, t) in enumerate(zip(ours_in, theirs_in)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert o.grad is None or not np.any(np.asarray(o.grad)), \
                    f"input {i}: torch has no grad, ours has one"
                continue
            assert o.grad is not None, f"input {i}: no gradient, torch has one"
            assert_close(o.grad, t.grad, rtol=rtol, atol=atol, check_dtype=False)
