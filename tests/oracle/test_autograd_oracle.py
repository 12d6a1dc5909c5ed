"""Autograd against torch: composite graphs, hooks, and the bad-input errors of issue #2."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check


def _mlp(lib, x, w1, b1, w2, labels):
    hidden = lib.tanh(x @ w1 + b1)
    logits = hidden @ w2
    log_probs = lib.log_softmax(logits, dim=1)
    return -log_probs.gather(1, labels.unsqueeze(1)).mean()


def test_mlp_loss_and_gradients_match_torch():
    rng = np.random.default_rng(1)
    check(_mlp, rng.standard_normal((8, 5)), rng.standard_normal((5, 7)),
          rng.standard_normal(7), rng.standard_normal((7, 3)), rng.integers(0, 3, 8))


def test_shared_subexpressions_and_in_place_match_torch():
    def fn(lib, x, y):
        a = x * y
        b = a.exp() + a
        c = b[1:] * a[:-1]
        d = c.clone()
        d[0] = d[0] * 3
        d.mul_(2)
        return (d.sum(dim=0) / (1 + x[0] ** 2)).sum()

    rng = np.random.default_rng(2)
    check(fn, rng.standard_normal((4, 3)), rng.standard_normal((4, 3)))


def test_hooks_and_retain_grad_match_torch():
    def run(lib):
        x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
        h = x * x
        h.retain_grad()
        h.register_hook(lambda g: g * 3)
        x.register_hook(lambda g: g + 1)
        (h.sin() * 2).sum().backward()
        return x.grad, h.grad

    for ours, theirs in zip(run(dt), run(torch)):
        assert_close(ours, theirs)


def _raise(lib, case):
    f32 = lib.float32
    if case == "matmul":
        return lib.ones(4, 3) @ lib.ones(5, 2)
    if case == "broadcast":
        return lib.ones(2, 3) + lib.ones(4)
    if case == "view":
        return lib.ones(2, 3).t().view(6)
    if case == "view_size":
        return lib.ones(2, 3).view(4)
    if case == "cat":
        return lib.cat([lib.ones(2, 3), lib.ones(2, 4)])
    if case == "matmul_dtype":
        return lib.ones(2, 2, dtype=f32) @ lib.ones(2, 2, dtype=lib.float64)
    if case == "bool_sub":
        return lib.tensor([True]) - lib.tensor([False])
    if case == "int_add_inplace_float":
        return lib.tensor([1, 2]).add_(1.5)
    if case == "requires_grad_int":
        return lib.tensor([1, 2]).requires_grad_()
    if case == "nonscalar_backward":
        return (lib.ones(2, requires_grad=True) * 2).backward()
    if case == "second_backward":
        x = lib.ones(2, requires_grad=True)
        y = (x * x).sum()
        y.backward()
        return y.backward()
    if case == "no_grad_backward":
        return lib.ones(2).sum().backward()
    if case == "grad_of_constant":
        x = lib.ones(2, requires_grad=True)
        return lib.autograd.grad((x * 2).sum(), lib.ones(2))
    if case == "leaf_inplace":
        return lib.ones(2, requires_grad=True).add_(1)
    if case == "saved_modified":
        x = lib.ones(2, requires_grad=True)
        y = x.exp()
        y.add_(1)
        return y.sum().backward()
    raise AssertionError(case)


@pytest.mark.parametrize("case", [
    "matmul", "broadcast", "view", "view_size", "cat", "matmul_dtype", "bool_sub",
    "int_add_inplace_float", "requires_grad_int", "nonscalar_backward", "second_backward",
    "no_grad_backward", "grad_of_constant", "leaf_inplace", "saved_modified",
])
def test_bad_input_raises_torch_exception_and_message(case):
    with pytest.raises(Exception) as theirs:
        _raise(torch, case)
    with pytest.raises(Exception) as ours:
        _raise(dt, case)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    # Ours may add detail (the dtype, say) after torch's words, never change them.
    first_line = str(theirs.value).splitlines()[0]
    assert str(ours.value).splitlines()[0].startswith(first_line)
