"""The emulated device array (``cupy.ndarray``), ufuncs and array functions.

A device array wraps a NumPy array (``_a``) and the index of the device that holds it. As in
CuPy: ``np.asarray(device_array)`` raises TypeError; NumPy ufuncs and functions called on
device arrays dispatch to the emulation (NEP 13/18) when CuPy has them; host arrays mixed into
device ufuncs raise ``TypeError: Unsupported type <class 'numpy.ndarray'>``; reductions and
scalar indexing give 0-dim device arrays, never NumPy scalars. Attributes and methods are
limited to those real CuPy's ndarray has (checked against the installed cupy package).
"""

from __future__ import annotations

import numbers

import numpy as np

from tests.fake_cupy import spec

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
             "construct a NumPy array explicitly.")
_SCALARS = (bool, int, float, complex, np.generic)
_UFUNC_KWARGS = frozenset({"out", "dtype", "casting"})


def current_device() -> int:
    from tests.fake_cupy import cuda
    return cuda.runtime.getDevice()


def _check_dtype(a) -> None:
    if a.dtype.kind in "OUS":
        raise ValueError(f"Unsupported dtype {a.dtype}")


def _root(a):
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _device_of(res, sources) -> int:
    """A view stays on its source's device; new memory is on the current device (CuPy
    allocates results there, whatever the inputs' devices)."""
    if sources:
        root = _root(res)
        for src in sources:
            if _root(src._a) is root:
                return src._device
    return current_device()


def wrap(value, sources=()):
    """NumPy results as device values: arrays and NumPy scalars become device arrays (0-dim
    for scalars, as CuPy never returns NumPy scalars from device work); containers are
    wrapped element by element; anything else passes through. ``sources``: the device
    arrays the value may be a view of."""
    if isinstance(value, np.ndarray):
        _check_dtype(value)
        return ndarray._from(value, _device_of(value, sources))
    if isinstance(value, np.generic):
        return ndarray._from(np.asarray(value), current_device())
    if isinstance(value, tuple):
        return tuple(wrap(v, sources) for v in value)
    if isinstance(value, list):
        return [wrap(v, sources) for v in value]
    return value


class _Unwrapper:
    """Replaces device arrays by their NumPy arrays in (nested) arguments, remembering them so
    that a result which is an input comes back as the same device array object."""

    def __init__(self, host_ok: bool, what: str):
        self.host_ok, self.what = host_ok, what
        self.seen = {}
        self.device = None
        self.sources = []

    def __call__(self, value):
        if isinstance(value, ndarray):
            self.seen[id(value._a)] = value
            self.sources.append(value)
            if self.device is None:
                self.device = value._device
            return value._a
        if isinstance(value, np.ndarray) and not self.host_ok:
            raise TypeError(f"Unsupported type {type(value)}")
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self(v) for v in value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value

    def result(self, value, scalar_ok=False):
        if isinstance(value, np.ndarray) and id(value) in self.seen and \
                self.seen[id(value)]._a is value:
            return self.seen[id(value)]
        if isinstance(value, list):
            return [self.result(v, scalar_ok) for v in value]
        if isinstance(value, tuple):  # CuPy returns plain tuples where NumPy has named ones
            return tuple(self.result(v, scalar_ok) for v in value)
        if scalar_ok and isinstance(value, np.generic):
            return value
        return wrap(value, self.sources)


def unwrap(value, host_ok=True):
    """Device arrays in ``value`` replaced by their NumPy arrays (for the kernel twins)."""
    return _Unwrapper(host_ok, "")(value)


class ufunc:
    """A CuPy ufunc: device arrays and Python/NumPy scalars only; ``out``, ``dtype`` and
    ``casting`` are the only keywords (CuPy says 'Wrong arguments' to the others)."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.name = self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __repr__(self):
        return f"<ufunc '{self.name}'>"

    @staticmethod
    def _check_operands(args):
        for a in args:
            if not isinstance(a, (ndarray,) + _SCALARS) or isinstance(a, np.ndarray):
                raise TypeError(f"Unsupported type {type(a)}")

    def __call__(self, *args, **kwargs):
        bad = set(kwargs) - _UFUNC_KWARGS
        if bad:
            raise TypeError(f"Wrong arguments {kwargs}")
        self._check_operands(args)
        out = kwargs.get("out")
        if out is not None:
            outs = out if isinstance(out, tuple) else (out,)
            for o in outs:
                if o is not None and not isinstance(o, ndarray):
                    raise TypeError("Output arguments must be cupy.ndarray")
        un = _Unwrapper(False, self.name)
        ins = un(args)
        if self.name == "matmul":
            ins = _tf32_inputs(ins)
        with np.errstate(all="ignore"):  # a GPU computes inf/nan silently
            res = self._u(*ins, **un(kwargs))
        if self.name == "matmul" and out is None and "dtype" not in kwargs:
            # ml_dtypes multiplies bfloat16 into float32; CuPy keeps bfloat16
            want = np.result_type(*ins)
            if want.kind == "V" and res.dtype != want:
                res = res.astype(want)
        return un.result(res)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        self._check_operands((array,))
        un = _Unwrapper(False, self.name)
        res = self._u.reduce(un(array), axis=axis, dtype=dtype, out=un(out),
                             keepdims=keepdims)
        return un.result(res)

    def accumulate(self, array, axis=0, dtype=None, out=None):
        self._check_operands((array,))
        un = _Unwrapper(False, self.name)
        return un.result(self._u.accumulate(un(array), axis=axis, dtype=dtype, out=un(out)))

    def reduceat(self, array, indices, axis=0, dtype=None, out=None):
        if self.name != "add":
            raise NotImplementedError(f"reduceat only supports add (not {self.name})")
        self._check_operands((array,))
        un = _Unwrapper(False, self.name)
        res = self._u.reduceat(un(array), un(indices), axis=axis, dtype=dtype, out=un(out))
        return un.result(res)

    def outer(self, a, b, **kwargs):
        self._check_operands((a, b))
        un = _Unwrapper(False, self.name)
        return un.result(self._u.outer(un(a), un(b), **un(kwargs)))

    def at(self, a, indices, b=None):
        if not isinstance(a, ndarray):
            raise TypeError(f"Unsupported type {type(a)}")
        if a.dtype not in spec.UFUNC_AT.get(self.name, ()):
            raise NotImplementedError(f"{self.name}.at is not supported for {a.dtype} on the "
                                      "emulated device (as in CuPy)")
        un = _Unwrapper(True, self.name)
        args = (un(a), un(indices)) + (() if b is None else (un(b),))
        self._u.at(*args)


def _tf32_inputs(ins):
    """float32 GEMM inputs rounded to TF32 (10 mantissa bits) when CuPy's compute type for
    float32 is TF32, as cuBLAS does on tensor cores."""
    from tests.fake_cupy import cuda
    lin = cuda.core._routines_linalg
    if lin.get_compute_type(np.float32) != lin.COMPUTE_TYPE_TF32:
        return ins
    out = []
    for a in ins:
        if isinstance(a, np.ndarray) and a.dtype == np.float32:
            bits = a.view(np.uint32).astype(np.uint64)
            bits = (bits + 0x1000 + ((bits >> 13) & 1) - 1) & 0xFFFFE000  # round to nearest even
            a = bits.astype(np.uint32).view(np.float32)
        out.append(a)
    return tuple(out)


_UFUNCS: dict = {}


def get_ufunc(name: str) -> ufunc:
    u = _UFUNCS.get(name)
    if u is None:
        u = _UFUNCS[name] = ufunc(getattr(np, name))
    return u


class function:
    """A CuPy array function emulated with NumPy's. Host arrays are refused unless the
    function takes them in CuPy (``asarray``, ...); host data is always copied."""

    def __init__(self, name: str, fn, host_ok=False):
        self.__name__ = self.name = name
        self._fn, self._host_ok = fn, host_ok

    def __repr__(self):
        return f"<function cupy.{self.name}>"

    def __call__(self, *args, **kwargs):
        un = _Unwrapper(self._host_ok, self.name)
        with np.errstate(all="ignore"):
            res = self._fn(*un(args), **un(kwargs))
        if self.name in spec.SCALAR_TO_ARRAY and isinstance(res, (numbers.Number, np.generic)):
            res = np.asarray(res)
        if self.name in spec.HOST_RESULT:
            return res
        return un.result(res)


def _copy_host(obj, dtype=None, order="K", **kwargs):
    """Host data onto the device: always a copy (device memory is not host memory)."""
    un = _Unwrapper(True, "array")
    if isinstance(obj, ndarray):
        return obj
    data = np.array(un(obj), dtype=dtype, order=order, copy=True, **kwargs)
    return wrap(data)


def asarray(a, dtype=None, order=None, *, blocking=False):
    if isinstance(a, ndarray):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return _copy_host(a, dtype=dtype, order=order or "K")


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        if not copy and (dtype is None or np.dtype(dtype) == obj.dtype) and obj.ndim >= ndmin:
            return obj
        return wrap(np.array(obj._a, dtype=dtype, order=order, copy=True, ndmin=ndmin))
    return _copy_host(obj, dtype=dtype, order=order, ndmin=ndmin)


def ascontiguousarray(a, dtype=None):
    if isinstance(a, np.ndarray):
        raise TypeError(f"Unsupported type {type(a)}")
    if isinstance(a, ndarray):
        res = np.ascontiguousarray(a._a, dtype=dtype)
        return a if res is a._a else wrap(res, (a,))
    return wrap(np.ascontiguousarray(a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        if out is None:
            return np.array(a._a, order=order, copy=True)
        out[...] = a._a
        return out
    if out is not None:
        out[...] = a
        return out
    return np.asarray(a, order=order)


def copyto(dst, src, casting="same_kind", where=None):
    if not isinstance(dst, ndarray):
        raise TypeError(f"Unsupported type {type(dst)}")
    if isinstance(src, np.ndarray):
        if src.size != 1:
            raise ValueError("non-scalar numpy.ndarray cannot be used for copyto")
        src = src.reshape(())[()]
    un = _Unwrapper(False, "copyto")
    np.copyto(un(dst), un(src), casting=casting, where=True if where is None else un(where))


def _index(key):
    """A getitem/setitem key with device arrays replaced (host arrays are accepted)."""
    return _Unwrapper(True, "index")(key)


def _is_basic(key) -> bool:
    """True for keys of ints, slices, None and Ellipsis only (no array or list indices)."""
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, slice)
               or (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)))
               for k in keys)


def _view_key(key):
    """``key`` with a trailing Ellipsis, so that NumPy returns a 0-dim view, not a scalar."""
    if isinstance(key, tuple):
        return key if any(k is Ellipsis for k in key) else key + (Ellipsis,)
    return key if key is Ellipsis else (key, Ellipsis)


def _binop(name, reflected=False):
    def op(self, other):
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented
        u = get_ufunc(name)
        return u(other, self) if reflected else u(self, other)
    op.__name__ = f"__{'r' if reflected else ''}{name}__"
    return op


def _iop(name):
    def op(self, other):
        get_ufunc(name)(self, other, out=self)
        return self
    return op


def _unop(name):
    def op(self):
        return get_ufunc(name)(self)
    return op


class ndarray:
    """A device array of the emulated device (see the module docstring)."""

    __slots__ = ("_a", "_device", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._device = current_device()

    @classmethod
    def _from(cls, a, device=None):
        obj = cls.__new__(cls)
        obj._a = a
        obj._device = current_device() if device is None else device
        return obj

    # ------------------------------------------------------------------ host boundary
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        if not spec.has_module_attr(np_ufunc.__name__):
            return NotImplemented
        u = get_ufunc(np_ufunc.__name__)
        if "out" in kwargs and isinstance(kwargs["out"], tuple) and len(kwargs["out"]) == 1:
            kwargs["out"] = kwargs["out"][0]
        if method == "__call__":
            return u(*inputs, **kwargs)
        return getattr(u, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from tests.fake_cupy import module
        fn = module.lookup(func)
        if fn is None:
            return NotImplemented
        return fn(*args, **kwargs)

    def get(self, stream=None, order="C", out=None, blocking=True):
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: "
                             f"{arr.shape}")
        if not (self.flags.c_contiguous or self.flags.f_contiguous):
            raise RuntimeError("Cannot set to non-contiguous array")
        self._a[...] = arr

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec_):
        return format(self._a, spec_)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        raise TypeError("pickling a device array of the emulated device is not supported")

    # ------------------------------------------------------------------ attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    strides = property(lambda self: self._a.strides)
    size = property(lambda self: self._a.size)
    ndim = property(lambda self: self._a.ndim)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: self._wrap(self._a.T))
    mT = property(lambda self: self._wrap(self._a.mT))  # noqa: N815 - CuPy's name
    base = property(lambda self: None if self._a.base is None else self._wrap(self._a.base))

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def real(self):
        return self._wrap(self._a.real)

    @property
    def imag(self):
        return self._wrap(self._a.imag)

    @property
    def device(self):
        from tests.fake_cupy import cuda
        return cuda.Device(self._device)

    @property
    def data(self):
        from tests.fake_cupy import cuda
        return cuda.MemoryPointer.of_array(self)

    @property
    def __cuda_array_interface__(self):
        a = self._a
        return {"shape": a.shape, "typestr": a.dtype.str, "data": (self.data.ptr, False),
                "version": 3, "strides": None if a.flags.c_contiguous else a.strides}

    def _wrap(self, res):
        if res is self._a:
            return self
        return wrap(res, (self,))

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key):
        key = _index(key)
        res = self._a[key]
        if isinstance(res, np.generic):
            res = self._a[_view_key(key)]
        return self._wrap(res)

    def __setitem__(self, key, value):
        # As CuPy: with only ints/slices/None/Ellipsis in the key, a value that is not a
        # device array goes through fill() (scalars only); with array or list indices, host
        # values are copied to the device.
        key = _index(key)
        if isinstance(value, ndarray):
            self._a[key] = value._a
        elif _is_basic(key):
            wrap(self._a[_view_key(key)], (self,)).fill(value)
        else:
            self._a[key] = _Unwrapper(True, "setitem")(value)

    # ------------------------------------------------------------------ methods
    def __getattr__(self, name):
        if name.startswith("__") or not spec.has_array_attr(name):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        attr = getattr(self._a, name)
        if not callable(attr):
            return self._wrap(attr)

        def method(*args, **kwargs):
            un = _Unwrapper(False, name)
            with np.errstate(all="ignore"):
                res = attr(*un(args), **un(kwargs))
            if res is self._a:
                return self
            out = kwargs.get("out")
            if isinstance(out, ndarray) and res is out._a:
                return out
            return wrap(res, (self,))
        method.__name__ = name
        return method

    def copy(self, order="C"):
        return wrap(self._a.copy(order=order))  # onto the current device, as CuPy

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        res = self._a.astype(dtype, order=order, copy=copy)
        return self._wrap(res)

    def view(self, dtype=None, *args):
        if dtype is None:
            return wrap(self._a.view(), (self,))
        if isinstance(dtype, type) and issubclass(dtype, np.ndarray):
            raise TypeError("view as a NumPy array type is not supported by CuPy")
        return wrap(self._a.view(dtype), (self,))

    def fill(self, value):
        if isinstance(value, np.ndarray):
            if value.shape != ():
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            value = value.item()
        elif isinstance(value, ndarray):
            self._a[...] = value._a  # CuPy's fill kernel broadcasts a device value
            return
        elif not isinstance(value, _SCALARS):
            raise TypeError(f"Unsupported type {type(value)}")
        self._a.fill(value)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return wrap(self._a.reshape(shape, order=order), (self,))

    def __matmul__(self, other):
        return get_ufunc("matmul")(self, other)

    def __rmatmul__(self, other):
        return get_ufunc("matmul")(other, self)

    def __divmod__(self, other):
        return get_ufunc("divmod")(self, other)

    def __rdivmod__(self, other):
        return get_ufunc("divmod")(other, self)


_BIN = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
        "floordiv": "floor_divide", "mod": "remainder", "pow": "power", "and": "bitwise_and",
        "or": "bitwise_or", "xor": "bitwise_xor", "lshift": "left_shift",
        "rshift": "right_shift"}
_CMP = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
        "eq": "equal", "ne": "not_equal"}
for _short, _name in _BIN.items():
    setattr(ndarray, f"__{_short}__", _binop(_name))
    setattr(ndarray, f"__r{_short}__", _binop(_name, reflected=True))
    setattr(ndarray, f"__i{_short}__", _iop(_name))
for _short, _name in _CMP.items():
    setattr(ndarray, f"__{_short}__", _binop(_name))
for _short, _name in {"neg": "negative", "pos": "positive", "abs": "absolute",
                      "invert": "invert"}.items():
    setattr(ndarray, f"__{_short}__", _unop(_name))
