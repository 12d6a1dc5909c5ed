"""Shape views: view/reshape/flatten/unflatten, squeeze/unsqueeze, permute/transpose/t/movedim,
expand/broadcast — gradients, values, view semantics and torch's errors."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

GRAD_CASES = {
    "view": lambda t: t.view(6, 4),
    "view_infer": lambda t: t.view(-1, 2),
    "view_as": lambda t: t.view_as(torch.zeros(4, 6)),
    "reshape": lambda t: torch.reshape(t, (4, -1)),
    "reshape_copy": lambda t: t.transpose(0, 2).reshape(-1),
    "reshape_as": lambda t: t.reshape_as(torch.zeros(24)),
    "flatten": lambda t: t.flatten(1),
    "flatten_copy": lambda t: t.permute(2, 1, 0).flatten(0, 1),
    "ravel": lambda t: t.transpose(0, 1).ravel(),
    "unflatten": lambda t: t.unflatten(-1, (2, -1)),
    "squeeze": lambda t: t.unsqueeze(0).squeeze(),
    "squeeze_dims": lambda t: t.view(2, 1, 3, 4).squeeze((1, -1)),
    "unsqueeze": lambda t: t.unsqueeze(-2),
    "permute": lambda t: t.permute(1, 2, 0),
    "transpose": lambda t: t.transpose(-1, 0),
    "t": lambda t: t[0].t(),
    "adjoint": lambda t: t.adjoint(),
    "movedim": lambda t: torch.movedim(t, (0, 2), (1, 0)),
    "expand": lambda t: t[:, :1].expand(3, 2, 5, 4),
    "expand_as": lambda t: t[0, 0].expand_as(torch.zeros(2, 4)),
    "broadcast_to": lambda t: torch.broadcast_to(t[:1], (3, 2, 3, 4)),
    "broadcast_tensors": lambda t: torch.broadcast_tensors(t[:, :1], t[0, :, :1]),
    "atleast_3d": lambda t: torch.atleast_3d(t[0, 0]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck(name):
    gradcheck(GRAD_CASES[name], rand(2, 3, 4, seed=1))


def test_values():
    x = torch.arange(6).view(2, 3)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.t().tolist() == [[0, 3], [1, 4], [2, 5]]
    assert x.reshape(3, -1).tolist() == [[0, 1], [2, 3], [4, 5]]
    assert x.t().reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]
    assert x.unsqueeze(1).shape == (2, 1, 3)
    assert x.view(1, 2, 1, 3).squeeze().shape == (2, 3)
    assert x.view(1, 2, 1, 3).squeeze(2).shape == (1, 2, 3)
    assert torch.movedim(torch.zeros(2, 3, 4), 0, -1).shape == (3, 4, 2)
    assert x[:, :1].expand(2, 4).tolist() == [[0] * 4, [3] * 4]
    assert torch.zeros(3, 1).expand(2, -1, 5).shape == (2, 3, 5)
    assert torch.broadcast_shapes((2, 1), (3,), 1) == torch.Size([2, 3])
    assert torch.tensor(5.).view(-1).tolist() == [5.0]
    assert torch.flatten(torch.tensor(5.)).shape == (1,)


def test_strides_and_contiguity():
    x = torch.zeros(2, 3, 4)
    assert x.stride() == (12, 4, 1)
    p = x.permute(2, 0, 1)
    assert p.stride() == (1, 12, 4) and not p.is_contiguous()
    assert x.transpose(0, 1).stride() == (4, 12, 1)
    assert x.transpose(0, 2).contiguous().stride() == (6, 2, 1)
    assert x[0].t().stride() == (1, 4)
    assert x.view(6, 4).is_contiguous()
    assert x.expand(5, 2, 3, 4).stride() == (0, 12, 4, 1)


def test_identity_returns():
    x = torch.zeros(3)
    assert x.flatten() is x
    y = torch.zeros(2, 3)
    assert y.flatten(1, 1) is y and y.flatten(-1) is y
    assert torch.atleast_1d(x) is x
    a, b = torch.broadcast_tensors(x, torch.zeros(2, 1))
    assert b.shape == (2, 3) and a.shape == (2, 3)


@pytest.mark.parametrize("make", [
    lambda b: b.view(6), lambda b: b.reshape(3, 2), lambda b: b.t(), lambda b: b.permute(1, 0),
    lambda b: b.unsqueeze(0), lambda b: b.unsqueeze(0).squeeze(0), lambda b: b.flatten(),
    lambda b: b.movedim(1, 0), lambda b: b.unflatten(1, (1, 3)), lambda b: b.expand(1, 2, 3),
])
def test_views_share_storage_and_version(make):
    base = torch.zeros(2, 3)
    v = make(base)
    base.add_(2)
    assert float(v.sum()) == 12.0
    v.mul_(3)
    assert base.tolist() == [[6.0] * 3] * 2
    assert v._version == base._version == 2
    assert v._base is base


def test_view_of_view_has_root_base():
    base = torch.zeros(2, 3)
    v = base.t().unsqueeze(0)
    assert v._base is base


def test_reshape_copy_does_not_share():
    base = torch.zeros(2, 3)
    r = base.t().reshape(6)
    r.add_(1)
    assert base.tolist() == [[0.0] * 3] * 2 and r._base is None


def test_inplace_through_view_gradient():
    x = rand(2, 3)
    y = x * 1
    y.view(-1).mul_(2)
    y.sum().backward()
    assert_close(x.grad, np.full((2, 3), 2.0))
    x.grad = None
    y = x * 1
    y.t().mul_(3)
    (y * 2).sum().backward()
    assert_close(x.grad, np.full((2, 3), 6.0))


def test_view_regenerated_after_base_written():
    x = rand(1, 3)
    y = x * 1
    e = y.expand(4, 3)
    y.mul_(2)
    e.sum().backward()
    assert_close(x.grad, np.full((1, 3), 8.0))


def test_grad_fn_names():
    x = rand(2, 3)
    assert x.view(6).grad_fn.name() == "ViewBackward0"
    assert x.t().reshape(6).grad_fn.name() == "UnsafeViewBackward0"
    assert x.squeeze().grad_fn.name() == "SqueezeBackward0"
    assert x.squeeze(0).grad_fn.name() == "SqueezeBackward1"
    assert x.squeeze((0,)).grad_fn.name() == "SqueezeBackward2"
    assert x.unsqueeze(0).grad_fn.name() == "UnsqueezeBackward0"
    assert x.permute(1, 0).grad_fn.name() == "PermuteBackward0"
    assert x.transpose(0, 1).grad_fn.name() == "TransposeBackward0"
    assert x.t().grad_fn.name() == "TBackward0"
    assert x.expand(2, 2, 3).grad_fn.name() == "ExpandBackward0"


def test_metadata_inplace():
    z = torch.zeros(2, 1)
    assert z.squeeze_() is z and z.shape == (2,)
    z.unsqueeze_(0).t_()
    assert z.shape == (2, 1)
    x = rand(2, 3)
    y = x * 1
    y.transpose_(0, 1)
    assert y.shape == (3, 2)
    (y * torch.arange(6.).view(3, 2).double()).sum().backward()
    assert_close(x.grad, [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        rand(3).unsqueeze_(0)


def test_expand_read_only():
    e = torch.zeros(1, 3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1)


ERRORS = [
    (lambda: torch.zeros(2, 3).t().view(-1), RuntimeError, "view size is not compatible"),
    (lambda: torch.zeros(2, 3).view(4, 2), RuntimeError, r"shape '\[4, 2\]' is invalid for input "
                                                        "of size 6"),
    (lambda: torch.zeros(2, 3).view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda: torch.zeros(2, 3).view(-2, 3), RuntimeError, "invalid shape dimension -2"),
    (lambda: torch.zeros(0, 3).reshape(-1, 0), RuntimeError, "can be any value and is ambiguous"),
    (lambda: torch.zeros(2, 3).view(2.0, 3), TypeError, "tuple of ints"),
    (lambda: torch.zeros(2, 3).flatten(1, 0), RuntimeError, "start_dim cannot come after"),
    (lambda: torch.zeros(2, 3).unflatten(1, (2, 2)), RuntimeError,
     r"Provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\)"),
    (lambda: torch.zeros(2, 3).unflatten(1, ()), RuntimeError, "sizes must be non-empty"),
    (lambda: torch.zeros(2, 3).squeeze(2), IndexError, "Dimension out of range"),
    (lambda: torch.zeros(2, 3).squeeze((0, -2)), RuntimeError, "dim 0 appears multiple times"),
    (lambda: torch.zeros(2, 3).unsqueeze(3), IndexError, r"range of \[-3, 2\], but got 3"),
    (lambda: torch.zeros(2, 3).permute(0), RuntimeError, "input.dim\\(\\) = 2 is not equal to "
                                                        "len\\(dims\\) = 1"),
    (lambda: torch.zeros(2, 3).permute(1, 1), RuntimeError, "duplicate dims"),
    (lambda: torch.zeros(2, 3, 4).t(), RuntimeError, "expects a tensor with <= 2 dimensions, but "
                                                     "self is 3D"),
    (lambda: torch.zeros(3).adjoint(), RuntimeError, "Got 1-D tensor"),
    (lambda: torch.zeros(2, 3).movedim((0, 1), (1,)), RuntimeError, "same number of dims"),
    (lambda: torch.zeros(2, 3).movedim((0, -2), (0, 1)), RuntimeError,
     r"repeated dim in `source` \(\[0, -2\]\)"),
    (lambda: torch.zeros(2, 3).expand(2, 4), RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton "
     r"dimension 1.  Target sizes: \[2, 4\].  Tensor sizes: \[2, 3\]"),
    (lambda: torch.zeros(2, 3).expand(3), RuntimeError,
     r"expand\(torch.FloatTensor\{\[2, 3\]\}, size=\[3\]\): the number of sizes provided \(1\)"),
    (lambda: torch.zeros(2, 3).expand(-1, 2, 3), RuntimeError, "leading, non-existing dimension"),
    (lambda: torch.broadcast_tensors(torch.zeros(2, 3), torch.zeros(4)), RuntimeError,
     r"size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension "
     "1"),
    (lambda: torch.broadcast_shapes((2, 3), (4,)), RuntimeError,
     r"dimension of length 4 at -1! Mismatching argument at index 1 had \(4,\)"),
    (lambda: torch.broadcast_shapes((-1,),), ValueError, "negative length"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS)
def test_errors(fn, cls, match):
    with pytest.raises(cls, match=match):
        fn()
