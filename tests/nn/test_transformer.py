"""Transformer layers: gradients, structure, masks, the nested-tensor padding rule, errors."""

import warnings

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from dist_torch import nn
from tests.helpers import assert_close, gradcheck, rand


def _np(t):
    return np.asarray(t.detach())


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_gradcheck_encoder_layer(norm_first, activation):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                       norm_first=norm_first).double()
    mask = torch.tensor([[False, False, True], [False, False, False]])
    gradcheck(lambda x: layer(x, src_key_padding_mask=mask), rand(3, 2, 4, seed=1))


def test_gradcheck_decoder_layer():
    torch.manual_seed(1)
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True).double()
    causal = nn.Transformer.generate_square_subsequent_mask(3, dtype=torch.float64)
    gradcheck(lambda t, m: layer(t, m, tgt_mask=causal), rand(2, 3, 4, seed=2),
              rand(2, 5, 4, seed=3))


def test_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == torch.float32
    expected = np.array([[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(_np(m), expected)


def test_encoder_layer_structure_and_forward():
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["self_attn.in_proj_weight", "self_attn.in_proj_bias",
                     "self_attn.out_proj.weight", "self_attn.out_proj.bias", "linear1.weight",
                     "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                     "norm1.bias", "norm2.weight", "norm2.bias"]
    assert layer.activation is F.relu and layer.activation_relu_or_gelu == 1
    out = layer.eval()(torch.randn(3, 5, 8))
    assert tuple(out.shape) == (3, 5, 8)
    assert tuple(layer(torch.randn(5, 8)).shape) == (5, 8)
    custom = nn.TransformerEncoderLayer(8, 2, activation=nn.GELU())
    assert "(activation): GELU(approximate='none')" in repr(custom)
    assert custom.activation_relu_or_gelu == 2


def test_post_norm_output_is_normalized():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    out = _np(layer(torch.randn(4, 3, 8)))
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1, atol=1e-3)


def test_encoder_clones_are_independent():
    layer = nn.TransformerEncoderLayer(4, 2, 8)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    assert len(enc.layers) == 3
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert_close(enc.layers[0].linear1.weight, enc.layers[2].linear1.weight)
    assert len(list(enc.parameters())) == 36


def test_encoder_nested_path_zeroes_padding_in_eval_without_grad():
    torch.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8, batch_first=True), 2)
    x = torch.randn(2, 3, 4)
    pad = torch.tensor([[False, False, True], [False, False, False]])
    enc.eval()
    with torch.no_grad():
        out = enc(x, src_key_padding_mask=pad)
    assert not _np(out[0, 2]).any() and _np(out[1]).all()
    assert _np(enc(x, src_key_padding_mask=pad)[0, 2]).any()  # grad enabled: no nested path
    with torch.no_grad():  # not left aligned: no nested path
        assert _np(enc(x, src_key_padding_mask=pad.flip(1))[0, 0]).any()


def test_decoder_and_transformer_shapes():
    model = nn.Transformer(8, 2, 1, 2, 16, dropout=0.0, batch_first=True)
    src, tgt = torch.randn(2, 5, 8), torch.randn(2, 3, 8)
    out = model(src, tgt, tgt_mask=model.generate_square_subsequent_mask(3))
    assert tuple(out.shape) == (2, 3, 8)
    assert len(model.decoder.layers) == 2 and model.encoder.norm is not None
    w = _np(model.encoder.layers[0].linear1.weight)  # Xavier-uniform, not Linear's default
    bound = np.sqrt(6 / (8 + 16))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 1 / np.sqrt(8)


def test_warning_and_errors():
    layer = nn.TransformerEncoderLayer(4, 2, 8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.TransformerEncoder(layer, 1)
    assert "self.use_nested_tensor is False because encoder_layer.self_attn.batch_first was " \
           "not True" in str(caught[0].message)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(5, 2)
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(torch.randn(5, 2, 8), torch.randn(3, 3, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to "
                                           "d_model"):
        model(torch.randn(5, 2, 8), torch.randn(3, 2, 4))
