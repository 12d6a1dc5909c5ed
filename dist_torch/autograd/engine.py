"""The backward engine: iterative, dependency-counted, later nodes first.

One pass counts, for every node reachable from the roots, how many edges lead into it; a node
runs once all of them have delivered (so every gradient buffer is complete), and among ready
nodes the most recently created runs first, as in torch. Leaves' AccumulateGrad nodes rank
highest, so ``.grad`` is written (and post-accumulate hooks fire) as early as possible.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import warnings

import numpy as np

from dist_torch._broadcast import sum_to_shape
from dist_torch._tensor import _wrap
from dist_torch.autograd import anomaly_mode
from dist_torch.autograd.function import AccumulateGrad, copy_on_device
from dist_torch.backend import array_module
from dist_torch.backend import cuda as _cuda


class _Callbacks(threading.local):
    pending = None  # a list while a backward pass runs on this thread


_callbacks = _Callbacks()


def queue_callback(callback) -> None:
    """Run ``callback()`` once the current backward pass has processed the whole graph.

    Only valid from hooks running inside backward (DDP waits for its gradient all-reduces
    this way, so ``optimizer.step`` sees reduced gradients).
    """
    if _callbacks.pending is None:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _callbacks.pending.append(callback)


def _run_final_callbacks(pending):
    i = 0
    while i < len(pending):  # a callback may queue more
        pending[i]()
        i += 1


def _count_dependencies(root_nodes):
    deps = {}
    seen = set(root_nodes)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for edge in node._edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return deps


def _needed_nodes(root_nodes, deps, targets):
    """Nodes from which some target is reachable (the only ones autograd.grad must run)."""
    remaining = dict(deps)
    order = []
    stack = [n for n in set(root_nodes) if remaining.get(n, 0) == 0]
    while stack:
        node = stack.pop()
        order.append(node)
        for edge in node._edges:
            if edge is not None:
                child = edge[0]
                remaining[child] -= 1
                if remaining[child] == 0:
                    stack.append(child)
    needed = set()
    for node in reversed(order):
        if node in targets or any(e is not None and e[0] in needed for e in node._edges):
            needed.add(node)
    return needed


def _run_tensor_hooks(hooks, grad):
    for hook in tuple(hooks.values()):
        out = hook(_wrap(grad))
        if out is not None:
            grad = out._data
    return grad


def _accumulate_retained(tensor, grad):
    if tensor._grad is None:
        tensor._grad = _wrap(copy_on_device(grad))
    else:
        tensor._grad = _wrap(tensor._grad._data + grad)


def _check_nan(node, grads):
    _cuda.check_not_capturing("anomaly detection's NaN check of gradients")
    for i, g in enumerate(grads):
        if g is not None and g.dtype.kind == "f" and bool(array_module(g).isnan(g).any()):
            if node._trace:
                warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that "
                              "caused the error:\n" + "".join(node._trace), stacklevel=3)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               "output.")


def _validated(node, index, grad, edge):
    shape, dtype = edge[2], edge[3]
    if grad.shape != shape:
        try:
            grad = sum_to_shape(grad, shape)
        except ValueError:
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {index} - got "
                f"{list(grad.shape)} but expected shape compatible with {list(shape)}") from None
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def run_backward(roots, root_grads, retain_graph=False, capture=None, accumulate=True):
    """Propagate ``root_grads`` from ``roots`` through the graph.

    Args:
        roots: ``(node, output_nr)`` pairs, one per root tensor.
        root_grads: the gradient array for each root.
        retain_graph: keep saved arrays so the graph can be run again.
        capture: ``{node: [(output_nr, slot), ...]}``: record the gradient arriving at each
            listed node output into ``captured[slot]`` instead of running past it.
        accumulate: run AccumulateGrad nodes (False for ``autograd.grad``).

    Returns:
        The list of captured gradients (arrays or None), when ``capture`` is given.
    """
    outer = _callbacks.pending
    _callbacks.pending = pending = []
    try:
        captured = _run_graph(roots, root_grads, retain_graph, capture, accumulate)
        _callbacks.pending = None
        _run_final_callbacks(pending)
    finally:
        _callbacks.pending = outer
    return captured


def _run_graph(roots, root_grads, retain_graph, capture, accumulate):
    root_nodes = [node for node, _ in roots]
    deps = _count_dependencies(root_nodes)
    needed = None
    captured = None
    if capture is not None:
        captured = [None] * sum(len(v) for v in capture.values())
        needed = _needed_nodes(root_nodes, deps, capture)

    buffers = {}
    for (node, nr), grad in zip(roots, root_grads):
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_outputs
        buf[nr] = grad if buf[nr] is None else buf[nr] + grad

    tiebreak = itertools.count()
    ready = [(-node._seq, next(tiebreak), node) for node in buffers if deps.get(node, 0) == 0]
    heapq.heapify(ready)
    check_nan = anomaly_mode.state.enabled and anomaly_mode.state.check_nan

    while ready:
        node = heapq.heappop(ready)[2]
        if needed is not None and node not in needed:
            continue
        grads = buffers.pop(node, None)
        if grads is None:  # nothing arrived (all None): only release the children
            _release_children(node, deps, ready, tiebreak)
            continue

        if node._tensor_hooks:
            for nr, hooks in node._tensor_hooks.items():
                if hooks and grads[nr] is not None:
                    grads[nr] = _run_tensor_hooks(hooks, grads[nr])
        if node._retained:
            for nr, ref in node._retained.items():
                tensor = ref()
                if tensor is not None and grads[nr] is not None:
                    _accumulate_retained(tensor, grads[nr])
        if node._pre_hooks:
            for hook in tuple(node._pre_hooks.values()):
                out = hook(tuple(None if g is None else _wrap(g) for g in grads))
                if out is not None:
                    grads = [None if g is None else g._data for g in out]

        if type(node) is AccumulateGrad:
            grad = grads[0]
            if grad is None:
                continue
            grad = node._apply_hooks(grad)
            if capture is not None and node in capture:
                for _, slot in capture[node]:
                    captured[slot] = grad
            elif accumulate:
                node.accumulate(grad)
            continue

        if capture is not None and node in capture:
            for nr, slot in capture[node]:
                captured[slot] = grads[nr]
            if not any(e is not None and e[0] in needed for e in node._edges):
                # nothing further down is asked for: stop here, as torch does, leaving this
                # part of the graph (and its saved arrays) untouched for a later backward
                _release_children(node, deps, ready, tiebreak)
                continue

        edges = node._edges
        for g in grads:
            if g is not None:
                break
        else:  # no gradient arrived at any output
            grads = None
        if grads is None:
            outputs = (None,) * len(edges)
        else:
            try:
                outputs = node._apply_backward(grads)
            except Exception:
                if anomaly_mode.state.enabled and node._trace:
                    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call "
                                  "that caused the error:\n" + "".join(node._trace),
                                  stacklevel=2)
                raise
            if type(outputs) is not tuple:
                outputs = (outputs,)
            if not retain_graph:
                node._release()
            if check_nan:
                _check_nan(node, outputs)
            if node._post_hooks:
                wrapped_in = tuple(None if g is None else _wrap(g) for g in outputs)
                wrapped_out = tuple(None if g is None else _wrap(g) for g in grads)
                for hook in tuple(node._post_hooks.values()):
                    hook(wrapped_in, wrapped_out)

        for index, (edge, grad) in enumerate(zip(edges, outputs)):
            if edge is None:
                continue
            child = edge[0]
            if grad is not None:
                if grad.shape != edge[2] or grad.dtype != edge[3]:
                    grad = _validated(node, index, grad, edge)
                buf = buffers.get(child)
                if buf is None:
                    buf = buffers[child] = [None] * child._n_outputs
                nr = edge[1]
                if buf[nr] is not None:
                    grad = buf[nr] + grad
                if isinstance(grad, np.generic):  # NumPy ops on 0-d arrays return scalars
                    grad = np.asarray(grad)
                buf[nr] = grad
            left = deps[child] - 1
            deps[child] = left
            if left == 0:
                heapq.heappush(ready, (-child._seq, next(tiebreak), child))
    return captured


def _release_children(node, deps, ready, tiebreak):
    for edge in node._edges:
        if edge is not None:
            child = edge[0]
            deps[child] -= 1
            if deps[child] == 0:
                heapq.heappush(ready, (-child._seq, next(tiebreak), child))
