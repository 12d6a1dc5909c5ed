"""scaled_dot_product_attention and MultiheadAttention against torch."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check, check_module, load_torch_weights

RNG = np.random.default_rng(0)


def _r(*shape):
    return RNG.standard_normal(shape)


# --------------------------------------------------------------------------- SDPA

@pytest.mark.parametrize("shapes", [((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),
                                    ((4, 5), (6, 5), (6, 3)),
                                    ((2, 3, 4, 5), (2, 1, 6, 5), (1, 3, 6, 2))])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa(shapes, causal):
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=causal), *[_r(*s) for s in shapes])


@pytest.mark.parametrize("mask_shape", [(4, 6), (3, 1, 6), (2, 3, 4, 6), (1, 6)])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_masks(mask_shape, kind):
    q, k, v = _r(2, 3, 4, 5), _r(2, 3, 6, 5), _r(2, 3, 6, 7)
    if kind == "bool":
        mask = RNG.random(mask_shape) > 0.4
        mask[..., 0] = False  # includes rows that are fully masked
        check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=lib.tensor(mask)), q, k, v)
    else:
        check(lambda lib, q, k, v, m: lib.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=m), q, k, v, _r(*mask_shape))


def test_sdpa_fully_masked_rows_and_scale():
    mask = np.ones((4, 6), dtype=bool)
    mask[2] = False
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.tensor(mask), scale=0.3), _r(2, 4, 5), _r(2, 6, 5), _r(2, 6, 3))
    fmask = np.zeros((4, 6))
    fmask[1] = -np.inf
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=lib.tensor(fmask)), _r(2, 4, 5), _r(2, 6, 5), _r(2, 6, 3))


@pytest.mark.parametrize("kv_heads", [1, 2, 3])
def test_sdpa_gqa(kv_heads):
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, enable_gqa=True), _r(2, 6, 4, 5), _r(2, kv_heads, 3, 5), _r(2, kv_heads, 3, 2))


@pytest.mark.parametrize("mask_shape", [(6, 4, 3), (2, 6, 4, 3), (4, 3), (1, 4, 3),
                                        (2, 1, 4, 3)])
def test_sdpa_gqa_with_mask(mask_shape):
    check(lambda lib, q, k, v, m: lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=m, enable_gqa=True), _r(2, 6, 4, 5), _r(2, 2, 3, 5), _r(2, 2, 3, 2),
        _r(*mask_shape))


def test_sdpa_float32():
    q, k, v = (_r(2, 4, 8).astype(np.float32) for _ in range(3))
    check(lambda lib, q, k, v: lib.nn.functional.scaled_dot_product_attention(q, k, v),
          q, k, v, rtol=1e-5, atol=1e-6)


SDPA_ERRORS = [
    # (torch's flash kernel, taken when value has the query's head size, silently ignores the
    # mask here; its math kernel and the documentation reject the combination)
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(
        q, q, lib.randn(2, 3, 4, 7), attn_mask=lib.ones(4, 4, dtype=lib.bool), is_causal=True),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(
        q, q, q, attn_mask=lib.ones(5, 4, dtype=lib.bool)),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(
        q, q, q, attn_mask=lib.ones(4, dtype=lib.bool)),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(
        q, q, q, attn_mask=lib.ones(4, 4, dtype=lib.int64)),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(
        q, q, q, attn_mask=lib.ones(4, 4, dtype=lib.float64)),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(q, q.double(), q),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(q, lib.randn(2, 3, 4, 4), q),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(q, q, lib.randn(2, 3, 5, 7)),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(q[0, 0, 0], q[0, 0], q[0, 0]),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(lib.randn(2, 4, 4, 5), q, q),
    lambda lib, q: lib.nn.functional.scaled_dot_product_attention(lib.randn(2, 4, 4, 5), q, q,
                                                                  enable_gqa=True),
]


@pytest.mark.parametrize("case", range(len(SDPA_ERRORS)))
def test_sdpa_errors(case):
    fn = SDPA_ERRORS[case]
    with pytest.raises(Exception) as theirs:
        fn(torch, torch.randn(2, 3, 4, 5))
    with pytest.raises(type(theirs.value)) as ours:
        fn(dt, dt.randn(2, 3, 4, 5))
    assert str(ours.value) == str(theirs.value)


# --------------------------------------------------------------------------- MHA

def _self_attention(lib, **call):
    """Wrap a module so that query, key and value are the same tensor (packed projection)."""

    class Self(lib.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x, x, x, **call)
    return Self


MHA_OPTIONS = [{}, {"bias": False}, {"add_bias_kv": True}, {"add_zero_attn": True},
               {"batch_first": True}, {"add_bias_kv": True, "add_zero_attn": True},
               {"num_heads": 1}, {"num_heads": 4}]
CALLS = [{}, {"need_weights": False}, {"average_attn_weights": False}]


@pytest.mark.parametrize("options", MHA_OPTIONS)
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("batched", [True, False])
def test_mha_self_attention(options, call, batched):
    options = dict(options)
    heads = options.pop("num_heads", 2)
    ours = _self_attention(dt, **call)(dt.nn.MultiheadAttention(4, heads, **options))
    theirs = _self_attention(torch, **call)(torch.nn.MultiheadAttention(4, heads, **options))
    check_module(ours, theirs, _r(3, 2, 4) if batched else _r(3, 4))


@pytest.mark.parametrize("kdim,vdim", [(None, None), (3, 5), (4, 2)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("call", CALLS)
def test_mha_cross_attention(kdim, vdim, batch_first, call):
    kw = {"kdim": kdim, "vdim": vdim, "batch_first": batch_first}
    ours, theirs = dt.nn.MultiheadAttention(4, 2, **kw), torch.nn.MultiheadAttention(4, 2, **kw)

    def seq(n, d):
        return _r(2, n, d) if batch_first else _r(n, 2, d)
    check_module(_call(dt, ours, call), _call(torch, theirs, call), seq(3, 4), seq(5, kdim or 4),
                 seq(5, vdim or 4))


def _call(lib, module, call):
    class Wrap(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = module

        def forward(self, *args):
            return self.m(*args, **call)
    return Wrap()


def test_mha_key_is_value():
    def wrap(lib, m):
        class W(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = m

            def forward(self, q, kv):
                return self.m(q, kv, kv)
        return W()
    check_module(wrap(dt, dt.nn.MultiheadAttention(4, 2)),
                 wrap(torch, torch.nn.MultiheadAttention(4, 2)), _r(3, 2, 4), _r(5, 2, 4))


def _masks(kind, batch, heads, tgt, src, attn_dim):
    attn = RNG.random((tgt, src) if attn_dim == 2 else (batch * heads, tgt, src)) > 0.7
    attn[..., 0] = False
    pad = np.zeros((batch, src), dtype=bool)
    pad[0, -2:] = True
    if kind == "float":
        return np.where(attn, -np.inf, 0.0) + _r(*attn.shape) * 0.1, np.where(pad, -np.inf, 0.0)
    return attn, pad


@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("attn_dim", [2, 3])
@pytest.mark.parametrize("use", ["attn", "pad", "both"])
@pytest.mark.parametrize("call", CALLS)
def test_mha_masks(kind, attn_dim, use, call):
    attn, pad = _masks(kind, 2, 2, 3, 3, attn_dim)

    def run(lib):
        kw = dict(call)
        if use in ("attn", "both"):
            kw["attn_mask"] = lib.tensor(attn)
        if use in ("pad", "both"):
            kw["key_padding_mask"] = lib.tensor(pad)
        return _self_attention(lib, **kw)(lib.nn.MultiheadAttention(4, 2))
    check_module(run(dt), run(torch), _r(3, 2, 4))


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("with_padding", [False, True])
def test_mha_is_causal(need_weights, with_padding):
    causal = torch.nn.Transformer.generate_square_subsequent_mask(3).double().numpy()
    pad = np.array([[False, False, True], [False, False, False]])

    def run(lib):
        kw = {"attn_mask": lib.tensor(causal), "is_causal": True, "need_weights": need_weights}
        if with_padding:
            kw["key_padding_mask"] = lib.tensor(pad)
        return _self_attention(lib, **kw)(lib.nn.MultiheadAttention(4, 2))
    if not with_padding:
        check_module(run(dt), run(torch), _r(3, 2, 4))
        return
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and "
                                         "attn_mask is deprecated"):
        check_module(run(dt), run(torch), _r(3, 2, 4))


def test_mha_dropout_eval_and_train_statistics():
    ours = dt.nn.MultiheadAttention(4, 2, dropout=0.5)
    theirs = torch.nn.MultiheadAttention(4, 2, dropout=0.5)
    check_module(_self_attention(dt)(ours), _self_attention(torch)(theirs), _r(3, 2, 4),
                 train=False)
    ours.train()
    x = dt.tensor(_r(3, 2, 4))
    _, w = ours(x, x, x, average_attn_weights=False)
    zeros = float((np.asarray(w.detach()) == 0).mean())
    assert 0.2 < zeros < 0.8  # weights are returned after dropout, as torch


@pytest.mark.parametrize("kwargs", [
    {}, {"need_weights": False}, {"key_padding_mask": "pad"}, {"attn_mask": "causal"},
    {"key_padding_mask": "pad", "need_weights": False}, {"average_attn_weights": False}])
def test_mha_matches_torch_fast_path(kwargs):
    """In eval mode without grad, torch runs its fused native kernel: compare with it too."""
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
    ours = dt.nn.MultiheadAttention(8, 2, batch_first=True).double().eval()
    load_torch_weights(ours, theirs)
    x = _r(2, 5, 8)
    pad = np.zeros((2, 5), dtype=bool)
    pad[1, 3:] = True
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    results = []
    for lib, m in ((dt, ours), (torch, theirs)):
        kw = {k: (lib.tensor(pad) if v == "pad" else lib.tensor(causal) if v == "causal" else v)
              for k, v in kwargs.items()}
        t = lib.tensor(x)
        with lib.no_grad():
            results.append(m(t, t, t, **kw))
    for o, t in zip(results[0], results[1]):
        if t is None:
            assert o is None
        else:
            assert_close(o, t, rtol=1e-10, atol=1e-12, check_dtype=False)


def test_repr_and_names():
    for args in ["(4, 2)", "(4, 2, dropout=0.1, bias=False, add_bias_kv=True, kdim=3, vdim=5)",
                 "(6, 3, batch_first=True)"]:
        ours, theirs = eval("dt.nn.MultiheadAttention" + args), \
            eval("torch.nn.MultiheadAttention" + args)
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim


MHA_ERRORS = [
    lambda lib, m, q: lib.nn.MultiheadAttention(5, 2),
    lambda lib, m, q: lib.nn.MultiheadAttention(0, 2),
    lambda lib, m, q: m(q, q[:, 0], q),
    lambda lib, m, q: m(q[:, 0], q, q),
    lambda lib, m, q: m(q[0, 0], q[0, 0], q[0, 0]),
    lambda lib, m, q: m(q, q, q, key_padding_mask=lib.zeros(3, dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, key_padding_mask=lib.zeros(3, 2, dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, key_padding_mask=lib.zeros(2, 4, dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, attn_mask=lib.zeros(3, 4, dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, attn_mask=lib.zeros(2, 3, 3, dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, attn_mask=lib.zeros(3, dtype=lib.bool)),
    lambda lib, m, q: m(q[:, 0], q[:, 0], q[:, 0], attn_mask=lib.zeros(3, 3, 3,
                                                                       dtype=lib.bool)),
    lambda lib, m, q: m(q, q, q, attn_mask=lib.zeros(3, 3, dtype=lib.int64)),
    lambda lib, m, q: m(q, q, q, key_padding_mask=lib.zeros(2, 3, dtype=lib.int64)),
    lambda lib, m, q: m(q, q, q, is_causal=True),
    lambda lib, m, q: m(lib.randn(3, 2, 5), lib.randn(3, 2, 5), lib.randn(3, 2, 5)),
    lambda lib, m, q: m(q, lib.randn(4, 2, 4), q),
]


@pytest.mark.parametrize("case", range(len(MHA_ERRORS)))
def test_mha_errors(case):
    fn = MHA_ERRORS[case]
    with pytest.raises(Exception) as theirs:
        fn(torch, torch.nn.MultiheadAttention(4, 2), torch.randn(3, 2, 4))
    with pytest.raises(type(theirs.value)) as ours:
        fn(dt, dt.nn.MultiheadAttention(4, 2), dt.randn(3, 2, 4))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("need_weights", [True, False])
def test_functional_mha_static_kv_and_separate_weights(need_weights):
    w_q, w_k, w_v = _r(4, 4), _r(4, 3), _r(4, 5)

    def fn(lib, q, k, v, sk, sv, b, wo, bo):
        out, w = lib.nn.functional.multi_head_attention_forward(
            q, k, v, 4, 2, None, b, None, None, False, 0.0, wo, bo, training=False,
            need_weights=need_weights, use_separate_proj_weight=True,
            q_proj_weight=lib.tensor(w_q), k_proj_weight=lib.tensor(w_k),
            v_proj_weight=lib.tensor(w_v), static_k=sk, static_v=sv)
        return (out, w) if need_weights else out
    check(fn, _r(3, 2, 4), _r(6, 2, 3), _r(6, 2, 5), _r(4, 7, 2), _r(4, 7, 2), _r(12), _r(4, 4),
          _r(4))
