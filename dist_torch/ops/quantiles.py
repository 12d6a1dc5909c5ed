"""Statistics over samples: nanmean, quantile, nanquantile, mode, cov and corrcoef.

quantile sorts each slice once (stable, NaN last) and interpolates between the two ranks
around ``q * (n - 1)`` as torch does (its ``lerp`` rounding included); the gradient goes back
to the two selected elements, and to ``q`` itself for linear interpolation. mode picks, in
each slice, the smallest of the most frequent values and the last index where it occurs
(torch's tie rule); NaN never equals NaN. nanmean, cov and corrcoef are compositions of
differentiable ops, written as torch writes them.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from dist_torch import return_types
from dist_torch._tensor import Tensor, _wrap, bind_methods
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._reduce import data_of, is_floating, reduced_shape, type_name, write_out
from dist_torch.ops._util import wrap_dim
from dist_torch.ops.sorting import SelectAlongDim, _dim_of, _values_and_indices

__all__ = ["nanmean", "quantile", "nanquantile", "mode", "cov", "corrcoef"]

return_types.mode = return_types.structseq("mode", ("values", "indices"))

_INT64 = np.dtype(np.int64)
_QUANTILE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")
_MAX_QUANTILE_SIZE = 2 ** 24


# --------------------------------------------------------------------------- nanmean

def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None) -> Tensor:
    """Mean over ``dim`` of the non-NaN elements (NaN where a slice has none).

    Example::

        >>> torch.nanmean(torch.tensor([1., float('nan'), 3.]))
        tensor(2.)
    """
    from dist_torch.ops.comparison import isnan, logical_not
    from dist_torch.ops.reduction import nansum

    data = data_of(input, "nanmean")
    if not is_floating(data.dtype):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype "
                           f"but got {type_name(data.dtype)}")
    if dtype is not None and not dtype.is_floating_point:
        raise RuntimeError("nanmean(): could not infer output dtype. Optional dtype must be "
                           "either a floating point or complex dtype. Got: "
                           f"{type_name(dtype.numpy_dtype)}")
    count = logical_not(isnan(input)).sum(dim, keepdim)
    result = nansum(input, dim, keepdim, dtype=dtype) / count
    return result if out is None else write_out("nanmean", result, out)


# --------------------------------------------------------------------------- quantile

def _lerp(xp, lo, hi, w):
    """torch's lerp: ``lo + w (hi - lo)`` for ``|w| < 0.5``, else ``hi - (hi - lo)(1 - w)``."""
    diff = hi - lo
    return xp.where(xp.abs(w) < 0.5, lo + w * diff, hi - diff * (1 - w))


class Quantile(Primitive):
    """Quantiles ``q`` (1-D) of the rows of ``a`` (the reduced dim last): ``(..., len(q))``."""

    _name = "QuantileBackward0"

    def forward(ctx, a, q, ignore_nan, interpolation):
        xp = array_module(a)
        n = a.shape[-1]
        order = xp.argsort(a, axis=-1, kind="stable")          # NaN last
        ordered = xp.take_along_axis(a, order, axis=-1)
        if ignore_nan:
            last = (n - xp.isnan(a).sum(axis=-1, keepdims=True) - 1).astype(a.dtype)
            ranks = q * last
            masked = ranks < 0                                  # an all-NaN row: rank 0, NaN
            ranks = xp.where(masked, xp.zeros((), a.dtype), ranks)
        else:
            ranks = q * a.dtype.type(n - 1) + xp.zeros(a.shape[:-1] + (1,), a.dtype)
            masked = xp.broadcast_to(xp.isnan(ordered[..., -1:]), ranks.shape)  # any NaN
            ranks = xp.where(masked, a.dtype.type(n - 1), ranks)
        if interpolation == "lower":
            ranks = xp.floor(ranks)
        elif interpolation == "higher":
            ranks = xp.ceil(ranks)
        elif interpolation == "nearest":
            ranks = xp.round(ranks)                             # half to even, as torch
        below = ranks.astype(_INT64)
        low = xp.take_along_axis(ordered, below, axis=-1)
        if interpolation in ("linear", "midpoint"):
            above = xp.ceil(ranks).astype(_INT64)
            high = xp.take_along_axis(ordered, above, axis=-1)
            if interpolation == "linear":
                weights = (ranks - below).astype(a.dtype)
            else:
                weights = xp.full(ranks.shape, 0.5, dtype=a.dtype)
            out = _lerp(xp, low, high, weights)
        else:
            above, high, weights, out = below, low, xp.zeros_like(low), low
        ctx.shape = a.shape
        ctx.linear = interpolation == "linear"
        ctx.save_for_backward(xp.take_along_axis(order, below, axis=-1),
                              xp.take_along_axis(order, above, axis=-1), weights,
                              (high - low) * last if ignore_nan else (high - low) * (n - 1),
                              masked)
        return out.astype(a.dtype, copy=False)

    def backward(ctx, grad):
        pos_below, pos_above, weights, slope, masked = ctx.saved_tensors
        xp = array_module(grad)
        grad_a = grad_q = None
        if ctx.needs_input_grad[0]:
            n = ctx.shape[-1]
            total = int(np.prod(ctx.shape))
            rows = xp.arange(total // n, dtype=_INT64).reshape(ctx.shape[:-1] + (1,)) * n
            summed = xp.bincount((rows + pos_below).reshape(-1), minlength=total,
                                 weights=(grad * (1 - weights)).reshape(-1))
            summed += xp.bincount((rows + pos_above).reshape(-1), minlength=total,
                                  weights=(grad * weights).reshape(-1))
            grad_a = summed[:total].reshape(ctx.shape).astype(grad.dtype, copy=False)
        if len(ctx.needs_input_grad) > 1 and ctx.needs_input_grad[1] and ctx.linear:
            part = xp.where(masked, xp.zeros((), grad.dtype), grad * slope)
            grad_q = part.reshape(-1, part.shape[-1]).sum(axis=0)
        return grad_a, grad_q


def _q_operand(fname, q, data):
    """``q`` as a Tensor of the input's dtype (a Python number is checked here, as torch)."""
    if isinstance(q, Tensor):
        return q, q._data.ndim == 0
    if isinstance(q, (numbers.Real, np.floating, np.integer)) and not isinstance(q, np.ndarray):
        q = float(q)
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q:g}")
        xp = array_module(data)
        return _wrap(xp.asarray(q, dtype=data.dtype if data.dtype in _QUANTILE_FLOATS
                                else np.float64)), True
    raise TypeError(f"{fname}() received an invalid combination of arguments - got "
                    f"(Tensor, {type(q).__name__}), but expected one of:\n"
                    " * (Tensor input, Tensor q, int dim = None, bool keepdim = False, *, str "
                    "interpolation = \"linear\", Tensor out = None)\n"
                    " * (Tensor input, float q, int dim = None, bool keepdim = False, *, str "
                    "interpolation = \"linear\", Tensor out = None)\n")


def _quantile(fname, ignore_nan, input, q, dim, keepdim, interpolation, out):
    data = data_of(input, fname)
    q, scalar_q = _q_operand(fname, q, data)
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    qdata = q._data
    if data.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if qdata.ndim > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if data.dtype not in _QUANTILE_FLOATS:
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if qdata.dtype != data.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if dim is not None and not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{fname}(): argument 'dim' must be int, not {type(dim).__name__}")
    if not bool(((qdata >= 0) & (qdata <= 1)).all()):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if dim is None:
        rows = input.reshape(-1)
        shape = reduced_shape(data.shape, None, keepdim)
    else:
        d = wrap_dim(dim, data.ndim) if data.ndim else wrap_dim(dim, 1) * 0
        rows = input.movedim(d, -1) if data.ndim else input.reshape(1)
        shape = reduced_shape(data.shape, (d,) if data.ndim else None, keepdim)
    if rows.shape[-1] > _MAX_QUANTILE_SIZE:
        raise RuntimeError("quantile() input tensor is too large")
    q1 = q.reshape(1) if scalar_q else q
    result = Quantile.apply(rows, q1, ignore_nan=ignore_nan, interpolation=interpolation)
    nq = q1.shape[0]
    result = result.movedim(-1, 0).reshape(shape if scalar_q else (nq,) + tuple(shape))
    return result if out is None else write_out(fname, result, out)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None) -> Tensor:
    """The ``q``-th quantiles (``q`` a float or a 0-D/1-D tensor in [0, 1]) of all elements,
    or of each slice along ``dim``; a 1-D ``q`` adds a leading dim. Any NaN makes the result
    NaN. ``interpolation``: linear, lower, higher, midpoint or nearest.

    Example::

        >>> torch.quantile(torch.tensor([0., 1., 2., 3.]), 0.5)
        tensor(1.5000)
    """
    return _quantile("quantile", False, input, q, dim, keepdim, interpolation, out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear",
                out=None) -> Tensor:
    """:func:`quantile` ignoring NaN (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", True, input, q, dim, keepdim, interpolation, out)


# --------------------------------------------------------------------------- mode

class ModeBackward(SelectAlongDim):
    _name = "ModeBackward0"


def _mode_indices(xp, data, d):
    """For each slice along ``d``: the index (kept dim) of the smallest most frequent value."""
    work = xp.moveaxis(data, d, -1)
    n = work.shape[-1]
    order = xp.argsort(work, axis=-1, kind="stable").astype(_INT64, copy=False)
    ordered = xp.take_along_axis(work, order, axis=-1).reshape(-1, n)
    nrows = ordered.shape[0]
    starts = xp.ones(ordered.shape, dtype=xp.bool_)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]                # NaN starts its own run
    first = xp.flatnonzero(starts.reshape(-1))                        # runs, in row order
    ends = xp.concatenate([first[1:], xp.asarray([nrows * n], dtype=first.dtype)]) - 1
    rows = first // n
    # per row: the longest run, the first (smallest value) among equals; runs stay in order
    key = rows * (n + 1) + (n - (ends - first + 1))
    pick = xp.argsort(key, kind="stable")
    row_start = xp.ones(pick.shape, dtype=xp.bool_)
    row_start[1:] = rows[pick][1:] != rows[pick][:-1]
    chosen = ends[pick[row_start]]                                    # flat positions, one a row
    index = order.reshape(-1)[chosen]                     # the last of the equal elements
    return xp.moveaxis(index.reshape(work.shape[:-1] + (1,)), -1, d)


def mode(input, dim=-1, keepdim=False, *, out=None):
    """The most frequent value along ``dim`` (the smallest one on ties) and the last index
    where it occurs: ``(values, indices)`` as ``torch.return_types.mode``.

    Example::

        >>> torch.mode(torch.tensor([3, 1, 3, 1, 2]))
        torch.return_types.mode(
        values=tensor(1),
        indices=tensor(3))
    """
    data = data_of(input, "mode")
    if data.dtype.kind == "c":
        raise RuntimeError("mode(): complex dtypes are not supported")
    d = _dim_of(dim, data)
    xp = array_module(data)
    if not data.ndim:
        indices = xp.zeros((), dtype=_INT64)
    elif data.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    elif data.size == 0:
        indices = xp.zeros(data.shape[:d] + (1,) + data.shape[d + 1:], dtype=_INT64)
    else:
        indices = _mode_indices(xp, data, d)
    result = _values_and_indices(return_types.mode, ModeBackward, input, indices, d, keepdim)
    return result if out is None else write_out("mode", result, out)


# --------------------------------------------------------------------------- cov / corrcoef

def _check_weights(name, w, n_obs, integral):
    wdata = data_of(w, "cov")
    if wdata.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {wdata.ndim} dimensions")
    if integral and wdata.dtype.kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} "
                           f"with {type_name(wdata.dtype)} dtype")
    if not integral and not is_floating(wdata.dtype):
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got "
                           f"{name} with {type_name(wdata.dtype)} dtype")
    if wdata.size != n_obs:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {wdata.size} != {n_obs}")
    if wdata.size and bool((wdata < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input, *, correction=1, fweights=None, aweights=None) -> Tensor:
    """Covariance matrix of the variables in the rows of ``input`` (observations in columns;
    a 1-D input is one variable), with ``correction`` (1: unbiased) and optional integer
    frequency weights ``fweights`` and float observation weights ``aweights``.

    Example::

        >>> torch.cov(torch.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    data = data_of(input, "cov")
    if data.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {data.ndim} dimensions")
    if data.dtype == np.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    if not isinstance(correction, (int, np.integer)) or isinstance(correction, bool):
        raise TypeError(f"cov(): argument 'correction' must be int, not "
                        f"{type(correction).__name__}")
    x = input if data.ndim == 2 else input.reshape(1, -1)
    n_obs = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, n_obs, True)
        w = fweights
    if aweights is not None:
        _check_weights("aweights", aweights, n_obs, False)
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = n_obs
        avg = x.sum(1) / n_obs
        norm = n_obs - correction
        degenerate = norm <= 0
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if correction != 0 and aweights is not None:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
        degenerate = bool(norm.item() <= 0)
    if degenerate:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    centered = x - avg.unsqueeze(1)
    c = centered @ (centered if w is None else centered * w).t()
    return (c / norm).squeeze()


def corrcoef(input) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input`` (as
    :func:`cov`), clipped to [-1, 1].

    Example::

        >>> torch.corrcoef(torch.tensor([[0., 1., 2.], [2., 1., 0.]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.reshape(-1, 1)
    c = c / std.reshape(1, -1)
    return c.clip(-1, 1)


bind_methods({
    "nanmean": nanmean, "quantile": quantile, "nanquantile": nanquantile, "mode": mode,
    "cov": cov, "corrcoef": corrcoef,
})
