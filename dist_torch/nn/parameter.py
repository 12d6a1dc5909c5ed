"""nn.Parameter: a leaf tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from dist_torch._tensor import Tensor, _wrap


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    Shares storage with ``data``; requires grad unless ``requires_grad=False``.

    Example::

        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> w.requires_grad
        True
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from dist_torch._creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        param = object.__new__(cls)
        param._data = data._data
        param._vc = data._version_counter()
        if requires_grad:
            param.requires_grad_(True)
        return param

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return _rebuild_parameter, (Tensor.__reduce_ex__(self, protocol), self._requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(_wrap(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__({})
        memo[id(self)] = out
        return out


def _rebuild_parameter(reduced, requires_grad):
    rebuild, args = reduced
    return Parameter(rebuild(*args), requires_grad)


class Buffer(Tensor):
    """Marks a tensor assigned to a Module attribute as a buffer (``nn.Buffer``)."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from dist_torch._creation import empty
            data = empty(0)
        buf = object.__new__(cls)
        buf._data = data._data
        buf.persistent = persistent
        return buf

    def __init__(self, data=None, *, persistent=True):
        pass


# --------------------------------------------------------------------------- lazy tensors

_ALLOWED = frozenset((
    "size", "copy_", "is_complex", "is_floating_point", "half", "float", "double", "bfloat16",
    "char", "short", "int", "long", "cuda", "cpu", "to", "get_device", "materialize",
    "requires_grad_", "share_memory_", "cls_to_become",
))
_CONVERSIONS = ("half", "float", "double", "bfloat16", "char", "short", "int", "long", "cuda",
                "cpu", "to")
_BLOCKED_DUNDERS = (
    "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__", "__mul__",
    "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__",
    "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__",
    "__neg__", "__pos__", "__abs__", "__invert__", "__and__", "__or__", "__xor__", "__lt__",
    "__le__", "__gt__", "__ge__", "__getitem__", "__setitem__", "__float__", "__int__",
    "__array__",
)


def _use_error(what, cls_name):
    return ValueError(f"Attempted to use an uninitialized parameter in {what}. This error "
                      "happens when you are using a `LazyModule` or explicitly manipulating "
                      f"`torch.nn.parameter.{cls_name}` objects. When using LazyModules Call "
                      "`forward` with a dummy batch to initialize the parameters before calling "
                      "torch functions")


class UninitializedTensorMixin:
    """Shared behaviour of the placeholders of lazy modules: no shape, no math, until
    :meth:`materialize` turns them into ``cls_to_become``."""

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor storage of ``shape`` (same device and dtype unless given) and turn
        it into a regular Parameter / Tensor, in place."""
        from dist_torch._creation import empty
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        self._data = empty(tuple(shape), device=device, dtype=dtype)._data
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing "
            "their attributes.")

    def share_memory_(self):
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call "
                           "`forward` to initialize the parameters before calling "
                           "`module.share_memory()`.")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, protocol):
        return type(self), (self._requires_grad,)

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = type(self)(self._requires_grad, device=self.device,
                                        dtype=self.dtype)
        return memo[id(self)]

    def __getattribute__(self, name):
        if name[:1] != "_" and name not in _ALLOWED:
            attr = getattr(type(self), name, None)
            if attr is not None and callable(attr) and not isinstance(attr, type):
                raise _use_error(name, type(self).__name__)
        return object.__getattribute__(self, name)

    def _convert(self, method, *args, **kwargs):
        plain = _wrap(self._data)
        out = getattr(plain, method)(*args, **kwargs)
        if out is plain or out._data is self._data:
            return self
        new = object.__new__(type(self))
        new._data = out._data
        new._requires_grad = self._requires_grad
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k == "persistent"})
        return new


def _blocked(name):
    def method(self, *args, **kwargs):
        raise _use_error(name, type(self).__name__)
    method.__name__ = name
    return method


def _conversion(name):
    def method(self, *args, **kwargs):
        return self._convert(name, *args, **kwargs)
    method.__name__ = name
    return method


for _n in _BLOCKED_DUNDERS:
    setattr(UninitializedTensorMixin, _n, _blocked(_n))
for _n in _CONVERSIONS:
    setattr(UninitializedTensorMixin, _n, _conversion(_n))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter without a shape yet: what lazy modules (``LazyLinear``, ...) hold until
    their first forward infers it. Using it in math raises ValueError."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        from dist_torch._creation import empty
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer without a shape yet (the running statistics of the lazy norm layers)."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        from dist_torch._creation import empty
        buf = object.__new__(cls)
        buf._data = empty(0, device=device, dtype=dtype)._data
        buf._requires_grad = bool(requires_grad)
        buf.persistent = persistent
        return buf

    def __init__(self, requires_grad=False, device=None, dtype=None, persistent=True):
        pass


def is_lazy(value) -> bool:
    """True for an uninitialized parameter or buffer."""
    return isinstance(value, UninitializedTensorMixin)
