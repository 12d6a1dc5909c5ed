"""Attention: scaled_dot_product_attention and multi_head_attention_forward.

Both run the fused :class:`dist_torch.ops.attention.Attention` primitive (one node for
``softmax(q k^T * scale + mask) [dropout] @ v``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.ops._reduce import type_name
from dist_torch.ops.attention import Attention
from dist_torch.ops.linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]

_C10_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
              "bool": "bool"}


def _c10(t: Tensor) -> str:
    return _C10_NAMES.get(t.dtype.name, t.dtype.name)


def _keep_mask(shape, p, like):
    """A Bernoulli(1 - p) keep-mask (bool array) for dropout on the attention weights."""
    from dist_torch import random as _random
    rng = _random.rng_of(None)
    keep = _random.uniform01(rng, shape, np.dtype(np.float32)) >= p
    return _random.on_device_of(keep, like)


def _broadcast_shape(a_shape, b_shape, a_name="a", b_name="b"):
    """NumPy/torch broadcasting of two shapes, with torch's error message."""
    n = max(len(a_shape), len(b_shape))
    a = (1,) * (n - len(a_shape)) + tuple(a_shape)
    b = (1,) * (n - len(b_shape)) + tuple(b_shape)
    out = []
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor {a_name} ({x}) must match the size of "
                               f"tensor {b_name} ({y}) at non-singleton dimension {i}")
        out.append(max(x, y) if x and y else 0)
    return tuple(out)


def _attention(q, k, v, mask, dropout_p, is_causal, scale, safe, weights):
    """Run the fused primitive; ``q``/``k``/``v`` already validated and head-aligned."""
    batch = _broadcast_shape(q._data.shape[:-2], k._data.shape[:-2])
    shape = batch + (q._data.shape[-2], k._data.shape[-2])
    if mask is not None:
        _broadcast_shape(shape, mask._data.shape)
    keep = None
    dropout_scale = 1.0
    if dropout_p > 0:
        keep = _keep_mask(shape, dropout_p, q._data)
        dropout_scale = 1.0 / (1.0 - dropout_p) if dropout_p < 1 else 0.0
    return Attention.apply(q, k, v, mask, keep, scale=scale, causal=is_causal,
                           dropout_scale=dropout_scale, safe=safe, weights=weights)


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` with optional dropout.

    Args:
        query: ``(..., L, E)``; key ``(..., S, E)``; value ``(..., S, Ev)`` (batch dims
            broadcast).
        attn_mask: bool (True = attend) or float (added to the scores), broadcastable to
            ``(..., L, S)``.
        dropout_p: dropout on the attention weights (applied whenever > 0).
        is_causal: attend only to keys ``j <= i`` (top-left aligned); excludes ``attn_mask``.
        scale: defaults to ``1 / sqrt(E)``.
        enable_gqa: let ``key``/``value`` have fewer heads (dim -3) than ``query``, each
            shared by ``Hq // Hkv`` query heads.

    Rows where every key is masked give zeros.
    """
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError("Expected query, key, and value to all be  at least 2 dimensional, "
                           f"but got query.dim: {query.dim()} key.dim: {key.dim()} and "
                           f"value.dim: {value.dim()} instead.")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_c10(query)} key.dtype: {_c10(key)} and value.dtype: "
                           f"{_c10(value)} instead.")
    if not query.is_floating_point():
        raise RuntimeError(f"expected scalar type Float but found "
                           f"{type_name(query._data.dtype)}")
    if attn_mask is not None:
        if attn_mask.dtype.name != "bool" and not attn_mask.is_floating_point() and \
                attn_mask.dtype != query.dtype:
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query "
                               f"dtype, but got attn_mask.dtype: {_c10(attn_mask)} and  "
                               f"query.dtype: {_c10(query)} instead.")
        if attn_mask.is_floating_point() and attn_mask.dtype != query.dtype and \
                attn_mask.dtype.name != "float32":
            raise RuntimeError("Expected attn_mask dtype to be bool or float or to match query "
                               f"dtype, but got attn_mask.dtype: {_c10(attn_mask)} and  "
                               f"query.dtype: {_c10(query)} instead.")
        if is_causal:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
        if attn_mask.dim() < 2:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[-{max(attn_mask.dim(), 1)}, {max(attn_mask.dim(), 1) - 1}], "
                             "but got -2)")
    e = query.size(-1)
    if key.size(-1) != e or value.size(-2) != key.size(-2):
        rows = 1
        for s in query.shape[:-2]:
            rows *= s
        got = [rows, key.size(-1)] if key.size(-1) != e else [rows, value.size(-2)]
        want = [rows, e] if key.size(-1) != e else [rows, key.size(-2)]
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{want} but got: {got}.")
    scale = 1.0 / math.sqrt(e) if scale is None else float(scale)
    q, k, v = query, key, value
    if enable_gqa and q.dim() >= 3 and k.size(-3) != q.size(-3):
        hq, hk = q.size(-3), k.size(-3)
        if hk == 0 or hq % hk or v.size(-3) != hk:
            raise RuntimeError("Number of heads in key and value must divide the number of "
                               "heads in ")
        group = hq // hk
        # query heads (Hk, G) share key head Hk: broadcast instead of repeat_interleave
        q = q.unflatten(-3, (hk, group))
        k, v = k.unsqueeze(-3), v.unsqueeze(-3)
        mask = attn_mask
        if mask is not None and mask.dim() >= 3 and mask.size(-3) == hq:
            mask = mask.unflatten(-3, (hk, group))
        elif mask is not None and mask.dim() >= 3:
            mask = mask.unsqueeze(-3)
        out = _attention(q, k, v, mask, dropout_p, is_causal, scale, True, False)
        return out.flatten(-4, -3)
    return _attention(q, k, v, attn_mask, dropout_p, is_causal, scale, True, False)


# --------------------------------------------------------------------------- multi-head

def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.dim()}-D tensor "
                                 "instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be "
                                 f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                 "instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to "
                                 f"be 2-D but found {key.dim()}-D and {value.dim()}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.dim()}-D "
                                 "tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.dim()}-D tensor "
                                     "instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{attn_mask.shape}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _canonical_mask(mask, name, other, other_name, like, check_other=True):
    """A bool mask as a float mask (``-inf`` where True); float masks pass through."""
    if mask is None:
        return None
    is_float = mask.is_floating_point()
    if mask.dtype.name != "bool" and not is_float:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if check_other and other is not None and other.dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use "
                      "same type for both instead.", stacklevel=3)
    if is_float:
        return mask
    from dist_torch._creation import zeros_like
    return zeros_like(mask, dtype=like.dtype).masked_fill_(mask, float("-inf"))


def _pad_last(t, value=0.0):
    from dist_torch.ops.join import cat
    if t is None:
        return None
    shape = list(t.shape)
    shape[-1] = 1
    return cat([t, t.new_full(shape, value)], -1)


def _in_projection(query, key, value, w, b, separate, q_w, k_w, v_w, embed_dim):
    if not separate:
        if query is key and key is value:
            return linear(query, w, b).chunk(3, -1)
        w_q, w_k, w_v = w.chunk(3)
    else:
        w_q, w_k, w_v = q_w, k_w, v_w
    b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
    if not separate and key is value:
        k, v = linear(key, w[embed_dim:], None if b is None else b[embed_dim:]).chunk(2, -1)
        return linear(query, w_q, b_q), k, v
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """Multi-head attention over ``(L, N, E)`` (or unbatched ``(L, E)``) inputs.

    Returns ``(output (L, N, E), weights)``: the attention weights (averaged over heads when
    ``average_attn_weights``: ``(N, L, S)``, else ``(N, heads, L, S)``) when
    ``need_weights``, else None. ``key_padding_mask`` ``(N, S)``: True (or ``-inf``) ignores
    a key; ``attn_mask`` ``(L, S)`` or ``(N*heads, L, S)``: bool (True = masked) or float
    (added).
    """
    from dist_torch.ops.join import cat
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", query)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query, check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match "
                                 f"value's {value.shape[:2]}")
    elif key.shape != value.shape:
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight, embed_dim)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but "
                                   f"should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            expected = (bsz * num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but "
                                   f"should be {expected}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    heads = bsz * num_heads
    q = q.reshape(tgt_len, heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], heads, head_dim).transpose(0, 1)
    else:
        if static_k.size(0) != heads:
            raise AssertionError(f"expecting static_k.size(0) of {heads}, but got "
                                 f"{static_k.size(0)}")
        if static_k.size(2) != head_dim:
            raise AssertionError(f"expecting static_k.size(2) of {head_dim}, but got "
                                 f"{static_k.size(2)}")
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], heads, head_dim).transpose(0, 1)
    else:
        if static_v.size(0) != heads:
            raise AssertionError(f"expecting static_v.size(0) of {heads}, but got "
                                 f"{static_v.size(0)}")
        if static_v.size(2) != head_dim:
            raise AssertionError(f"expecting static_v.size(2) of {head_dim}, but got "
                                 f"{static_v.size(2)}")
        v = static_v

    if add_zero_attn:
        zeros = k.new_zeros((heads, 1, head_dim))
        k = cat([k, zeros], 1)
        v = cat([v, zeros.to(v.dtype)], 1)
        attn_mask = _pad_last(attn_mask)
        key_padding_mask = _pad_last(key_padding_mask)

    src_len = k.size(1)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len) \
            .reshape(heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0
    scale = 1.0 / math.sqrt(head_dim)
    if need_weights:
        # torch's explicit path: a plain softmax (fully masked rows give NaN)
        out, weights = _attention(q, k, v, attn_mask, dropout_p, False, scale, False, True)
    else:
        # torch's SDPA path (fully masked rows give zeros)
        out = _attention(q, k, v, attn_mask, dropout_p, is_causal, scale, True, False)
        weights = None
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if weights is not None:
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
    if not batched:
        out = out.squeeze(1)
    return out, weights
