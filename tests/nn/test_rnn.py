"""Recurrent layers: gradients of the fused recurrence, hand values, shapes, names, errors."""

import math
import warnings

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import nn
from dist_torch.ops.rnn import recurrence
from tests.helpers import assert_close, gradcheck, rand

GATES = {"tanh": 1, "relu": 1, "gru": 3, "lstm": 4}


# --------------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("mode", ["tanh", "relu", "gru", "lstm"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_gradcheck_recurrence(mode, reverse, with_state):
    t, b, h = 3, 2, 3
    g = GATES[mode] * h
    xproj = rand(t, b, g, seed=1)
    w_hh, b_hh = rand(g, h, seed=2), rand(g, seed=3)
    inputs = [xproj, w_hh, b_hh]
    if with_state:
        inputs.append(rand(b, h, seed=4))
        if mode == "lstm":
            inputs.append(rand(b, h, seed=5))

    def fn(xproj, w_hh, b_hh, h0=None, c0=None):
        out = recurrence(xproj, h0, c0, w_hh, b_hh, None, mode, reverse)
        return out if mode != "relu" else out[0] * 1 + out[1].sum()
    gradcheck(fn, *inputs)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_lstm_projection(reverse):
    t, b, h, p = 3, 2, 4, 2
    gradcheck(lambda x, h0, c0, w_hh, b_hh, w_hr: recurrence(x, h0, c0, w_hh, b_hh, w_hr,
                                                             "lstm", reverse),
              rand(t, b, 4 * h, seed=6), rand(b, p, seed=7), rand(b, h, seed=8),
              rand(4 * h, p, seed=9), rand(4 * h, seed=10), rand(p, h, seed=11))


def test_gradcheck_recurrence_partial_outputs():
    x, w = rand(3, 2, 8, seed=12), rand(8, 2, seed=13)
    gradcheck(lambda x, w: recurrence(x, None, None, w, None, None, "lstm")[2], x, w)
    gradcheck(lambda x, w: recurrence(x, None, None, w, None, None, "lstm")[0], x, w)
    gradcheck(lambda x, w: recurrence(x, None, None, w, None, None, "gru", True)[1],
              rand(3, 2, 6, seed=14), rand(6, 2, seed=15))


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_gradcheck_module_input_and_state(cls):
    torch.manual_seed(0)
    m = getattr(nn, cls)(3, 2, num_layers=2, bidirectional=True).double()
    x = rand(3, 2, 3, seed=15)
    h0 = rand(4, 2, 2, seed=16)
    if cls == "LSTM":
        c0 = rand(4, 2, 2, seed=17)
        gradcheck(lambda x, h, c: m(x, (h, c)), x, h0, c0)
    else:
        gradcheck(lambda x, h: m(x, h), x, h0)


@pytest.mark.parametrize("make", [lambda: nn.RNNCell(3, 2, nonlinearity="relu"),
                                  lambda: nn.GRUCell(3, 2), lambda: nn.LSTMCell(3, 2)])
def test_gradcheck_cells(make):
    torch.manual_seed(1)
    cell = make().double()
    x, h = rand(2, 3, seed=18), rand(2, 2, seed=19)
    if isinstance(cell, nn.LSTMCell):
        gradcheck(lambda x, h, c: cell(x, (h, c)), x, h, rand(2, 2, seed=20))
    else:
        gradcheck(lambda x, h: cell(x, h), x, h)


# --------------------------------------------------------------------------- values

def _set(module, **values):
    with torch.no_grad():
        for name, v in values.items():
            getattr(module, name).copy_(torch.tensor(v, dtype=torch.float64))


def test_rnn_hand_values():
    m = nn.RNN(1, 1).double()
    _set(m, weight_ih_l0=[[0.5]], weight_hh_l0=[[-1.0]], bias_ih_l0=[0.1], bias_hh_l0=[0.2])
    x = torch.tensor([[[1.0]], [[2.0]]], dtype=torch.float64)
    out, h = m(x)
    h1 = math.tanh(0.5 + 0.3)
    h2 = math.tanh(1.0 + 0.3 - h1)
    assert_close(out.reshape(-1), torch.tensor([h1, h2], dtype=torch.float64))
    assert_close(h.reshape(-1), torch.tensor([h2], dtype=torch.float64))


def test_lstm_gate_order_hand_values():
    m = nn.LSTM(1, 1, bias=False).double()
    # gates i, f, g, o from the input only (w_hh = 0)
    _set(m, weight_ih_l0=[[1.0], [2.0], [3.0], [4.0]], weight_hh_l0=[[0.0]] * 4)
    x = torch.tensor([[[0.5]]], dtype=torch.float64)
    c0 = torch.tensor([[[2.0]]], dtype=torch.float64)
    _, (h, c) = m(x, (torch.zeros(1, 1, 1, dtype=torch.float64), c0))

    def sig(v):
        return 1 / (1 + math.exp(-v))
    c_exp = sig(1.0) * 2.0 + sig(0.5) * math.tanh(1.5)
    assert_close(c.reshape(-1), torch.tensor([c_exp], dtype=torch.float64))
    assert_close(h.reshape(-1), torch.tensor([sig(2.0) * math.tanh(c_exp)], dtype=torch.float64))


def test_gru_reset_gate_applies_to_hidden_bias():
    m = nn.GRUCell(1, 1).double()
    _set(m, weight_ih=[[0.0]] * 3, weight_hh=[[0.0]] * 3, bias_ih=[0.0, 0.0, 0.0],
         bias_hh=[100.0, -100.0, 1.0])
    h0 = torch.tensor([[0.5]], dtype=torch.float64)
    h1 = m(torch.zeros(1, 1, dtype=torch.float64), h0)
    # r = 1, z = 0: h' = n = tanh(r * (0 + b_hn)) = tanh(1)
    assert_close(h1.reshape(-1), torch.tensor([math.tanh(1.0)], dtype=torch.float64))


def test_shapes_batch_first_unbatched_and_projection():
    m = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True, proj_size=3)
    out, (h, c) = m(torch.randn(2, 5, 4))
    assert tuple(out.shape) == (2, 5, 6) and tuple(h.shape) == (4, 2, 3)
    assert tuple(c.shape) == (4, 2, 6)
    out, (h, c) = m(torch.randn(5, 4))
    assert tuple(out.shape) == (5, 6) and tuple(h.shape) == (4, 3) and tuple(c.shape) == (4, 6)
    out, h = nn.GRU(4, 6)(torch.randn(5, 0, 4))
    assert tuple(out.shape) == (5, 0, 6) and tuple(h.shape) == (1, 0, 6)
    assert tuple(nn.RNNCell(4, 6)(torch.randn(4)).shape) == (6,)


def test_bidirectional_last_state_matches_outputs():
    m = nn.GRU(3, 4, bidirectional=True)
    out, h = m(torch.randn(5, 2, 3))
    assert_close(h[0], out[-1, :, :4])
    assert_close(h[1], out[0, :, 4:])


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = torch.randn(4, 2, 3)
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(np.asarray(a.detach()), np.asarray(b.detach()))
    m.eval()
    assert_close(m(x)[0], m(x)[0])


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    names = [n for n, _ in m.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                         "weight_hr_l0"]
    assert names[5] == "weight_ih_l0_reverse" and names[-1] == "weight_hr_l1_reverse"
    assert tuple(m.weight_ih_l1.shape) == (16, 4) and tuple(m.weight_hh_l0.shape) == (16, 2)
    assert len(m.all_weights) == 4 and m._flat_weights[0] is m.weight_ih_l0
    big = nn.GRU(50, 100)
    bound = 1 / math.sqrt(100)
    values = np.concatenate([np.asarray(p.detach()).ravel() for p in big.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.01
    assert [n for n, _ in nn.GRUCell(2, 3, bias=False).named_parameters()] == \
        ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("module,text", [
    (nn.LSTM(10, 20, 2, bias=False, batch_first=True, dropout=0.5, bidirectional=True,
             proj_size=5),
     "LSTM(10, 20, proj_size=5, num_layers=2, bias=False, batch_first=True, dropout=0.5, "
     "bidirectional=True)"),
    (nn.RNN(10, 20, nonlinearity="relu"), "RNN(10, 20)"),
    (nn.GRU(3, 4), "GRU(3, 4)"),
    (nn.RNNCell(3, 4, bias=False, nonlinearity="relu"),
     "RNNCell(3, 4, bias=False, nonlinearity=relu)"),
    (nn.GRUCell(3, 4, False), "GRUCell(3, 4, bias=False)"),
    (nn.LSTMCell(3, 4), "LSTMCell(3, 4)"),
])
def test_repr(module, text):
    assert repr(module) == text


# --------------------------------------------------------------------------- errors

def test_input_size_error():
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 10, got 5"):
        nn.RNN(10, 20)(torch.randn(5, 3, 5))


def test_hidden_errors():
    r = nn.RNN(10, 20, 2)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 20\), got "
                                           r"\[1, 3, 20\]"):
        r(torch.randn(5, 3, 10), torch.randn(1, 3, 20))
    with pytest.raises(RuntimeError, match="hx should also be 3-D but got 2-D tensor"):
        r(torch.randn(5, 3, 10), torch.randn(2, 20))
    lstm = nn.LSTM(10, 20, 2)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 20\), got "
                                           r"\[2, 3, 21\]"):
        lstm(torch.randn(5, 3, 10), (torch.randn(2, 3, 20), torch.randn(2, 3, 21)))


def test_rank_and_dtype_errors():
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        nn.LSTM(10, 20)(torch.randn(2, 5, 3, 10))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        nn.GRU(10, 20)(torch.randn(5, 3, 10).double())
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        nn.GRU(10, 20)(torch.randn(0, 3, 10))


def test_cell_errors():
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 "
                                           "expected 10"):
        nn.RNNCell(10, 20)(torch.randn(3, 5))
    with pytest.raises(RuntimeError, match="Input batch size 3 doesn't match hidden0 batch "
                                           "size 4"):
        nn.GRUCell(10, 20)(torch.randn(3, 10), torch.randn(4, 20))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D"):
        nn.LSTMCell(10, 20)(torch.randn(2, 3, 10))


def test_constructor_errors_and_warning():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'foo'"):
        nn.RNN(10, 20, nonlinearity="foo")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.LSTM(10, 0)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(10, 20, proj_size=20)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(10, 20, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.RNN(10, 20, dropout=1.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.GRU(3, 4, dropout=0.5)
    assert "non-zero dropout expects num_layers greater than 1" in str(caught[0].message)
