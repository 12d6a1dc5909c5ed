"""Custom autograd.Function, gradcheck and detect_anomaly."""

import warnings

import numpy as np
import pytest

import dist_torch as torch
from tests.helpers import assert_close, rand


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


class CubeWithSetupContext(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return x * x * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


def test_custom_function_forward_backward():
    x = rand(4)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"
    y.sum().backward()
    assert_close(x.grad, 6 * np.asarray(x.detach()) ** 2)


def test_custom_function_setup_context_style():
    x = rand(3)
    CubeWithSetupContext.apply(x).sum().backward()
    assert_close(x.grad, 3 * np.asarray(x.detach()) ** 2)


def test_custom_function_passes_gradcheck_and_wrong_one_fails():
    class WrongCube(Cube):
        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x * ctx.scale, None

    assert torch.autograd.gradcheck(lambda x: Cube.apply(x, 1.5), (rand(3),))
    with pytest.raises(torch.autograd.GradcheckError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(lambda x: WrongCube.apply(x, 1.5), (rand(3),))
    assert not torch.autograd.gradcheck(lambda x: WrongCube.apply(x, 1.5), (rand(3),),
                                        raise_exception=False)


def test_needs_input_grad():
    seen = []

    class Probe(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    Probe.apply(rand(2), rand(2, requires_grad=False))
    assert tuple(seen[0]) == (True, False)


def test_mark_non_differentiable_output():
    class SortWithIndex(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            order = np.argsort(np.asarray(x))
            idx = torch.tensor(order)
            values = torch.tensor(np.asarray(x)[order])
            flag = values * 0
            ctx.mark_non_differentiable(flag)
            ctx.save_for_backward(idx)
            return values, flag

        @staticmethod
        def backward(ctx, grad_values, grad_flag):
            (idx,) = ctx.saved_tensors
            out = np.zeros(grad_values.shape)
            out[np.asarray(idx)] = np.asarray(grad_values)
            return torch.tensor(out)

    x = torch.tensor([3.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    values, flag = SortWithIndex.apply(x)
    assert values.requires_grad and not flag.requires_grad
    (values * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert_close(x.grad, [3.0, 1.0, 2.0])


def test_wrong_number_of_gradients_is_refused():
    class TooFew(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        TooFew.apply(rand(2), rand(2)).sum().backward()


def test_unused_output_gradient_is_materialized_as_zeros():
    class Two(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g2 is not None
            return g1 * 2 + g2 * 3

    x = rand(2)
    a, _ = Two.apply(x)
    a.sum().backward()
    assert_close(x.grad, [2.0, 2.0])


def test_detect_anomaly_names_the_op_that_made_nan():
    class NanBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    x = rand(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.autograd.detect_anomaly():
            y = NanBackward.apply(x) * 2
            with pytest.raises(RuntimeError, match="Function 'NanBackwardBackward' returned nan "
                                                   "values in its 0th output."):
                y.sum().backward()
    assert any("NanBackward.apply(x)" in str(w.message) for w in caught)


def test_without_anomaly_mode_nan_passes_silently():
    x = torch.tensor([-1.0], dtype=torch.float64, requires_grad=True)
    (x * float("nan")).sum().backward()
    assert np.isnan(np.asarray(x.grad)).all()
