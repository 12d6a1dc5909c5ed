"""In-place semantics: version counters, saved-tensor checks, leaf rules, writes through views,
and the autograd meaning of zero_/fill_/copy_/setitem."""

from __future__ import annotations

import numpy as np
import pytest

import dist_torch as dt
from tests.helpers import assert_close, gradcheck, rand

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_LEAF_ERROR = ("a view of a leaf Variable that requires grad is being used in an in-place "
                   "operation.")
OVERLAP_ERROR = ("unsupported operation: more than one element of the written-to tensor refers "
                 "to a single memory location")

BOOL_MASK = dt.tensor([True, False, True])

# Each in-place op of this task, as fn(tensor of shape [3]).
INPLACE_OPS = {
    "setitem": lambda t: t.__setitem__(0, 1.0),
    "setitem_adv": lambda t: t.__setitem__([0, 2], 1.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(2.0),
    "copy_": lambda t: t.copy_(dt.ones(3, dtype=t.dtype)),
    "masked_fill_": lambda t: t.masked_fill_(BOOL_MASK, 3.0),
    "masked_scatter_": lambda t: t.masked_scatter_(BOOL_MASK, dt.ones(3, dtype=t.dtype)),
    "index_fill_": lambda t: t.index_fill_(0, dt.tensor([1]), 3.0),
    "index_add_": lambda t: t.index_add_(0, dt.tensor([1]), dt.ones(1, dtype=t.dtype)),
    "index_copy_": lambda t: t.index_copy_(0, dt.tensor([1]), dt.ones(1, dtype=t.dtype)),
    "scatter_": lambda t: t.scatter_(0, dt.tensor([2]), 5.0),
    "scatter_add_": lambda t: t.scatter_add_(0, dt.tensor([2]), dt.ones(1, dtype=t.dtype)),
    "scatter_reduce_": lambda t: t.scatter_reduce_(0, dt.tensor([2]), dt.ones(1, dtype=t.dtype),
                                                   "amax"),
    "put_": lambda t: t.put_(dt.tensor([1]), dt.ones(1, dtype=t.dtype)),
    "index_put_": lambda t: t.index_put_((dt.tensor([1]),), dt.ones(1, dtype=t.dtype)),
}


# --------------------------------------------------------------------------- versions

@pytest.mark.parametrize("name", sorted(INPLACE_OPS))
def test_every_inplace_op_bumps_the_shared_version(name):
    x = dt.zeros(3)
    view = x[1:]
    alias = x.detach()
    INPLACE_OPS[name](x)
    assert x._version == 1 and view._version == 1 and alias._version == 1


def test_version_counter_shared_with_views_and_detach():
    x = dt.zeros(4)
    v = x[1:3]
    d = x.detach()
    assert x._version == 0
    v.mul_(2)
    d.add_(1)
    v[0] = 5.0
    assert x._version == v._version == d._version == 3
    x.data.add_(1)  # .data is not tracked
    assert x._version == 3
    assert_close(x, [2.0, 6.0, 2.0, 2.0])


def test_inplace_ops_return_self():
    x = dt.zeros(3)
    for name, fn in INPLACE_OPS.items():
        if name.startswith("setitem"):
            continue
        assert fn(x) is x, name


# --------------------------------------------------------------------------- saved tensors

def test_modified_saved_output_raises_on_backward():
    x = rand(3)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    assert str(info.value).startswith(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [torch.DoubleTensor [3]], which is output 0 of Exp, is at version 1; "
        "expected version 0 instead.")


@pytest.mark.parametrize("modify, producer", [
    (lambda y: y.add_(1), "Add"),
    (lambda y: y.__setitem__(0, 2.0), "torch::autograd::CopySlices"),
    (lambda y: y.zero_(), "Zero"),
    (lambda y: y.masked_fill_(BOOL_MASK, 0.0), "MaskedFill"),
])
def test_modified_saved_input_names_its_current_producer(modify, producer):
    x = rand(3)
    y = x * 1
    z = y * y
    modify(y)
    with pytest.raises(RuntimeError, match=rf"\[torch.DoubleTensor \[3\]\], which is output 0 "
                                           rf"of {producer}, is at version 1; expected version "
                                           r"0 instead"):
        z.sum().backward()


def test_modified_view_of_saved_tensor_raises():
    x = rand(3)
    y = x * 1
    v = y[1:]
    z = v * v
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"output 0 of AsStrided, is at version 1"):
        z.sum().backward()


def test_unsaved_tensor_may_be_modified():
    x = rand(3)
    y = x + 1
    y.add_(1)
    y.sum().backward()
    assert_close(x.grad, np.ones(3))


def test_data_writes_are_not_tracked():
    x = rand(3)
    y = x * x
    x.data.add_(1)  # torch does not notice; backward uses the new values
    y.sum().backward()
    assert_close(x.grad, 2 * x.detach().numpy())


# --------------------------------------------------------------------------- leaves

@pytest.mark.parametrize("name", sorted(set(INPLACE_OPS) - {"setitem"}))
def test_inplace_on_leaf_requiring_grad_raises(name):
    x = dt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        INPLACE_OPS[name](x)
    assert x._version == 0


def test_setitem_with_basic_key_on_leaf_names_the_view():
    x = dt.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=VIEW_LEAF_ERROR):
        x[0] = 1.0


@pytest.mark.parametrize("name", ["zero_", "fill_", "copy_", "masked_fill_", "index_add_"])
def test_inplace_on_view_of_leaf_raises(name):
    x = dt.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=VIEW_LEAF_ERROR):
        INPLACE_OPS[name](x[0])


@pytest.mark.parametrize("name", sorted(INPLACE_OPS))
def test_inplace_on_leaf_allowed_under_no_grad(name):
    x = dt.zeros(3, requires_grad=True)
    with dt.no_grad():
        INPLACE_OPS[name](x)
        x[1:].fill_(7.0)
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert x._version == 2
    assert x[2].item() == 7.0


def test_expanded_tensor_write_raises():
    e = dt.ones(3).expand(3, 3)
    with pytest.raises(RuntimeError, match=OVERLAP_ERROR):
        e.copy_(dt.zeros(3, 3))
    with pytest.raises(RuntimeError, match=OVERLAP_ERROR):
        e.masked_fill_(dt.ones(3, 3, dtype=dt.bool), 0.0)
    with pytest.raises(RuntimeError, match=OVERLAP_ERROR):
        e[:, 0] = 2.0


# --------------------------------------------------------------------------- zero_/fill_/copy_

def test_zero_gives_zero_gradient_not_none():
    x = rand(3)
    y = x * 2
    y.zero_()
    assert y.requires_grad and y.grad_fn.name() == "ZeroBackward0"
    y.sum().backward()
    assert x.grad is not None
    assert_close(x.grad, np.zeros(3))


def test_fill_number_and_tensor():
    x = rand(3)
    w = dt.tensor(2.0, dtype=dt.float64, requires_grad=True)
    y = x * 2
    y.fill_(w)
    assert y.grad_fn.name() == "FillBackward3"
    assert_close(y, [2.0, 2.0, 2.0])
    (y * dt.tensor([1.0, 2.0, 3.0], dtype=dt.float64)).sum().backward()
    assert_close(x.grad, np.zeros(3))
    assert w.grad.item() == 6.0
    z = rand(2) * 1
    z.fill_(3)
    assert z.grad_fn.name() == "FillBackward2"
    i = dt.zeros(3, dtype=dt.int64)
    i.fill_(2.7)
    assert_close(i, np.array([2, 2, 2]))
    with pytest.raises(RuntimeError, match="fill_ only supports 0-dimension value tensor but "
                                           "got tensor with 1 dimensions."):
        i.fill_(dt.ones(2))


def test_copy_routes_gradient_to_source_only():
    x = rand(2, 3)
    z = rand(3, seed=1)
    y = x * 2
    assert y.copy_(z) is y
    assert y.grad_fn.name() == "CopyBackwards"
    assert_close(y, np.broadcast_to(z.detach().numpy(), (2, 3)))
    y.sum().backward()
    assert_close(x.grad, np.zeros((2, 3)))
    assert_close(z.grad, [2.0, 2.0, 2.0])


def test_copy_casts_and_keeps_source_dtype_for_gradient():
    y = dt.zeros(3, dtype=dt.float64)
    z = dt.tensor([1.5, 2.5, 3.5], requires_grad=True)  # float32
    y.copy_(z)
    assert y.dtype == dt.float64 and y.requires_grad
    y.sum().backward()
    assert z.grad.dtype == dt.float32
    i = dt.zeros(3, dtype=dt.int64)
    i.copy_(dt.tensor([1.7, -2.7, 3.0]))
    assert_close(i, np.array([1, -2, 3]))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the "
                                           r"broadcast shape \[1, 3\]"):
        dt.zeros(3).copy_(dt.ones(1, 3))
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        dt.zeros(3).copy_(dt.ones(2))


def test_copy_gradcheck():
    def f(x, z):
        y = x * 1
        y[1:].copy_(z)
        return y

    gradcheck(f, rand(3, 2), rand(2, seed=1))


# --------------------------------------------------------------------------- through views

def test_inplace_through_slice_view_updates_base_and_gradient():
    x = rand(2, 3)
    y = x * 1
    v = y[:, 1:]
    v.mul_(2)
    assert_close(y, x.detach().numpy() * np.array([1.0, 2.0, 2.0]))
    assert y.grad_fn.name() == "CopySlices"
    assert v.grad_fn.name() == "AsStridedBackward0"
    y.sum().backward()
    assert_close(x.grad, np.tile([1.0, 2.0, 2.0], (2, 1)))


def test_view_created_before_inplace_on_base_sees_new_history():
    x = rand(3)
    y = x * 1
    v = y[1:]
    y.mul_(3)
    assert_close(v, 3 * x.detach().numpy()[1:])
    v.sum().backward()
    assert_close(x.grad, [0.0, 3.0, 3.0])


def test_two_overlapping_writes():
    x = rand(4)
    a = rand(2, seed=1)
    b = rand(2, seed=2)
    y = x * 1
    y[0:2] = a
    y[1:3] = b
    y.sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0, 1.0])
    assert_close(a.grad, [1.0, 0.0])
    assert_close(b.grad, [1.0, 1.0])


def test_setitem_value_requiring_grad_into_plain_tensor():
    w = rand(2)
    y = dt.zeros(3, dtype=dt.float64)
    y[1:] = w * 3
    assert y.requires_grad and y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    assert_close(w.grad, [3.0, 3.0])


def test_setitem_through_view_of_plain_base():
    w = rand(seed=1)
    base = dt.zeros(2, 3, dtype=dt.float64)
    row = base[1]
    row[2] = w
    assert base.requires_grad and row.requires_grad
    assert base[1, 2].item() == w.item()
    base.sum().backward()
    assert w.grad.item() == 1.0


def test_setitem_on_view_chain_gradcheck():
    def f(x, v):
        y = x * 1
        col = y[:, 1]
        col[[0, 2]] = v
        return y * y

    gradcheck(f, rand(3, 3), rand(2, seed=1))


@pytest.mark.parametrize("write", [lambda y: y.__setitem__(0, 5.0), lambda y: y.add_(1),
                                   lambda y: y[1:].mul_(2)])
def test_retain_grad_follows_inplace_write(write):
    x = rand(3)
    y = x * 2
    y.retain_grad()
    write(y)
    (y * dt.tensor([1.0, 2.0, 3.0], dtype=dt.float64)).sum().backward()
    assert_close(y.grad, [1.0, 2.0, 3.0])


def test_setitem_int_target_with_grad_value_stays_plain():
    y = dt.zeros(3, dtype=dt.int64)
    y[0] = rand(seed=1) * 10
    assert not y.requires_grad and y.grad_fn is None and y._version == 1


@pytest.mark.parametrize("fn", [
    lambda x: x.__setitem__(slice(1, None), x[:-1]),
    lambda x: x[1:].copy_(x[:-1]),
    lambda x: x.__setitem__([0, 1], x[3:5]),
    lambda x: x.index_copy_(0, dt.tensor([0, 1]), x[3:5]),
])
def test_partially_overlapping_source_raises(fn):
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the "
                                           "written-to tensor refer to a single memory location"):
        fn(dt.arange(5.0))


def test_exact_alias_source_is_fine():
    x = dt.arange(5.0)
    x.copy_(x)
    x[:] = x
    x[0] = x[4]
    assert_close(x, [4.0, 1.0, 2.0, 3.0, 4.0])


def test_fill_and_zero_gradcheck():
    def f(x, v):
        y = x * 1
        y[0].fill_(v)
        y[1].zero_()
        y[2, 1:].masked_fill_(dt.tensor([True, False]), v)
        return y * x

    gradcheck(f, rand(3, 3), rand(seed=1))
