"""Random numbers: ``torch.Generator`` on NumPy's PCG64, seeding, and the sampling factories.

Every draw goes through a :class:`Generator` (the module-level ``default_generator`` unless
``generator=`` is given), so the same seed gives the same numbers. The streams are NumPy's,
not torch's: values differ from torch, distributions, dtypes and shapes do not. Samplers that
take tensors (bernoulli, multinomial, poisson) and the in-place ``Tensor.uniform_`` family are
in :mod:`dist_torch._sampling`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings

import numpy as np

from dist_torch import _dtype
from dist_torch._broadcast import broadcast_shapes
from dist_torch._creation import check_pin_memory, parse_size
from dist_torch._device import as_device, default_or
from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd.function import _LEGACY_TYPE_NAMES, Primitive
from dist_torch.backend import array_module, device_of, to_device

__all__ = [
    "Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
    "set_rng_state", "fork_rng", "rand", "randn", "randint", "randperm", "normal", "rand_like",
    "randn_like", "randint_like", "bernoulli", "multinomial", "poisson",
]

_DEFAULT_SEED = 67280421310721  # torch.Generator().initial_seed()
_U64 = (1 << 64) - 1

# The C++ names torch's range errors use for each dtype.
C_TYPE_NAMES = {
    "bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
    "float32": "float", "float64": "double",
}
# Floating dtypes: (mantissa digits, largest finite value).
_FLOAT_LIMITS = {
    "float16": (11, 65504.0), "bfloat16": (8, 3.3895313892515355e38),
    "float32": (24, float(np.finfo(np.float32).max)),
    "float64": (53, float(np.finfo(np.float64).max)),
}
_INT_LIMITS = {d.name: (int(np.iinfo(d.numpy_dtype).min), int(np.iinfo(d.numpy_dtype).max))
               for d in (_dtype.uint8, _dtype.int8, _dtype.int16, _dtype.int32, _dtype.int64)}
_INT_LIMITS["bool"] = (0, 1)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


class Generator:
    """A pseudo-random number generator (NumPy's PCG64), as ``torch.Generator``.

    Args:
        device: where the tensors it samples live (``'cpu'``); draws are made on the host.

    Example::

        >>> g = torch.Generator().manual_seed(0)
        >>> torch.rand(2, generator=g)   # the same two numbers on every run
    """

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        if self.device.type == "cuda":
            from dist_torch.backend import cuda
            cuda.require("torch.Generator(device='cuda')")
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed) -> Generator:
        """Re-seed with ``seed`` (an int in [-2**63, 2**64)); returns ``self``."""
        seed = _seed_value(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy; returns the new seed."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed last set by :meth:`manual_seed`, :meth:`seed` or :meth:`set_state`."""
        return self._seed

    def get_state(self) -> Tensor:
        """The full generator state as a ``uint8`` tensor (for :meth:`set_state`)."""
        payload = {"seed": self._seed, "bit_generator": self._rng.bit_generator.state}
        data = json.dumps(payload, separators=(",", ":")).encode()
        return _wrap(np.frombuffer(data, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state returned by :meth:`get_state`; returns ``self``."""
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = np.asarray(new_state._data if type(new_state._data) is np.ndarray
                         else to_device(new_state._data, as_device("cpu")))
        try:
            payload = json.loads(raw.tobytes().decode())
            bit_generator = np.random.PCG64()
            bit_generator.state = payload["bit_generator"]
            seed = int(payload["seed"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise RuntimeError(f"Invalid RNG state of {raw.size} bytes: expected a state "
                               f"returned by get_state() ({err})") from None
        self._seed = seed
        self._rng = np.random.Generator(bit_generator)
        return self

    def clone_state(self) -> Generator:
        """A new generator on the same device in the same state."""
        out = Generator(self.device)
        return out.set_state(self.get_state())


def _seed_value(seed) -> int:
    seed = int(seed)
    if not -(1 << 63) <= seed <= _U64:
        raise ValueError("Overflow when unpacking long long")
    return seed & _U64


default_generator = Generator()
default_generator.seed()  # as torch: a fresh process starts from a non-deterministic seed


def _seed_cuda(seed: int) -> None:
    """Hook: ``torch.manual_seed`` also seeds every CUDA generator once dist_torch.cuda exists."""
    cuda = sys.modules.get("dist_torch.cuda")
    if cuda is not None and hasattr(cuda, "manual_seed_all"):
        cuda.manual_seed_all(seed)


def manual_seed(seed) -> Generator:
    """Seed the default generator (and the CUDA ones); returns ``default_generator``."""
    seed = _seed_value(seed)
    _seed_cuda(seed)
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator non-deterministically; returns the seed."""
    value = default_generator.seed()
    _seed_cuda(value)
    return value


def initial_seed() -> int:
    """The default generator's initial seed."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state as a ``uint8`` tensor."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state from :func:`get_rng_state`."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None):
    """Context manager: restore the default generator's state on exit."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)


# --------------------------------------------------------------------------- shared helpers

def rng_of(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the default generator when None)."""
    if generator is None:
        return default_generator._rng
    if not isinstance(generator, Generator):
        raise TypeError(f"expected a torch.Generator for argument 'generator', got "
                        f"{type(generator).__name__}")
    return generator._rng


def legacy_name(d) -> str:
    return _LEGACY_TYPE_NAMES[d.name]


def float_dtype(dtype, kernel: str):
    """The NumPy dtype of a floating ``dtype`` (default dtype when None), else torch's error."""
    d = dtype if dtype is not None else _dtype.get_default_dtype()
    if not isinstance(d, _dtype.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {d!r}")
    if not d.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{legacy_name(d)}'")
    return d.numpy_dtype


def uniform01(rng, shape, np_dtype):
    """Uniform samples in [0, 1) of ``np_dtype``; never rounds up to 1 in half precision."""
    if np_dtype == _F32 or np_dtype == _F64:
        return rng.random(shape, dtype=np_dtype)
    bits = 11 if np_dtype == np.float16 else 8
    u = rng.random(shape, dtype=np.float32)
    return (np.floor(u * (1 << bits)) * (1.0 / (1 << bits))).astype(np_dtype)


def standard_normal(rng, shape, np_dtype):
    """Standard normal samples of ``np_dtype`` (half types are drawn in float32)."""
    if np_dtype == _F32 or np_dtype == _F64:
        return rng.standard_normal(shape, dtype=np_dtype)
    return rng.standard_normal(shape, dtype=np.float32).astype(np_dtype)


def on_device_of(array, like):
    """``array`` (drawn on the host) moved to the device of array ``like``."""
    return array if type(like) is np.ndarray else to_device(array, device_of(like))


def _out_dtype(dtype, out):
    if out is None or dtype is None:
        return dtype if out is None else out.dtype
    if dtype is not out.dtype:
        raise RuntimeError(f"dtype {legacy_name(dtype)} does not match dtype of out parameter "
                           f"({legacy_name(out.dtype)})")
    return dtype


def emit(array, out=None, device=None, requires_grad=False) -> Tensor:
    """Wrap a freshly drawn host array: move it to ``device`` or write it into ``out``."""
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"argument 'out' must be Tensor, not {type(out).__name__}")
        array = on_device_of(array, out._data)
        if out._data.shape == array.shape:
            array_module(out._data).copyto(out._data, array, casting="unsafe")
        else:
            out._data = array.astype(out._data.dtype, copy=False)
        out._bump_version()
        return out
    if device is not None:
        target = as_device(device)
        if target.type != "cpu":
            array = to_device(array, target)
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _sizes(sizes, size, fname):
    if size is not None:
        if sizes:
            raise TypeError(f"{fname}() received an invalid combination of arguments: size "
                            "given both positionally and as a keyword")
        sizes = (size,)
    if not sizes:
        raise TypeError(f"{fname}() received an invalid combination of arguments - got (), but "
                        "expected (tuple of ints size, ...)")
    return parse_size(sizes, fname)


def fmt_number(x) -> str:
    """A number as torch's messages print it (``-1``, ``0.5``, ``1e+10``)."""
    return f"{x:g}" if isinstance(x, float) else str(x)


class ZeroGrad(Primitive):
    """Samples whose parameters are inputs: torch treats the draw as constant (zero grads).

    ``apply(*inputs, samples)`` returns ``samples``; subclasses only set the grad_fn name.
    """

    def forward(ctx, *args):
        *inputs, samples = args
        ctx.shapes = [getattr(a, "shape", None) for a in inputs]
        return samples

    def backward(ctx, grad):
        xp = array_module(grad)
        grads = [xp.zeros(shape, dtype=grad.dtype) if need else None
                 for shape, need in zip(ctx.shapes, ctx.needs_input_grad)]
        return (*grads, None)


def zero_grad_node(name: str) -> type:
    """A :class:`ZeroGrad` subclass whose grad_fn prints as ``<name>``."""
    return type(name, (ZeroGrad,), {"_name": name})


_NormalTT = zero_grad_node("NormalBackward3")
_NormalTF = zero_grad_node("NormalBackward1")
_NormalFT = zero_grad_node("NormalBackward2")


# --------------------------------------------------------------------------- factories

def rand(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform samples from [0, 1) of the given size (default dtype unless ``dtype``).

    Example::

        >>> torch.manual_seed(0); torch.rand(2, 3).shape
        torch.Size([2, 3])
    """
    shape = _sizes(sizes, size, "rand")
    check_pin_memory(pin_memory)
    np_dtype = float_dtype(_out_dtype(dtype, out), "check_uniform_bounds")
    return emit(uniform01(rng_of(generator), shape, np_dtype), out, default_or(device),
                requires_grad)


def randn(*sizes, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
          requires_grad=False, pin_memory=False) -> Tensor:
    """Standard normal samples of the given size (default dtype unless ``dtype``)."""
    shape = _sizes(sizes, size, "randn")
    check_pin_memory(pin_memory)
    np_dtype = float_dtype(_out_dtype(dtype, out), "normal_kernel_cpu")
    return emit(standard_normal(rng_of(generator), shape, np_dtype), out, default_or(device),
                requires_grad)


def _check_int(value, name, pos, fname):
    if isinstance(value, Tensor) and value._data.ndim == 0 and value._data.dtype.kind in "iub":
        value = int(value.item())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fname}(): argument '{name}' (position {pos}) must be int, not "
                        f"{type(value).__name__}")
    return int64_value(value)


def int64_value(value) -> int:
    value = int(value)
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError("Overflow when unpacking long long")
    return value


def check_random_range(low: int, high: int, d) -> None:
    """torch's checks of a [low, high) integer range for filling dtype ``d``."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    check_random_bounds(low, high - 1, d)


def check_random_bounds(low: int, top: int, d) -> None:
    """torch's checks that integers in [low, top] can be stored in dtype ``d``."""
    cname = C_TYPE_NAMES[d.name]
    if d.is_floating_point:
        digits, largest = _FLOAT_LIMITS[d.name]
        lo, hi = -largest, largest
    else:
        lo, hi = _INT_LIMITS[d.name]
    if low < lo:
        raise RuntimeError(f"from is out of bounds for {cname}")
    if top > hi:
        raise RuntimeError(f"to - 1 is out of bounds for {cname}")
    if d.is_floating_point:
        for what, value in (("from", low), ("to - 1", top)):
            if abs(value) > 1 << digits:
                warnings.warn(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                              f"precision limitations {cname} can support discrete uniform "
                              "distribution only within this range.", UserWarning, stacklevel=3)


def random_integers(rng, low: int, high: int, shape, np_dtype):
    """Uniform integers in [low, high) as ``np_dtype``."""
    n = high - low
    if n <= 1 << 32:
        # Scaling a 53-bit uniform is several times cheaper than Generator.integers for small
        # draws; bucket sizes differ by at most n / 2**53 (< 1e-6 relative). u * n < n always.
        values = (rng.random(shape) * n).astype(np.int64)
        if low:
            values += low
    else:
        values = rng.integers(low, high, size=shape, dtype=np.int64)
    return values.astype(np_dtype, copy=False)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, requires_grad=False, pin_memory=False) -> Tensor:
    """Uniform integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``.

    The result is int64 unless ``dtype`` is given.

    Example::

        >>> torch.randint(3, 10, (2, 2)).dtype
        torch.int64
    """
    if size is None and high is not None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    low = _check_int(low, "low", 1, "randint")
    high = _check_int(high, "high", 2 if low else 1, "randint")
    shape = parse_size(tuple(size), "randint")
    d = _out_dtype(dtype, out) or _dtype.int64
    check_random_range(low, high, d)
    check_pin_memory(pin_memory)
    array = random_integers(rng_of(generator), low, high, shape, d.numpy_dtype)
    return emit(array, out, default_or(device), requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype``)."""
    n = _check_int(n, "n", 1, "randperm")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    d = _out_dtype(dtype, out) or _dtype.int64
    if d is _dtype.bool:
        raise NotImplementedError("\"randperm\" not implemented for 'Bool'")
    if d.is_floating_point:
        digits = _FLOAT_LIMITS[d.name][0]
        if d is not _dtype.bfloat16 and n > (1 << digits) + 1:
            raise RuntimeError(f"n cannot be greater than {(1 << digits) + 1} for "
                               f"{legacy_name(d)} type.")
    elif n - 1 > _INT_LIMITS[d.name][1]:
        raise RuntimeError(f"value cannot be converted to type {d.name}_t without overflow")
    check_pin_memory(pin_memory)
    array = rng_of(generator).permutation(n).astype(d.numpy_dtype, copy=False)
    return emit(array, out, default_or(device), requires_grad)


def _check_std_tensor(std: Tensor):
    if bool((std._data < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")


def _check_std(std):
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {fmt_number(std)}")


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False) -> Tensor:
    """Normal samples with the given mean(s) and standard deviation(s).

    Overloads (as torch): ``normal(mean_tensor, std_tensor)`` (broadcast),
    ``normal(mean_tensor, std=1.0)``, ``normal(mean_float, std_tensor)`` and
    ``normal(mean_float, std_float, size)``. Gradients to tensor arguments are zero, as torch.

    Example::

        >>> torch.normal(2.0, 3.0, size=(2, 2)).shape
        torch.Size([2, 2])
    """
    rng = rng_of(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError(f"normal() received an invalid combination of arguments - got "
                            f"({type(mean).__name__}, {type(std).__name__}), but expected one "
                            "of: (Tensor mean, Tensor std), (Tensor mean, float std), (float "
                            "mean, Tensor std), (float mean, float std, tuple of ints size)")
        _check_std(std)
        shape = parse_size((size,) if isinstance(size, int) else tuple(size), "normal")
        np_dtype = float_dtype(_out_dtype(dtype, out), "normal_kernel_cpu")
        array = standard_normal(rng, shape, np_dtype)
        if std != 1:
            array *= std
        if mean != 0:
            array += mean
        return emit(array, out, device, requires_grad)
    if mean_t and std_t:
        np_dtype = float_dtype(_dtype.promote_types(mean.dtype, std.dtype), "normal_kernel_cpu")
        _check_std_tensor(std)
        shape = broadcast_shapes(mean._data.shape, std._data.shape)
        eps = on_device_of(standard_normal(rng, shape, np_dtype), mean._data)
        values = (mean._data + std._data * eps).astype(np_dtype, copy=False)
        node, inputs = _NormalTT, (mean, std)
    elif mean_t:
        np_dtype = float_dtype(mean.dtype, "normal_kernel_cpu")
        _check_std(std)
        eps = on_device_of(standard_normal(rng, mean._data.shape, np_dtype), mean._data)
        values = (mean._data + std * eps).astype(np_dtype, copy=False)
        node, inputs = _NormalTF, (mean,)
    else:
        np_dtype = float_dtype(std.dtype, "normal_kernel_cpu")
        _check_std_tensor(std)
        eps = on_device_of(standard_normal(rng, std._data.shape, np_dtype), std._data)
        values = (mean + std._data * eps).astype(np_dtype, copy=False)
        node, inputs = _NormalFT, (std,)
    if out is not None:
        return emit(values, out)
    if any(t._requires_grad for t in inputs):
        return node.apply(*inputs, values)
    return _wrap(values)


# --------------------------------------------------------------------------- _like factories

def _like_dtype(input, dtype):
    if not isinstance(input, Tensor):
        raise TypeError(f"argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return input.dtype if dtype is None else dtype


def _like_device(input, device):
    return input.device if device is None else device


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None) -> Tensor:
    """Uniform [0, 1) samples with the shape (and by default dtype and device) of ``input``."""
    np_dtype = float_dtype(_like_dtype(input, dtype), "check_uniform_bounds")
    array = uniform01(rng_of(generator), input._data.shape, np_dtype)
    return emit(array, None, _like_device(input, device), requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None) -> Tensor:
    """Standard normal samples with the shape (and by default dtype) of ``input``."""
    np_dtype = float_dtype(_like_dtype(input, dtype), "normal_kernel_cpu")
    array = standard_normal(rng_of(generator), input._data.shape, np_dtype)
    return emit(array, None, _like_device(input, device), requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None) -> Tensor:
    """Integers in [low, high) shaped like ``input``: ``randint_like(input, high)`` or
    ``randint_like(input, low, high)``; the dtype is ``input``'s unless given."""
    d = _like_dtype(input, dtype)
    if high is None:
        low, high = 0, low
    low = _check_int(low, "low", 2, "randint_like")
    high = _check_int(high, "high", 3, "randint_like")
    check_random_range(low, high, d)
    array = random_integers(rng_of(generator), low, high, input._data.shape, d.numpy_dtype)
    return emit(array, None, _like_device(input, device), requires_grad)


# Imported last: _sampling builds on the helpers above (and binds Tensor.uniform_ & co.).
from dist_torch._sampling import bernoulli, multinomial, poisson  # noqa: E402
