"""torch.func (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, vmap, functional_call) against
torch: values, nested structures, argnums, has_aux, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.func

import dist_torch as dt
import dist_torch.func
import dist_torch.nn as dnn
from tests.oracle.test_autograd_functional_oracle import errors_match, same

RNG = np.random.default_rng(1)
A = RNG.standard_normal((2, 3))
B = RNG.standard_normal(3)
S = np.array(0.4)


def fns(lib):
    return dist_torch.func if lib is dt else torch.func


def both(fn, *arrays, dtype=np.float64):
    ours = fn(dt, *[dt.tensor(a.astype(dtype)) for a in arrays])
    theirs = fn(torch, *[torch.tensor(a.astype(dtype)) for a in arrays])
    same(ours, theirs)
    return ours


def loss(x, y):
    return ((x * y).sin() ** 2).sum() + (x @ y).sum()


# --- grad / grad_and_value -------------------------------------------------------------------

@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1, 0)])
def test_grad_argnums(argnums):
    both(lambda lib, x, y: fns(lib).grad(loss, argnums=argnums)(x, y), A, B)
    both(lambda lib, x, y: fns(lib).grad_and_value(loss, argnums=argnums)(x, y), A, B,
         dtype=np.float32)


def test_grad_nested_argument_has_aux_and_kwargs():
    def f(params, x, scale=1.0):
        out = (params["w"] @ x + params["b"][0]).tanh().sum() * scale
        return out, {"out": out, "twice": [out * 2]}
    both(lambda lib, w, b, x: fns(lib).grad(f, has_aux=True)(
        {"w": w, "b": [b]}, x, scale=2.0), A, RNG.standard_normal(2), B)
    both(lambda lib, w, b, x: fns(lib).grad_and_value(f, has_aux=True)(
        {"w": w, "b": [b]}, x), A, RNG.standard_normal(2), B)


def test_grad_unused_input_is_zero_and_0dim():
    both(lambda lib, x, y: fns(lib).grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(x, y),
         A, B)
    both(lambda lib, s: fns(lib).grad(lambda a: a.exp() * a)(s), S)


def test_grad_value_stays_attached_to_an_outer_graph():
    for lib in (dt, torch):
        x = lib.tensor(B, requires_grad=True)
        g, v = fns(lib).grad_and_value(lambda a: (a ** 3).sum())(x)
        v.backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach()), 3 * B ** 2, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g.detach()), 3 * B ** 2, rtol=1e-12)


def test_grad_errors():
    errors_match(lambda lib, x: fns(lib).grad(lambda a: a * 2)(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a: 2.0)(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a: a.sum(), has_aux=True)(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a: a.sum(), argnums=1)(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a: a.sum(), argnums=())(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a, b: a.sum(), argnums=(0, 0))(x, x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a: a.sum(), argnums=0.5)(x), A)
    errors_match(lambda lib, x: fns(lib).grad(lambda a, b: a.sum(), argnums=1)(x, 3.0), A)


# --- vjp / jvp -------------------------------------------------------------------------------

def test_vjp_pytrees_has_aux_and_reuse():
    def f(x, d):
        return {"p": x * d["y"], "q": (x.exp(), d["y"].sum())}, x.sum()

    def run(lib, x, y, c1, c2, c3):
        out, fn, aux = fns(lib).vjp(f, x, {"y": y}, has_aux=True)
        first = fn({"p": c1, "q": (c2, c3)})
        return out, aux, first, fn({"p": c1 * 2, "q": (c2, c3)})
    both(run, B, B + 1, RNG.standard_normal(3), RNG.standard_normal(3), np.array(0.5))


def test_vjp_errors():
    errors_match(lambda lib, x: fns(lib).vjp(lambda a: (a, a), x)[1]((x,)), A)
    errors_match(lambda lib, x: fns(lib).vjp(lambda a: a.sum(), x, has_aux=True), A)
    errors_match(lambda lib, x: fns(lib).vjp(lambda a: (a > 0).long(), x), A)
    errors_match(lambda lib, x: fns(lib).vjp(lambda a: 3, x), A)


def test_jvp_pytrees_and_aux():
    both(lambda lib, x, y, u, v: fns(lib).jvp(lambda a, b: (a * b, {"s": (a @ b).sin()}),
                                              (x, y), (u, v)), A, B, A - 2, B * 3)
    both(lambda lib, x, u: fns(lib).jvp(lambda a: (a.exp(), a.sum()), (x,), (u,),
                                        has_aux=True), B, B * 0.1)
    both(lambda lib, s, t: fns(lib).jvp(lambda a: a ** 3, (s,), (t,)), S, S + 1,
         dtype=np.float32)


def test_jvp_errors():
    errors_match(lambda lib, x: fns(lib).jvp(lambda a: a, x, (x,)), A)
    errors_match(lambda lib, x: fns(lib).jvp(lambda a: a, (x,), (x, x)), A,
                 upto="structure TreeSpec")
    errors_match(lambda lib, x: fns(lib).jvp(lambda a: a, (x,), (2.0,)), A)
    errors_match(lambda lib, x: fns(lib).jvp(lambda a: lib.ones(2), (x,), (x,), strict=True),
                 A)


# --- jacrev / jacfwd -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobians(name, argnums):
    def f(x, y):
        return (x * y).sin(), {"s": (x @ y).sum(), "t": [y.exp()]}
    both(lambda lib, x, y: getattr(fns(lib), name)(f, argnums=argnums)(x, y), A, B)
    both(lambda lib, x, y: getattr(fns(lib), name)(f, argnums=argnums)(x, y), A, B,
         dtype=np.float32)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
def test_jacobians_aux_nested_input_and_0dim(name):
    def f(d):
        return d["a"].sin() * d["b"].sum(), d["a"].sum()
    both(lambda lib, a, b: getattr(fns(lib), name)(f, has_aux=True)({"a": a, "b": b}), B, A)
    both(lambda lib, s: getattr(fns(lib), name)(lambda a: a.exp())(s), S)


def test_jacobian_errors():
    errors_match(lambda lib, x: fns(lib).jacrev(lambda a: a, chunk_size=0)(x), A)
    errors_match(lambda lib, x: fns(lib).jacrev(lambda a: a, argnums=2)(x), A)
    errors_match(lambda lib, x: fns(lib).jacfwd(lambda a: a, randomness="maybe")(x), A)


def test_hessian_and_nested_transforms_are_not_implemented():
    x = dt.tensor(B)
    with pytest.raises(NotImplementedError, match="double backward"):
        dist_torch.func.hessian(lambda a: (a ** 3).sum())(x)
    _, fn = dist_torch.func.vjp(lambda a: a * 2, x)
    with pytest.raises(NotImplementedError, match="double backward"):
        fn(x, create_graph=True)


# --- vmap ------------------------------------------------------------------------------------

def test_vmap_in_dims_out_dims():
    both(lambda lib, x, y: fns(lib).vmap(lambda a, b: (a * b).sum())(x, lib.stack([y, y])), A, B)
    both(lambda lib, x, y: fns(lib).vmap(lambda a, b: a * b, in_dims=(1, None))(x, y[:2]), A, B)
    both(lambda lib, x, y: fns(lib).vmap(lambda a, b: (a + b, a.sum()), in_dims=(0, None),
                                         out_dims=(1, 0))(x, y), A, B)
    both(lambda lib, x, y: fns(lib).vmap(lambda d: {"u": d["a"] * 2},
                                         in_dims=({"a": -1},))({"a": x}), A, B)
    both(lambda lib, x: fns(lib).vmap(fns(lib).vmap(lambda a: a * a))(x), A)


def test_vmap_of_grad_is_per_sample_gradients():
    both(lambda lib, x, y: fns(lib).vmap(fns(lib).grad(loss), in_dims=(0, None))(x, y), A, B)


def test_vmap_gradient_flows_through():
    for lib in (dt, torch):
        x = lib.tensor(A, requires_grad=True)
        fns(lib).vmap(lambda a: (a * a).sum())(x).sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach()), 2 * A, rtol=1e-12)


def test_vmap_randomness():
    dt.manual_seed(0)
    x = dt.zeros(4, 3)
    same_rows = dist_torch.func.vmap(lambda a: a + dt.rand(3), randomness="same")(x)
    assert np.allclose(np.asarray(same_rows), np.asarray(same_rows[0]).reshape(1, 3))
    diff_rows = dist_torch.func.vmap(lambda a: a + dt.rand(3), randomness="different")(x)
    assert not np.allclose(np.asarray(diff_rows[0]), np.asarray(diff_rows[1]))
    errors_match(lambda lib, a: fns(lib).vmap(lambda r: r + lib.rand(3))(a),
                 np.zeros((2, 3)))


def test_vmap_errors():
    V = lambda lib: fns(lib).vmap  # noqa: E731
    errors_match(lambda lib, x: V(lib)(lambda a: a, in_dims=2)(x), A)
    errors_match(lambda lib, x: V(lib)(lambda a, b: a, in_dims=(0, 0))(x, x[:1]), A)
    errors_match(lambda lib, x: V(lib)(lambda a: a, in_dims=None)(x), A)
    errors_match(lambda lib, x: V(lib)(lambda a: a, in_dims=(0, 0))(x), A, upto="structure")
    errors_match(lambda lib, x: V(lib)(lambda a: a, in_dims=[0])(x), A)
    errors_match(lambda lib, x: V(lib)(lambda a, b: a, in_dims=(0, 0))(x, 2.0), A)
    errors_match(lambda lib, x: V(lib)(lambda a: 3.0)(x), A)
    errors_match(lambda lib, x: V(lib)(lambda a: a, randomness="x")(x), A)
    errors_match(lambda lib, x: V(lib)(lambda a: a, chunk_size=0)(x), A)
    errors_match(lambda lib, x: V(lib)(lambda: 1)(), A)


# --- functional_call -------------------------------------------------------------------------

def test_functional_call_matches_torch_with_dict_and_tuple_of_dicts():
    w, b, x = RNG.standard_normal((2, 3)), RNG.standard_normal(2), RNG.standard_normal((4, 3))
    for lib, nn in ((dt, dnn), (torch, torch.nn)):
        model = nn.Linear(3, 2).double()
        params = {"weight": lib.tensor(w, requires_grad=True),
                  "bias": lib.tensor(b, requires_grad=True)}
        out1 = fns(lib).functional_call(model, params, (lib.tensor(x),))
        out2 = fns(lib).functional_call(model, ({"weight": params["weight"]},
                                                {"bias": params["bias"]}), lib.tensor(x))
        out1.sum().backward()
        res = (out1.detach(), out2.detach(), params["weight"].grad, model.weight.grad)
        if lib is dt:
            ours = res
        else:
            same(ours, res)
    errors_match(lambda lib, t: fns(lib).functional_call(
        (dnn if lib is dt else torch.nn).Linear(3, 2), ({"bias": t}, {"bias": t}), t), B)
    errors_match(lambda lib, t: fns(lib).functional_call(
        (dnn if lib is dt else torch.nn).Linear(3, 2), ({"bias": t}, 3), t), B)
    errors_match(lambda lib, t: fns(lib).functional_call(
        (dnn if lib is dt else torch.nn).Linear(3, 2), 3, t), B)


def test_per_sample_grads_of_a_model():
    w, b, x = RNG.standard_normal((2, 3)), RNG.standard_normal(2), RNG.standard_normal((5, 3))

    def run(lib, nn):
        model = nn.Linear(3, 2).double()
        params = {"weight": lib.tensor(w), "bias": lib.tensor(b)}

        def sample_loss(p, xi):
            return (fns(lib).functional_call(model, p, (xi,)) ** 2).sum()
        return fns(lib).vmap(fns(lib).grad(sample_loss), in_dims=(None, 0))(params,
                                                                           lib.tensor(x))
    same(run(dt, dnn), run(torch, torch.nn))


def test_empty_inputs():
    E = np.zeros(0)
    both(lambda lib, e: fns(lib).jacrev(lambda a: a * 2)(e), E)
    both(lambda lib, e: fns(lib).grad(lambda a: a.sum())(e), E)
