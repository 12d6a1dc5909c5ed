"""Tensor: an n-dimensional array (NumPy or CuPy) with a place in the autograd graph.

The array lives in ``Tensor._data``; ``Tensor.data`` is torch's detached *Tensor* view of it.
Operators and most methods are bound onto the class by the ``ops`` modules (each binds its
own family at import), so this module holds only what every tensor is: storage, metadata,
autograd state and conversions.
"""

from __future__ import annotations

import weakref

import numpy as np

from dist_torch import _dtype
from dist_torch._device import as_device
from dist_torch._size import Size, wrap_dim
from dist_torch.backend import data_ptr, device_of, is_array, to_device


class VersionCounter:
    """Counts in-place writes to a storage; views and ``detach()`` share their base's counter."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """A multi-dimensional array with autograd support, API-compatible with ``torch.Tensor``.

    ``Tensor(data)`` and ``Tensor(*sizes)`` behave like torch's legacy constructor (float32);
    prefer :func:`dist_torch.tensor` and the factory functions.
    """

    # Class-level defaults keep construction cheap: instances set only what differs.
    _data = None
    _requires_grad = False
    _grad = None
    _grad_fn = None
    _output_nr = 0
    _vc = None
    _base = None            # the tensor whose storage this view shares (None: not a view)
    _view_fn = None         # array -> array: replays this view from the base's array
    _view_version = 0       # _vc.value when this view's grad_fn was last set
    _hooks = None           # leaf tensors: gradient hooks, run before accumulation
    _post_acc_hooks = None  # leaf tensors: run after .grad has been accumulated
    _accumulator = None     # weakref to the leaf's AccumulateGrad node
    _retains_grad = False
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __init__(self, *args, device=None):
        np_dtype = _dtype.get_default_dtype().numpy_dtype  # torch.Tensor follows the default
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                data = data._data
            array = np.asarray(data, dtype=np_dtype) if not is_array(data) \
                else data.astype(np_dtype, copy=False)
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            array = np.empty(tuple(sizes), dtype=np_dtype)
        self._data = to_device(array, as_device(device))

    # ------------------------------------------------------------------ metadata

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        """The shape as a :class:`Size`, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    def stride(self, dim=None):
        """Strides in elements, as torch counts them."""
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        return strides if dim is None else strides[wrap_dim(dim, self._data.ndim)]

    def data_ptr(self) -> int:
        return data_ptr(self._data)

    def is_shared(self) -> bool:
        return False

    def get_device(self) -> int:
        d = self.device
        return -1 if d.type == "cpu" else d.index

    # ------------------------------------------------------------------ autograd state

    @property
    def requires_grad(self) -> bool:
        if self._base is not None and self._view_version != self._vc.value:
            self._refresh_view_history()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this leaf tensor; returns ``self``."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and self._data.dtype.kind not in "fc" and \
                not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients "
                               f"(got {self.dtype})")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        if self._base is not None and self._view_version != self._vc.value:
            self._refresh_view_history()
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        if self._grad is None and self._grad_fn is not None and not self._retains_grad:
            import warnings
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the gradient for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: expected "
                                   f"{list(self._data.shape)}, got {list(value._data.shape)}")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: expected "
                                   f"{self.dtype}, got {value.dtype}")
            if value.device != self.device:
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"expected {self.device}, got {value.device}")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc.value

    def _bump_version(self):
        vc = self._vc
        if vc is None:
            vc = self._vc = VersionCounter()
        vc.value += 1

    def _version_counter(self) -> VersionCounter:
        vc = self._vc
        if vc is None:
            vc = self._vc = VersionCounter()
        return vc

    def _refresh_view_history(self):
        """Re-derive a view's grad_fn from its base after the shared storage changed in place."""
        from dist_torch.autograd.grad_mode import state
        self._view_version = self._vc.value
        if self._base._requires_grad and state.grad_enabled:
            from dist_torch.ops.inplace import AsView
            out = AsView.apply(self._base, view_fn=self._view_fn)
            self._grad_fn, self._output_nr = out._grad_fn, 0
            self._requires_grad = True

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        node = self.grad_fn
        if node is None or self._retains_grad:
            return
        node._retain_grad_of(self._output_nr, self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """Call ``hook(grad) -> Tensor or None`` with this tensor's gradient during backward.

        A returned tensor replaces the gradient. Returns a handle with ``remove()``.
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self.grad_fn
        if node is None:
            if self._hooks is None:
                self._hooks = {}
            return _HookHandle(self._hooks, hook)
        return node._register_tensor_hook(self._output_nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after this leaf's ``.grad`` has been accumulated in backward."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        return _HookHandle(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        Args:
            gradient: d(loss)/d(self); needed unless ``self`` has one element.
            retain_graph: keep saved arrays for another backward (default: ``create_graph``).
            inputs: accumulate only into these tensors.
        """
        from dist_torch.autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A tensor sharing storage (and version counter) with ``self``, outside the graph."""
        out = _wrap(self._data)
        out._vc = self._version_counter()
        return out

    def detach_(self) -> Tensor:
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn, self._requires_grad = None, False
        return self

    @property
    def data(self) -> Tensor:
        """This tensor's storage as a detached tensor (torch semantics: no version sharing)."""
        return _wrap(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    # ------------------------------------------------------------------ conversions

    def numpy(self, *, force=False) -> np.ndarray:
        """The NumPy array behind this CPU tensor (shared memory, as in torch)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if type(self._data) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                                "Tensor.cpu() to copy the tensor to host memory first.")
            return to_device(self._data, as_device("cpu"))
        return self._data

    def tolist(self):
        return _host(self._data).tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return _host(self._data).reshape(()).item()

    def __array__(self, dtype=None, copy=None):
        array = _host(self._data)
        if dtype is not None:
            return array.astype(dtype, copy=bool(copy))
        return array.copy() if copy else array

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self):
        if self._data.size != 1:
            amount = "no values" if self._data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self.item())

    def __float__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self.item())

    def __int__(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "biu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        # Lets tensors cross process boundaries (DataLoader workers); not used for checkpoints.
        return _rebuild, (_host(self._data), self._requires_grad, str(self.device))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        out = type(self).__new__(type(self))
        out.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in ("_vc", "_accumulator", "_base", "_view_fn")})
        out._data = self._data.copy()
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    def __repr__(self, *, tensor_contents=None):
        from dist_torch._tensor_str import tensor_repr
        return tensor_repr(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ views of the data

    @property
    def T(self) -> Tensor:  # noqa: N802 - torch name
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        if self._data.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:  # noqa: N802
        return self.T

    @property
    def mH(self) -> Tensor:  # noqa: N802
        return self.mT

    def is_set_to(self, other) -> bool:
        return self._data is other._data

    def untyped_storage(self):
        raise NotImplementedError("dist_torch tensors do not expose storages")


def _host(array):
    return array if type(array) is np.ndarray else to_device(array, as_device("cpu"))


_new = object.__new__


def _wrap(array, requires_grad=False) -> Tensor:
    """A Tensor around ``array`` (which must already be an ndarray of a torch dtype)."""
    t = _new(Tensor)
    t._data = array
    if requires_grad:
        t._requires_grad = True
    return t


def _rebuild(array, requires_grad, device):
    t = _wrap(to_device(array, as_device(device)))
    t._requires_grad = requires_grad
    return t


class _HookHandle:
    """Removes a registered hook: ``handle.remove()`` (also usable as a context manager)."""

    _next_id = 0

    def __init__(self, registry: dict, hook):
        _HookHandle._next_id += 1
        self.id = _HookHandle._next_id
        self._registry = weakref.ref(registry) if hasattr(registry, "__weakref__") else \
            (lambda r=registry: r)
        registry[self.id] = hook

    def remove(self):
        registry = self._registry()
        if registry is not None:
            registry.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def bind_methods(methods: dict) -> None:
    """Attach functions to Tensor as methods (used by each ops module for its family)."""
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
