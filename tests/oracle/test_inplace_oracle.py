"""In-place chains against torch: gradients through setitem, views and in-place ops, version
counters, and the errors torch raises for unsafe in-place writes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check
from tests.oracle.test_indexing_oracle import same_error


def data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def w(lib, *values):
    return lib.tensor(list(values), dtype=lib.float64)


def _setitem_non_leaf(lib, x, v):
    y = x * 1
    y[0] = 2.0
    y[1, [0, 2]] = v[:2]
    return y * y


def _slice_view_mul(lib, x, v):
    y = x * 1
    y[:, 1:].mul_(2)
    return y


def _value_requires_grad(lib, x, v):
    y = x * 1
    y[1, :2] = v[:2] * 3
    return y.exp()


def _overlapping_writes(lib, x, v):
    y = x * 1
    y[0:2] = v[0]
    y[1:3, 1] = v[1:] * v[0]
    return y


def _view_before_base_write(lib, x, v):
    y = x * 1
    row = y[1]
    col = y[:, 2]
    y.mul_(v[0])
    y[0, 0] = v[1]
    return row * 2, col.sum(), y


def _write_through_view_of_view(lib, x, v):
    y = x * 1
    inner = y[1:][:, 1:]
    inner[0, 0] = v[0]
    inner[1].add_(v[1])
    return y


def _zero_fill_copy(lib, x, v):
    y = x * 1
    y[0].zero_()
    y[1].fill_(v[0])
    y[2].copy_(v)
    return y


def _copy_broadcast_and_cast(lib, x, v):
    y = lib.zeros(4, 3, dtype=lib.float32)
    y.copy_(x[0])
    return y.double() * v


def _masked_and_index_inplace(lib, x, v):
    y = x * 1
    y.masked_fill_(lib.tensor([True, False, True]), v[0])
    y.index_add_(0, lib.tensor([3, 3]), v[:2].reshape(2, 1).expand(2, 3))
    y[:, 0].index_fill_(0, lib.tensor([1]), 0.5)
    return y


def _setitem_then_read_views(lib, x, v):
    y = x.exp()
    z = y * 1
    z[z > 1.0] = v[0]
    return z.sum(1)


def _inplace_after_detach_shares_values(lib, x, v):
    y = x * 1
    d = y.detach()
    d[0] = 5.0  # not recorded, but y sees the new values
    return y * v[0]


def _data_changes_not_tracked(lib, x, v):
    y = x * v[0]
    x.data[0] = 3.0  # x is saved by the product; torch does not notice
    return y


def _augmented_assignment(lib, x, v):
    y = x * 1
    y[0] += v[0]
    y[:, 1] *= v[1]
    y[[0, 0, 2]] += 1.0  # reads a copy, writes it back: no accumulation, as in torch
    y[y > 0.5] -= v[2]
    return y


CHAINS = [_augmented_assignment, _setitem_non_leaf, _slice_view_mul, _value_requires_grad,
          _overlapping_writes, _view_before_base_write, _write_through_view_of_view,
          _zero_fill_copy, _copy_broadcast_and_cast, _masked_and_index_inplace,
          _setitem_then_read_views, _inplace_after_detach_shares_values,
          _data_changes_not_tracked]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda f: f.__name__)
def test_chain_gradients(chain):
    check(chain, data(4, 3), data(3, seed=1))


@pytest.mark.parametrize("chain", CHAINS, ids=lambda f: f.__name__)
def test_chain_grad_fn_names(chain):
    outs = []
    for lib in (dt, torch):
        x = lib.tensor(data(4, 3), requires_grad=True)
        out = chain(lib, x, lib.tensor(data(3, seed=1), requires_grad=True))
        out = out if isinstance(out, tuple) else (out,)
        outs.append([o.grad_fn for o in out])
    for ours, theirs in zip(*outs):
        assert ours.name() == type(theirs).__name__


def _version_trace(lib):
    x = lib.zeros(3, 4)
    v = x[1:]
    d = x.detach()
    ops = (lambda: x.add_(1), lambda: v.mul_(2), lambda: x.__setitem__(0, 1.0),
           lambda: d.zero_(), lambda: x.masked_fill_(x > 0, 2.0), lambda: x.data.add_(1),
           lambda: v[0].fill_(3.0), lambda: x.index_add_(0, lib.tensor([0]), lib.ones(1, 4)))
    trace = []
    for op in ops:
        op()
        trace.append((x._version, v._version, d._version))
    return trace


def test_versions_match_torch():
    assert _version_trace(dt) == _version_trace(torch)


def test_retain_grad_after_inplace():
    grads = []
    for lib in (dt, torch):
        x = lib.tensor(data(3), requires_grad=True)
        y = x * 2
        y.retain_grad()
        y[0] = 1.0
        y.mul_(3)
        (y * w(lib, 1.0, 2.0, 3.0)).sum().backward()
        grads.append((np.asarray(y.grad), np.asarray(x.grad)))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])


def _saved_output_modified(lib):
    y = lib.tensor(data(3), requires_grad=True).exp()
    y.add_(1)
    y.sum().backward()


def _saved_input_modified(lib):
    y = lib.tensor(data(3), requires_grad=True) * 1
    z = y * y
    y[0] = 2.0
    z.sum().backward()


def _saved_view_modified(lib):
    y = lib.tensor(data(3), requires_grad=True) * 1
    v = y[1:]
    z = v * v
    y.mul_(2)
    z.sum().backward()


def _saved_leaf_modified_under_no_grad(lib):
    x = lib.tensor(data(3), requires_grad=True)
    z = x * x
    with lib.no_grad():
        x.zero_()
    z.sum().backward()


def _saved_modified_through_detach(lib):
    y = lib.tensor(data(3), requires_grad=True).sin()
    z = y.cos()
    y.detach().masked_fill_(lib.tensor([True, False, True]), 0.0)
    z.sum().backward()


@pytest.mark.parametrize("fn", [
    _saved_output_modified, _saved_input_modified, _saved_view_modified,
    _saved_leaf_modified_under_no_grad, _saved_modified_through_detach,
    lambda lib: lib.zeros(3, requires_grad=True).add_(1),
    lambda lib: lib.zeros(3, requires_grad=True).zero_(),
    lambda lib: lib.zeros(3, requires_grad=True).copy_(lib.ones(3)),
    lambda lib: lib.zeros(3, requires_grad=True).fill_(1.0),
    lambda lib: lib.zeros(2, 3, requires_grad=True)[0].zero_(),
    lambda lib: lib.zeros(2, 3, requires_grad=True)[:, 1].mul_(2),
    lambda lib: lib.zeros(3, requires_grad=True).__setitem__([0], 1.0),
    lambda lib: lib.zeros(3, requires_grad=True).__setitem__(0, 1.0),
    lambda lib: lib.ones(3).expand(3, 3).add_(1),
    lambda lib: lib.ones(3).expand(3, 3).copy_(lib.zeros(3, 3)),
    lambda lib: lib.ones(3).expand(3, 3).__setitem__((slice(None), 0), 2.0),
    lambda lib: lib.zeros(3).copy_(lib.ones(2)),
    lambda lib: lib.zeros(3).copy_(lib.ones(1, 3)),
    lambda lib: lib.zeros(3).fill_(lib.ones(2)),
], ids=range(19))
def test_inplace_errors(fn):
    same_error(fn)


def _arange(lib):
    return lib.arange(5.0)


@pytest.mark.parametrize("fn, raises", [
    (lambda x: x.__setitem__(slice(1, None), x[:-1]), True),
    (lambda x: x[1:].copy_(x[:-1]), True),
    (lambda x: x.__setitem__([0, 1], x[3:5]), True),
    (lambda x: x.__setitem__([0, 1], x[0:2]), True),
    (lambda x: x.index_copy_(0, x.new_tensor([0, 1]).long(), x[3:5]), True),
    (lambda x: x.scatter_(0, x.new_tensor([0, 1]).long(), x[1:3]), True),
    (lambda x: x.index_add_(0, x.new_tensor([0, 1]).long(), x[1:3]), True),
    (lambda x: x.put_(x.new_tensor([0, 1]).long(), x[1:3]), True),
    (lambda x: x.copy_(x), False),
    (lambda x: x.__setitem__(slice(None), x), False),
    (lambda x: x[:2].copy_(x[3:]), False),
    (lambda x: x.__setitem__(0, x[1]), False),
    (lambda x: x.masked_fill_(x > 2, x[0]), False),
    (lambda x: x.masked_scatter_(x > 2, x), False),
], ids=range(14))
def test_overlapping_source_and_target(fn, raises):
    if raises:
        same_error(lambda lib: fn(_arange(lib)))
        return
    ours, theirs = _arange(dt), _arange(torch)
    fn(ours)
    fn(theirs)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    assert ours._version == theirs._version


def test_no_grad_writes_keep_leaf_and_values():
    results = []
    for lib in (dt, torch):
        x = lib.tensor(data(3), requires_grad=True)
        with lib.no_grad():
            x[0] = 1.0
            x.mul_(2)
            x[1:].zero_()
        (x * x).sum().backward()
        results.append((x.is_leaf, x.requires_grad, np.asarray(x.detach()), np.asarray(x.grad)))
    assert results[0][:2] == results[1][:2]
    np.testing.assert_allclose(results[0][2], results[1][2])
    np.testing.assert_allclose(results[0][3], results[1][3])
