"""Transformer layers against torch, including torch's inference fast paths."""

import warnings

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check_module, load_torch_weights

RNG = np.random.default_rng(0)
PAD = np.array([[False, False, False, True, True], [False, False, False, False, False]])


def _r(*shape):
    return RNG.standard_normal(shape)


def _masks(lib, which, batch_first=True, n=5):
    """Keyword masks for a forward call: key padding, causal float mask, bool attn mask."""
    kw = {}
    if "pad" in which:
        kw["src_key_padding_mask"] = lib.tensor(PAD)
    if "causal" in which:
        kw["src_mask"] = lib.nn.Transformer.generate_square_subsequent_mask(n,
                                                                            dtype=lib.float64)
    if "bool" in which:
        m = np.zeros((n, n), dtype=bool)
        m[0, 1] = m[2, 4] = True
        kw["src_mask"] = lib.tensor(m)
    if "is_causal" in which:
        kw["is_causal"] = True
    return kw


def _call(lib, module, **kw):
    class Wrap(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = module

        def forward(self, *args):
            return self.m(*args, **kw)
    return Wrap()


def _act(lib, name):
    return {"relu": "relu", "gelu": "gelu", "fn": lib.nn.functional.gelu,
            "module": lib.nn.GELU(approximate="tanh")}[name]


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "fn", "module"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_encoder_layer(norm_first, activation, batch_first, bias):
    kw = {"norm_first": norm_first, "batch_first": batch_first, "bias": bias,
          "layer_norm_eps": 1e-4}
    ours = dt.nn.TransformerEncoderLayer(8, 2, 12, 0.0, activation=_act(dt, activation), **kw)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, 12, 0.0, activation=_act(torch, activation),
                                              **kw)
    check_module(ours, theirs, _r(2, 5, 8) if batch_first else _r(5, 2, 8))
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("which", [("pad",), ("causal",), ("bool",), ("pad", "causal"),
                                   ("causal", "is_causal")])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_masks(which, norm_first):
    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True,
                                               norm_first=norm_first)
        return _call(lib, layer, **_masks(lib, which))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch and we warn alike on mixed mask dtypes
        check_module(make(dt), make(torch), _r(2, 5, 8))


def test_encoder_layer_unbatched_and_dropout_in_eval():
    ours = dt.nn.TransformerEncoderLayer(8, 4, 12, dropout=0.3)
    theirs = torch.nn.TransformerEncoderLayer(8, 4, 12, dropout=0.3)
    check_module(ours, theirs, _r(5, 8), train=False)
    check_module(ours, theirs, _r(5, 3, 8), train=False)


def _compare_no_grad(ours, theirs, x, **masks):
    """Forward in eval mode under no_grad, where torch takes its fused fast path."""
    ours, theirs = ours.double().eval(), theirs.double().eval()
    load_torch_weights(ours, theirs)
    results = []
    for lib, m in ((dt, ours), (torch, theirs)):
        with lib.no_grad():
            results.append(m(lib.tensor(x), **_masks(lib, masks.get("which", ()))))
    assert_close(results[0], results[1], rtol=1e-10, atol=1e-12, check_dtype=False)
    return results


@pytest.mark.parametrize("which", [(), ("pad",), ("causal",), ("causal", "is_causal")])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_fast_path(which, norm_first, activation):
    kw = {"batch_first": True, "norm_first": norm_first, "activation": activation}
    _compare_no_grad(dt.nn.TransformerEncoderLayer(8, 2, 12, **kw),
                     torch.nn.TransformerEncoderLayer(8, 2, 12, **kw), _r(2, 5, 8), which=which)


@pytest.mark.parametrize("which", [(), ("pad",), ("causal",), ("pad", "causal")])
@pytest.mark.parametrize("norm", [False, True])
def test_encoder(which, norm):
    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True)
        enc = lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8) if norm else None)
        kw = _masks(lib, which)
        if "src_mask" in kw:
            kw["mask"] = kw.pop("src_mask")
        return _call(lib, enc, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_module(make(dt), make(torch), _r(2, 5, 8))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
@pytest.mark.parametrize("enable_nested", [True, False])
@pytest.mark.parametrize("pad", ["left_aligned", "not_aligned", "none"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_fast_path_and_nested_tensors(enable_nested, pad, batch_first):
    masks = {"left_aligned": PAD, "not_aligned": PAD[:, ::-1].copy(), "none": None}
    mask = masks[pad]
    outs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mods = [lib.nn.TransformerEncoder(
            lib.nn.TransformerEncoderLayer(8, 2, 12, batch_first=batch_first), 2,
            norm=lib.nn.LayerNorm(8), enable_nested_tensor=enable_nested).double().eval()
            for lib in (dt, torch)]
    load_torch_weights(*mods)
    x = _r(2, 5, 8) if batch_first else _r(5, 2, 8)
    for lib, m in zip((dt, torch), mods):
        with lib.no_grad():
            kw = {} if mask is None else {"src_key_padding_mask": lib.tensor(mask)}
            outs.append(m(lib.tensor(x), **kw))
    assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-12, check_dtype=False)
    if enable_nested and pad == "left_aligned" and batch_first:
        # torch dropped the padded tokens: the final norm sees zeros there
        assert_close(outs[1][0, 4], mods[1].norm.bias, check_dtype=False)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", [False, True])
def test_decoder_layer(norm_first, batch_first, masks):
    def make(lib):
        layer = lib.nn.TransformerDecoderLayer(8, 2, 12, 0.0, activation="gelu",
                                               batch_first=batch_first, norm_first=norm_first)
        if not masks:
            return layer
        mem_pad = np.zeros((2, 6), dtype=bool)
        mem_pad[0, 4:] = True
        return _call(lib, layer,
                     tgt_mask=lib.nn.Transformer.generate_square_subsequent_mask(
                         5, dtype=lib.float64),
                     tgt_key_padding_mask=lib.tensor(PAD.astype(np.float64) * -1e9),
                     memory_key_padding_mask=lib.tensor(mem_pad), tgt_is_causal=True)
    tgt = _r(2, 5, 8) if batch_first else _r(5, 2, 8)
    mem = _r(2, 6, 8) if batch_first else _r(6, 2, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_module(make(dt), make(torch), tgt, mem)


def test_transformer_full_model():
    def make(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = lib.nn.Transformer(8, 2, 2, 2, 12, 0.0, batch_first=True, norm_first=True)
        return _call(lib, model,
                     tgt_mask=lib.nn.Transformer.generate_square_subsequent_mask(
                         4, dtype=lib.float64),
                     src_key_padding_mask=lib.tensor(PAD))
    check_module(make(dt), make(torch), _r(2, 5, 8), _r(2, 4, 8))


def test_decoder_stack():
    def make(lib):
        layer = lib.nn.TransformerDecoderLayer(8, 2, 12, 0.0)
        return lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(8))
    check_module(make(dt), make(torch), _r(4, 2, 8), _r(6, 2, 8))


def test_reprs_names_and_init():
    for ctor in ["TransformerEncoderLayer(8, 2, 16, 0.0)",
                 "TransformerEncoderLayer(8, 2, activation='gelu', norm_first=True, "
                 "batch_first=True, bias=False)",
                 "TransformerDecoderLayer(8, 2, 16, layer_norm_eps=1e-3)"]:
        ours, theirs = eval("dt.nn." + ctor), eval("torch.nn." + ctor)
        assert repr(ours) == repr(theirs)
        assert [n for n, _ in ours.named_parameters()] == \
            [n for n, _ in theirs.named_parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = dt.nn.Transformer(8, 2, 1, 1, 16), torch.nn.Transformer(8, 2, 1, 1, 16)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    a = np.asarray(ours.encoder.layers[0].linear1.weight.detach())
    b = theirs.encoder.layers[0].linear1.weight.detach().numpy()
    assert abs(a.std() - b.std()) < 0.05


def test_nested_tensor_warning_matches_torch():
    for kw in [{}, {"batch_first": True, "norm_first": True}, {"batch_first": True, "bias": False},
               {"batch_first": True, "nhead": 1}, {"batch_first": True}]:
        nhead = kw.pop("nhead", 2)
        messages = []
        for lib in (dt, torch):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, nhead, **kw), 1)
            messages.append([str(w.message) for w in caught])
        assert messages[0] == messages[1]


ERRORS = [
    lambda lib: lib.nn.TransformerEncoderLayer(4, 2, activation="tanh"),
    lambda lib: lib.nn.TransformerEncoderLayer(5, 2),
    lambda lib: lib.nn.TransformerDecoderLayer(4, 2, activation="swish"),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.randn(5, 2, 8), lib.randn(3, 3, 8)),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16, batch_first=True)(lib.randn(2, 5, 8),
                                                                     lib.randn(3, 3, 8)),
    lambda lib: lib.nn.Transformer(8, 2, 1, 1, 16)(lib.randn(5, 2, 8), lib.randn(3, 2, 4)),
    lambda lib: lib.nn.TransformerEncoderLayer(8, 2)(lib.randn(5, 2, 6)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            ERRORS[case](torch)
        with pytest.raises(type(theirs.value)) as ours:
            ERRORS[case](dt)
    assert str(ours.value) == str(theirs.value)
