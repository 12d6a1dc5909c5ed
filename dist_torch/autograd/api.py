"""torch.autograd.backward and torch.autograd.grad."""

from __future__ import annotations

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd.engine import run_backward
from dist_torch.autograd.function import AccumulateGrad, _edge_of
from dist_torch.backend import array_module, device_guard


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _roots_and_grads(outputs, grad_outputs, create_graph):
    if create_graph:
        raise NotImplementedError("double backward (create_graph=True) is not supported by "
                                  "dist_torch yet")
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    roots, grads = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"element {i} of tensors is a {type(out).__name__}, not a Tensor")
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            with device_guard((out._data,)):  # CuPy allocates on the current device
                g_array = array_module(out._data).ones_like(out._data)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradient for element {i} must be a Tensor, got "
                                f"{type(g).__name__}")
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of "
                    f"torch.Size({list(g._data.shape)}) and output[{i}] has a shape of "
                    f"torch.Size({list(out._data.shape)}).")
            if g.dtype.is_floating_point != out.dtype.is_floating_point:
                raise RuntimeError(f"For complex Tensors, both grad_output and output are "
                                   f"required to have the same dtype. Mismatch in dtype: "
                                   f"grad_output[{i}] has a dtype of {g.dtype} and output[{i}] "
                                   f"has a dtype of {out.dtype}.")
            g_array = g._data.astype(out._data.dtype, copy=False)
        edge = _edge_of(out)
        roots.append((edge[0], edge[1]))
        grads.append(g_array)
    return roots, grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate gradients of ``tensors`` into the ``.grad`` of graph leaves.

    Args:
        tensors: tensor(s) to differentiate.
        grad_tensors: d(loss)/d(tensor) for each; may be omitted for one-element tensors.
        retain_graph: keep the graph's saved arrays for another backward.
        inputs: accumulate only into these tensors (leaves or not).
    """
    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if grad_tensors is None:
        grad_tensors = grad_variables
    roots, grads = _roots_and_grads(outputs, grad_tensors, create_graph)
    if inputs is None:
        run_backward(roots, grads, retain_graph=retain_graph)
        return
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    capture = _capture_map(inputs)
    captured = run_backward(roots, grads, retain_graph=retain_graph, capture=capture,
                            accumulate=False)
    for t, g in zip(inputs, captured):
        if g is None:
            continue
        node = _edge_of(t)[0]
        if type(node) is AccumulateGrad:
            node.accumulate(g)
        elif t._grad is None:
            t._grad = _wrap(g.copy())
        else:
            t._grad = _wrap(t._grad._data + g)


def _capture_map(inputs):
    capture = {}
    for slot, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        node, nr = _edge_of(t)[:2]
        capture.setdefault(node, []).append((nr, slot))
    return capture


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    Args:
        allow_unused: return None for inputs the outputs do not depend on (else an error).
        materialize_grads: return zeros instead of None for unused inputs.

    Example::

        (dx,) = torch.autograd.grad(y.sum(), x)
    """
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported")
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    roots, grads = _roots_and_grads(outputs, grad_outputs, create_graph)
    capture = _capture_map(inputs)
    captured = run_backward(roots, grads, retain_graph=retain_graph, capture=capture,
                            accumulate=False)
    results = []
    for t, g in zip(inputs, captured):
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            zeros = array_module(t._data).zeros_like(t._data)
            results.append(_wrap(zeros) if materialize_grads else None)
        else:
            results.append(_wrap(g))
    return tuple(results)


