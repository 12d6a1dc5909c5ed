"""nn.Module: registration, traversal, state_dict, modes, conversion, hooks, repr."""

import copy

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import nn
from tests.helpers import assert_close


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(torch.ones(2))
        self.register_buffer("running", torch.zeros(2))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)
        self.note = "plain attribute"

    def forward(self, x):
        return self.fc(x) * self.scale + self.running


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.second = Block()
        self.shared = self.first.fc  # the same module twice

    def forward(self, x):
        return self.second(self.first(x).repeat(1, 2)[:, :3])


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["first.scale", "first.fc.weight", "first.fc.bias", "second.scale",
                     "second.fc.weight", "second.fc.bias"]
    assert len(list(net.parameters())) == 6  # the shared fc is listed once
    assert [n for n, _ in net.named_buffers()] == ["first.running", "first.scratch",
                                                    "second.running", "second.scratch"]
    # children() skips repeats among the direct children only; "shared" is first.fc
    assert [n for n, _ in net.named_children()] == ["first", "second", "shared"]
    assert [n for n, _ in net.named_modules()] == ["", "first", "first.fc", "second",
                                                    "second.fc"]
    assert net.get_submodule("first.fc") is net.first.fc
    assert net.get_parameter("second.scale") is net.second.scale
    assert net.first.note == "plain attribute"
    assert len(list(net.named_parameters(remove_duplicate=False))) == 8


def test_state_dict_contents_and_round_trip():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["first.scale", "first.running", "first.fc.weight", "first.fc.bias",
                        "second.scale", "second.running", "second.fc.weight",
                        "second.fc.bias", "shared.weight", "shared.bias"]
    assert not sd["first.fc.weight"].requires_grad
    other = Net()
    result = other.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = torch.randn(4, 3)
    assert_close(other(x), net(x))


def test_state_dict_values_are_copied_not_aliased():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    weight = b.weight
    b.load_state_dict(a.state_dict())
    assert b.weight is weight  # same Parameter object, new values
    assert_close(b.weight, a.weight)
    with torch.no_grad():
        a.weight.add_(1)
    assert not np.allclose(np.asarray(a.weight.detach()), np.asarray(b.weight.detach()))


def test_load_state_dict_strict_errors_list_every_problem():
    model = nn.Sequential(nn.Linear(3, 2), nn.Identity())
    bad = {"0.weight": torch.zeros(2, 2), "extra": torch.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    text = str(info.value)
    assert text.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "0.bias".' in text
    assert 'Unexpected key(s) in state_dict: "extra".' in text
    assert ("size mismatch for 0.weight: copying a param with shape torch.Size([2, 2]) from "
            "checkpoint, the shape in current model is torch.Size([2, 3]).") in text


def test_load_state_dict_non_strict_returns_keys():
    model = nn.Sequential(nn.Linear(3, 2))
    result = model.load_state_dict({"0.weight": torch.ones(2, 3), "junk": torch.ones(1)},
                                   strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["junk"]
    assert_close(model[0].weight, np.ones((2, 3), dtype=np.float32))
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict({"0.weight": torch.ones(3, 3)}, strict=False)


def test_assignment_rules():
    block = Block()
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter "
                                        r"'scale' \(torch.nn.Parameter or None expected\)"):
        block.scale = torch.ones(2)
    block.scale = None
    assert "scale" not in dict(block.named_parameters())
    block.running = torch.full((2,), 3.0)
    assert_close(block.state_dict()["running"], [3.0, 3.0])
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        _ = block.missing
    del block.fc
    assert "fc.weight" not in block.state_dict()


def test_register_buffer_and_parameter_validation():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", torch.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer"):
        m.register_buffer("x", 3)
    with pytest.raises(TypeError, match="torch.nn.Parameter or None required"):
        m.register_parameter("w", torch.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(torch.zeros(1))
        Broken()


def test_train_eval_and_requires_grad():
    net = Net()
    assert net.training and net.first.fc.training
    net.eval()
    assert not net.training and not net.second.fc.training
    net.train()
    assert net.second.training
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_zero_grad_and_apply():
    net = Net()
    net(torch.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Block", "Linear", "Block", "Linear", "Net"]


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    params = list(net.parameters())
    net.double()
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 6
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net.first.running.dtype == torch.float64
    net.to(torch.float32)
    assert net.first.fc.weight.dtype == torch.float32
    with pytest.raises(TypeError, match="only accepts floating point"):
        net.to(torch.int64)


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: calls.append(out) or out + 1)
    out = lin(torch.ones(1, 2))
    assert_close(out, lin.bias.detach().reshape(1, 2) + 1)
    assert len(calls) == 1
    pre.remove()
    post.remove()
    assert_close(lin(torch.zeros(1, 2)), lin.bias.detach().reshape(1, 2))


def test_deepcopy_gives_independent_parameters():
    net = Net()
    clone = copy.deepcopy(net)
    assert isinstance(clone.first.fc.weight, nn.Parameter)
    with torch.no_grad():
        clone.first.fc.weight.add_(1)
    assert not np.allclose(np.asarray(clone.first.fc.weight.detach()),
                           np.asarray(net.first.fc.weight.detach()))


def test_repr_matches_torch_layout():
    net = nn.Sequential(nn.Linear(3, 2), nn.Sequential(nn.Linear(2, 2, bias=False)),
                        nn.Identity())
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=2, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): Linear(in_features=2, out_features=2, bias=False)\n"
        "  )\n"
        "  (2): Identity()\n"
        ")")


def test_parameter_repr_and_type():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert isinstance(p, torch.Tensor) and p.is_leaf
    assert not nn.Parameter(torch.zeros(1), requires_grad=False).requires_grad
