"""normalize, cosine_similarity, pairwise_distance, pdist: gradients and hand values."""

import math

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn.functional as F
from tests.helpers import assert_close, gradcheck, rand


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_gradchecks(p):
    a, b = rand(3, 4, seed=1), rand(3, 4, seed=2)
    gradcheck(lambda x: F.normalize(x, p=p, dim=1), a)
    gradcheck(lambda x, y: F.cosine_similarity(x, y), a, b)
    gradcheck(lambda x, y: F.pairwise_distance(x, y, p=p), a, b)
    gradcheck(lambda x: F.pdist(x, p), a)


def test_values():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    assert_close(F.normalize(x), torch.tensor([[0.6, 0.8], [0.0, 0.0]]))
    assert_close(F.normalize(x, p=1, dim=1), torch.tensor([[3 / 7, 4 / 7], [0.0, 0.0]]))
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 2.0], [2.0, 2.0]])
    assert_close(F.cosine_similarity(a, b), torch.tensor([0.0, 1.0]), atol=1e-7)
    assert_close(F.pairwise_distance(a, b, eps=0.0), torch.tensor([math.sqrt(5), math.sqrt(2)]))
    assert F.pairwise_distance(a, b, keepdim=True).shape == (2, 1)
    pts = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert_close(F.pdist(pts), torch.tensor([5.0, 10.0, 5.0]))
    assert_close(F.pdist(pts, 1), torch.tensor([7.0, 14.0, 7.0]))


def test_cosine_similarity_broadcasts():
    a = rand(3, 1, 4, seed=3, requires_grad=False)
    b = rand(5, 4, seed=4, requires_grad=False)
    out = F.cosine_similarity(a, b, dim=-1)
    an, bn = a.numpy(), b.numpy()
    expected = (an * bn).sum(-1) / (np.linalg.norm(an, axis=-1) * np.linalg.norm(bn, axis=-1))
    assert_close(out, torch.tensor(expected))


def test_errors():
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        F.cosine_similarity(torch.tensor([[1, 2]]), torch.tensor([[1, 2]]))
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(torch.zeros(2, 2, 2))
