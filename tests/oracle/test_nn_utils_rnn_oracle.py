"""nn.utils.rnn (pad/pack/unpack) and RNN/LSTM/GRU on PackedSequence, against torch."""

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import dist_torch as dt
import dist_torch.nn.utils.rnn as ornn
from tests.helpers import assert_close
from tests.oracle.compare import assert_same_error, check, load_torch_weights

RNG = np.random.default_rng(0)
LIBS = {dt: ornn, torch: trnn}


def _both(fn):
    """``fn(lib, rnn_module)`` for both libraries."""
    return fn(dt, ornn), fn(torch, trnn)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[4, 4, 2, 1], [2, 5, 3, 5, 1], [3]])
def test_pack_pad_roundtrip(batch_first, lengths):
    t, b = max(lengths) + 1, len(lengths)
    x = RNG.standard_normal((b, t, 3) if batch_first else (t, b, 3))
    ordered = lengths == sorted(lengths, reverse=True)

    def fn(lib, x):
        r = LIBS[lib]
        packed = r.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                        enforce_sorted=ordered)
        padded, lens = r.pad_packed_sequence(packed, batch_first=batch_first,
                                             padding_value=-2.0, total_length=t + 1)
        return (packed.data, packed.batch_sizes, packed.sorted_indices,
                packed.unsorted_indices, padded, lens)
    check(fn, x)


def test_lengths_as_tensor_and_integer_data():
    x = RNG.integers(0, 9, (3, 3))
    check(lambda lib, x: LIBS[lib].pack_padded_sequence(
        x, lib.tensor([1, 3, 2]), enforce_sorted=False)[:2], x, grad=False)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence(side, batch_first):
    seqs = [RNG.standard_normal((n, 2, 2)) for n in (3, 1, 4)]
    check(lambda lib, *s: LIBS[lib].pad_sequence(list(s), batch_first=batch_first,
                                                 padding_value=5.0, padding_side=side), *seqs)


def test_pack_sequence_unpack_unpad():
    seqs = [RNG.standard_normal((n, 2)) for n in (2, 4, 1)]

    def fn(lib, *s):
        r = LIBS[lib]
        packed = r.pack_sequence(list(s), enforce_sorted=False)
        padded = r.pad_sequence(list(s), batch_first=True)
        return (packed.data, r.unpack_sequence(packed),
                r.unpad_sequence(padded, lib.tensor([2, 4, 1]), batch_first=True))
    check(fn, *seqs)


def test_packed_sequence_methods_and_repr():
    seqs = [np.arange(3.0), np.arange(2.0)]
    ours = ornn.pack_sequence([dt.tensor(s) for s in seqs])
    theirs = trnn.pack_sequence([torch.tensor(s) for s in seqs])
    assert repr(ours) == repr(theirs)
    assert ours._fields == theirs._fields
    assert isinstance(ours, tuple) and not ours.is_cuda
    f = ours.float()
    assert f.data.dtype == dt.float32 and f.batch_sizes.dtype == dt.int64
    assert ours.to(dt.float64) is ours
    assert repr(ornn.invert_permutation(dt.tensor([2, 0, 1]))) == \
        repr(trnn.invert_permutation(torch.tensor([2, 0, 1])))


def test_errors():
    x = np.zeros((3, 2))
    assert_same_error(lambda lib: LIBS[lib].pack_padded_sequence(lib.tensor(x), [1, 3]))
    assert_same_error(lambda lib: LIBS[lib].pack_padded_sequence(lib.tensor(x), [0, 3],
                                                                 enforce_sorted=False))
    assert_same_error(lambda lib: LIBS[lib].pad_packed_sequence(
        LIBS[lib].pack_sequence([lib.zeros(3), lib.zeros(2)]), total_length=2))
    assert_same_error(lambda lib: LIBS[lib].pad_sequence([lib.zeros(2)], padding_side="mid"))


# ----------------------------------------------------------------------- RNNs on packed input

KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {}),
         ("LSTM", {"proj_size": 2})]
OPTIONS = [{}, {"num_layers": 2, "bidirectional": True}, {"bidirectional": True, "bias": False}]


@pytest.mark.parametrize("kind,extra", KINDS)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("state", [False, True])
def test_rnn_on_packed_unsorted(kind, extra, options, state):
    kwargs = {**extra, **options}
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(dt.nn, kind)(3, 4, **kwargs).double()
    load_torch_weights(ours, theirs)
    lengths = [3, 5, 1, 5, 2]
    x = RNG.standard_normal((5, 5, 3))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h = RNG.standard_normal((layers, 5, kwargs.get("proj_size", 0) or 4))
    c = RNG.standard_normal((layers, 5, 4))
    lstm = kind == "LSTM"
    model = {dt: ours, torch: theirs}

    def fn(lib, x, h, c):
        packed = LIBS[lib].pack_padded_sequence(x, lengths, batch_first=True,
                                                enforce_sorted=False)
        hx = ((h, c) if lstm else h) if state else None
        out, hidden = model[lib](packed, hx)
        assert type(out).__name__ == "PackedSequence"
        padded = LIBS[lib].pad_packed_sequence(out, batch_first=True)[0]
        return (out.data, padded, hidden)
    check(fn, x, h, c, rtol=1e-9, atol=1e-11)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-11)


def test_packed_float32_sorted_lstm():
    theirs = torch.nn.LSTM(3, 5, num_layers=2)
    ours = dt.nn.LSTM(3, 5, num_layers=2)
    load_torch_weights(ours, theirs)
    seqs = [RNG.standard_normal((n, 3)).astype(np.float32) for n in (6, 4, 4, 1)]
    out_a, (h_a, c_a) = ours(ornn.pack_sequence([dt.tensor(s) for s in seqs]))
    out_b, (h_b, c_b) = theirs(trnn.pack_sequence([torch.tensor(s) for s in seqs]))
    assert out_a.data.dtype == dt.float32 and out_a.sorted_indices is None
    for a, b in ((out_a.data, out_b.data), (h_a, h_b), (c_a, c_b)):
        assert_close(a, b.detach(), rtol=1e-4, atol=1e-5, check_dtype=False)


def test_packed_hidden_size_error():
    def fn(lib):
        m = lib.nn.GRU(2, 3)
        packed = LIBS[lib].pack_sequence([lib.zeros(2, 2), lib.zeros(1, 2)])
        m(packed, lib.zeros(1, 3, 3))
    assert_same_error(fn)


@pytest.mark.cuda
def test_packed_gru_and_checkpoint_on_gpu():
    """GPU: packing, a packed bidirectional GRU and a checkpointed block match the CPU run."""
    if not dt.cuda.is_available():
        pytest.skip("needs a CUDA GPU (CuPy and a visible device)")
    x = RNG.standard_normal((4, 3, 2))
    lengths = [2, 4, 1]
    theirs = torch.nn.GRU(2, 3, bidirectional=True).double()
    results = []
    for device in ("cpu", "cuda"):
        gru = dt.nn.GRU(2, 3, bidirectional=True).double()
        load_torch_weights(gru, theirs)
        gru.to(device)
        xt = dt.tensor(x, device=device, requires_grad=True)
        packed = ornn.pack_padded_sequence(xt, lengths, enforce_sorted=False)
        assert packed.data.device.type == device and packed.batch_sizes.device.type == "cpu"
        out, h = gru(packed)
        padded, lens = ornn.pad_packed_sequence(out)
        y = dt.utils.checkpoint.checkpoint(lambda a: (a * a).sin(), padded, use_reentrant=False)
        (y.sum() + h.sum()).backward()
        results.append([padded.detach().cpu(), h.detach().cpu(), xt.grad.cpu(), lens,
                        gru.weight_hh_l0.grad.cpu()])
    for a, b in zip(*results):
        assert_close(a, b, rtol=1e-9, atol=1e-11)
