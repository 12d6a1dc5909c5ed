"""Run one function on dist_torch and on torch with the same float64 inputs; compare all.

``check(fn, *arrays)`` calls ``fn(lib, *tensors)`` with ``lib`` = dist_torch then torch, where
floating arrays become tensors that require grad. It compares every output tensor (values,
shape, dtype), then backpropagates the same random upstream gradient through both and
compares the input gradients.
"""

from __future__ import annotations

import re
import warnings

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


def load_torch_weights(ours, theirs) -> None:
    """Copy a torch module's parameters and buffers into our module (names must match)."""
    state = {k: dt.tensor(v.detach().cpu().numpy().copy())
             for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def check_module(ours, theirs, *arrays, rtol=1e-7, atol=1e-10, seed=0, train=True,
                 output_index=None):
    """Compare a dist_torch module with a torch module given the same float64 weights.

    Copies ``theirs``' state into ``ours``, runs both on tensors made from ``arrays`` (float
    arrays require grad), compares the outputs, backpropagates the same random upstream
    gradient, and compares input gradients, parameter gradients (by name) and buffers.
    ``output_index`` picks one element when the module returns a tuple.
    """
    theirs = theirs.double()
    ours = ours.double()
    load_torch_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    ours_in = _leaves(dt, arrays, True)
    theirs_in = _leaves(torch, arrays, True)
    ours_out = ours(*ours_in)
    theirs_out = theirs(*theirs_in)
    if output_index is not None:
        ours_out, theirs_out = ours_out[output_index], theirs_out[output_index]
    ours_flat, theirs_flat = _flatten(ours_out), _flatten(theirs_out)
    assert len(ours_flat) == len(theirs_flat)
    rng = np.random.default_rng(seed)
    ours_loss, theirs_loss = 0, 0
    for o, t in zip(ours_flat, theirs_flat):
        if not isinstance(t, torch.Tensor):
            continue
        assert tuple(o.shape) == tuple(t.shape), f"shape {tuple(o.shape)} vs {tuple(t.shape)}"
        assert_close(o, t, rtol=rtol, atol=atol, check_dtype=False)
        if t.requires_grad:
            w = rng.standard_normal(tuple(t.shape))
            ours_loss = ours_loss + (o * dt.tensor(w)).sum()
            theirs_loss = theirs_loss + (t * torch.tensor(w)).sum()
    if isinstance(theirs_loss, torch.Tensor):
        ours_loss.backward()
        theirs_loss.backward()
        for o, t in zip(ours_in, theirs_in):
            if isinstance(t, torch.Tensor) and t.grad is not None:
                assert_close(o.grad, t.grad, rtol=rtol, atol=atol, check_dtype=False)
        ours_params = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            if p.grad is None:
                assert ours_params[name].grad is None, f"{name}: torch has no grad"
            else:
                assert ours_params[name].grad is not None, f"{name}: no grad, torch has one"
                assert_close(ours_params[name].grad, p.grad, rtol=rtol, atol=atol,
                             check_dtype=False)
    ours_buffers = dict(ours.named_buffers())
    for name, b in theirs.named_buffers():
        assert_close(ours_buffers[name], b, rtol=rtol, atol=atol, check_dtype=False)
    return ours_out, theirs_out


def _canonical(message: str) -> str:
    """Python set literals print in hash order: sort their items before comparing."""
    return re.sub(r"\{([^{}]*)\}",
                  lambda m: "{" + ", ".join(sorted(m.group(1).split(", "))) + "}", message)


def errors(fn):
    """``[ours, theirs]``: (exception class name, message) raised by ``fn(dist_torch)`` and
    ``fn(torch)``, or None where the call returned; warnings are silenced."""
    out = []
    for lib in (dt, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fn(lib)
            except Exception as err:  # noqa: BLE001 - compared by the caller
                out.append((type(err).__name__, _canonical(str(err))))
                continue
        out.append(None)
    return out


def assert_same_error(fn):
    """``fn(lib)`` raises the same exception class with the same message in both libraries."""
    ours, theirs = errors(fn)
    assert theirs is not None, "torch did not raise"
    assert ours is not None, f"no error, torch raised {theirs[0]}: {theirs[1]}"
    assert ours == theirs
