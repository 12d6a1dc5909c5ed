"""Arithmetic ops: gradients (gradcheck, float64), hand-computed values, promotion, in-place
semantics and torch's errors for bad inputs."""

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, gradcheck, rand

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SHAPES = [((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ())]

BINARY = {
    "add": lambda a, b: a + b,
    "add_alpha": lambda a, b: torch.add(a, b, alpha=-2.5),
    "sub": lambda a, b: a - b,
    "sub_alpha": lambda a, b: a.sub(b, alpha=0.5),
    "rsub": lambda a, b: torch.rsub(a, b, alpha=2),
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "remainder": lambda a, b: (a * 3) % b,
    "fmod": lambda a, b: torch.fmod(a * 3, b),
    "lerp": lambda a, b: torch.lerp(a, b, 0.3),
    "lerp_big_weight": lambda a, b: torch.lerp(a, b, 0.8),
    "lerp_tensor": lambda a, b: torch.lerp(a, b, b),
    "addcmul": lambda a, b: torch.addcmul(a, a, b, value=-1.5),
    "addcdiv": lambda a, b: torch.addcdiv(b, a, b, value=2),
    "float_power": lambda a, b: torch.float_power(a, b),
}


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_gradcheck(op, shapes):
    a = rand(*shapes[0], seed=1, low=0.5, high=2.0)
    b = rand(*shapes[1], seed=2, low=0.5, high=2.0)
    gradcheck(BINARY[op], a, b)


SCALAR = {
    "x+2": lambda x: x + 2, "2+x": lambda x: 2 + x, "x-2": lambda x: x - 2,
    "2-x": lambda x: 2 - x, "2*x": lambda x: 2 * x, "x/2": lambda x: x / 2,
    "2/x": lambda x: 2 / x, "x**2": lambda x: x ** 2, "x**0.5": lambda x: x ** 0.5,
    "x**-2": lambda x: x ** -2, "x**0": lambda x: x ** 0, "2**x": lambda x: 2 ** x,
    "x%0.3": lambda x: x % 0.3, "fmod": lambda x: x.fmod(0.3), "-x": lambda x: -x,
    "x**t0": lambda x: x ** torch.tensor(3.0, dtype=torch.float64),
    "t0**x": lambda x: torch.tensor(1.5, dtype=torch.float64) ** x,
}


@pytest.mark.parametrize("op", list(SCALAR))
def test_scalar_operand_gradcheck(op):
    gradcheck(SCALAR[op], rand(2, 3, low=0.5, high=2.0))


def test_values_by_hand():
    a = torch.tensor([7, -7, 6, -6])
    assert (a // 2).tolist() == [3, -4, 3, -3]
    assert (a % 3).tolist() == [1, 2, 0, 0]
    assert (a % -3).tolist() == [-2, -1, 0, 0]
    assert torch.fmod(a, 3).tolist() == [1, -1, 0, 0]
    assert torch.div(a, 2, rounding_mode="trunc").tolist() == [3, -3, 3, -3]
    assert torch.div(a, 2, rounding_mode="floor").tolist() == [3, -4, 3, -3]
    assert_close(torch.tensor([-7.5, 7.5]) % 2, torch.tensor([0.5, 1.5]))
    assert_close(torch.fmod(torch.tensor([-7.5, 7.5]), 2), torch.tensor([-1.5, 1.5]))
    assert_close(torch.lerp(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 6.0]), 0.25),
                 torch.tensor([1.5, 3.0]))
    assert_close(torch.addcdiv(torch.ones(2), torch.tensor([1.0, 2.0]), torch.tensor([4.0, 4.0]),
                               value=2), torch.tensor([1.5, 2.0]))


def test_true_division_of_integers_gives_default_float():
    out = torch.tensor([1, 2, 3]) / torch.tensor([2, 4, 4])
    assert out.dtype == torch.float32
    assert_close(out, torch.tensor([0.5, 0.5, 0.75]))
    assert (torch.tensor([True, False]) / 2).dtype == torch.float32
    assert (2 / torch.tensor([4])).tolist() == [0.5]
    torch.set_default_dtype(torch.float64)
    try:
        assert (torch.tensor([1]) / 2).dtype == torch.float64
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("a, b, expected", [
    (torch.tensor([1, 2], dtype=torch.uint8), 300, torch.uint8),
    (torch.tensor([1, 2], dtype=torch.int8), torch.tensor([1], dtype=torch.uint8), torch.int16),
    (torch.tensor([1, 2], dtype=torch.int32), 2.5, torch.float32),
    (torch.tensor([1, 2], dtype=torch.int64), torch.tensor(2.5, dtype=torch.float64),
     torch.float64),
    (torch.tensor([1.0], dtype=torch.float16), torch.tensor(2.0), torch.float16),
    (torch.tensor([1.0], dtype=torch.float16), torch.tensor([2.0]), torch.float32),
    (torch.tensor([True]), 2, torch.int64),
    (torch.tensor([True]), True, torch.bool),
    (torch.ones(2), np.float64(2.0), torch.float32),
])
def test_promotion(a, b, expected):
    assert (a + b).dtype == expected
    assert (b * a).dtype == expected


def test_integer_scalars_wrap_to_the_tensor_dtype():
    assert (torch.tensor([1, 200], dtype=torch.uint8) + (-1)).tolist() == [0, 199]
    assert (torch.tensor([1, 2], dtype=torch.int8) + 1000).tolist() == [-23, -22]


def test_integer_powers():
    assert (torch.tensor([0, 2, -1, 1]) ** torch.tensor([-1, -1, -3, -2])).tolist() == \
        [0, 0, -1, 1]
    assert (2 ** torch.tensor([-1, 2])).tolist() == [0, 4]
    assert (torch.tensor([2, 3]) ** 2).dtype == torch.int64
    assert (torch.tensor([True, False]) ** 2).tolist() == [1, 0]
    assert (torch.tensor([True, False]) ** False).tolist() == [True, True]
    assert_close(torch.tensor([4]) ** 0.5, torch.tensor([2.0]))


def test_pow_gradient_special_points():
    x = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 3.0], dtype=torch.float64, requires_grad=True)
    (x ** y).sum().backward()
    assert_close(x.grad, [0.0, 12.0])  # d/dx x**0 is 0 even at x = 0
    assert_close(y.grad, [0.0, 8 * np.log(2.0)])  # 0 ** y has no gradient wrt y


def test_grad_fn_names():
    x = rand(3)
    assert (x + 1).grad_fn.name() == "AddBackward0"
    assert (2 - x).grad_fn.name() == "RsubBackward1"
    assert (2 / x).grad_fn.name() == "MulBackward0"
    assert (x ** 2).grad_fn.name() == "PowBackward0"
    assert (x ** x).grad_fn.name() == "PowBackward1"
    assert (2 ** x).grad_fn.name() == "PowBackward2"
    assert torch.div(x, x, rounding_mode="floor").grad_fn.name() == "DivBackward2"
    assert (x % 2).grad_fn.name() == "RemainderBackward0"
    assert torch.lerp(x, x, x).grad_fn.name() == "LerpBackward1"


def test_ops_without_derivative_raise_in_backward():
    x = rand(3, low=1, high=2)
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        (x // 2).sum().backward()


def test_rounded_division_has_zero_gradient():
    x = rand(3, low=1, high=2)
    torch.div(x, 0.3, rounding_mode="trunc").sum().backward()
    assert_close(x.grad, [0.0, 0.0, 0.0])


# --------------------------------------------------------------------------- in-place

def test_inplace_returns_self_and_bumps_version():
    x = torch.tensor([1.0, 2.0])
    version = x._version
    assert x.add_(1) is x and x.mul_(2) is x and x.div_(4) is x and x.pow_(2) is x
    assert_close(x, [1.0, 2.25])
    assert x._version == version + 4
    x += 1
    x -= 0.5
    x *= 2
    x /= 5
    x **= 2
    assert_close(x, [0.36, 1.21], rtol=1e-6)


def test_inplace_gradient_uses_the_old_value():
    x = rand(3, low=0.5, high=2)
    w = rand(3, seed=1, low=0.5, high=2)
    y = x * 1
    y.mul_(w)
    y.sin_()
    y.sum().backward()
    expected = np.cos(x.detach().numpy() * w.detach().numpy())
    assert_close(x.grad, expected * w.detach().numpy())
    assert_close(w.grad, expected * x.detach().numpy())


def test_inplace_on_leaf_requiring_grad_is_refused():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        rand(3).add_(1)


@pytest.mark.parametrize("op", [lambda x: x.add_(1.5), lambda x: x.div_(2),
                                lambda x: x.mul_(torch.tensor([1.5, 2.0])),
                                lambda x: x.__itruediv__(2), lambda x: x.pow_(0.5)])
def test_inplace_needing_a_wider_dtype_is_refused(op):
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        op(torch.tensor([1, 2]))


def test_inplace_needing_a_bigger_shape_is_refused():
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast "
                                           r"shape \[3, 2\]"):
        torch.ones(2).add_(torch.ones(3, 2))


def test_out_argument():
    out = torch.empty(3)
    result = torch.add(torch.ones(3), 2, out=out)
    assert result is out
    assert_close(out, [3.0, 3.0, 3.0])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        torch.div(torch.ones(2), 2, out=torch.empty(2, dtype=torch.int64))


# --------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("a, b, message", [
    ((3,), (4,), r"The size of tensor a \(3\) must match the size of tensor b \(4\) at "
                 r"non-singleton dimension 0"),
    ((2, 3), (2, 4), r"The size of tensor a \(3\) must match the size of tensor b \(4\) at "
                     r"non-singleton dimension 1"),
    ((2, 4), (3,), r"The size of tensor a \(4\) must match the size of tensor b \(3\) at "
                   r"non-singleton dimension 1"),
])
@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b, lambda a, b: a ** b, lambda a, b: a % b,
                                lambda a, b: torch.lerp(a, b, 0.5)])
def test_broadcast_mismatch_names_both_sizes(op, a, b, message):
    with pytest.raises(RuntimeError, match=message):
        op(torch.ones(a), torch.ones(b))


@pytest.mark.parametrize("op", [lambda a, b: a // b, lambda a, b: a % b,
                                lambda a, b: torch.fmod(a, b),
                                lambda a, b: torch.div(a, b, rounding_mode="trunc"),
                                lambda a, b: torch.div(a, b, rounding_mode="floor")])
@pytest.mark.parametrize("divisor", [0, torch.tensor([1, 0, 2])])
def test_integer_division_by_zero(op, divisor):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(torch.tensor([5, 6, 7]), divisor)


def test_float_division_by_zero_gives_inf_and_nan():
    x = torch.tensor([1.0, -1.0, 0.0])
    assert_close(x / 0, [np.inf, -np.inf, np.nan])
    assert_close(x // 0.0, [np.inf, -np.inf, np.nan])
    assert_close(torch.tensor([5, -5, 0]) / 0, [np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("expr, message", [
    (lambda: torch.tensor([True]) - torch.tensor([False]),
     "Subtraction, the `-` operator, with two bool tensors is not supported"),
    (lambda: torch.tensor([True]) - 1, "Subtraction, the `-` operator, with a bool tensor"),
    (lambda: 1.5 - torch.tensor([True]), "with a bool tensor is not supported"),
    (lambda: -torch.tensor([True]), "Negation, the `-` operator, on a bool tensor"),
    (lambda: torch.tensor([1, 2]) ** -1, "Integers to negative integer powers are not allowed"),
    (lambda: torch.div(torch.ones(2), 2, rounding_mode="round"),
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'"),
    (lambda: torch.add(torch.tensor([1]), 1, alpha=0.5),
     "For integral input tensors, argument alpha must not be a floating point number"),
    (lambda: torch.add(torch.ones(1), 1, alpha=True),
     "Boolean alpha only supported for Boolean results"),
    (lambda: torch.lerp(torch.ones(2), torch.ones(2, dtype=torch.float64), 0.5),
     "expected dtype float for `end` but got dtype double"),
    (lambda: torch.addcdiv(torch.ones(2), torch.tensor([1, 2]), torch.tensor([1, 2])),
     "Integer division with addcdiv is no longer supported"),
])
def test_runtime_errors(expr, message):
    with pytest.raises(RuntimeError, match=message):
        expr()


@pytest.mark.parametrize("expr, message", [
    (lambda: torch.tensor([True]) // torch.tensor([True]),
     "\"div_floor_cpu\" not implemented for 'Bool'"),
    (lambda: torch.tensor([True]) % torch.tensor([True]),
     "\"remainder_cpu\" not implemented for 'Bool'"),
    (lambda: torch.lerp(torch.tensor([1]), torch.tensor([2]), 0.5),
     "\"lerp_kernel_scalar\" not implemented for 'Long'"),
    (lambda: torch.tensor([True]) ** torch.tensor([True]), "\"pow\" not implemented for 'Bool'"),
])
def test_not_implemented_dtypes(expr, message):
    with pytest.raises(NotImplementedError, match=message):
        expr()


@pytest.mark.parametrize("other", ["a", None, [1, 2]])
def test_non_numeric_operand_is_a_type_error(other):
    with pytest.raises(TypeError):
        torch.ones(2) + other


# --------------------------------------------------------------------------- direct in-place path

DIRECT = {
    "add_": lambda x, o: x.add_(o, alpha=-0.5), "sub_": lambda x, o: x.sub_(o),
    "mul_": lambda x, o: x.mul_(o), "div_": lambda x, o: x.div_(o + 3),
    "iadd": lambda x, o: x.__iadd__(o), "itruediv": lambda x, o: x.__itruediv__(2),
    "addcmul_": lambda x, o: x.addcmul_(o, o, value=0.3),
    "addcdiv_": lambda x, o: x.addcdiv_(o, o + 3, value=-2),
    "lerp_": lambda x, o: x.lerp_(o, 0.1), "lerp_big": lambda x, o: x.lerp_(o, 0.9),
    "clamp_": lambda x, o: x.clamp_(-0.2, 0.3),
}


@pytest.mark.parametrize("op", list(DIRECT))
@pytest.mark.parametrize("other_shape", [(2, 3), (3,)])
def test_direct_inplace_matches_the_recorded_path(op, other_shape):
    x = rand(2, 3, seed=1, requires_grad=False)
    o = rand(*other_shape, seed=2, requires_grad=False)
    recorded = x.clone().requires_grad_() * 1  # needs a gradient: the recorded path
    expected = DIRECT[op](recorded, o)
    assert expected.grad_fn is not None
    version = x._version
    with torch.no_grad():
        assert DIRECT[op](x, o) is x
    assert_close(x, expected, rtol=1e-12)
    assert x._version > version


def test_direct_inplace_writes_through_views():
    base = torch.zeros(2, 3)
    view = base.t()
    view.add_(torch.tensor([1.0, 2.0]))
    view.mul_(2)
    assert base.tolist() == [[2.0, 2.0, 2.0], [4.0, 4.0, 4.0]]
    assert base._version == view._version == 2


def test_direct_inplace_errors_are_torch_errors():
    with torch.no_grad():
        with pytest.raises(RuntimeError, match=r"doesn't match the broadcast shape \[3, 2\]"):
            torch.ones(2).add_(torch.ones(3, 2))
        with pytest.raises(RuntimeError, match="result type Float can't be cast"):
            torch.tensor([1, 2]).mul_(0.5)
        with pytest.raises(RuntimeError, match="with two bool tensors"):
            torch.tensor([True]).sub_(torch.tensor([True]))


def test_optimizer_style_update_under_no_grad():
    p = rand(3, seed=4)
    g = rand(3, seed=5, requires_grad=False)
    m, v = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    with torch.no_grad():
        m.lerp_(g, 0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        p.addcdiv_(m, v.sqrt().add_(1e-8), value=-0.01)
    gn = g.detach().numpy()
    assert_close(m, 0.1 * gn)
    assert_close(v, 0.001 * gn * gn)
    assert p.grad_fn is None and p.requires_grad
