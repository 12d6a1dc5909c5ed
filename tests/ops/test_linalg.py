"""Matrix products, einsum and tensordot: values, shapes, dtypes, gradients and errors."""

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.linalg import vecdot
from dist_torch.ops import _matmul
from tests.helpers import assert_close, gradcheck, rand

A = [[1.0, 2.0], [3.0, 4.0]]
B = [[5.0, 6.0], [7.0, 8.0]]


# --------------------------------------------------------------------------- values

def test_matmul_values():
    a, b = dt.tensor(A), dt.tensor(B)
    assert_close(a @ b, dt.tensor([[19.0, 22.0], [43.0, 50.0]]))
    assert_close(dt.matmul(a, dt.tensor([1.0, -1.0])), dt.tensor([-1.0, -1.0]))
    assert_close(dt.matmul(dt.tensor([1.0, -1.0]), a), dt.tensor([-2.0, -2.0]))
    assert_close(dt.tensor([1.0, 2.0]) @ dt.tensor([3.0, 4.0]), dt.tensor(11.0))


def test_matmul_rmatmul_and_operator_fallback():
    a, b = dt.tensor(A), dt.tensor(B)
    assert_close(b.__rmatmul__(a), dt.tensor([[19.0, 22.0], [43.0, 50.0]]))
    assert a.__matmul__([[1.0]]) is NotImplemented
    with pytest.raises(TypeError, match="unsupported operand"):
        a @ [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(TypeError, match=r"matmul\(\): argument 'other' \(position 2\) must be "
                                        "Tensor, not list"):
        dt.matmul(a, [[1.0]])


@pytest.mark.parametrize("sa,sb,expected", [
    ((3,), (3,), ()), ((3,), (3, 2), (2,)), ((2, 3), (3,), (2,)), ((2, 3), (3, 4), (2, 4)),
    ((2, 3, 4), (4,), (2, 3)), ((4,), (2, 4, 3), (2, 3)), ((2, 3, 4), (4, 5), (2, 3, 5)),
    ((3, 4), (2, 4, 5), (2, 3, 5)), ((2, 3, 4), (2, 4, 5), (2, 3, 5)),
    ((2, 1, 3, 4), (5, 4, 6), (2, 5, 3, 6)), ((2, 3, 4), (1, 4, 5), (2, 3, 5)),
])
def test_matmul_shapes_and_values_match_numpy(sa, sb, expected):
    a, b = rand(*sa, requires_grad=False), rand(*sb, seed=1, requires_grad=False)
    out = dt.matmul(a, b)
    assert tuple(out.shape) == expected
    assert_close(out, np.matmul(np.asarray(a), np.asarray(b)), check_dtype=False)


def test_integer_and_half_results():
    ints = dt.tensor([[1, 2], [3, 4]])
    out = ints @ ints
    assert out.dtype == dt.int64 and out.tolist() == [[7, 10], [15, 22]]
    assert not out.requires_grad
    assert dt.dot(dt.tensor([1, 2]), dt.tensor([3, 4])).item() == 11
    half = dt.tensor(A, dtype=dt.float16)
    assert (half @ half).dtype == dt.float16
    assert (half @ half).tolist() == [[7.0, 10.0], [15.0, 22.0]]
    bf = dt.tensor(A, dtype=dt.bfloat16)
    assert (bf @ bf).dtype == dt.bfloat16
    assert dt.einsum("ij,jk->ik", bf, bf).dtype == dt.bfloat16


def test_mm_bmm_mv_dot_vdot_outer_values():
    a, b = dt.tensor(A), dt.tensor(B)
    assert dt.mm(a, b).tolist() == [[19.0, 22.0], [43.0, 50.0]]
    assert dt.bmm(a[None], b[None]).tolist() == [[[19.0, 22.0], [43.0, 50.0]]]
    assert dt.mv(a, dt.tensor([1.0, 1.0])).tolist() == [3.0, 7.0]
    assert dt.dot(dt.tensor([1.0, 2.0]), dt.tensor([3.0, 4.0])).item() == 11.0
    assert dt.vdot(dt.tensor([1.0, 2.0]), dt.tensor([3.0, 4.0])).item() == 11.0
    assert dt.outer(dt.tensor([1.0, 2.0]), dt.tensor([3.0, 4.0, 5.0])).tolist() == \
        [[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]
    assert dt.ger(dt.tensor([1, 2]), dt.tensor([3.0])).dtype == dt.float32  # promotes
    assert a.mm(b).tolist() == a.matmul(b).tolist()


def test_add_products_values():
    a, b = dt.tensor(A), dt.tensor(B)
    c = dt.tensor([1.0, -1.0])
    assert dt.addmm(c, a, b, beta=2, alpha=0.5).tolist() == [[11.5, 9.0], [23.5, 23.0]]
    assert dt.addmv(c, a, dt.tensor([1.0, 1.0]), alpha=2).tolist() == [7.0, 13.0]
    assert dt.baddbmm(c, a[None], b[None], beta=0).tolist() == [[[19.0, 22.0], [43.0, 50.0]]]
    assert dt.addbmm(c, dt.tensor([A, A]), dt.tensor([B, B])).tolist() == \
        [[39.0, 43.0], [87.0, 99.0]]
    assert dt.addr(dt.zeros(2, 2), dt.tensor([1.0, 2.0]), dt.tensor([3.0, 4.0]),
                   alpha=2).tolist() == [[6.0, 8.0], [12.0, 16.0]]


def test_addmm_beta_zero_ignores_nan_and_integers_truncate_scales():
    out = dt.addmm(dt.full((2,), float("nan")), dt.tensor(A), dt.tensor(B), beta=0)
    assert not np.isnan(np.asarray(out)).any()
    ints = dt.addmm(dt.full((2, 2), 3), dt.full((2, 2), 1), dt.full((2, 2), 1), beta=-1.5,
                    alpha=2.7)
    assert ints.dtype == dt.int64 and ints.tolist() == [[1, 1], [1, 1]]  # -1*3 + 2*2


def test_addr_bool_is_logical():
    out = dt.addr(dt.tensor([[True, False], [False, False]]), dt.tensor([False, True]),
                  dt.tensor([True, False]))
    assert out.dtype == dt.bool and out.tolist() == [[True, False], [True, False]]
    with pytest.raises(RuntimeError, match="Boolean beta only supported for Boolean results"):
        dt.addr(dt.zeros(2, 2), dt.ones(2), dt.ones(2), beta=True)
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point"):
        dt.addr(dt.zeros(2, 2, dtype=dt.int64), dt.ones(2, dtype=dt.int64),
                dt.ones(2, dtype=dt.int64), alpha=0.5)


@pytest.mark.parametrize("method,shapes", [
    ("addmm_", [(2, 2), (2, 3), (3, 2)]), ("addmv_", [(2,), (2, 3), (3,)]),
    ("baddbmm_", [(2, 2, 2), (2, 2, 3), (2, 3, 2)]), ("addbmm_", [(2, 2), (4, 2, 3), (4, 3, 2)]),
    ("addr_", [(2, 3), (2,), (3,)]),
])
def test_inplace_methods(method, shapes):
    c, x, y = (rand(*s, seed=i, requires_grad=False) for i, s in enumerate(shapes))
    expected = getattr(dt, method[:-1])(c, x, y, beta=0.5, alpha=2.0)
    version = c._version
    assert getattr(c, method)(x, y, beta=0.5, alpha=2.0) is c
    assert_close(c, expected)
    assert c._version == version + 1


def test_inplace_shape_must_match():
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        dt.zeros(2).addmm_(dt.ones(2, 3), dt.ones(3, 2))


def test_no_grad_records_nothing():
    a = rand(2, 3)
    with dt.no_grad():
        out = a @ rand(3, 2, seed=1)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("equation,shapes,expected", [
    ("ii->", [(3, 3)], lambda x: np.trace(x)), ("ii->i", [(3, 3)], lambda x: np.diag(x)),
    ("ij->ji", [(2, 3)], lambda x: x.T), ("ij->", [(2, 3)], lambda x: x.sum()),
    ("ij,jk->ik", [(2, 3), (3, 4)], lambda x, y: x @ y),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)], lambda x, y: x @ y.swapaxes(-1, -2)),
    ("...ij,...jk", [(5, 2, 3), (3, 4)], lambda x, y: x @ y),
    ("i,j->ij", [(2,), (3,)], np.outer), ("ba", [(2, 3)], lambda x: x.T),
    ("ij,k->jk", [(2, 3), (4,)], lambda x, y: np.outer(x.sum(0), y)),
])
def test_einsum_values(equation, shapes, expected):
    xs = [rand(*s, seed=i, requires_grad=False) for i, s in enumerate(shapes)]
    assert_close(dt.einsum(equation, *xs), expected(*[np.asarray(x) for x in xs]))


def test_einsum_call_forms_and_output_is_a_copy():
    x, y = rand(2, 3, requires_grad=False), rand(3, 4, seed=1, requires_grad=False)
    expected = np.asarray(x) @ np.asarray(y)
    assert_close(dt.einsum("ij,jk->ik", [x, y]), expected)
    assert_close(dt.einsum(x, [0, 1], y, [1, 2], [0, 2]), expected)
    assert_close(dt.einsum(x, [Ellipsis, 0]), np.asarray(x))
    view = dt.einsum("ij->ji", x)
    view._data[0, 0] = 100.0
    assert np.asarray(x)[0, 0] != 100.0


def test_einsum_integer_reduction_is_int64():
    ints = dt.tensor([[1, 2], [3, 4]], dtype=dt.int32)
    assert dt.einsum("ii->", ints).dtype == dt.int64
    assert dt.einsum("ii->", ints).item() == 5
    assert dt.einsum("ii->i", ints).dtype == dt.int32
    assert dt.einsum("ij,jk->ik", ints, ints).tolist() == [[7, 10], [15, 22]]


def test_tensordot_and_inner_values():
    x, y = rand(2, 3, 4, requires_grad=False), rand(4, 3, 5, seed=1, requires_grad=False)
    nx, ny = np.asarray(x), np.asarray(y)
    assert_close(dt.tensordot(x, y, dims=([1, 2], [1, 0])),
                 np.tensordot(nx, ny, axes=([1, 2], [1, 0])))
    assert_close(dt.tensordot(x, rand(4, 5, requires_grad=False), dims=1),
                 np.tensordot(nx, np.asarray(rand(4, 5, requires_grad=False)), axes=1))
    assert_close(dt.tensordot(x, y, dims=dt.tensor([[2], [0]])),
                 np.tensordot(nx, ny, axes=([2], [0])))
    assert_close(dt.inner(x, rand(5, 4, requires_grad=False)),
                 np.inner(nx, np.asarray(rand(5, 4, requires_grad=False))))
    assert_close(x.inner(dt.tensor(2.0, dtype=dt.float64)), nx * 2)


def test_vecdot_values():
    x, y = rand(2, 4, requires_grad=False), rand(3, 1, 4, seed=1, requires_grad=False)
    assert_close(vecdot(x, y), (np.asarray(x) * np.asarray(y)).sum(-1))
    assert_close(vecdot(x, y, dim=0), (np.asarray(x) * np.asarray(y)).sum(0))


def test_matmul_uses_one_product_forward_and_two_backward(monkeypatch):
    calls = []
    real = _matmul._mm

    def counting(a, b):
        calls.append((a.flags.c_contiguous or a.flags.f_contiguous,
                      b.flags.c_contiguous or b.flags.f_contiguous))
        return real(a, b)

    monkeypatch.setattr(_matmul, "_mm", counting)
    for sa, sb in [((8, 8), (8, 8)), ((2, 4, 8), (8, 3))]:
        x, w = rand(*sa), rand(*sb, seed=1)
        out = x @ w
        assert len(calls) == 1
        out.backward(dt.ones(*out.shape, dtype=dt.float64))
        assert len(calls) == 3  # grad @ w.T and x.T @ grad, on views (no copies)
        assert all(all(flags) for flags in calls)
        calls.clear()


# --------------------------------------------------------------------------- gradients

MATMUL_CASES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (4,)),
    ((4,), (2, 4, 3)), ((2, 3, 4), (4, 2)), ((3, 4), (2, 4, 2)), ((2, 3, 4), (2, 4, 2)),
    ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (2, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_CASES)
def test_matmul_gradcheck(sa, sb):
    gradcheck(dt.matmul, rand(*sa), rand(*sb, seed=1))


@pytest.mark.parametrize("fn,shapes", [
    (dt.mm, [(2, 3), (3, 2)]), (dt.bmm, [(2, 2, 3), (2, 3, 2)]), (dt.mv, [(2, 3), (3,)]),
    (dt.dot, [(3,), (3,)]), (dt.vdot, [(3,), (3,)]), (dt.outer, [(2,), (3,)]),
    (dt.ger, [(2,), (3,)]), (dt.inner, [(2, 3), (2, 3)]), (dt.inner, [(3,), ()]),
    (vecdot, [(2, 3), (3,)]), (lambda x, y: vecdot(x, y, dim=0), [(2, 3), (4, 1, 3)]),
])
def test_product_gradcheck(fn, shapes):
    gradcheck(fn, *[rand(*s, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("fn,shapes", [
    (dt.addmm, [(3,), (2, 2), (2, 3)]), (dt.addmm, [(2, 1), (2, 2), (2, 3)]),
    (dt.addmv, [(2,), (2, 3), (3,)]), (dt.addbmm, [(2, 2), (3, 2, 2), (3, 2, 2)]),
    (dt.baddbmm, [(2, 1, 2), (2, 2, 3), (2, 3, 2)]), (dt.addr, [(2, 3), (2,), (3,)]),
])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1)])
def test_add_products_gradcheck(fn, shapes, beta, alpha):
    gradcheck(lambda *xs: fn(*xs, beta=beta, alpha=alpha),
              *[rand(*s, seed=i) for i, s in enumerate(shapes)])


EINSUM_GRAD_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 2)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ii->i", [(3, 3)]), ("ii->", [(3, 3)]),
    ("ij->ji", [(2, 3)]), ("bhqd,bhkd->bhqk", [(1, 2, 2, 3), (1, 2, 3, 3)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]), ("ijk->", [(2, 3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]), ("ij->", [(2, 3)]), ("ii,ij->j", [(2, 2), (2, 3)]),
    ("iji->j", [(2, 3, 2)]), ("ij,k->jk", [(2, 3), (2,)]), ("bi,bi->b", [(3, 2), (3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]), ("ij,j->i", [(2, 3), (1,)]),
    ("...i,...i->...", [(2, 1, 3), (2, 3)]), ("i...j->j", [(2, 2, 3)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM_GRAD_CASES)
def test_einsum_gradcheck(equation, shapes):
    gradcheck(lambda *xs: dt.einsum(equation, *xs),
              *[rand(*s, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("sa,sb,dims", [((2, 3, 2), (3, 2, 2), 2), ((2, 3), (2,), 0),
                                        ((2, 3, 2), (2, 3, 2), ([1, 0], [1, 0])),
                                        ((2, 1), (3, 2), ([1], [0]))])
def test_tensordot_gradcheck(sa, sb, dims):
    gradcheck(lambda x, y: dt.tensordot(x, y, dims=dims), rand(*sa), rand(*sb, seed=1))


def test_gradient_reaches_only_inputs_that_require_it():
    x, w = rand(2, 3), rand(3, 2, seed=1, requires_grad=False)
    (x @ w).sum().backward()
    assert_close(x.grad, np.ones((2, 2)) @ np.asarray(w).T)
    assert w.grad is None


# --------------------------------------------------------------------------- errors

def f32(*shape):
    return dt.ones(shape)


def f64(*shape):
    return dt.ones(shape, dtype=dt.float64)


def b8(*shape):
    return dt.ones(shape, dtype=dt.bool)


@pytest.mark.parametrize("fn,args,error,message", [
    (dt.matmul, [f32(4, 3), f32(5, 2)], RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 5x2\)"),
    (dt.matmul, [f32(4, 3), f64(3, 2)], RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (dt.matmul, [f32(), f32(2, 3)], RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 2D"),
    (dt.matmul, [f32(3), f32(4)], RuntimeError,
     r"inconsistent tensor size, expected tensor \[3\] and src \[4\] to have the same number "
     "of elements, but got 3 and 4 elements respectively"),
    (dt.matmul, [f32(3), f64(3)], RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (dt.matmul, [f32(2, 3, 4), f32(5)], RuntimeError,
     r"size mismatch, got input \(6\), mat \(6x4\), vec \(5\)"),
    (dt.matmul, [f32(2, 3), f64(3)], RuntimeError,
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (dt.matmul, [f32(2, 3, 4), f32(5, 2)], RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(6x4 and 5x2\)"),
    (dt.matmul, [f32(2, 3, 4), f32(2, 5, 2)], RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 4\] but got: "
     r"\[2, 5\]"),
    (dt.matmul, [f32(2, 3, 4), f32(3, 4, 2)], RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\)"),
    (dt.matmul, [f32(2, 3, 4), f64(2, 4, 2)], RuntimeError,
     "expected scalar type Float but found Double"),
    (dt.matmul, [b8(2, 3), b8(3, 2)], NotImplementedError,
     "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    (dt.matmul, [b8(3), b8(3)], NotImplementedError, "\"dot\" not implemented for 'Bool'"),
    (dt.matmul, [b8(2, 2, 3), b8(2, 3, 2)], NotImplementedError,
     "\"bmm\" not implemented for 'Bool'"),
    (dt.mm, [f32(2, 3, 3), f32(3, 4)], RuntimeError, "self must be a matrix"),
    (dt.mm, [f32(3, 3), f32(3)], RuntimeError, "mat2 must be a matrix"),
    (dt.bmm, [f32(2, 4, 3), f32(3, 3, 2)], RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 3\] but got: "
     r"\[3, 3\]"),
    (dt.bmm, [f32(4, 3), f32(2, 3, 2)], RuntimeError, "batch1 must be a 3D tensor"),
    (dt.bmm, [f64(2, 2, 3), f32(2, 3, 4)], RuntimeError,
     "expected scalar type Double but found Float"),
    (dt.mv, [f32(4), f32(4)], RuntimeError,
     "vector \\+ matrix @ vector expected, got 1, 1, 1"),
    (dt.mv, [f32(4, 3), f32(4)], RuntimeError,
     r"size mismatch, got input \(4\), mat \(4x3\), vec \(4\)"),
    (dt.dot, [f32(3), f32(4)], RuntimeError, "inconsistent tensor size"),
    (dt.dot, [f32(3, 1), f32(3)], RuntimeError, "1D tensors expected, but got 2D and 1D tensors"),
    (dt.vdot, [f32(3), f64(3)], RuntimeError, "dot : expected both vectors to have same dtype"),
    (dt.outer, [f32(3, 1), f32(4)], RuntimeError, "outer: Expected 1-D argument self, but got 2-D"),
    (dt.addmm, [f32(3), f32(2, 3), f32(3, 4)], RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(3\) at "
     r"non-singleton dimension 1.  Target sizes: \[2, 4\].  Tensor sizes: \[3\]"),
    (dt.addmm, [f32(1, 2, 4), f32(2, 3), f32(3, 4)], RuntimeError,
     r"the number of sizes provided \(2\) must be greater or equal to the number of "
     r"dimensions in the tensor \(3\)"),
    (dt.addmm, [f64(4), f32(2, 3), f32(3, 4)], RuntimeError,
     "self and mat2 must have the same dtype, but got Double and Float"),
    (dt.addmm, [f32(4), f64(2, 3), f32(3, 4)], RuntimeError,
     "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (dt.addmm, [f32(4), f32(3), f32(3, 4)], RuntimeError, "mat1 must be a matrix, got 1-D"),
    (dt.addmv, [f32(3), f32(2, 3), f32(3)], RuntimeError,
     r"size mismatch, got input \(3\), mat \(2x3\), vec \(3\)"),
    (dt.addbmm, [f32(2, 4), f32(5, 2, 3), f32(4, 3, 4)], RuntimeError,
     "batch1 and batch2 must have same number of batches, got 5 and 4"),
    (dt.addbmm, [f32(2, 4), f32(5, 2, 3), f32(5, 2, 4)], RuntimeError,
     r"Incompatible matrix sizes for bmm \(2x3 and 2x4\)"),
    (dt.addbmm, [f32(2, 4), f32(5, 2, 3), f32(3, 4)], IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    (dt.baddbmm, [f64(5, 2, 4), f32(5, 2, 3), f32(5, 3, 4)], RuntimeError,
     "Input dtypes must be the same, got: input double, batch1: float, batch2: float"),
    (dt.baddbmm, [b8(5, 2, 4), b8(5, 2, 3), b8(5, 3, 4)], NotImplementedError,
     "\"baddbmm\" not implemented for 'Bool'"),
    (dt.addr, [f32(2, 3), f32(2, 1), f32(3)], RuntimeError,
     "addr: Expected 1-D argument vec1, but got 2-D"),
    (dt.inner, [f32(2, 4), f32(3, 5)], RuntimeError,
     r"inner\(\) the last dimension must match on both input tensors but got shapes \[2, 4\] "
     r"and \[3, 5\]"),
    (dt.inner, [f32(4), f64(4)], RuntimeError, "both inputs should have same dtype"),
    (vecdot, [f32(3), f64(3)], RuntimeError,
     "linalg.vecdot: Expected x and y to have the same dtype, but found x of type Float and y "
     "of type Double instead"),
    (vecdot, [dt.ones(3, dtype=dt.int64), dt.ones(3, dtype=dt.int64)], RuntimeError,
     "linalg.vecdot: Expected a floating point or complex tensor as input. Got Long"),
])
def test_product_errors(fn, args, error, message):
    with pytest.raises(error, match=message):
        fn(*args)


@pytest.mark.parametrize("equation,shapes,message", [
    ("ij,jk->ik", [(2, 3)], "fewer operands were provided than specified in the equation"),
    ("ij->ij", [(2, 3), (3, 4)], "more operands were provided than specified in the equation"),
    ("ij,jk->ik", [(2, 3), (4, 4)],
     "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
    ("ij,jk->ik", [(2, 3, 1), (3, 4)],
     r"the number of subscripts in the equation \(2\) does not match the number of dimensions "
     r"\(3\) for operand 0 and no ellipsis was given"),
    ("ij->ik", [(2, 3)], "output subscript k does not appear in the equation for any input"),
    ("ij->ii", [(2, 3)], "output subscript i appears more than once in the output"),
    ("i1->i", [(2, 3)], r"invalid subscript given at index 1 in the equation string, subscripts "
                        r"must be in \[a-zA-Z\]"),
    ("ii->i", [(2, 3)], "subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
    ("...ij,...jk", [(5, 2, 3), (4, 3, 4)],
     "dimension 0 covered by ellipsis in operand 1has size 4 which does not broadcast with "
     "previously seen ellipsis with size 5"),
    ("...i...->i", [(2, 3)], "found '.' for operand 0 for which an ellipsis was already found"),
    ("ij.->", [(3, 2)], "found '.' for operand 0 that is not part of any ellipsis"),
    ("...i,j", [(), (3,)], r"the number of subscripts in the equation \(1\) is more than the "
                           r"number of dimensions \(0\) for operand 0"),
])
def test_einsum_errors(equation, shapes, message):
    with pytest.raises(RuntimeError, match="einsum\\(\\): " + message):
        dt.einsum(equation, *[dt.ones(s) for s in shapes])


def test_einsum_argument_errors():
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        dt.einsum("ij,jk->ik", f32(2, 3), f64(3, 4))
    with pytest.raises(NotImplementedError, match="\"bmm\" not implemented for 'Bool'"):
        dt.einsum("ij,jk->ik", b8(2, 3), b8(3, 4))
    with pytest.raises(TypeError, match="expected Tensor as element 0 in argument 1, but got "
                                        "list"):
        dt.einsum("i->i", [[1, 2]])
    with pytest.raises(ValueError, match="must specify the equation string and at least one "
                                         "operand"):
        dt.einsum("i->i")
    with pytest.raises(TypeError, match="argument 'equation' \\(position 1\\) must be str, not "
                                        "int"):
        dt.einsum(1, f32(2))
    with pytest.raises(ValueError, match=r"not within the valid range \[0, 52\)"):
        dt.einsum(f32(2, 3), [0, 52])


@pytest.mark.parametrize("dims,error,message", [
    (([1], [1, 0]), RuntimeError, "both dimension lists should have same length"),
    (([1], [0]), RuntimeError, "contracted dimensions need to match, but first has size 3 in "
                               "dim 1 and second has size 4 in dim 0"),
    (-1, RuntimeError, "tensordot expects dims >= 0, but got dims=-1"),
    (4, RuntimeError, "tensordot expects dims < ndim_a or ndim_b, but got dims=4"),
    (([5], [0]), IndexError, "Dimension out of range"),
    (([2, 2], [0, 1]), RuntimeError, "dim 2 appears multiple times in the list of dims"),
    ((2, 0), TypeError, "argument 'dims_self' \\(position 3\\) must be tuple of ints, not int"),
])
def test_tensordot_errors(dims, error, message):
    with pytest.raises(error, match=message):
        dt.tensordot(f32(2, 3, 4), f32(4, 3, 5), dims=dims)


def test_tensordot_dtype_error():
    with pytest.raises(RuntimeError, match="both inputs should have same dtype"):
        dt.tensordot(f32(2, 3), f64(3, 2), dims=1)


@pytest.mark.parametrize("fn,shapes", [
    (dt.matmul, [(2, 3), (3, 4)]), (dt.mm, [(2, 3), (3, 4)]), (dt.bmm, [(2, 2, 3), (2, 3, 4)]),
    (dt.mv, [(2, 3), (3,)]), (dt.dot, [(3,), (3,)]), (dt.outer, [(2,), (3,)]),
    (dt.addmm, [(4,), (2, 3), (3, 4)]), (dt.baddbmm, [(4,), (2, 2, 3), (2, 3, 4)]),
    (dt.inner, [(2, 3), (4, 3)]), (lambda x, y, out: dt.tensordot(x, y, 1, out=out),
                                   [(2, 3), (3, 4)]),
])
def test_out_argument(fn, shapes):
    xs = [rand(*s, seed=i, requires_grad=False) for i, s in enumerate(shapes)]
    expected = fn(*xs, out=None)
    out = dt.zeros(tuple(expected.shape), dtype=dt.float64)
    assert fn(*xs, out=out) is out
    assert_close(out, expected)


def test_out_argument_refuses_autograd():
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        dt.mm(rand(2, 2), rand(2, 2), out=dt.zeros(2, 2, dtype=dt.float64))


@pytest.mark.parametrize("sa,sb,so", [("bhqd", "bhkd", "bhqk"), ("bqd", "de", "bqe"),
                                      ("bqe", "bqd", "de"), ("bqe", "de", "bqd")])
def test_einsum_pair_plan_needs_no_transposed_copies(sa, sb, so):
    # attention scores and a Linear layer (forward and both gradients): BLAS reads the operands
    # as they lie in memory, transposed views at most
    from dist_torch.ops.einsum import _pair_plan
    sizes = dict(b=2, h=3, q=4, k=5, d=6, e=7)
    plan = _pair_plan(tuple(sa), tuple(sb), tuple(so), tuple(sizes[c] for c in sa),
                      tuple(sizes[c] for c in sb))
    assert plan[2] == "mm"
    plan_a, plan_b = plan[3][:2]
    assert plan_a[0] is None and plan_b[0] is None
