"""Sampling from tensors of parameters (bernoulli, multinomial, poisson) and the in-place
samplers ``Tensor.uniform_``, ``normal_``, ``bernoulli_``, ``random_``, ``exponential_``,
``geometric_``, ``cauchy_``, ``log_normal_``.

In-place samplers go through ``ops.inplace.inplace``: a leaf that requires grad may be filled
only under ``no_grad`` (what ``nn.init`` does); a non-leaf gets a grad_fn passing zero
gradients, as in torch.
"""

from __future__ import annotations

import numpy as np

from dist_torch import _dtype
from dist_torch import random as _rnd
from dist_torch._device import CPU
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.grad_mode import state as _grad_state
from dist_torch.backend import array_module, to_device
from dist_torch.ops.inplace import check_writable, inplace

__all__ = ["bernoulli", "multinomial", "poisson"]

_BernoulliT = _rnd.zero_grad_node("BernoulliBackward0")
_Poisson = _rnd.zero_grad_node("PoissonBackward0")
_NODES = {name: _rnd.zero_grad_node(name) for name in (
    "UniformBackward0", "NormalBackward0", "BernoulliBackward1", "BernoulliBackward2",
    "RandomBackward0", "RandomBackward1", "RandomBackward2", "ExponentialBackward0",
    "GeometricBackward0", "CauchyBackward0", "LogNormalBackward0")}

_P_IN_RANGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
               "message be improved?  If so, please report an enhancement request to PyTorch.)")


def _host(array):
    return array if type(array) is np.ndarray else to_device(array, CPU)


def _check_tensor(value, fname):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(value).__name__}")


def _are_probabilities(probs) -> bool:
    """All of ``probs`` in [0, 1] (NaN fails); typed scalars keep NumPy's comparisons fast."""
    zero, one = probs.dtype.type(0), probs.dtype.type(1)
    return bool(np.logical_and.reduce((probs >= zero) & (probs <= one), axis=None))


def _check_p(p):
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_rnd.fmt_number(p)}")


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples: ``out[i] = 1`` with probability ``input[i]`` (or the float ``p``).

    The result has ``input``'s dtype and shape.

    Example::

        >>> torch.bernoulli(torch.full((3,), 0.5)).shape
        torch.Size([3])
    """
    _check_tensor(input, "bernoulli")
    a = input._data
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{_rnd.legacy_name(input.dtype)}'")
    rng = _rnd.rng_of(generator)
    if p is not None:
        _check_p(p)
        values = _rnd.on_device_of((rng.random(a.shape) < p).astype(a.dtype), a)
        return _rnd.emit(values, out)
    probs = _host(a)
    if not _are_probabilities(probs):
        raise RuntimeError(_P_IN_RANGE)
    u = rng.random(a.shape, dtype=np.float64 if a.dtype == np.float64 else np.float32)
    values = _rnd.on_device_of((u < probs).astype(a.dtype), a)
    if out is not None:
        return _rnd.emit(values, out)
    return _BernoulliT.apply(input, values) if input._requires_grad else _wrap(values)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Category indices drawn from the (unnormalized) probabilities in each row of ``input``.

    Args:
        input: 1-D or 2-D non-negative weights.
        num_samples: samples per row.
        replacement: draw with replacement; without it the indices of a row are distinct.

    Shape: ``(num_samples,)`` or ``(rows, num_samples)``, int64.
    """
    _check_tensor(input, "multinomial")
    a = input._data
    if a.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_rnd.legacy_name(input.dtype)}")
    k = int(num_samples)
    if k <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = a.shape[-1]
    if not replacement and k > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    p = _host(a).reshape(-1, n).astype(np.float64)
    if not bool(np.isfinite(p).all()) or bool((p < 0).any()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if p.shape[0] and (n == 0 or bool((p.sum(axis=1) <= 0).any())):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = _rnd.rng_of(generator)
    if p.shape[0] == 0:
        idx = np.zeros((0, k), dtype=np.int64)
    elif replacement:
        idx = _with_replacement(rng, p, k)
    else:
        idx = _without_replacement(rng, p, k)
    if a.ndim == 1:
        idx = idx.reshape(k)
    return _rnd.emit(_rnd.on_device_of(idx, a), out)


def _with_replacement(rng, p, k):
    """Inverse-CDF sampling of every row at once, in exact integer arithmetic.

    Each row's CDF is quantized to ``2**bits`` steps and shifted by ``row << bits`` so that one
    ``searchsorted`` over the flattened rows answers all of them; zero-probability categories
    have empty intervals and are never drawn.
    """
    rows, n = p.shape
    bits = min(52, 62 - rows.bit_length())
    scale = 1 << bits
    cdf = np.cumsum(p, axis=1)
    cdf = np.floor(cdf / cdf[:, -1:] * scale).astype(np.int64)
    cdf[:, -1] = scale
    shift = np.arange(rows, dtype=np.int64)[:, None] << bits
    u = rng.integers(0, scale, size=(rows, k), dtype=np.int64)
    flat = np.searchsorted((cdf + shift).ravel(), (u + shift).ravel(), side="right")
    return flat.reshape(rows, k) - np.arange(rows, dtype=np.int64)[:, None] * n


def _without_replacement(rng, p, k):
    """Gumbel-top-k: the k smallest ``log(E) - log(p)`` (E ~ Exp(1)) of each row.

    This matches drawing one category at a time and renormalizing. Keys of positive
    probabilities are above -760; zero-probability categories get keys beyond 9000 so they
    come last, in random order, as torch does once the positive ones are used up.
    """
    rows, n = p.shape
    with np.errstate(divide="ignore"):
        keys = np.log(rng.standard_exponential((rows, n)))
        logp = np.log(p)
    keys = np.where(p > 0, keys - logp, keys + 1e4)
    if k < n:
        part = np.argpartition(keys, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
        return np.take_along_axis(part, order, axis=1)
    return np.argsort(keys, axis=1)


def poisson(input, generator=None) -> Tensor:
    """Poisson samples with the rates in ``input`` (same dtype and shape)."""
    _check_tensor(input, "poisson")
    a = input._data
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"poisson_cpu\" not implemented for "
                                  f"'{_rnd.legacy_name(input.dtype)}'")
    rates = _host(a).astype(np.float64)
    if bool((rates < 0).any()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    values = _rnd.rng_of(generator).poisson(rates, size=rates.shape).astype(a.dtype)
    values = _rnd.on_device_of(values, a)
    return _Poisson.apply(input, values) if input._requires_grad else _wrap(values)


# --------------------------------------------------------------------------- in-place samplers

def _apply_node(self, node, values):
    return node.apply(self, values)


def _fill(self: Tensor, node_name: str, values) -> Tensor:
    """Write host ``values`` (already of self's dtype and shape) into ``self``."""
    values = _rnd.on_device_of(values, self._data)
    if self._requires_grad and _grad_state.grad_enabled:
        return inplace(self, _apply_node, _NODES[node_name], values)
    check_writable(self)  # nothing to record: just write and count the version
    array_module(self._data).copyto(self._data, values, casting="unsafe")
    self._bump_version()
    return self


def _half_safe(np_dtype):
    """float16/bfloat16 are computed in float32 and rounded once at the end."""
    return np_dtype if np_dtype.itemsize >= 4 else np.dtype(np.float32)


def _continuous(self, what: str, kernel: str | None = None):
    """self's NumPy dtype, which must be floating; torch's error for the distribution if not."""
    if self.dtype.is_floating_point:
        return self._data.dtype
    if kernel is not None:
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{_rnd.legacy_name(self.dtype)}'")
    spelled = _rnd.legacy_name(self.dtype) if what == "Exponential" else \
        _rnd.C_TYPE_NAMES[self.dtype.name]
    raise RuntimeError(f"{what} distribution is a continuous probability distribution. dtype "
                       f"must be a floating point but you specified {spelled}")


def uniform_(self, from_=0, to=1, *, generator=None) -> Tensor:
    """Fill with uniform samples from [from_, to)."""
    np_dtype = _continuous(self, "", "check_uniform_bounds")
    from_, to = float(from_), float(to)
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_rnd.fmt_number(from_)} > to={_rnd.fmt_number(to)}")
    work = _half_safe(np_dtype)
    values = _rnd.uniform01(_rnd.rng_of(generator), self._data.shape, work)
    if from_ != 0 or to != 1:
        values = values * (to - from_) + from_
    return _fill(self, "UniformBackward0", values.astype(np_dtype, copy=False))


def normal_(self, mean=0, std=1, *, generator=None) -> Tensor:
    """Fill with normal samples of the given mean and standard deviation."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_rnd.fmt_number(std)}")
    np_dtype = _continuous(self, "", "normal_kernel_cpu")
    values = _rnd.standard_normal(_rnd.rng_of(generator), self._data.shape, _half_safe(np_dtype))
    if std != 1 or mean != 0:
        values = values * std + mean
    return _fill(self, "NormalBackward0", values.astype(np_dtype, copy=False))


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples that are 1 with probability ``p`` (a float or a tensor)."""
    rng = _rnd.rng_of(generator)
    shape = self._data.shape
    if isinstance(p, Tensor):
        probs = _host(p._data)
        if not _are_probabilities(probs):
            raise RuntimeError(_P_IN_RANGE)
        probs = np.broadcast_to(probs, shape)
        node = "BernoulliBackward1"
    else:
        _check_p(p)
        probs, node = p, "BernoulliBackward2"
    values = (rng.random(shape) < probs).astype(self._data.dtype)
    return _fill(self, node, values)


_MISSING = object()


def random_(self, from_=_MISSING, to=_MISSING, *, generator=None) -> Tensor:
    """Fill with integers: ``random_()`` (every value the dtype holds exactly from 0 up),
    ``random_(to)`` in [0, to), ``random_(from_, to)`` in [from_, to)."""
    d = self.dtype
    if from_ is _MISSING or (to is _MISSING and from_ is None):
        low, top, node = 0, _default_top(d), "RandomBackward2"
    elif to is _MISSING:
        low, high = 0, _rnd.int64_value(from_)
        _rnd.check_random_range(low, high, d)
        top, node = high - 1, "RandomBackward1"
    elif to is None:
        low, top, node = _rnd.int64_value(from_), _default_top(d), "RandomBackward0"
        _rnd.check_random_bounds(low, top, d)
    else:
        low, high = _rnd.int64_value(from_), _rnd.int64_value(to)
        _rnd.check_random_range(low, high, d)
        top, node = high - 1, "RandomBackward0"
    values = _rnd.random_integers(_rnd.rng_of(generator), low, top + 1, self._data.shape,
                             self._data.dtype)
    return _fill(self, node, values)


def _default_top(d) -> int:
    if d is _dtype.bool:
        return 1
    if d.is_floating_point:
        return 1 << _rnd._FLOAT_LIMITS[d.name][0]
    return int(np.iinfo(d.numpy_dtype).max)


def exponential_(self, lambd=1, *, generator=None) -> Tensor:
    """Fill with exponential samples of rate ``lambd``."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda="
                           f"{_rnd.fmt_number(lambd)}")
    np_dtype = _continuous(self, "Exponential")
    values = _rnd.rng_of(generator).standard_exponential(self._data.shape, dtype=np.float64)
    values = values / lambd if lambd != 1 else values
    return _fill(self, "ExponentialBackward0", values.astype(np_dtype))


def geometric_(self, p, *, generator=None) -> Tensor:
    """Fill with geometric samples (number of Bernoulli(p) trials up to the first success)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_rnd.fmt_number(p)}")
    if self.dtype is _dtype.bool:
        raise NotImplementedError("\"geometric_cpu\" not implemented for 'Bool'")
    values = _rnd.rng_of(generator).geometric(p, size=self._data.shape)
    return _fill(self, "GeometricBackward0", values.astype(self._data.dtype))


def cauchy_(self, median=0, sigma=1, *, generator=None) -> Tensor:
    """Fill with Cauchy samples of the given median and scale."""
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_rnd.fmt_number(sigma)}")
    np_dtype = _continuous(self, "Cauchy")
    values = _rnd.rng_of(generator).standard_cauchy(self._data.shape) * sigma + median
    return _fill(self, "CauchyBackward0", values.astype(np_dtype))


def log_normal_(self, mean=1, std=2, *, generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std))`` samples."""
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_rnd.fmt_number(std)}")
    np_dtype = _continuous(self, "", "log_normal_cpu")
    values = _rnd.rng_of(generator).lognormal(mean, std, size=self._data.shape)
    return _fill(self, "LogNormalBackward0", values.astype(np_dtype))


def _bernoulli_method(self, p=None, *, generator=None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None) -> Tensor:
    return multinomial(self, num_samples, replacement, generator=generator)


bind_methods({
    "uniform_": uniform_, "normal_": normal_, "bernoulli_": bernoulli_, "random_": random_,
    "exponential_": exponential_, "geometric_": geometric_, "cauchy_": cauchy_,
    "log_normal_": log_normal_, "bernoulli": _bernoulli_method,
    "multinomial": _multinomial_method,
})
