"""Graph nodes: the internal array-level ``Primitive`` and the user-facing ``Function``.

A ``Primitive`` is one differentiable op on arrays (rule 2 of DESIGN.md)::

    class Exp(Primitive):
        def forward(ctx, a):
            out = xp_exp(a)
            ctx.save_for_backward(out)
            return out

        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return grad * out

``Exp.apply(tensor)`` runs forward on the tensor's array, wraps the result, and (when grad mode
is on and an input requires grad) makes the instance the output's ``grad_fn``. The instance is
the ``ctx``: attributes set in forward are visible in backward. Arrays that backward needs go
through ``save_for_backward``, so they are freed after backward and version-checked.

``Function`` is torch.autograd.Function: forward and backward see Tensors.
"""

from __future__ import annotations

import itertools
import re
import sys
import traceback
import weakref

import numpy as np

from dist_torch._dtype import from_numpy_dtype
from dist_torch._tensor import Tensor, VersionCounter, _HookHandle, _wrap
from dist_torch.autograd import anomaly_mode, grad_mode
from dist_torch.backend import array_module, device_guard, is_array

_state = grad_mode.state
_new = object.__new__
_next_seq = itertools.count().__next__

try:
    import ml_dtypes as _ml_dtypes
    _BF16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    _BF16 = None

_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")

_LEGACY_TYPE_NAMES = {
    "float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
    "bool": "Bool",
}


def is_differentiable_dtype(np_dtype) -> bool:
    """Only floating (and complex) outputs carry gradients."""
    return np_dtype.kind in "fc" or np_dtype == _BF16


class Node:
    """A node of the backward graph (what ``tensor.grad_fn`` points to)."""

    _edges = ()             # per input: (next node, its output_nr, input shape, input dtype)
    _n_outputs = 1
    _seq = 0                # creation order; the engine runs later nodes first
    _saved = None
    _saved_versions = None
    _released = False
    _tensor_hooks = None    # output_nr -> {id: hook(grad) -> grad or None}
    _retained = None        # output_nr -> weakref of the tensor that called retain_grad()
    _pre_hooks = None       # {id: hook(grad_outputs) -> grad_outputs or None}
    _post_hooks = None      # {id: hook(grad_inputs, grad_outputs)}
    _trace = None           # forward stack, recorded under detect_anomaly
    _name = None

    def name(self) -> str:
        return _class_node_name(type(self))

    @property
    def next_functions(self):
        return tuple((None, 0) if e is None else (e[0], e[1]) for e in self._edges)

    @property
    def metadata(self) -> dict:
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node's backward."""
        if self._post_hooks is None:
            self._post_hooks = {}
        return _HookHandle(self._post_hooks, hook)

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` runs before this node's backward and may replace them."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return _HookHandle(self._pre_hooks, hook)

    def _register_tensor_hook(self, output_nr, hook):
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        return _HookHandle(self._tensor_hooks.setdefault(output_nr, {}), hook)

    def _retain_grad_of(self, output_nr, tensor):
        if self._retained is None:
            self._retained = {}
        self._retained[output_nr] = weakref.ref(tensor)

    def _apply_backward(self, grads):
        if grads and type(grads[0]) is np.ndarray:
            return self.backward(*grads)
        with device_guard(grads):  # GPU grads: run on their device
            return self.backward(*grads)

    def _release(self):
        self._saved = None
        self._released = True

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"

    # ---- saved arrays ---------------------------------------------------------------

    def save_for_backward(self, *values):
        self._saved = values

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(_SECOND_BACKWARD)
        if self._saved_versions:
            for counter, version, info in self._saved_versions:
                if counter.value != version:
                    raise RuntimeError(
                        "one of the variables needed for gradient computation has been "
                        f"modified by an inplace operation: {_describe_saved(info)} is at version "
                        f"{counter.value}; expected version {version} instead. Hint: enable "
                        "anomaly detection to find the operation that failed to compute its "
                        "gradient, with torch.autograd.set_detect_anomaly(True, "
                        "check_nan=False).")
        return () if self._saved is None else self._saved

    def _record_saved_versions(self, inputs, outputs):
        """Remember the version of each saved array that is an input's or output's storage."""
        records = []
        for value in self._saved:
            array = value._data if isinstance(value, Tensor) else value
            if array is None:
                continue
            ref = None
            for t in inputs:
                if isinstance(t, Tensor) and t._data is array:
                    ref = weakref.ref(t)  # torch names a saved input's grad_fn at error time
                    break
            else:
                for t in outputs:
                    if isinstance(t, Tensor) and t._data is array:
                        break
                else:
                    continue
            counter = t._vc
            if counter is None:
                counter = t._vc = VersionCounter()
            producer = t._grad_fn
            records.append((counter, counter.value, (
                t._data.shape, t._data.dtype, None if producer is None else type(producer),
                t._output_nr, ref)))
        self._saved_versions = records


def _describe_saved(info):
    shape, np_dtype, producer, output_nr, ref = info
    tensor = None if ref is None else ref()
    if tensor is not None:
        fn = tensor.grad_fn
        producer, output_nr = (None, 0) if fn is None else (type(fn), tensor._output_nr)
    name = _LEGACY_TYPE_NAMES.get(from_numpy_dtype(np_dtype).name, str(np_dtype))
    text = f"[torch.{name}Tensor {list(shape)}]"
    if producer is None:
        return text
    # torch 2.13 prints generated nodes without the Backward suffix ("output 0 of Exp")
    node = _class_node_name(producer)
    node = "torch::autograd::" + node if node == "CopySlices" else \
        re.sub(r"Backward\d*$", "", node)
    return f"{text}, which is output {output_nr} of {node},"


def _class_node_name(cls):
    if cls._name:
        return cls._name
    return cls.__name__ + ("Backward" if issubclass(cls, Function) else "Backward0")


def copy_on_device(array):
    """A copy of ``array`` on its own device (CuPy's ``copy()`` allocates on the current one)."""
    if type(array) is np.ndarray:
        return array.copy()
    with device_guard((array,)):
        return array.copy()


class AccumulateGrad(Node):
    """The graph node of a leaf tensor: adds incoming gradients into ``variable.grad``."""

    _name = "AccumulateGrad"
    _seq = sys.maxsize  # accumulate as soon as ready, as torch does (DDP relies on it)

    def __init__(self, variable):
        self.variable = variable

    def _apply_hooks(self, grad):
        hooks = self.variable._hooks
        if hooks:
            for hook in tuple(hooks.values()):
                out = hook(_wrap(grad))
                if out is not None:
                    grad = out._data
        return grad

    def accumulate(self, grad):
        """Add ``grad`` (already hooked) into the leaf's ``.grad``, then run post hooks."""
        var = self.variable
        if var._grad is None:
            var._grad = _wrap(copy_on_device(grad))
        else:
            var._grad._data += grad
        if var._post_acc_hooks:
            for hook in tuple(var._post_acc_hooks.values()):
                hook(var)


def _edge_of(t: Tensor):
    """The (node, output_nr, shape, dtype) edge along which a gradient reaches ``t``."""
    if t._base is not None and t._view_version != t._vc.value:
        t._refresh_view_history()
    fn = t._grad_fn
    if fn is not None:
        return fn, t._output_nr, t._data.shape, t._data.dtype
    ref = t._accumulator
    acc = ref() if ref is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._accumulator = weakref.ref(acc)
    return acc, 0, t._data.shape, t._data.dtype


def _as_array(value):
    if type(value) is np.ndarray or is_array(value):
        return value
    return np.asarray(value)


class Primitive(Node):
    """Base of the built-in differentiable ops; forward/backward work on arrays."""

    _is_view = False              # output 0 shares storage with input 0
    _non_differentiable = ()      # indices of outputs that never carry gradients

    def forward(ctx, *arrays, **params):
        raise NotImplementedError

    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on tensors (other inputs are passed through) and record it for backward."""
        ctx = _new(cls)
        arrays = []
        needs = []
        record = False
        if _state.grad_enabled:
            for x in inputs:
                if isinstance(x, Tensor):
                    arrays.append(x._data)
                    if x._base is not None and x._view_version != x._vc.value:
                        x._refresh_view_history()  # its base was written in place since
                    if x._requires_grad:
                        needs.append(True)
                        record = True
                        continue
                else:
                    arrays.append(x)
                needs.append(False)
        else:
            for x in inputs:
                arrays.append(x._data if isinstance(x, Tensor) else x)
                needs.append(False)
        ctx.needs_input_grad = needs
        if arrays and type(arrays[0]) is np.ndarray:
            raw = ctx.forward(*arrays, **params)
        else:  # GPU inputs: run on their device (see backend.device_guard)
            with device_guard(arrays):
                raw = ctx.forward(*arrays, **params)

        if type(raw) is tuple:
            outputs = [_wrap(_as_array(a)) for a in raw]
        else:
            out = _new(Tensor)
            out._data = raw if type(raw) is np.ndarray else _as_array(raw)
            outputs = [out]
        if record:
            edges = []
            for x, need in zip(inputs, needs):
                edges.append(_edge_of(x) if need else None)
            ctx._edges = edges
            ctx._seq = _next_seq()
            if anomaly_mode.state.enabled:
                ctx._trace = traceback.format_stack()[:-2]
            if len(outputs) == 1:
                out = outputs[0]
                if is_differentiable_dtype(out._data.dtype) and not ctx._non_differentiable:
                    out._requires_grad = True
                    out._grad_fn = ctx
            else:
                ctx._n_outputs = len(outputs)
                skip = ctx._non_differentiable
                for i, t in enumerate(outputs):
                    if i not in skip and is_differentiable_dtype(t._data.dtype):
                        t._requires_grad = True
                        t._grad_fn = ctx
                        t._output_nr = i
            if ctx._saved:
                ctx._record_saved_versions(inputs, outputs)
        if ctx._is_view:
            _make_view(outputs[0], inputs[0], ctx.view_fn)
        return outputs[0] if type(raw) is not tuple else tuple(outputs)


def _make_view(out: Tensor, src: Tensor, view_fn):
    """Mark ``out`` as a view of ``src``'s storage: shared version counter and base."""
    out._vc = src._version_counter()
    if src._base is None:
        out._base, out._view_fn = src, view_fn
    else:
        outer = src._view_fn
        out._base = src._base
        out._view_fn = lambda a: view_fn(outer(a))
    out._view_version = out._vc.value


class FunctionCtx:
    """Marker base kept for torch compatibility (``torch.autograd.function.FunctionCtx``)."""


class Function(Node, FunctionCtx):
    """Custom differentiable operations, as ``torch.autograd.Function``.

    Example::

        class Square(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        y = Square.apply(x)
    """

    _materialize_grads = True
    _non_differentiable_ids = ()
    _dirty_ids = ()

    def __init__(self, *args, **kwargs):
        pass

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    vjp = backward

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable_ids = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty_ids = tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool):
        self._materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        saved = Node.saved_tensors.fget(self)
        return tuple(saved)

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = _new(cls)
        grad_on = _state.grad_enabled
        tensor_args = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and grad_on and a._requires_grad
                                     for a in args)
        record = any(ctx.needs_input_grad)
        custom_setup = cls.setup_context is not Function.setup_context
        with grad_mode.no_grad():
            if custom_setup:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args, **kwargs)
        is_tuple = isinstance(result, tuple)
        raw_outputs = result if is_tuple else (result,)
        input_ids = {id(a) for a in tensor_args}
        outputs = []
        for value in raw_outputs:
            if isinstance(value, Tensor) and id(value) in input_ids and \
                    id(value) not in ctx._dirty_ids:
                value = value.view_as(value)  # an input returned as is: a fresh alias
            outputs.append(value)
        if record:
            ctx._edges = tuple(_edge_of(a) if need else None
                               for a, need in zip(args, ctx.needs_input_grad))
            ctx._seq = _next_seq()
            ctx._n_outputs = len(outputs)
            ctx._out_meta = [(v._data.shape, v._data.dtype, array_module(v._data))
                             if isinstance(v, Tensor) else None for v in outputs]
            if anomaly_mode.state.enabled:
                ctx._trace = traceback.format_stack()[:-1]
            for i, v in enumerate(outputs):
                if not isinstance(v, Tensor) or id(v) in ctx._non_differentiable_ids or \
                        not is_differentiable_dtype(v._data.dtype):
                    continue
                if id(v) in ctx._dirty_ids:
                    v._bump_version()
                v._grad_fn, v._output_nr, v._requires_grad = ctx, i, True
            if ctx._saved:
                ctx._record_saved_versions(args, outputs)
        return tuple(outputs) if is_tuple else outputs[0]

    def _apply_backward(self, grads):
        wrapped = []
        for g, meta in zip(grads, self._out_meta):
            if g is None and self._materialize_grads and meta is not None:
                shape, dtype, xp = meta
                g = xp.zeros(shape, dtype=dtype)
            wrapped.append(None if g is None else _wrap(g))
        with grad_mode.no_grad():
            result = type(self).backward(self, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        n_inputs = len(self._edges)
        if len(result) < n_inputs or any(r is not None for r in result[n_inputs:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n_inputs}, got {len(result)})")
        return tuple(r._data if isinstance(r, Tensor) else r for r in result[:n_inputs])


class InplaceFunction(Function):
    """Kept for torch compatibility; behaves as :class:`Function`."""


def once_differentiable(fn):
    """Decorator accepted for compatibility: double backward is not supported anyway."""
    return fn
