"""Embedding, EmbeddingBag and one_hot: gradients (duplicates, padding, frequency scaling),
max-norm renormalization, module construction, reprs and errors."""

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
from dist_torch.ops.embedding import accumulate_rows
from tests.helpers import assert_close, gradcheck, rand


@pytest.mark.parametrize("scale", [False, True])
def test_gradcheck_embedding(scale):
    # (padding_idx deliberately blocks the padding row's gradient: tested by value below)
    idx = torch.tensor([[1, 2, 2], [0, 4, 2]])
    gradcheck(lambda w: F.embedding(idx, w, scale_grad_by_freq=False), rand(5, 3, seed=1))
    if scale:  # the scaled gradient is not the derivative; check it by value
        w = rand(5, 3, seed=1)
        F.embedding(idx, w, scale_grad_by_freq=True).sum().backward()
        assert_close(w.grad, torch.tensor([[1.0] * 3] * 3 + [[0.0] * 3] + [[1.0] * 3],
                                          dtype=torch.float64))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck_embedding_bag(mode):
    idx, offsets = torch.tensor([1, 2, 4, 0, 4, 3, 2]), torch.tensor([0, 2, 2, 5])
    gradcheck(lambda w: F.embedding_bag(idx, w, offsets, mode=mode), rand(5, 3, seed=2))
    if mode == "sum":
        gradcheck(lambda w, p: F.embedding_bag(idx, w, offsets, mode="sum",
                                               per_sample_weights=p),
                  rand(5, 3, seed=3), rand(7, seed=4))


def test_embedding_values_and_duplicate_gradients():
    w = torch.arange(12.0).reshape(4, 3).requires_grad_()
    idx = torch.tensor([[3, 1], [3, 3]])
    out = F.embedding(idx, w)
    assert out.shape == (2, 2, 3)
    assert_close(out[1, 0], torch.tensor([9.0, 10.0, 11.0]))
    out.sum().backward()
    assert_close(w.grad, torch.tensor([[0.0] * 3, [1.0] * 3, [0.0] * 3, [3.0] * 3]))
    assert out.grad_fn.name() == "EmbeddingBackward0"


def test_padding_idx_gets_no_gradient_and_scale_by_freq():
    w = torch.ones(4, 2, requires_grad=True)
    F.embedding(torch.tensor([0, 1, 1, 1]), w, padding_idx=1).sum().backward()
    assert_close(w.grad, torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    w.grad = None
    F.embedding(torch.tensor([0, 2, 2, 2]), w, scale_grad_by_freq=True).sum().backward()
    assert_close(w.grad, torch.tensor([[1.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))


@pytest.mark.parametrize("repeats", [1, 3, 50])
def test_accumulate_rows_matches_add_at(repeats):
    rng = np.random.default_rng(repeats)
    index = np.concatenate([rng.integers(0, 30, 40), np.full(repeats, 7)])
    values = rng.standard_normal((index.size, 5))
    expected = np.zeros((30, 5))
    np.add.at(expected, index, values)
    np.testing.assert_allclose(accumulate_rows(30, index, values), expected, atol=1e-12)


def test_max_norm_renormalizes_looked_up_rows():
    w = torch.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    out = F.embedding(torch.tensor([0, 1]), w, max_norm=1.0)
    assert_close(out, torch.tensor([[0.6, 0.8], [0.3, 0.4]]), rtol=1e-6)
    assert_close(w, torch.tensor([[0.6, 0.8], [0.3, 0.4], [6.0, 8.0]]), rtol=1e-6)  # row 2 kept
    assert w._version == 1


def test_embedding_module():
    torch.manual_seed(0)
    m = nn.Embedding(10, 3, padding_idx=-2)
    assert m.padding_idx == 8
    assert_close(m.weight[8], torch.zeros(3))
    assert m(torch.tensor([[1, 8]])).shape == (1, 2, 3)
    big = nn.Embedding(500, 200).weight.detach().numpy()
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01  # N(0, 1) init
    pretrained = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(pretrained)
    assert not frozen.weight.requires_grad
    assert_close(frozen(torch.tensor([1])), torch.tensor([[3.0, 4.0]]))
    assert nn.Embedding.from_pretrained(pretrained, freeze=False).weight.requires_grad


@pytest.mark.parametrize("module,text", [
    (nn.Embedding(10, 3), "Embedding(10, 3)"),
    (nn.Embedding(10, 3, padding_idx=-1), "Embedding(10, 3, padding_idx=9)"),
    (nn.Embedding(10, 3, max_norm=2, norm_type=2), "Embedding(10, 3, max_norm=2)"),
    (nn.Embedding(10, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True),
     "Embedding(10, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True)"),
    (nn.EmbeddingBag(10, 3), "EmbeddingBag(10, 3, mode='mean')"),
    (nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0, max_norm=1.0),
     "EmbeddingBag(10, 3, max_norm=1.0, mode='sum', padding_idx=0)"),
])
def test_reprs(module, text):
    assert repr(module) == text


def test_embedding_bag_values():
    w = torch.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    idx = torch.tensor([0, 1, 2, 2])
    offsets = torch.tensor([0, 3, 3])
    assert_close(F.embedding_bag(idx, w, offsets, mode="sum"),
                 torch.tensor([[5.0, 6.0], [0.0, 0.0], [4.0, 4.0]]))
    assert_close(F.embedding_bag(idx, w, offsets, mode="mean"),
                 torch.tensor([[5 / 3, 2.0], [0.0, 0.0], [4.0, 4.0]]))
    assert_close(F.embedding_bag(idx, w, offsets, mode="max"),
                 torch.tensor([[4.0, 4.0], [0.0, 0.0], [4.0, 4.0]]))
    assert_close(F.embedding_bag(torch.tensor([[0, 1], [2, 2]]), w, mode="sum", padding_idx=2),
                 torch.tensor([[1.0, 2.0], [0.0, 0.0]]))


def test_one_hot():
    out = F.one_hot(torch.tensor([[0, 2], [1, 0]]))
    assert out.dtype == torch.int64 and out.shape == (2, 2, 3)
    assert_close(out[0, 1], torch.tensor([0, 0, 1]))
    assert F.one_hot(torch.tensor([], dtype=torch.int64), 4).shape == (0, 4)
    assert_close(F.one_hot(torch.tensor(1), 3), torch.tensor([0, 1, 0]))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.embedding(torch.tensor([1, 10]), torch.zeros(10, 3)), IndexError,
     "index out of range in self"),
    (lambda: F.embedding(torch.tensor([1.0]), torch.zeros(10, 3)), RuntimeError,
     "to have one of the following scalar types: Long, Int"),
    (lambda: F.embedding(torch.tensor([1]), torch.zeros(10)), RuntimeError, "must be 2-D"),
    (lambda: nn.Embedding(10, 3, padding_idx=10), AssertionError,
     "Padding_idx must be within num_embeddings"),
    (lambda: F.one_hot(torch.tensor([1, -1])), RuntimeError, "must be non-negative"),
    (lambda: F.one_hot(torch.tensor([1, 5]), 3), RuntimeError, "smaller than num_classes"),
    (lambda: F.one_hot(torch.tensor([1.0])), RuntimeError, "index tensor of type LongTensor"),
    (lambda: F.one_hot(torch.tensor([], dtype=torch.int64)), RuntimeError,
     "Can not infer total number of classes"),
    (lambda: F.embedding_bag(torch.tensor([[1]]), torch.zeros(3, 2), mode="x"), ValueError,
     "mode has to be one of sum, mean or max"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
