"""The backward engine: accumulation, retain_graph, graph shapes, errors, freeing."""

import gc
import weakref

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close


def leaf(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype, requires_grad=True)


def test_scalar_backward_gives_derivative():
    x = leaf([1.0, -2.0, 3.0])
    (x * x * 3 + x).sum().backward()
    assert_close(x.grad, 6 * np.array([1.0, -2.0, 3.0]) + 1)


def test_gradient_argument_on_non_scalar():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.backward(torch.tensor([10.0, -1.0], dtype=torch.float64))
    assert_close(x.grad, [30.0, -3.0])


def test_non_scalar_without_gradient_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        (x * 2).backward()


def test_gradient_of_wrong_shape_is_refused():
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of "
                                           r"torch.Size\(\[2\]\) and output\[0\] has a shape of "
                                           r"torch.Size\(\[3\]\)"):
        (x * 2).backward(torch.ones(2, dtype=torch.float64))


def test_backward_of_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        torch.ones(3).sum().backward()


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, [2 + 2 * 1.0, 2 + 2 * 2.0])


def test_second_backward_without_retain_graph_is_refused():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [4.0, 8.0])


def test_graph_without_saved_arrays_can_run_twice_as_in_torch():
    # AddBackward and SumBackward save nothing, so torch runs this twice without complaint.
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert_close(x.grad, [2.0, 2.0])


def test_saved_arrays_are_freed_after_backward():
    x = leaf([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    y.sum().backward()
    with pytest.raises(RuntimeError, match="after they have already been freed"):
        _ = node.saved_tensors


def test_diamond_graph_sums_both_paths():
    x = leaf([1.0, 2.0, 3.0])
    a = x * 2
    b = x * 3
    (a * b).sum().backward()  # d/dx 6 x^2 = 12 x
    assert_close(x.grad, [12.0, 24.0, 36.0])


def test_same_tensor_used_twice_in_one_op():
    x = leaf([3.0])
    (x * x).backward(torch.ones(1, dtype=torch.float64))
    assert_close(x.grad, [6.0])


class _NoGrad(torch.autograd.Function):
    """Identity forward whose backward gives no gradient."""

    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return None


def test_branch_that_returns_no_gradient_does_not_block_other_paths():
    x = leaf([1.0, 2.0])
    a = x * 2
    (_NoGrad.apply(a) + a * 5).sum().backward()
    assert_close(x.grad, [10.0, 10.0])


def test_long_chain_backpropagates_without_recursion_error():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert_close(x.grad, [1.0001 ** 10_000], rtol=1e-9)


def test_broadcast_gradient_is_summed_to_input_shape():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.arange(4.0).reshape(1, 4))
    (a * b).sum().backward()
    assert_close(a.grad, np.full((3, 1), 6.0))
    assert_close(b.grad, np.full((1, 4), 3.0))


def test_gradient_is_cast_back_to_input_dtype():
    a = leaf([1.0, 2.0], dtype=torch.float32)
    b = torch.tensor([3.0, 4.0], dtype=torch.float64)
    out = a * b
    assert out.dtype == torch.float64
    out.sum().backward()
    assert a.grad.dtype == torch.float32
    assert_close(a.grad, np.array([3.0, 4.0], dtype=np.float32))


def test_leaf_grad_is_its_own_buffer():
    # y = a + b hands the same upstream array to both leaves; their .grad must not alias.
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.zero_()
    assert_close(b.grad, [1.0, 1.0])


def test_intermediate_results_are_released_with_the_graph():
    x = leaf(np.ones(4))
    y = x * 2
    node_ref = weakref.ref(y.grad_fn)
    y.sum().backward()
    del y
    gc.collect()
    assert node_ref() is None


def test_backward_with_inputs_accumulates_only_there():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    assert_close(a.grad, [2.0])
    assert b.grad is None


def test_create_graph_is_not_supported_yet():
    x = leaf([1.0])
    with pytest.raises(NotImplementedError, match="create_graph"):
        (x * x).sum().backward(create_graph=True)


def test_grad_fn_graph_structure():
    x = leaf([1.0])
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0"
    (next_fn, nr), (none_fn, _) = y.grad_fn.next_functions
    assert type(next_fn).__name__ == "AccumulateGrad" and next_fn.variable is x and nr == 0
    assert none_fn is None
    assert x.is_leaf and not y.is_leaf


def test_queue_callback_runs_after_the_whole_graph():
    from dist_torch.autograd.engine import queue_callback
    x = leaf([1.0, 2.0])
    events = []

    def hook(tensor):
        events.append("accumulated")
        queue_callback(lambda: events.append(("callback", tensor.grad.tolist())))

    x.register_post_accumulate_grad_hook(hook)
    (x * 3).sum().backward()
    assert events == ["accumulated", ("callback", [3.0, 3.0])]
    with pytest.raises(RuntimeError, match="only be installed during backward"):
        queue_callback(lambda: None)
