"""torch.utils.checkpoint: trade compute for memory by recomputing a region in backward.

The forward pass of the checkpointed ``function`` keeps no intermediate activations; backward
runs it again (with the random-number state of the forward, so dropout masks repeat) and
backpropagates through the recomputed graph.

Two variants, as torch:

* ``use_reentrant=True``: a :class:`CheckpointFunction` node whose backward recomputes and
  calls :func:`dist_torch.autograd.backward` (parameters used inside get their ``.grad``
  from that nested call; gradients reach only inputs that require grad).
* ``use_reentrant=False``: one backward node with edges to the inputs *and* to every tensor
  from outside the region that the region used (parameters, closure tensors), found by
  tracing the forward once; backward recomputes and returns the gradient of each, so it works
  with :func:`dist_torch.autograd.grad` and ``backward(inputs=...)``.
"""

from __future__ import annotations

import contextlib
import warnings

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd import grad_mode
from dist_torch.autograd.api import backward as _autograd_backward
from dist_torch.autograd.engine import run_backward
from dist_torch.autograd.function import AccumulateGrad, Function, Node, _edge_of, _next_seq

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointFunction", "noop_context_fn"]


def noop_context_fn():
    """The default ``context_fn``: two null contexts (forward, recompute)."""
    return contextlib.nullcontext(), contextlib.nullcontext()


# --------------------------------------------------------------------------- RNG / autocast

class _State:
    """RNG and autocast state at forward time, replayed around the recomputation."""

    def __init__(self, tensors, preserve_rng_state: bool):
        from dist_torch import random as _random
        from dist_torch.amp import _policy
        self.preserve = preserve_rng_state
        self.cpu_rng = _random.get_rng_state() if preserve_rng_state else None
        self.cuda_rng = {}
        if preserve_rng_state:
            devices = {t.device.index or 0 for t in tensors if t.device.type == "cuda"}
            if devices:
                from dist_torch import cuda
                if cuda.is_initialized():
                    self.cuda_rng = {d: cuda.get_rng_state(d) for d in sorted(devices)}
        self.autocast = [(kind, _policy.is_autocast_enabled(kind),
                          _policy.get_autocast_dtype(kind)) for kind in ("cpu", "cuda")]

    @contextlib.contextmanager
    def replay(self):
        """Recompute under the forward's RNG and autocast state; restore the RNG after."""
        from dist_torch import random as _random
        from dist_torch.amp import autocast
        saved_cpu = _random.get_rng_state() if self.preserve else None
        saved_cuda = {}
        if self.cuda_rng:
            from dist_torch import cuda
            saved_cuda = {d: cuda.get_rng_state(d) for d in self.cuda_rng}
        try:
            if self.preserve:
                _random.set_rng_state(self.cpu_rng)
                if self.cuda_rng:
                    from dist_torch import cuda
                    for d, state in self.cuda_rng.items():
                        cuda.set_rng_state(state, d)
            with contextlib.ExitStack() as stack:
                for kind, enabled, dtype in self.autocast:
                    if enabled:
                        stack.enter_context(autocast(kind, dtype=dtype, enabled=True))
                yield
        finally:
            if self.preserve:
                _random.set_rng_state(saved_cpu)
                if saved_cuda:
                    from dist_torch import cuda
                    for d, state in saved_cuda.items():
                        cuda.set_rng_state(state, d)


def _detached(args):
    """``args`` with every tensor replaced by a detached leaf with the same requires_grad."""
    out = []
    for a in args:
        if isinstance(a, Tensor):
            d = a.detach()
            d.requires_grad_(a.requires_grad)
            out.append(d)
        else:
            out.append(a)
    return out


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


# --------------------------------------------------------------------------- reentrant

class CheckpointFunction(Function):
    """The reentrant variant: forward without a graph, backward recomputes and backprops."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        ctx.run_function = run_function
        ctx.state = _State([a for a in args if isinstance(a, Tensor)], preserve_rng_state)
        ctx.inputs = list(args)
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_indices])
        with grad_mode.no_grad():
            return ctx.run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        inputs = _detached(inputs)
        with ctx.state.replay(), grad_mode.enable_grad():
            outputs = _outputs(ctx.run_function(*inputs))
        roots, root_grads = [], []
        for out, g in zip(outputs, grads):
            if isinstance(out, Tensor) and out.requires_grad and g is not None:
                roots.append(out)
                root_grads.append(g)
        if not roots:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _autograd_backward(roots, root_grads)
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


# --------------------------------------------------------------------------- non-reentrant

def _trace(outputs, start_seq):
    """Walk the graph behind ``outputs`` through the nodes created after ``start_seq``.

    Returns the inner nodes and the external edges they point to, keyed by
    ``(node, output_nr)`` in first-seen order (leaves and nodes older than the region).
    """
    inner, external = [], {}
    seen = set()
    stack = []
    for out in outputs:
        if isinstance(out, Tensor) and out.requires_grad:
            stack.append(_edge_of(out))
    for edge in reversed(stack):
        node = edge[0]
        if _is_inner(node, start_seq):
            continue
        external.setdefault((node, edge[1]), edge)
    while stack:
        node = stack.pop()[0]
        if node in seen or not _is_inner(node, start_seq):
            continue
        seen.add(node)
        inner.append(node)
        for edge in node._edges:
            if edge is None:
                continue
            if _is_inner(edge[0], start_seq):
                stack.append(edge)
            else:
                external.setdefault((edge[0], edge[1]), edge)
    return inner, external


def _is_inner(node, start_seq) -> bool:
    return type(node) is not AccumulateGrad and node._seq > start_seq


class _Sink(Node):
    """Where the recomputed graph hands back the gradient of one external edge."""

    _name = "CheckpointSink"

    def backward(self, *grads):
        return ()


class _CheckpointNode(Node):
    """Backward node of a non-reentrant checkpoint region."""

    _name = "CheckpointBackward"

    def __init__(self, function, args, kwargs, state, keys):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.state, self.keys = state, keys

    def _apply_backward(self, grads):
        if self.function is None:
            raise RuntimeError("Trying to backward through the graph a second time (or "
                               "directly access saved tensors after they have already been "
                               "freed). Specify retain_graph=True if you need to backward "
                               "through the graph a second time.")
        inputs = _detached(self.args)
        start = _next_seq()
        with self.state.replay(), grad_mode.enable_grad():
            outputs = _outputs(self.function(*inputs, **self.kwargs))
        slot_of = dict(self.keys)
        for i, a in enumerate(inputs):
            if isinstance(a, Tensor) and a.requires_grad:
                slot_of[(_edge_of(a)[0], 0)] = ("input", i)
        inner, external = _trace(outputs, start)
        sinks = {key: _Sink() for key in external}
        for node in inner:
            node._edges = tuple(
                None if e is None else
                ((sinks[(e[0], e[1])], 0, e[2], e[3]) if (e[0], e[1]) in sinks else e)
                for e in node._edges)
        capture, slots = {}, []
        for key, sink in sinks.items():
            if key not in slot_of:
                raise RuntimeError("torch.utils.checkpoint: the recomputed graph uses a tensor "
                                   "that the original forward did not use")
            capture[sink] = [(0, len(slots))]
            slots.append(slot_of[key])
        roots, root_grads = [], []
        direct = []
        for out, g in zip(outputs, grads):
            if g is None or not isinstance(out, Tensor) or not out.requires_grad:
                continue
            node, nr = _edge_of(out)[:2]
            if (node, nr) in sinks:
                direct.append((slot_of[(node, nr)], g))
            else:
                roots.append((node, nr))
                root_grads.append(g)
        captured = run_backward(roots, root_grads, capture=capture, accumulate=False) \
            if roots else [None] * len(slots)
        result = [None] * len(self._edges)
        n_in = self._n_input_edges

        def add(slot, g):
            index = self._input_edge[slot[1]] if slot[0] == "input" else n_in + slot[1]
            if index is None or g is None:
                return
            result[index] = g if result[index] is None else result[index] + g

        for slot, g in zip(slots, captured):
            add(slot, g)
        for slot, g in direct:
            add(slot, g)
        return tuple(result)

    def _release(self):
        self.function = self.args = self.kwargs = None
        self._released = True


def _checkpoint_without_reentrant(function, preserve, args, kwargs):
    if not grad_mode.is_grad_enabled():
        return function(*args, **kwargs)
    state = _State([a for a in args if isinstance(a, Tensor)], preserve)
    inputs = _detached(args)
    start = _next_seq()
    with grad_mode.enable_grad():
        result = function(*inputs, **kwargs)
    outputs = _outputs(result)
    input_keys = {}
    for i, a in enumerate(inputs):
        if isinstance(a, Tensor) and a.requires_grad:
            input_keys[(_edge_of(a)[0], 0)] = i
    _, external = _trace(outputs, start)
    node = _CheckpointNode(function, list(args), kwargs, state, None)
    edges, input_edge, keys = [], {}, []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            input_edge[i] = len(edges)
            edges.append(_edge_of(a))
    node._n_input_edges = len(edges)
    node._input_edge = input_edge
    for key, edge in external.items():
        if key in input_keys:
            continue
        keys.append((key, ("external", len(keys))))
        edges.append(edge)
    node.keys = keys
    if not edges:
        return result
    node._edges = tuple(edges)
    node._seq = _next_seq()
    node._n_outputs = len(outputs)
    fresh = []
    for i, out in enumerate(outputs):
        if isinstance(out, Tensor) and out.requires_grad:
            t = _wrap(out._data)
            t._requires_grad, t._grad_fn, t._output_nr = True, node, i
            fresh.append(t)
        else:
            fresh.append(out.detach() if isinstance(out, Tensor) else out)
    if isinstance(result, tuple):
        return tuple(fresh)
    if isinstance(result, list):
        return fresh
    return fresh[0]


# --------------------------------------------------------------------------- public API

def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations for backward.

    Args:
        function: what to run (a module or any callable).
        use_reentrant: pass it explicitly (``False`` is recommended); ``None`` warns and means
            ``True``, as torch.
        preserve_rng_state: replay the forward's RNG state during recomputation (default
            True).

    Example::

        >>> y = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        if grad_mode.is_grad_enabled() and not any(
                isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=2)
        return CheckpointFunction.apply(function, preserve, *args)
    if context_fn is not noop_context_fn:
        raise NotImplementedError("dist_torch's checkpoint does not support context_fn")
    return _checkpoint_without_reentrant(function, preserve, args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a sequence of modules in ``segments`` chunks, checkpointing all but the last.

    Example::

        >>> out = checkpoint_sequential(model, 2, x, use_reentrant=False)
    """
    from dist_torch.nn.modules.container import Sequential
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,  # noqa: A001
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
