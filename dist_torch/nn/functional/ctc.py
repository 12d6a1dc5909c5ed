"""Connectionist temporal classification loss (ctc_loss).

The forward (alpha) and backward (beta) recursions run in log space over the extended label
sequence ``blank, l1, blank, l2, ..., blank``, vectorized over the batch and the label
positions; only the time steps are a Python loop. Sequences of different lengths share the
loop: each sample's beta starts at its own last time step. The gradient with respect to
``log_probs`` is torch's: ``exp(log_probs) - sum_s exp(alpha + beta + nll - log_probs)`` over the
positions ``s`` holding each class (zero past each sample's input length).
"""

from __future__ import annotations

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.nn.functional.loss import check_reduction
from dist_torch.ops._indexing_util import scatter_add_new

__all__ = ["ctc_loss"]

_CHECKING = "(while checking arguments for ctc_loss_allocate_outputs)"


def _lse(*terms):
    """Elementwise log(sum(exp(terms))) that keeps all--inf entries at -inf."""
    xp = array_module(terms[0])
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    safe = xp.where(xp.isfinite(m), m, 0)
    total = 0
    for t in terms:
        total = total + xp.exp(t - safe)
    positive = total > 0
    return xp.where(positive, xp.log(xp.where(positive, total, 1)) + safe, -xp.inf)


def _shift(a, k, fill):
    """``a`` moved ``k`` places along the last axis (positive: towards higher s)."""
    xp = array_module(a)
    out = xp.full(a.shape, fill, dtype=a.dtype)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


class CtcLoss(Primitive):
    """Per-sample negative log likelihood of ``targets`` under ``log_probs`` (T, N, C)."""

    _name = "CtcLossBackward0"

    def forward(ctx, log_probs, ext, input_lengths, target_lengths, zero_infinity):
        xp = array_module(log_probs)
        t_max, n = log_probs.shape[:2]
        width = ext.shape[1]
        dtype = log_probs.dtype
        neg_inf = dtype.type(-np.inf)
        lp_ext = xp.take_along_axis(log_probs, xp.broadcast_to(ext[None], (t_max,) + ext.shape),
                                    axis=2)
        s = xp.arange(width)[None, :]
        skip = xp.zeros(ext.shape, dtype=bool)
        if width > 2:
            skip[:, 2:] = (ext[:, 2:] != ext[:, 0:1]) & (ext[:, 2:] != ext[:, :-2])
        two_l = (2 * target_lengths)[:, None]
        alpha = xp.full((t_max, n, width), neg_inf, dtype=dtype)
        beta = xp.full((t_max, n, width), neg_inf, dtype=dtype)
        if t_max:
            alpha[0] = xp.where((s == 0) | ((s == 1) & (two_l > 0)), lp_ext[0], neg_inf)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            two = xp.where(skip, _shift(prev, 2, neg_inf), neg_inf)
            alpha[t] = _lse(prev, _shift(prev, 1, neg_inf), two) + lp_ext[t]
        ends = (s == two_l) | ((s == two_l - 1) & (two_l > 0))
        last = (input_lengths - 1)[:, None]
        skip_next = _shift(skip, -2, False)
        for t in range(t_max - 1, -1, -1):
            if t == t_max - 1:
                rec = xp.full((n, width), neg_inf, dtype=dtype)
            else:
                nxt = beta[t + 1]
                two = xp.where(skip_next, _shift(nxt, -2, neg_inf), neg_inf)
                rec = _lse(nxt, _shift(nxt, -1, neg_inf), two) + lp_ext[t]
            start = xp.where(ends, lp_ext[t], neg_inf)
            beta[t] = xp.where(last == t, start, xp.where(last > t, rec, neg_inf))
        batch = xp.arange(n)
        if t_max:
            final = alpha[xp.clip(input_lengths - 1, 0, None), batch]  # (N, S')
            # logsumexp over the (at most two) end positions
            masked = xp.where(ends, final, neg_inf)
            top = masked.max(axis=1)
            safe = xp.where(xp.isfinite(top), top, 0)
            total = xp.exp(masked - safe[:, None]).sum(axis=1)
            positive = total > 0
            log_lik = xp.where(positive, xp.log(xp.where(positive, total, 1)) + safe, neg_inf)
        else:
            log_lik = xp.full(n, neg_inf, dtype=dtype)
        empty_input = input_lengths == 0
        log_lik = xp.where(empty_input, xp.where(target_lengths == 0, 0, neg_inf), log_lik)
        nll = (-log_lik).astype(dtype, copy=False)
        ctx.zero_infinity = zero_infinity
        ctx.save_for_backward(log_probs, ext, input_lengths, alpha, beta, nll)
        return nll

    def backward(ctx, grad):
        log_probs, ext, input_lengths, alpha, beta, nll = ctx.saved_tensors
        xp = array_module(log_probs)
        t_max, n, c = log_probs.shape
        lp_ext = xp.take_along_axis(log_probs, xp.broadcast_to(ext[None], (t_max,) + ext.shape),
                                    axis=2)
        active = xp.arange(t_max)[:, None] < input_lengths[None, :]  # (T, N)
        if ctx.zero_infinity:
            infinite = xp.isinf(nll)
            active = active & ~infinite[None, :]
            nll = xp.where(infinite, 0, nll).astype(nll.dtype, copy=False)
        # posterior occupancy of each extended-label position (exponent <= 0)
        occupancy = xp.exp(alpha + beta + nll[None, :, None] - lp_ext)  # (T, N, S')
        lin = (xp.arange(t_max * n).reshape(t_max, n, 1) * c + ext[None]).astype(np.int64)
        per_class = scatter_add_new((t_max, n, c), log_probs.dtype, lin, occupancy)
        out = (xp.exp(log_probs) - per_class) * grad[None, :, None]
        out = xp.where(active[..., None], out, 0)
        return out.astype(log_probs.dtype, copy=False), None, None, None, None


def _lengths(value, name):
    if isinstance(value, Tensor):
        return [int(v) for v in value.reshape(-1).tolist()]
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    raise TypeError(f"ctc_loss(): argument '{name}' must be a Tensor or a tuple of ints, not "
                    f"{type(value).__name__}")


@autocast_op("ctc_loss")
def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss.

    Args:
        log_probs: ``(T, N, C)`` or unbatched ``(T, C)`` log-probabilities (e.g. the output of
            ``log_softmax``).
        targets: ``(N, S)`` padded label sequences or the 1-D concatenation of all of them
            (``sum(target_lengths)``); labels in ``[0, C)`` other than ``blank``.
        input_lengths, target_lengths: ``(N,)`` tensors or sequences of ints.
        blank: the blank label (default 0).
        reduction: ``'none'`` (``(N,)`` losses), ``'sum'`` or ``'mean'`` (each loss divided
            by its target length, then averaged over the batch).
        zero_infinity: replace infinite losses (impossible alignments) and their gradients
            by zero.
    """
    reduction = check_reduction(reduction)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss(): expected log_probs to be 2-D or 3-D, but got "
                           f"{log_probs.ndim}-D")
    if not log_probs.is_floating_point():
        raise RuntimeError(f"ctc_loss(): expected a floating log_probs, but got "
                           f"{log_probs.dtype}")
    t_max, n, c = log_probs.shape
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor):
        raise TypeError("ctc_loss() received an invalid combination of arguments: "
                        "input_lengths and target_lengths must both be Tensors or both be "
                        "tuples of ints")
    in_lens = _lengths(input_lengths, "input_lengths")
    tg_lens = _lengths(target_lengths, "target_lengths")
    if len(in_lens) != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_lens) != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    for name, lens in (("input_lengths", in_lens), ("target_lengths", tg_lens)):
        if lens and min(lens) < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                               f"{min(lens)} {_CHECKING}")
    if in_lens and max(in_lens) > t_max:
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {max(in_lens)} {_CHECKING}")
    xp = array_module(log_probs._data)
    l_max = max(tg_lens, default=0)
    tgt = targets._data.astype(np.int64)
    if tgt.ndim == 2:
        if tgt.shape[1] < l_max:
            raise RuntimeError(f"Expected tensor to have size at least {l_max} at dimension 1, "
                               f"but got size {tgt.shape[1]} for argument #2 'targets' "
                               f"{_CHECKING}")
        padded = tgt[:, :l_max]
    else:
        total = sum(tg_lens)
        if tgt.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {tgt.shape[0]} for argument #2 'targets' {_CHECKING}")
        offsets = np.cumsum([0] + tg_lens[:-1])
        pos = xp.asarray(offsets).reshape(-1, 1) + xp.arange(l_max).reshape(1, -1)
        padded = tgt[xp.clip(pos, 0, max(total - 1, 0))] if total else \
            xp.zeros((n, l_max), dtype=np.int64)
    tl = xp.asarray(tg_lens, dtype=np.int64)
    valid = xp.arange(l_max)[None, :] < tl[:, None]
    labels = xp.where(valid, xp.clip(padded, 0, c - 1), blank)
    ext = xp.full((n, 2 * l_max + 1), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    il = xp.asarray(in_lens, dtype=np.int64)
    nll = CtcLoss.apply(log_probs, ext, il, tl, bool(zero_infinity))
    if zero_infinity:
        from dist_torch import where, zeros_like
        nll = where(nll == float("inf"), zeros_like(nll), nll)
    if reduction == "mean":
        from dist_torch import tensor
        denom = tensor(np.maximum(np.asarray(tg_lens, dtype=np.float64), 1),
                       dtype=nll.dtype, device=nll.device)
        return (nll / denom).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll
