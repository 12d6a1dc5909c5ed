"""RNN, LSTM, GRU and cells against torch: every option, given and default states, errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.helpers import assert_close
from tests.oracle.compare import check_module

RNG = np.random.default_rng(0)


def _wrap(lib, module, lstm):
    """A module calling ``module(x, h)`` (or ``(x, (h, c))``), so states get gradients."""

    class WithState(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = module

        def forward(self, x, h, c=None):
            return self.m(x, (h, c)) if lstm else self.m(x, h)
    return WithState()


OPTIONS = [{}, {"num_layers": 2}, {"bidirectional": True},
           {"num_layers": 2, "bidirectional": True, "batch_first": True}, {"bias": False},
           {"num_layers": 3, "bidirectional": True, "bias": False}]
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {}),
         ("LSTM", {"proj_size": 2})]


@pytest.mark.parametrize("kind,extra", KINDS)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("state", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_module(kind, extra, options, state, batched):
    kwargs = {**extra, **options}
    ours = getattr(dt.nn, kind)(3, 4, **kwargs)
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs)
    t, n = 5, 2
    shape = ((n, t, 3) if kwargs.get("batch_first") else (t, n, 3)) if batched else (t, 3)
    x = RNG.standard_normal(shape)
    if not state:
        check_module(ours, theirs, x)
        return
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    lstm = kind == "LSTM"
    h_size = kwargs.get("proj_size", 0) or 4
    h = RNG.standard_normal((layers, n, h_size) if batched else (layers, h_size))
    arrays = [x, h]
    if lstm:
        arrays.append(RNG.standard_normal((layers, n, 4) if batched else (layers, 4)))
    check_module(_wrap(dt, ours, lstm), _wrap(torch, theirs, lstm), *arrays)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_dropout_module_in_eval_mode(kind):
    ours = getattr(dt.nn, kind)(3, 4, num_layers=2, dropout=0.5)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, dropout=0.5)
    check_module(ours, theirs, RNG.standard_normal((4, 2, 3)), train=False)


def test_long_sequence_float32():
    ours, theirs = dt.nn.LSTM(8, 16, 2), torch.nn.LSTM(8, 16, 2)
    ours.load_state_dict({k: dt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal((40, 3, 8)).astype(np.float32)
    a, b = ours(dt.tensor(x))[0], theirs(torch.tensor(x))[0]
    assert a.dtype == dt.float32
    assert_close(a, b, rtol=1e-4, atol=1e-5, check_dtype=False)


@pytest.mark.parametrize("cls,extra", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                       ("LSTMCell", {}), ("GRUCell", {}),
                                       ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("state", [False, True])
def test_cells(cls, extra, batched, state):
    ours, theirs = getattr(dt.nn, cls)(3, 4, **extra), getattr(torch.nn, cls)(3, 4, **extra)
    x = RNG.standard_normal((2, 3) if batched else (3,))
    if not state:
        check_module(ours, theirs, x)
        return
    h = RNG.standard_normal((2, 4) if batched else (4,))
    lstm = cls == "LSTMCell"
    arrays = [x, h] + ([RNG.standard_normal(h.shape)] if lstm else [])
    check_module(_wrap(dt, ours, lstm), _wrap(torch, theirs, lstm), *arrays)


@pytest.mark.parametrize("ctor", [
    "RNN(10, 20)", "RNN(10, 20, 2, 'relu', False, True, 0.5, True)",
    "LSTM(10, 20, 2, bias=False, batch_first=True, dropout=0.5, bidirectional=True, "
    "proj_size=5)", "GRU(3, 4, num_layers=3)", "RNNCell(3, 4, bias=False, nonlinearity='relu')",
    "LSTMCell(3, 4)", "GRUCell(3, 4, False)"])
def test_repr_and_parameter_names(ctor):
    ours, theirs = eval("dt.nn." + ctor), eval("torch.nn." + ctor)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


def test_init_distribution_matches_torch():
    ours, theirs = dt.nn.LSTM(30, 64), torch.nn.LSTM(30, 64)
    a = np.concatenate([np.asarray(p.detach()).ravel() for p in ours.parameters()])
    b = np.concatenate([p.detach().numpy().ravel() for p in theirs.parameters()])
    bound = 1 / 8
    assert a.min() >= -bound and a.max() <= bound
    assert abs(a.std() - b.std()) < 0.005 and abs(a.mean()) < 0.005


ERROR_CASES = [
    lambda lib: lib.nn.RNN(10, 20, 2)(lib.randn(5, 3, 5)),
    lambda lib: lib.nn.RNN(10, 20, 2)(lib.randn(5, 3, 10), lib.randn(1, 3, 20)),
    lambda lib: lib.nn.RNN(10, 20, 2)(lib.randn(5, 3, 10), lib.randn(2, 20)),
    lambda lib: lib.nn.RNN(10, 20, 2)(lib.randn(5, 10), lib.randn(2, 3, 20)),
    lambda lib: lib.nn.RNN(10, 20)(lib.randn(2, 5, 3, 10)),
    lambda lib: lib.nn.LSTM(10, 20)(lib.randn(2, 5, 3, 10)),
    lambda lib: lib.nn.GRU(10, 20)(lib.randn(10)),
    lambda lib: lib.nn.LSTM(10, 20, 2)(lib.randn(5, 3, 10), (lib.randn(2, 3, 20),
                                                            lib.randn(2, 3, 21))),
    lambda lib: lib.nn.LSTM(10, 20, 2)(lib.randn(5, 3, 10), (lib.randn(2, 3, 21),
                                                            lib.randn(2, 3, 20))),
    lambda lib: lib.nn.LSTM(10, 20, 2)(lib.randn(5, 10), (lib.randn(2, 3, 20),
                                                         lib.randn(2, 3, 20))),
    lambda lib: lib.nn.LSTM(10, 20, 2)(lib.randn(5, 3, 10), (lib.randn(2, 20),
                                                            lib.randn(2, 20))),
    lambda lib: lib.nn.LSTM(10, 20, proj_size=5)(lib.randn(5, 3, 10), (lib.randn(1, 3, 20),
                                                                      lib.randn(1, 3, 20))),
    lambda lib: lib.nn.GRU(10, 20)(lib.randn(5, 3, 10).double()),
    lambda lib: lib.nn.GRU(10, 20)(lib.randn(0, 3, 10)),
    lambda lib: lib.nn.RNNCell(10, 20)(lib.randn(3, 5)),
    lambda lib: lib.nn.RNNCell(10, 20)(lib.randn(3, 10), lib.randn(3, 5)),
    lambda lib: lib.nn.RNNCell(10, 20)(lib.randn(3, 10), lib.randn(4, 20)),
    lambda lib: lib.nn.RNNCell(10, 20)(lib.randn(2, 3, 10)),
    lambda lib: lib.nn.RNNCell(10, 20)(lib.randn(10), lib.randn(3, 20)),
    lambda lib: lib.nn.GRUCell(10, 20)(lib.randn(2, 3, 10)),
    lambda lib: lib.nn.LSTMCell(10, 20)(lib.randn(3, 10), (lib.randn(3, 20),
                                                          lib.randn(3, 21))),
    lambda lib: lib.nn.RNN(10, 20, nonlinearity="foo"),
    lambda lib: lib.nn.RNN(10, 0),
    lambda lib: lib.nn.RNN(10, 20, num_layers=0),
    lambda lib: lib.nn.RNN(10, 20, dropout=1.5),
    lambda lib: lib.nn.LSTM(10, 20, proj_size=20),
    lambda lib: lib.nn.LSTM(10, 20, proj_size=-1),
    lambda lib: lib.nn.GRU(10, 20, proj_size=2),
    lambda lib: lib.nn.RNN(10, 20.5),
]


@pytest.mark.parametrize("case", range(len(ERROR_CASES)))
def test_errors_match_torch(case):
    fn = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(type(theirs.value)) as ours:
        fn(dt)
    assert str(ours.value) == str(theirs.value)
