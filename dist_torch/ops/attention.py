"""Scaled dot-product attention as one fused primitive.

``softmax(q @ k^T * scale + mask) @ v`` in one node: forward keeps the attention weights,
backward is the four GEMMs plus the softmax Jacobian-vector product, with no graph of
intermediate nodes. Batch dims broadcast (the engine sums gradients back to each input's
shape), which is also how grouped-query attention shares key/value heads without copies.
"""

from __future__ import annotations

import numpy as np

from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._matmul import _mm

__all__ = []


class Attention(Primitive):
    """Inputs ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)``, ``mask`` (bool: keep
    where True; float: added to the scores; None) and ``keep`` (dropout keep-mask or None).

    ``safe``: rows whose scores are all ``-inf`` give zeros (torch's SDPA) instead of NaN
    (a plain softmax). ``weights``: also return the (post-dropout) attention weights.
    """

    _name = "ScaledDotProductAttentionBackward0"

    def forward(ctx, q, k, v, mask, keep, scale, causal, dropout_scale, safe, weights):
        xp = array_module(q)
        scores = _mm(q, xp.swapaxes(k, -1, -2))
        scores *= scale
        if causal:
            n_q, n_k = q.shape[-2], k.shape[-2]
            scores = xp.where(xp.tri(n_q, n_k, dtype=bool), scores, -np.inf)
        if mask is not None:
            if mask.dtype == np.bool_:
                scores = xp.where(mask, scores, -np.inf)
            else:
                scores = scores + mask.astype(scores.dtype, copy=False)
        with np.errstate(invalid="ignore", over="ignore"):
            peak = scores.max(axis=-1, keepdims=True) if scores.shape[-1] else \
                xp.zeros(scores.shape[:-1] + (1,), scores.dtype)
            if safe:
                peak = xp.where(xp.isneginf(peak), 0, peak)
            scores -= peak
            attn = xp.exp(scores, out=scores)
            total = attn.sum(axis=-1, keepdims=True)
            if safe:
                total[total == 0] = 1
            attn /= total
        if keep is not None:
            dropped = attn * keep
            dropped *= dropout_scale
        else:
            dropped = attn
        out = _mm(dropped, v)
        ctx.scale, ctx.dropout_scale = scale, dropout_scale
        ctx.save_for_backward(q, k, v, attn, keep)
        if weights:
            return out, dropped
        return out

    def backward(ctx, grad, grad_weights=None):
        q, k, v, attn, keep = ctx.saved_tensors
        xp = array_module(attn)
        needs = ctx.needs_input_grad
        dropped = attn if keep is None else attn * keep * ctx.dropout_scale
        gq = gk = gv = gmask = None
        if grad is not None and needs[2]:
            gv = _mm(xp.swapaxes(dropped, -1, -2), grad)
        if grad is not None:
            g_attn = _mm(grad, xp.swapaxes(v, -1, -2))
            if grad_weights is not None:
                g_attn += grad_weights
        else:
            g_attn = grad_weights.astype(attn.dtype, copy=True)
        if keep is not None:
            g_attn *= keep
            g_attn *= ctx.dropout_scale
        # softmax backward: attn * (g - sum(g * attn))
        with np.errstate(invalid="ignore"):
            g_scores = g_attn * attn
            g_scores -= attn * g_scores.sum(axis=-1, keepdims=True)
        if needs[3]:
            gmask = g_scores
        if needs[0]:
            gq = _mm(g_scores, k) * ctx.scale
        if needs[1]:
            gk = _mm(xp.swapaxes(g_scores, -1, -2), q) * ctx.scale
        return gq, gk, gv, gmask, None
