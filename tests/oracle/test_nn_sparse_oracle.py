"""embedding, embedding_bag and one_hot (functional and modules) against torch: values, weight
gradients (padding_idx, scale_grad_by_freq, duplicates), max_norm renormalization, bags with
offsets / per-sample weights / padding, reprs and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import assert_same_error, check, check_module

RNG = np.random.default_rng(5)
WEIGHT = RNG.standard_normal((10, 4))
INDICES = {
    "1d": np.array([1, 3, 3, 9, 0]),
    "2d": np.array([[1, 2, 2], [0, 9, 2]]),
    "0d": np.array(7),
    "dupes": np.array([4] * 9 + [2, 2, 1]),
}


@pytest.mark.parametrize("kind", sorted(INDICES))
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding(kind, padding_idx, scale):
    check(lambda lib, i, w: lib.nn.functional.embedding(i, w, padding_idx=padding_idx,
                                                        scale_grad_by_freq=scale),
          INDICES[kind], WEIGHT)


def test_torch_level_embedding():
    from dist_torch.ops import embedding as ours  # torch.embedding(weight, indices, ...)
    check(lambda lib, w: (ours if lib is dt else torch).embedding(
        w, lib.tensor([[1, 2], [2, 0]]), 2, True), WEIGHT)


def test_embedding_int32_indices():
    check(lambda lib, i, w: lib.nn.functional.embedding(i, w), np.array([1, 2, 2], np.int32),
          WEIGHT)


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, 1.0), (1.5, float("inf")),
                                                (100.0, 2.0)])
def test_embedding_max_norm_renormalizes_in_place(max_norm, norm_type):
    results = []
    for lib in (dt, torch):
        w = lib.tensor(WEIGHT.copy(), requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor([[1, 3], [3, 5]]), w, max_norm=max_norm,
                                          norm_type=norm_type)
        (out * lib.tensor(np.arange(16.0).reshape(2, 2, 4))).sum().backward()
        results.append((np.asarray(out.detach()), np.asarray(w.detach()), np.asarray(w.grad),
                        w._version))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("args,kwargs", [
    ((10, 4), {}), ((10, 4), {"padding_idx": 0}), ((10, 4), {"padding_idx": -3}),
    ((10, 4), {"max_norm": 1.0}), ((10, 4), {"max_norm": 2, "norm_type": 1.0}),
    ((10, 4), {"scale_grad_by_freq": True}), ((10, 4), {"sparse": True}),
])
def test_embedding_module(args, kwargs):
    ours, theirs = dt.nn.Embedding(*args, **kwargs), torch.nn.Embedding(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.padding_idx == theirs.padding_idx
    if theirs.padding_idx is not None:
        assert not np.asarray(ours.weight.detach())[ours.padding_idx].any()
    if kwargs.get("sparse"):  # torch's gradient is a sparse tensor; ours is dense
        return
    if kwargs.get("max_norm"):  # renormalizes the weight in place: compare values only
        with torch.no_grad():
            out = theirs(torch.tensor([[1, 7, 7, 0]]))
        ours.load_state_dict({"weight": dt.tensor(theirs.weight.detach().numpy())})
        np.testing.assert_allclose(np.asarray(ours(dt.tensor([[1, 7, 7, 0]])).detach()),
                                   out.numpy(), rtol=1e-6)
        return
    check_module(ours, theirs, np.array([[1, 7, 7, 0], [0, 2, 9, 7]]))


@pytest.mark.parametrize("freeze", [True, False])
@pytest.mark.parametrize("padding_idx", [None, 1])
def test_from_pretrained(freeze, padding_idx):
    ours = dt.nn.Embedding.from_pretrained(dt.tensor(WEIGHT), freeze=freeze,
                                           padding_idx=padding_idx)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(WEIGHT), freeze=freeze,
                                                padding_idx=padding_idx)
    assert repr(ours) == repr(theirs)
    assert ours.weight.requires_grad == theirs.weight.requires_grad
    np.testing.assert_array_equal(np.asarray(ours.weight.detach()), theirs.weight.detach())
    bag_ours = dt.nn.EmbeddingBag.from_pretrained(dt.tensor(WEIGHT), freeze=freeze, mode="sum")
    bag_theirs = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(WEIGHT), freeze=freeze,
                                                       mode="sum")
    assert repr(bag_ours) == repr(bag_theirs)
    assert bag_ours.weight.requires_grad == bag_theirs.weight.requires_grad


BAG_INPUTS = {
    "2d": (np.array([[1, 2, 4], [4, 3, 2], [9, 9, 9]]), None),
    "offsets": (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 2, 2, 5])),  # one empty bag
    "single": (np.array([3, 3, 3]), np.array([0])),
}


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kind", sorted(BAG_INPUTS))
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag(mode, kind, padding_idx):
    idx, offsets = BAG_INPUTS[kind]

    def fn(lib, w):
        off = None if offsets is None else lib.tensor(offsets)
        return lib.nn.functional.embedding_bag(lib.tensor(idx), w, off, mode=mode,
                                               padding_idx=padding_idx)
    check(fn, WEIGHT)


@pytest.mark.parametrize("kind", sorted(BAG_INPUTS))
def test_embedding_bag_per_sample_weights(kind):
    idx, offsets = BAG_INPUTS[kind]
    psw = RNG.uniform(0.5, 2.0, idx.shape)

    def fn(lib, w, p):
        off = None if offsets is None else lib.tensor(offsets)
        return lib.nn.functional.embedding_bag(lib.tensor(idx), w, off, mode="sum",
                                               per_sample_weights=p)
    check(fn, WEIGHT, psw)


def test_embedding_bag_include_last_offset():
    idx, offsets = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 2, 3, 6])

    def fn(lib, w):
        return lib.nn.functional.embedding_bag(lib.tensor(idx), w, lib.tensor(offsets),
                                               mode="mean", include_last_offset=True)
    check(fn, WEIGHT)


@pytest.mark.parametrize("kwargs", [{}, {"mode": "sum", "padding_idx": 0},
                                    {"mode": "max", "max_norm": 1.0}])
def test_embedding_bag_module(kwargs):
    ours, theirs = dt.nn.EmbeddingBag(10, 4, **kwargs), torch.nn.EmbeddingBag(10, 4, **kwargs)
    assert repr(ours) == repr(theirs)
    if "max_norm" in kwargs:
        return
    check_module(ours, theirs, np.array([[1, 7, 7, 0], [0, 2, 9, 7]]))


@pytest.mark.parametrize("num_classes", [-1, 6])
@pytest.mark.parametrize("values", [[0, 2, 1], [[0, 3], [1, 1]], 2])
def test_one_hot(values, num_classes):
    ours = dt.nn.functional.one_hot(dt.tensor(values), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(values), num_classes)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


def _w(lib):
    return lib.zeros(10, 3)


ERRORS = {
    "emb_oob": lambda lib: lib.nn.functional.embedding(lib.tensor([1, 10]), _w(lib)),
    "emb_negative": lambda lib: lib.nn.functional.embedding(lib.tensor([1, -1]), _w(lib)),
    "emb_float_idx": lambda lib: lib.nn.functional.embedding(lib.tensor([1.0]), _w(lib)),
    "emb_uint8_idx": lambda lib: lib.nn.functional.embedding(lib.tensor([1], dtype=lib.uint8),
                                                             _w(lib)),
    "emb_1d_weight": lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.zeros(10)),
    "emb_padding": lambda lib: lib.nn.functional.embedding(lib.tensor([1]), _w(lib),
                                                           padding_idx=10),
    "emb_padding_negative": lambda lib: lib.nn.functional.embedding(lib.tensor([1]), _w(lib),
                                                                    padding_idx=-11),
    "module_padding": lambda lib: lib.nn.Embedding(10, 3, padding_idx=10),
    "module_weight_shape": lambda lib: lib.nn.Embedding(10, 3, _weight=lib.zeros(3, 3)),
    "pretrained_rank": lambda lib: lib.nn.Embedding.from_pretrained(lib.zeros(10)),
    "one_hot_negative": lambda lib: lib.nn.functional.one_hot(lib.tensor([1, -1])),
    "one_hot_too_big": lambda lib: lib.nn.functional.one_hot(lib.tensor([1, 5]), 3),
    "one_hot_float": lambda lib: lib.nn.functional.one_hot(lib.tensor([1.0])),
    "one_hot_int32": lambda lib: lib.nn.functional.one_hot(lib.tensor([1], dtype=lib.int32)),
    "one_hot_empty": lambda lib: lib.nn.functional.one_hot(lib.tensor([], dtype=lib.int64)),
    "one_hot_classes": lambda lib: lib.nn.functional.one_hot(lib.tensor([0]), 0),
    "bag_offsets_2d": lambda lib: lib.nn.functional.embedding_bag(lib.tensor([[1, 2]]), _w(lib),
                                                                  lib.tensor([0])),
    "bag_no_offsets": lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2]), _w(lib)),
    "bag_mode": lambda lib: lib.nn.functional.embedding_bag(lib.tensor([[1, 2]]), _w(lib),
                                                            mode="median"),
    "bag_psw_mode": lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([[1, 2]]), _w(lib), mode="mean", per_sample_weights=lib.ones(1, 2)),
    "bag_first_offset": lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), _w(lib), lib.tensor([1])),
    "bag_oob": lambda lib: lib.nn.functional.embedding_bag(lib.tensor([[1, 12]]), _w(lib)),
    "bag_negative": lambda lib: lib.nn.functional.embedding_bag(lib.tensor([1, 2, -1]), _w(lib),
                                                                lib.tensor([0])),
    "bag_last_offset": lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), _w(lib), lib.tensor([0, 3])),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case):
    assert_same_error(ERRORS[case])


def test_embedding_init_statistics():
    dt.manual_seed(0)
    w = dt.nn.Embedding(1000, 100).weight.detach().numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01
