"""CUDA graphs (torch.cuda.CUDAGraph, graph, make_graphed_callables) on CuPy's stream capture.

A capture records the kernels queued on a side stream into a graph instead of running them;
``replay()`` launches them all again with one call, on the same memory. So, as in torch:

* capture on a non-default stream (``torch.cuda.graph`` uses a side stream for you);
* warm up first (a few eager iterations on a side stream) so that kernels are compiled and
  lazy state is built before capture;
* inputs and outputs are *static*: copy new inputs into the tensors used during capture and
  read results from the tensors the capture produced; they are overwritten at each replay;
* nothing in the captured region may wait for the GPU (``.item()``, ``.cpu()``, printing a CUDA
  tensor, ``torch.cuda.synchronize()``): those raise; ops skip their host-side value checks;
* an optimizer step can be captured with SGD, or with Adam/AdamW built with
  ``capturable=True`` (step counters on the device);
* random ops (dropout) read the generator's seed and offset from device memory that each
  replay refills, and every replay advances the generator: fresh masks per replay, as torch.

Memory allocated during capture comes from the graph's private pool (shareable between graphs
with ``pool=``), which lives as long as the graph or any tensor allocated from it. Graphs that
share a pool must be replayed in the order they were captured. Capture mode defaults to CUDA's
'relaxed' (torch's default is 'global') because the pool may need cudaMalloc during capture,
which only relaxed mode permits without torch's allocator-level mode switching.
"""

from __future__ import annotations

import gc

from dist_torch.backend import cuda as _backend

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "is_current_stream_capturing",
           "make_graphed_callables"]

_DEFAULT_STREAM_PTRS = (0, 1, 2)  # legacy null stream, cudaStreamLegacy, per-thread default


class _PoolHandle:
    """An opaque memory-pool token for ``pool=`` (``torch.cuda.graph_pool_handle``)."""

    __slots__ = ("_pool",)

    def __init__(self, pool):
        self._pool = pool

    def __repr__(self):
        return f"<torch.cuda graph pool {id(self._pool):#x}>"


def graph_pool_handle() -> _PoolHandle:
    """A new memory pool that several graph captures can share (``pool=``)."""
    _backend.require("torch.cuda.graph_pool_handle()")
    return _PoolHandle(_backend.GraphPool())


def is_current_stream_capturing() -> bool:
    """True while the current stream is being captured into a CUDA graph."""
    index = _backend.current_device()
    return _backend.stream_is_capturing(_backend.current_stream(index))


class CUDAGraph:
    """A captured sequence of GPU work, replayable with one launch (``torch.cuda.CUDAGraph``).

    Prefer the :class:`graph` context manager to calling capture_begin/capture_end yourself.

    Example::

        >>> g = torch.cuda.CUDAGraph()
        >>> static_x = torch.zeros(8, device='cuda')
        >>> with torch.cuda.graph(g):
        ...     static_y = static_x * 2 + 1
        >>> static_x.copy_(torch.arange(8., device='cuda')); g.replay()
        >>> static_y          # 2 * arange(8) + 1
    """

    def __init__(self, keep_graph: bool = False):
        _backend.require("torch.cuda.CUDAGraph")
        self._graph = None
        self._pool = None
        self._stream = None
        self._index = None
        self._capture_ended = False

    def capture_begin(self, pool=None, capture_error_mode: str | None = None) -> None:
        """Start capturing the current stream's work.

        Args:
            pool: a :func:`graph_pool_handle` or another graph's ``pool()`` to share memory
                with; a private pool if None.
            capture_error_mode: 'global', 'thread_local' or 'relaxed' (the default, see the
                module docs).
        """
        if self._graph is not None or self._stream is not None:
            raise RuntimeError("This CUDAGraph instance already owns a captured graph. To "
                               "capture a new graph, create a new instance.")
        index = _backend.current_device()
        stream = _backend.current_stream(index)
        if _backend.stream_ptr(stream) in _DEFAULT_STREAM_PTRS:
            raise RuntimeError("CUDA graphs must be captured on a non-default stream. (However, "
                               "after capture, it's ok to replay them on the default stream.)")
        if pool is None:
            gpool = _backend.GraphPool()
        elif isinstance(pool, _PoolHandle):
            gpool = pool._pool
        else:
            raise TypeError(f"pool must be a handle from torch.cuda.graph_pool_handle() or "
                            f"CUDAGraph.pool(), got {type(pool).__name__}")
        mode = _backend.capture_mode("relaxed" if capture_error_mode is None
                                     else capture_error_mode)
        _backend.begin_capture(stream, gpool, mode)
        self._pool, self._stream, self._index = gpool, stream, index

    def capture_end(self) -> None:
        """Stop capturing; the graph is ready to :meth:`replay`."""
        if self._stream is None:
            raise RuntimeError("Called CUDAGraph::capture_end without a preceding "
                               "capture_begin.")
        current = _backend.current_stream(self._index)
        if _backend.stream_ptr(current) != _backend.stream_ptr(self._stream):
            raise RuntimeError("Capture must end on the same stream it began on.")
        try:
            self._graph = _backend.end_capture(self._stream)
        finally:
            self._stream = None
        self._capture_ended = True

    def _abort_capture(self) -> None:
        """End a capture that failed part-way, ignoring CUDA's complaint about it."""
        if self._stream is not None:
            try:
                _backend.end_capture(self._stream)
            except RuntimeError:
                pass
            self._stream = None

    def replay(self) -> None:
        """Launch the captured work on the current stream."""
        if self._graph is None:
            raise RuntimeError("Called CUDAGraph::replay without a preceding successful "
                               "capture.")
        with _backend.using_device(self._index):
            _backend.graph_launch(self._graph, _backend.current_stream(self._index))

    def reset(self) -> None:
        """Drop the captured graph (and this instance's hold on its memory pool)."""
        self._abort_capture()
        self._graph = self._pool = None
        self._capture_ended = False

    def pool(self) -> _PoolHandle:
        """This graph's memory pool, to share with a later capture (``pool=``)."""
        if not self._capture_ended:
            raise RuntimeError("Called CUDAGraph::pool() without a preceding successful "
                               "capture.")
        return _PoolHandle(self._pool)


class graph:  # noqa: N801 - torch spells it lowercase
    """Context manager that captures the work of its block into ``cuda_graph``.

    Before capture it synchronizes the device, collects garbage and empties the memory cache;
    the block runs on ``stream`` (a side stream shared by all captures if None).

    Args:
        cuda_graph: the :class:`CUDAGraph` to capture into.
        pool: memory pool to share (see :meth:`CUDAGraph.capture_begin`).
        stream: the stream to capture on.
        capture_error_mode: see :meth:`CUDAGraph.capture_begin`.
    """

    default_capture_stream = None

    def __init__(self, cuda_graph: CUDAGraph, pool=None, stream=None,
                 capture_error_mode: str | None = None):
        from dist_torch.cuda.streams import Stream, StreamContext
        if self.__class__.default_capture_stream is None:
            self.__class__.default_capture_stream = Stream()
        self.pool = () if pool is None else (pool,)
        self.capture_stream = stream if stream is not None else \
            self.__class__.default_capture_stream
        self.stream_ctx = StreamContext(self.capture_stream)
        self.cuda_graph = cuda_graph
        self.capture_error_mode = capture_error_mode

    def __enter__(self):
        from dist_torch import cuda
        cuda.synchronize()
        gc.collect()
        cuda.empty_cache()
        self.stream_ctx.__enter__()
        try:
            self.cuda_graph.capture_begin(*self.pool,
                                          capture_error_mode=self.capture_error_mode)
        except BaseException:
            self.stream_ctx.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.cuda_graph.capture_end()
            else:  # the block failed: end the capture quietly and let its error through
                self.cuda_graph._abort_capture()
        finally:
            self.stream_ctx.__exit__(exc_type, exc, tb)
        return False


# --------------------------------------------------------------------------- graphed callables

def _flatten(tree, leaves: list):
    """Append ``tree``'s tensors to ``leaves``; return its structure (for :func:`_unflatten`)."""
    from dist_torch._tensor import Tensor
    if isinstance(tree, Tensor):
        leaves.append(tree)
        return None
    if isinstance(tree, (tuple, list)):
        return (type(tree), [_flatten(t, leaves) for t in tree])
    if isinstance(tree, dict):
        return (dict, [(k, _flatten(v, leaves)) for k, v in tree.items()])
    raise TypeError(f"make_graphed_callables: expected tensors (in tuples, lists or dicts), "
                    f"got {type(tree).__name__}")


def _unflatten(spec, leaves):
    it = iter(leaves)

    def build(s):
        if s is None:
            return next(it)
        kind, children = s
        if kind is dict:
            return {k: build(c) for k, c in children}
        return kind(build(c) for c in children)
    return build(spec)


def _leaves(tree) -> tuple:
    out: list = []
    _flatten(tree, out)
    return tuple(out)


# Indirections that the CPU tests replace to exercise the plumbing without a GPU.
def _synchronize():
    from dist_torch import cuda
    cuda.synchronize()


def _side_stream():
    from dist_torch.cuda.streams import Stream, StreamContext
    return StreamContext(Stream())


def _new_graph():
    return CUDAGraph()


def _capture(cuda_graph, pool, body):
    """Run ``body()`` captured into ``cuda_graph``; returns what it returns."""
    with graph(cuda_graph, pool=pool):
        return body()


_retain_graph = False  # the CPU tests re-run captured backward bodies, which needs the graph


def _new_pool():
    return graph_pool_handle()


def _check_callable(c, args):
    from dist_torch._tensor import Tensor
    from dist_torch.nn import Module
    if isinstance(c, Module):
        if c._forward_hooks or c._forward_pre_hooks or getattr(c, "_backward_hooks", None):
            raise AssertionError("Modules must not have hooks registered at the time they are "
                                 "passed. However, registering hooks on modules after passing "
                                 "them through make_graphed_callables is allowed.")
        if any(b.requires_grad for b in c.buffers()):
            raise AssertionError("In any :class:`~torch.nn.Module` passed to "
                                 ":func:`~make_graphed_callables`, only parameters may be "
                                 "trainable. All buffers must have ``requires_grad=False``.")
    flat: list = []
    for a in args:
        if not isinstance(a, (Tensor, tuple, list, dict)):
            raise AssertionError("In the beta API, sample_args for each callable must contain "
                                 "only Tensors. Other types are not allowed.")
        _flatten(a, flat)
    return tuple(flat)


def make_graphed_callables(callables, sample_args, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool=None):
    """Graphed versions of callables (functions or Modules): forward and backward each replay
    a CUDA graph captured from ``sample_args``.

    Args:
        callables: one callable or a tuple of them (run in that order, sharing one pool).
        sample_args: the arguments of each (a tuple; a tuple of tuples for several
            callables); their shapes, dtypes, devices and requires_grad are fixed for good.
        num_warmup_iters: eager forward+backward iterations before capture.
        allow_unused_input: allow inputs that the output does not depend on.
        pool: memory pool to capture into (a new one if None).

    Returns:
        The graphed callable(s). A Module is returned itself with its ``forward`` replaced;
        it uses the graphs while ``module.training`` is what it was at capture and the eager
        forward otherwise.

    Example::

        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU()).cuda()
        >>> x = torch.randn(16, 4, device='cuda', requires_grad=True)
        >>> model = torch.cuda.make_graphed_callables(model, (x,))
        >>> model(torch.randn(16, 4, device='cuda')).sum().backward()
    """
    import dist_torch
    from dist_torch.autograd import grad as autograd_grad
    from dist_torch.nn import Module
    is_autocast = getattr(dist_torch, "is_autocast_enabled", None)
    if is_autocast is not None and is_autocast() and dist_torch.is_autocast_cache_enabled():
        raise RuntimeError("make_graphed_callables does not support the autocast caching. "
                           "Please set `cache_enabled=False`.")
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    sample_args = tuple(tuple(a) if isinstance(a, (tuple, list)) else (a,)
                        for a in sample_args)
    flat_args = [_check_callable(c, a) for c, a in zip(callables, sample_args)]
    n_user_args = [len(a) for a in flat_args]
    module_params = [tuple(c.parameters()) if isinstance(c, Module) else () for c in callables]
    surfaces = [flat_args[i] + module_params[i] for i in range(len(callables))]
    fwd_graphs = [_new_graph() for _ in callables]
    bwd_graphs = [_new_graph() for _ in callables]
    mempool = _new_pool() if pool is None else pool

    def grads_of(outputs, surface, grad_outputs):
        return autograd_grad(outputs=outputs, inputs=tuple(i for i in surface if i.requires_grad),
                             grad_outputs=grad_outputs, only_inputs=True,
                             retain_graph=_retain_graph, allow_unused=allow_unused_input)

    # The eager forwards, bound now: a Module's forward is replaced at the end. (Hooks, the only
    # other thing Module.__call__ does, are refused above.)
    calls = [c.forward if isinstance(c, Module) else c for c in callables]

    # Warm-up on a side stream: compile kernels and build lazy state outside capture.
    _synchronize()
    with _side_stream():
        for call, args, surface in zip(calls, sample_args, surfaces):
            outputs = needing = None
            for _ in range(num_warmup_iters):
                outputs = _leaves(call(*args))
                needing = tuple(o for o in outputs if o.requires_grad)
                if needing:
                    grads_of(needing, surface, tuple(o.new_zeros(o.shape) for o in needing))
            del outputs, needing
    _synchronize()

    # Forward graphs, in order.
    static_outputs, out_specs = [], []
    for call, args, fwd_graph in zip(calls, sample_args, fwd_graphs):
        outputs = _capture(fwd_graph, mempool, lambda call=call, args=args: call(*args))
        flat: list = []
        out_specs.append(_flatten(outputs, flat))
        static_outputs.append(tuple(flat))

    # Backward graphs, in reverse order (the order backward runs them).
    static_grad_outputs, static_grad_inputs = [None] * len(callables), [None] * len(callables)
    for i in reversed(range(len(callables))):
        outs = static_outputs[i]
        grad_outs = tuple(o.new_zeros(o.shape) if o.requires_grad else None for o in outs)
        needing = tuple(o for o in outs if o.requires_grad)
        grad_inputs = None
        if needing:
            given = tuple(g for g in grad_outs if g is not None)
            grad_inputs = _capture(bwd_graphs[i], mempool,
                                   lambda n=needing, s=surfaces[i], g=given: grads_of(n, s, g))
        per_input, k = [], 0
        for arg in surfaces[i]:
            if arg.requires_grad and grad_inputs is not None:
                per_input.append(grad_inputs[k])
                k += 1
            else:
                per_input.append(None)
        static_grad_outputs[i], static_grad_inputs[i] = grad_outs, tuple(per_input)

    result = []
    for i, func in enumerate(callables):
        graphed = _graphed_function(fwd_graphs[i], bwd_graphs[i], module_params[i],
                                    n_user_args[i], out_specs[i], surfaces[i],
                                    static_outputs[i], static_grad_outputs[i],
                                    static_grad_inputs[i])
        if isinstance(func, Module):
            func.forward = _graphed_forward(func, func.training, graphed, func.forward)
            result.append(func)
        else:
            result.append(graphed)
    return result[0] if just_one else tuple(result)


def _graphed_function(fwd_graph, bwd_graph, module_params, n_user_args, out_spec, surface,
                      static_outputs, static_grad_outputs, static_grad_inputs):
    from dist_torch.autograd import Function
    from dist_torch.autograd.function import once_differentiable

    class Graphed(Function):
        @staticmethod
        def forward(ctx, *inputs):
            for i in range(n_user_args):
                if surface[i].data_ptr() != inputs[i].data_ptr():
                    surface[i].copy_(inputs[i])
            fwd_graph.replay()
            return tuple(o.detach() for o in static_outputs)

        @staticmethod
        @once_differentiable
        def backward(ctx, *grads):
            for static, g in zip(static_grad_outputs, grads):
                if static is not None and g is not None and static.data_ptr() != g.data_ptr():
                    static.copy_(g)
            bwd_graph.replay()
            return tuple(b.detach() if b is not None else None for b in static_grad_inputs)

    def functionalized(*user_args):
        flat = _leaves(user_args)
        if len(flat) != n_user_args:
            raise RuntimeError(f"graphed callable expects {n_user_args} tensor arguments, got "
                               f"{len(flat)}")
        out = Graphed.apply(*(flat + module_params))
        return _unflatten(out_spec, out if isinstance(out, tuple) else (out,))

    return functionalized


def _graphed_forward(module, training_state, graphed, eager_forward):
    def forward(*user_args):
        if module.training == training_state:
            return graphed(*user_args)
        return eager_forward(*user_args)
    return forward
