"""autograd.grad, tensor hooks, post-accumulate-grad hooks, retain_grad."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close


def leaf(values):
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


def test_autograd_grad_returns_gradients_without_accumulating():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = torch.autograd.grad((x * w).sum(), [x, w])
    assert_close(gx, [3.0, 4.0])
    assert_close(gw, [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_with_respect_to_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = torch.autograd.grad((h * h).sum(), h)
    assert_close(gh, [6.0, 12.0])


def test_autograd_grad_with_grad_outputs():
    x = leaf([1.0, 2.0])
    (g,) = torch.autograd.grad(x * 5, x, grad_outputs=torch.tensor([1.0, -1.0],
                                                                    dtype=torch.float64))
    assert_close(g, [5.0, -5.0])


def test_autograd_grad_unused_input():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        torch.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = torch.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert_close(gx, [2.0])
    assert gu is None
    _, gu = torch.autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert_close(gu, [0.0])


def test_autograd_grad_of_input_not_requiring_grad():
    x = leaf([1.0])
    c = torch.tensor([1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.autograd.grad((x * c).sum(), c)


def test_autograd_grad_skips_branches_not_leading_to_inputs():
    calls = []
    x, other = leaf([1.0]), leaf([2.0])
    other_path = other * 3
    other_path.register_hook(lambda g: calls.append("other"))
    torch.autograd.grad((x * 2 + other_path).sum(), x)
    assert calls == []


def test_leaf_hook_replaces_gradient_and_can_be_removed():
    x = leaf([1.0, 2.0])
    seen = []

    def double(grad):
        seen.append(grad.clone())
        return grad * 2

    handle = x.register_hook(double)
    (x * 3).sum().backward()
    assert_close(seen[0], [3.0, 3.0])
    assert_close(x.grad, [6.0, 6.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert_close(x.grad, [3.0, 3.0])


def test_non_leaf_hook_changes_upstream_gradient():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h * h).sum().backward()  # dL/dh = 2h, scaled by 10, times dh/dx = 2
    assert_close(x.grad, 40 * np.array([2.0, 4.0]))


def test_hook_on_tensor_not_requiring_grad_is_refused():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    assert_close(h.grad, [4.0, 8.0])
    assert h.retains_grad


def test_post_accumulate_grad_hook_sees_accumulated_grad():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 4).sum().backward()
    (x * 1).sum().backward()
    assert len(seen) == 2
    assert_close(seen[0], [4.0, 4.0])
    assert_close(seen[1], [5.0, 5.0])


def test_post_accumulate_grad_hooks_fire_in_reverse_order_of_use():
    # What DDP relies on: a layer's parameters are ready as soon as backward has passed it.
    w1, w2, w3 = leaf([1.0]), leaf([2.0]), leaf([3.0])
    order = []
    for name, w in (("w1", w1), ("w2", w2), ("w3", w3)):
        w.register_post_accumulate_grad_hook(lambda t, name=name: order.append(name))
    x = torch.tensor([1.0], dtype=torch.float64)
    ((x * w1) * w2 * w3).sum().backward()
    assert order == ["w3", "w2", "w1"]


def test_post_accumulate_grad_hook_on_non_leaf_is_refused():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_node_hooks():
    x = leaf([1.0, 2.0])
    y = x * 3
    seen = {}
    y.grad_fn.register_prehook(lambda grad_outputs: seen.setdefault("pre", grad_outputs))
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.setdefault("post",
                                                                              grad_inputs))
    y.sum().backward()
    assert_close(seen["pre"][0], [1.0, 1.0])
    assert_close(seen["post"][0], [3.0, 3.0])


def test_grad_setter_checks_shape_and_dtype():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="assigned grad has data of a different type"):
        x.grad = torch.zeros(2, dtype=torch.float32)
    x.grad = torch.ones(2, dtype=torch.float64)
    (x * 1).sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_grad_with_respect_to_a_non_leaf_stops_there():
    """autograd.grad(y, h) for a non-leaf h runs nothing below h (as torch): h's own backward
    is not run, its graph stays intact for a later backward, and no leaf gets a .grad."""
    calls = []
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).exp()
    h.grad_fn.register_hook(lambda grads_in, grads_out: calls.append("exp"))
    y = (h * h).sum()
    (g,) = torch.autograd.grad(y, h)
    assert g.tolist() == pytest.approx((2 * h).tolist())
    assert calls == [] and x.grad is None
    h.sum().backward()  # the part below h still has its saved arrays
    assert x.grad.tolist() == pytest.approx((3 * h).tolist())
    assert calls == ["exp"]


def test_backward_with_non_leaf_inputs_stops_there():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    (h * 5).sum().backward(inputs=[h])
    assert h.grad.tolist() == [5.0, 5.0] and x.grad is None
    h.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
