"""Grad-mode switches and the requires_grad/detach rules."""

import threading

import pytest

import dist_torch as torch
from tests.helpers import assert_close


def leaf(values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def test_no_grad_context_and_decorators():
    x = leaf([1.0])
    with torch.no_grad():
        assert not (x * 2).requires_grad
        assert not torch.is_grad_enabled()
        with torch.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @torch.no_grad()
    def called():
        return x * 2

    @torch.no_grad
    def bare():
        return x * 2

    assert not called().requires_grad
    assert not bare().requires_grad
    assert torch.is_grad_enabled()


def test_no_grad_decorates_generators():
    x = leaf([1.0])

    @torch.no_grad()
    def gen():
        yield x * 2
        yield x * 3

    assert [y.requires_grad for y in gen()] == [False, False]


def test_set_grad_enabled_as_call_and_context():
    x = leaf([1.0])
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_inference_mode():
    x = leaf([1.0])
    with torch.inference_mode():
        assert torch.is_inference_mode_enabled()
        assert not (x * 2).requires_grad
    with torch.inference_mode(False):
        assert (x * 2).requires_grad

    @torch.inference_mode()
    def run():
        return x * 2

    assert not run().requires_grad


def test_grad_mode_is_thread_local():
    results = []

    def worker():
        results.append(torch.is_grad_enabled())

    with torch.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert results == [True]


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        torch.tensor([1, 2]).requires_grad_()
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        y.requires_grad = False
    t = torch.ones(2)
    assert t.requires_grad_() is t and t.requires_grad


def test_detach_shares_storage_and_leaves_graph():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    with torch.no_grad():
        d += 1
    assert_close(y, [3.0, 5.0])


def test_in_place_on_detached_saved_tensor_is_detected():
    x = leaf([1.0, 2.0])
    y = x * x  # saves x
    with torch.no_grad():
        x.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_data_writes_are_not_tracked():
    x = leaf([1.0, 2.0])
    y = x * x
    x.data.add_(1)  # torch: .data does not share the version counter
    y.sum().backward()
    assert_close(x.grad, [4.0, 6.0])
