"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, Flatten, Identity."""

from collections import OrderedDict

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import nn
from tests.helpers import assert_close


def test_sequential_forms_indexing_and_slicing():
    a, b, c = nn.Linear(4, 3), nn.Identity(), nn.Linear(3, 2)
    seq = nn.Sequential(a, b, c)
    assert seq[0] is a and seq[-1] is c and len(seq) == 3
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    named = nn.Sequential(OrderedDict([("inp", a), ("out", c)]))
    assert [n for n, _ in named.named_children()] == ["inp", "out"]
    assert named.inp is a
    x = torch.randn(5, 4)
    assert_close(seq(x), c(a(x)))
    seq.append(nn.Identity())
    assert len(seq) == 4
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match="index 7 is out of range"):
        seq[7]


def test_module_list_and_dict_register_parameters():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    heads = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.Linear(2, 3)})
    assert list(heads.keys()) == ["a", "b"] and "b" in heads
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight",
                                                        "b.bias"]


def test_parameter_list_and_dict():
    plist = nn.ParameterList([torch.ones(2), nn.Parameter(torch.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in plist) and len(plist) == 2
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"]
    pdict = nn.ParameterDict({"w": torch.ones(2)})
    pdict["b"] = torch.zeros(1)
    assert [n for n, _ in pdict.named_parameters()] == ["w", "b"]
    assert repr(plist) == ("ParameterList(\n"
                           "    (0): Parameter containing: [torch.float32 of size 2]\n"
                           "    (1): Parameter containing: [torch.float32 of size 3]\n)")
    assert repr(nn.ParameterDict({"w": torch.ones(2)})) == (
        "ParameterDict(  (w): Parameter containing: [torch.FloatTensor of size 2])")


def test_flatten_and_unflatten():
    x = torch.arange(24.0).reshape(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 1))(torch.zeros(2, 3)).shape == (2, 3, 1)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_linear_shapes_init_and_repr():
    torch.manual_seed(0)
    lin = nn.Linear(400, 30)
    w = np.asarray(lin.weight.detach())
    bound = 1 / np.sqrt(400)
    assert w.shape == (30, 400) and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # uniform over the whole range
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert repr(lin) == "Linear(in_features=400, out_features=30, bias=True)"
    assert lin(torch.randn(7, 400)).shape == (7, 30)
    assert lin(torch.randn(2, 3, 400)).shape == (2, 3, 30)
    assert lin(torch.randn(400)).shape == (30,)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_errors():
    lin = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(4x5 and 3x2\)"):
        lin(torch.randn(4, 5))
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: "
                                           "double != float"):
        lin(torch.randn(4, 3, dtype=torch.float64))


def test_linear_gradcheck():
    lin = nn.Linear(3, 2).double()
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: nn.functional.linear(x, w, b),
                                    (x, lin.weight, lin.bias))
    x3 = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: nn.functional.linear(x, w), (x3, lin.weight))
