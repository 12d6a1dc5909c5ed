"""Attention: gradients of the fused primitive, hand values, masks, shapes, errors."""

import math

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from tests.helpers import assert_close, gradcheck, rand


def _np(t):
    return np.asarray(t.detach())


def _reference(q, k, v, mask=None, scale=None):
    q, k, v = _np(q), _np(k), _np(v)
    s = q @ np.swapaxes(k, -1, -2) * (scale or 1 / math.sqrt(q.shape[-1]))
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    s = s - s.max(-1, keepdims=True)
    w = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    return w @ v


# --------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_sdpa(causal):
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
              rand(2, 3, 4, seed=1), rand(2, 5, 4, seed=2), rand(2, 5, 3, seed=3))


def test_gradcheck_sdpa_masks_and_broadcast():
    mask = torch.tensor(np.random.default_rng(0).random((3, 5)) > 0.3)
    mask[:, 0] = True
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
              rand(2, 3, 4, seed=4), rand(1, 5, 4, seed=5), rand(2, 5, 3, seed=6))
    gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m,
                                                                scale=0.7),
              rand(2, 3, 4, seed=7), rand(2, 5, 4, seed=8), rand(2, 5, 3, seed=9),
              rand(3, 5, seed=10))


def test_gradcheck_sdpa_gqa():
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
              rand(1, 4, 3, 2, seed=11), rand(1, 2, 3, 2, seed=12), rand(1, 2, 3, 2, seed=13))


def test_gradcheck_fully_masked_rows_are_zero():
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1] = False
    q, k, v = rand(3, 2, seed=14), rand(4, 2, seed=15), rand(4, 2, seed=16)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert not _np(out[1]).any()
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), q, k, v)


def test_gradcheck_multihead_attention():
    torch.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, add_bias_kv=True).double()
    x = rand(3, 2, 4, seed=17)
    gradcheck(lambda x: m(x, x, x), x)
    mk = nn.MultiheadAttention(4, 2, kdim=3, vdim=2).double()
    gradcheck(lambda q, k, v: mk(q, k, v, average_attn_weights=False), rand(3, 2, 4, seed=18),
              rand(5, 2, 3, seed=19), rand(5, 2, 2, seed=20))


# --------------------------------------------------------------------------- values

def test_sdpa_values():
    q, k, v = rand(2, 3, 4, seed=21), rand(2, 5, 4, seed=22), rand(2, 5, 6, seed=23)
    assert_close(F.scaled_dot_product_attention(q, k, v), torch.tensor(_reference(q, k, v)))
    mask = np.random.default_rng(1).random((3, 5)) > 0.4
    mask[:, 1] = True
    assert_close(F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
                 torch.tensor(_reference(q, k, v, mask)))
    causal = np.tril(np.ones((3, 5), dtype=bool))
    assert_close(F.scaled_dot_product_attention(q, k, v, is_causal=True),
                 torch.tensor(_reference(q, k, v, causal)))
    assert_close(F.scaled_dot_product_attention(q, k, v, scale=0.25),
                 torch.tensor(_reference(q, k, v, scale=0.25)))


def test_sdpa_dropout():
    torch.manual_seed(0)
    q, k = torch.randn(4, 3, 2), torch.randn(4, 3, 2)
    v = torch.ones(4, 3, 5)
    assert not _np(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)).any()
    out = _np(F.scaled_dot_product_attention(q, k, v.expand(4, 3, 5), dropout_p=0.5))
    assert not np.allclose(out, 1.0)  # weights dropped and rescaled by 2
    sums = []
    for _ in range(300):
        sums.append(_np(F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)).mean())
    assert abs(np.mean(sums) - 1.0) < 0.02


def test_mha_values_against_manual_computation():
    torch.manual_seed(1)
    m = nn.MultiheadAttention(4, 2, bias=False).double()
    x = rand(3, 1, 4, seed=24, requires_grad=False)
    out, w = m(x, x, x, average_attn_weights=False)
    wq, wk, wv = np.split(_np(m.in_proj_weight), 3)
    xs = _np(x)[:, 0]
    heads = []
    for h in range(2):
        sl = slice(2 * h, 2 * h + 2)
        qh, kh, vh = xs @ wq[sl].T, xs @ wk[sl].T, xs @ wv[sl].T
        s = qh @ kh.T / math.sqrt(2)
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        assert_close(w[0, h], torch.tensor(p))
        heads.append(p @ vh)
    expected = np.concatenate(heads, 1) @ _np(m.out_proj.weight).T
    assert_close(out[:, 0], torch.tensor(expected))


def test_mha_masks_shapes_and_padding():
    m = nn.MultiheadAttention(4, 2, batch_first=True)
    x = torch.randn(2, 3, 4)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    out, w = m(x, x, x, key_padding_mask=pad)
    assert tuple(out.shape) == (2, 3, 4) and tuple(w.shape) == (2, 3, 3)
    assert not _np(w[0, :, 2]).any()
    assert_close(w.sum(-1), torch.ones(2, 3), rtol=1e-5)
    out, w = m(x, x, x, need_weights=False)
    assert w is None
    causal = nn.Transformer.generate_square_subsequent_mask(3) if hasattr(nn, "Transformer") \
        else torch.triu(torch.full((3, 3), float("-inf")), 1)
    _, w = m(x, x, x, attn_mask=causal, average_attn_weights=False, is_causal=True)
    assert tuple(w.shape) == (2, 2, 3, 3) and not _np(w[..., 0, 1:]).any()
    out, w = m(x[0], x[0], x[0])
    assert tuple(out.shape) == (3, 4) and tuple(w.shape) == (3, 3)


def test_mha_parameters_and_init():
    m = nn.MultiheadAttention(6, 3)
    assert [n for n, _ in m.named_parameters()] == ["in_proj_weight", "in_proj_bias",
                                                    "out_proj.weight", "out_proj.bias"]
    assert not _np(m.in_proj_bias).any() and not _np(m.out_proj.bias).any()
    bound = math.sqrt(6 / (6 + 18))
    assert np.abs(_np(m.in_proj_weight)).max() <= bound
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False, add_bias_kv=True)
    assert [n for n, _ in m.named_parameters()] == ["q_proj_weight", "k_proj_weight",
                                                    "v_proj_weight", "bias_k", "bias_v",
                                                    "out_proj.weight"]
    assert m.in_proj_weight is None and not m._qkv_same_embed_dim and m.head_dim == 2
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                       "in_features=4, out_features=4, bias=False)\n)")


# --------------------------------------------------------------------------- errors

def test_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    q = torch.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when "
                                           "is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=torch.ones(3, 3, dtype=torch.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    m = nn.MultiheadAttention(4, 2)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is "
                                           r"torch.Size\(\[3, 4\]\), but should be \(2, 2\)."):
        m(q, q, q, attn_mask=torch.zeros(3, 4))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(q, q, q, is_causal=True)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 4, but got "
                                             "5"):
        m(torch.randn(2, 3, 5), torch.randn(2, 3, 5), torch.randn(2, 3, 5))
