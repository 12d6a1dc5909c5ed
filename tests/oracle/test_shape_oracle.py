"""Shape views (view/reshape/flatten/squeeze/permute/transpose/movedim/expand/broadcast)
compared with torch: values, gradients, grad_fn names, strides, view semantics and errors."""

import numpy as np
import pytest
import torch

import dist_torch as dt
from tests.oracle.compare import check


def arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def both(fn, *arrays, grad=True):
    """``fn(lib, *tensors)`` for dist_torch and torch (float arrays become leaves)."""
    out = []
    for lib in (dt, torch):
        tensors = [lib.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
        out.append(fn(lib, *tensors))
    return out


def same_error(fn, *arrays, exact=True):
    """Both libraries raise the same exception class (and, if ``exact``, the same message)."""
    errors = []
    for lib in (dt, torch):
        tensors = [lib.tensor(a) for a in arrays]
        with pytest.raises(Exception) as info:
            fn(lib, *tensors)
        errors.append(info.value)
    ours, theirs = errors
    assert type(ours).__name__ == type(theirs).__name__, (ours, theirs)
    if exact:
        assert str(ours).splitlines()[0] == str(theirs).splitlines()[0]


X = arr(2, 3, 4)

FORWARD_BACKWARD = {
    "view": (lambda lib, x: x.view(6, 4), X),
    "view_tuple": (lambda lib, x: x.view((4, -1)), X),
    "view_size": (lambda lib, x: x.view(lib.Size([2, 12])), X),
    "view_minus1": (lambda lib, x: x.view(-1), X),
    "view_0d": (lambda lib, x: x.view(1, 1), arr()),
    "view_0d_flat": (lambda lib, x: x.view(-1), arr()),
    "view_as": (lambda lib, x: x.view_as(lib.zeros(4, 6)), X),
    "view_noncontig_ok": (lambda lib, x: x.transpose(0, 1).view(3, 2, 2, 2), X),
    "reshape": (lambda lib, x: lib.reshape(x, (3, -1)), X),
    "reshape_method": (lambda lib, x: x.reshape(-1, 2), X),
    "reshape_copy": (lambda lib, x: x.transpose(0, 2).reshape(-1), X),
    "reshape_shape_kw": (lambda lib, x: lib.reshape(x, shape=(24,)), X),
    "reshape_as": (lambda lib, x: x.reshape_as(lib.zeros(4, 6)), X),
    "reshape_0d": (lambda lib, x: x.reshape(()), arr(1)),
    "flatten": (lambda lib, x: lib.flatten(x), X),
    "flatten_start": (lambda lib, x: x.flatten(1), X),
    "flatten_neg": (lambda lib, x: x.flatten(-3, -2), X),
    "flatten_noncontig": (lambda lib, x: x.transpose(0, 2).flatten(1), X),
    "flatten_0d": (lambda lib, x: x.flatten(), arr()),
    "ravel": (lambda lib, x: x.permute(1, 0, 2).ravel(), X),
    "unflatten": (lambda lib, x: x.unflatten(2, (2, 2)), X),
    "unflatten_neg": (lambda lib, x: lib.unflatten(x, -1, (-1, 1, 2)), X),
    "squeeze_all": (lambda lib, x: x.squeeze(), arr(1, 3, 1, 2)),
    "squeeze_dim": (lambda lib, x: x.squeeze(-2), arr(1, 3, 1, 2)),
    "squeeze_noop": (lambda lib, x: lib.squeeze(x, 1), arr(1, 3, 1, 2)),
    "squeeze_tuple": (lambda lib, x: x.squeeze((0, 1, 2)), arr(1, 3, 1, 2)),
    "squeeze_0d": (lambda lib, x: x.squeeze(0), arr()),
    "unsqueeze": (lambda lib, x: x.unsqueeze(1), X),
    "unsqueeze_end": (lambda lib, x: lib.unsqueeze(x, -1), X),
    "unsqueeze_0d": (lambda lib, x: x.unsqueeze(0), arr()),
    "permute": (lambda lib, x: x.permute(2, 0, 1), X),
    "permute_tuple": (lambda lib, x: lib.permute(x, (-1, 0, -2)), X),
    "permute_list": (lambda lib, x: x.permute([1, 2, 0]), X),
    "transpose": (lambda lib, x: x.transpose(0, 2), X),
    "transpose_neg": (lambda lib, x: lib.transpose(x, -1, -2), X),
    "swapaxes": (lambda lib, x: lib.swapaxes(x, 0, 1), X),
    "swapdims": (lambda lib, x: x.swapdims(1, -1), X),
    "t": (lambda lib, x: x.t(), arr(2, 3)),
    "t_1d": (lambda lib, x: lib.t(x), arr(3)),
    "T": (lambda lib, x: x.T, arr(2, 3)),
    "mT": (lambda lib, x: x.mT, X),
    "adjoint": (lambda lib, x: x.adjoint(), X),
    "movedim": (lambda lib, x: lib.movedim(x, 0, -1), X),
    "movedim_tuple": (lambda lib, x: x.movedim((0, 1), (2, 0)), X),
    "moveaxis": (lambda lib, x: lib.moveaxis(x, -1, 0), X),
    "expand": (lambda lib, x: x.expand(2, 3, 4), arr(3, 1)),
    "expand_keep": (lambda lib, x: x.expand(-1, 5), arr(3, 1)),
    "expand_tuple": (lambda lib, x: x.expand((2, -1, 4)), arr(3, 1)),
    "expand_0d": (lambda lib, x: x.expand(2, 2), arr()),
    "expand_as": (lambda lib, x: x.expand_as(lib.zeros(2, 3, 4)), arr(1, 4)),
    "broadcast_to": (lambda lib, x: lib.broadcast_to(x, (2, 3, 4)), arr(4)),
    "broadcast_tensors": (lambda lib, x, y: lib.broadcast_tensors(x, y), arr(3, 1), arr(4)),
    "atleast_1d": (lambda lib, x: lib.atleast_1d(x), arr()),
    "atleast_2d": (lambda lib, x, y: lib.atleast_2d(x, y), arr(3), arr(2, 3)),
    "atleast_3d": (lambda lib, x, y, z: lib.atleast_3d([x, y, z]), arr(), arr(3), arr(2, 3)),
    "chain": (lambda lib, x: x.permute(1, 0, 2).unsqueeze(0).expand(2, 3, 2, 4).flatten(0, 1),
              X),
}


@pytest.mark.parametrize("name", list(FORWARD_BACKWARD))
def test_forward_backward(name):
    fn, *arrays = FORWARD_BACKWARD[name]
    check(fn, *arrays)


@pytest.mark.parametrize("name", list(FORWARD_BACKWARD))
def test_grad_fn_names_and_layout(name):
    fn, *arrays = FORWARD_BACKWARD[name]
    ours, theirs = both(fn, *arrays)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for o, t in zip(ours, theirs):
        assert (o.grad_fn is None) == (t.grad_fn is None)
        if t.grad_fn is not None:
            assert o.grad_fn.name() == t.grad_fn.name()
        assert o.is_contiguous() == t.is_contiguous()
        assert o.stride() == t.stride() or 0 in t.shape


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32"])
def test_dtypes_kept(dtype):
    a = (arr(2, 3) > 0).astype(dtype)
    for fn in (lambda lib, x: x.view(3, 2), lambda lib, x: x.t(), lambda lib, x: x[None].expand(
            2, 2, 3), lambda lib, x: x.reshape(-1)):
        check(fn, a)


# ------------------------------------------------------------------ view semantics

VIEWS = {
    "view": lambda lib, b: b.view(6),
    "reshape": lambda lib, b: b.reshape(3, 2),
    "flatten": lambda lib, b: b.flatten(),
    "unflatten": lambda lib, b: b.unflatten(1, (3, 1)),
    "squeeze": lambda lib, b: b.unsqueeze(0).squeeze(),
    "unsqueeze": lambda lib, b: b.unsqueeze(1),
    "permute": lambda lib, b: b.permute(1, 0),
    "transpose": lambda lib, b: b.transpose(0, 1),
    "t": lambda lib, b: b.t(),
    "movedim": lambda lib, b: b.movedim(0, 1),
    "expand_noop": lambda lib, b: b.expand(1, 2, 3),
    "view_of_view": lambda lib, b: b.t().unsqueeze(0).view(3, 2),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_storage(name):
    """Writing the base changes the view and vice versa, in both libraries alike."""
    results = []
    for lib in (dt, torch):
        base = lib.arange(6.).view(2, 3)
        v = VIEWS[name](lib, base)
        base.mul_(2)
        seen = v.tolist()
        v.add_(1)
        results.append((seen, base.tolist(), v._version, base._version, v._is_view()
                        if lib is torch else v._base is not None))
    assert results[0] == results[1]


def test_reshape_copy_is_not_a_view():
    for lib in (dt, torch):
        base = lib.arange(6.).view(2, 3)
        r = base.t().reshape(-1)
        r.add_(1)
        assert base.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        assert r.is_contiguous()


INPLACE_GRAPHS = {
    "view_mul": lambda lib, x: _through(x, lambda y: y.view(-1).mul_(2)),
    "t_mul": lambda lib, x: _through(x, lambda y: y.t().mul_(3)),
    "permute_add": lambda lib, x: _through(x, lambda y: y.permute(1, 0).add_(y.t() * 2)),
    "unsqueeze_chain": lambda lib, x: _through(
        x, lambda y: y.unsqueeze(0).view(6).add_(x.view(6) ** 2)),
    "base_then_view": lambda lib, x: _base_changed(x),
    "view_mul_by_input": lambda lib, x: _through(x, lambda y: y.view(-1).mul_(x.view(-1))),
    "expand_after_base": lambda lib, x: _expand_after_base(x),
    "column_major_base": lambda lib, x: _through(x.t(), lambda y: y.t().view(-1).mul_(2)),
    "column_major_base_regenerated": lambda lib, x: _column_major_regenerated(x),
}


def _through(x, write):
    y = x * 1
    write(y)
    return y * y


def _base_changed(x):
    y = x * 1
    v = y.view(-1)
    y.add_(x * x).mul_(2)
    return v * v


def _column_major_regenerated(x):
    y = x.t() * 1  # not a view, but laid out column-major: y.t().view(-1) is a valid view
    w = y.t().view(-1)
    y.mul_(3)
    return w * w


def _expand_after_base(x):
    y = x[:1] * 1
    e = y.expand(4, 3)
    y.mul_(3)
    return e * e


@pytest.mark.parametrize("name", list(INPLACE_GRAPHS))
def test_inplace_through_views_gradients(name):
    check(INPLACE_GRAPHS[name], arr(2, 3))


def test_expand_is_read_only():
    same_error(lambda lib, x: x.expand(2, 3).add_(1), arr(1, 3))
    same_error(lambda lib, x: lib.broadcast_to(x, (4, 3)).mul_(2), arr(3))


def test_expand_without_repeats_is_writable():
    for lib in (dt, torch):
        base = lib.zeros(3)
        base.expand(1, 3).add_(1)
        assert base.tolist() == [1.0, 1.0, 1.0]


def test_metadata_inplace_ops():
    def fn(lib, x):
        y = x * 2
        y.unsqueeze_(0)
        y.transpose_(0, 2)
        y.squeeze_(2)
        y.t_()
        return y
    check(fn, arr(2, 3))
    for lib in (dt, torch):
        z = lib.zeros(2, 1)
        z.squeeze_()
        z.unsqueeze_(-1).swapdims_(0, 1).swapaxes_(1, 0)
        assert tuple(z.shape) == (2, 1)


# ------------------------------------------------------------------ broadcast_shapes

@pytest.mark.parametrize("shapes", [[(2, 1), (3,)], [2, (3, 1), (1,)], [(0,), (1,)], [],
                                    [(5, 1, 4), (3, 1), (1, 1, 1, 1)]])
def test_broadcast_shapes(shapes):
    assert tuple(dt.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    assert isinstance(dt.broadcast_shapes(*shapes), dt.Size)


def test_broadcast_tensors_returns_unchanged_inputs():
    x = dt.zeros(2, 3)
    a, b = dt.broadcast_tensors(x, dt.zeros(3))
    assert a is x and b.shape == (2, 3)


# ------------------------------------------------------------------ errors

ERRORS = {
    "view_stride": (lambda lib, x: x.transpose(0, 1).view(-1), X),
    "view_size": (lambda lib, x: x.view(5, 5), X),
    "view_two_infer": (lambda lib, x: x.view(-1, -1), X),
    "view_bad_infer": (lambda lib, x: x.view(-1, 5), X),
    "view_neg": (lambda lib, x: x.view(-2, 12), X),
    "view_zero_ambiguous": (lambda lib, x: x.view(-1, 0), np.zeros((0, 3))),
    "view_zero": (lambda lib, x: x.view(-1, 0), X),
    "reshape_size": (lambda lib, x: x.reshape(5, 5), X),
    "flatten_order": (lambda lib, x: x.flatten(2, 1), X),
    "flatten_range": (lambda lib, x: x.flatten(0, 5), X),
    "unflatten_sizes": (lambda lib, x: x.unflatten(1, (2, 2)), X),
    "unflatten_empty": (lambda lib, x: x.unflatten(1, ()), X),
    "unflatten_infer": (lambda lib, x: x.unflatten(1, (2, -1)), X),
    "squeeze_range": (lambda lib, x: x.squeeze(3), X),
    "squeeze_dup": (lambda lib, x: x.squeeze((0, 0)), X),
    "unsqueeze_range": (lambda lib, x: x.unsqueeze(4), X),
    "permute_len": (lambda lib, x: x.permute(0, 1), X),
    "permute_dup": (lambda lib, x: x.permute(0, 1, 1), X),
    "permute_range": (lambda lib, x: x.permute(0, 1, 3), X),
    "transpose_range": (lambda lib, x: x.transpose(0, 3), X),
    "t_3d": (lambda lib, x: x.t(), X),
    "adjoint_1d": (lambda lib, x: x.adjoint(), arr(3)),
    "movedim_dup": (lambda lib, x: x.movedim((0, 0), (1, 2)), X),
    "movedim_len": (lambda lib, x: x.movedim((0, 1), (1,)), X),
    "movedim_dup_dst": (lambda lib, x: x.movedim((0, 1), (0, -3)), X),
    "expand_mismatch": (lambda lib, x: x.expand(2, 4), arr(2, 3)),
    "expand_few": (lambda lib, x: x.expand(3), arr(2, 3)),
    "expand_lead_minus1": (lambda lib, x: x.expand(-1, 2, 3), arr(2, 3)),
    "expand_as": (lambda lib, x: x.expand_as(lib.zeros(2, 3, 4)), arr(2, 3)),
    "broadcast_to": (lambda lib, x: lib.broadcast_to(x, (2, 4)), arr(2, 3)),
    "broadcast_tensors": (lambda lib, x: lib.broadcast_tensors(x, lib.zeros(4)), arr(2, 3)),
    "broadcast_shapes": (lambda lib: lib.broadcast_shapes((2, 3), (4,)),),
    "broadcast_shapes_lead": (lambda lib: lib.broadcast_shapes((2, 1), (3, 4, 3)),),
    "broadcast_shapes_neg": (lambda lib: lib.broadcast_shapes((2, -3), (3,)),),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors(name):
    fn, *arrays = ERRORS[name]
    same_error(fn, *arrays)


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.view(2.0, 12), lambda lib, x: x.reshape("a"),
    lambda lib, x: x.transpose(0, 1.0), lambda lib, x: x.squeeze(2.0),
])
def test_type_errors(fn):
    same_error(fn, X, exact=False)


def test_inplace_on_leaf_view_error():
    errors = []
    for lib in (dt, torch):
        x = lib.zeros(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError) as info:
            x.t().mul_(2)
        errors.append(str(info.value).splitlines()[0])
    assert errors[0] == errors[1]
