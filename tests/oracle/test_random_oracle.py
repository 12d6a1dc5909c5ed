"""Random sampling vs torch: dtypes, shapes, grad flags and error classes (never values)."""

import warnings

import pytest
import torch

import dist_torch as dt


def _outcome(lib, fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn(lib)
    except Exception as err:  # noqa: BLE001 - the class is what we compare
        return ("error", type(err).__name__)
    if isinstance(r, (torch.Tensor, dt.Tensor)):
        grad_fn = r.grad_fn
        name = None if grad_fn is None else (
            grad_fn.name() if isinstance(r, dt.Tensor) else type(grad_fn).__name__)
        return ("tensor", str(r.dtype), tuple(r.shape), r.requires_grad, name)
    return ("value", r if isinstance(r, tuple) else type(r).__name__)


CASES = {
    "rand": lambda lib: lib.rand(2, 3),
    "rand_tuple": lambda lib: lib.rand((4,)),
    "rand_0d": lambda lib: lib.rand(()),
    "rand_size_kw": lambda lib: lib.rand(size=(2,)),
    "rand_f64": lambda lib: lib.rand(3, dtype=lib.float64),
    "rand_f16": lambda lib: lib.rand(3, dtype=lib.float16),
    "rand_bf16": lambda lib: lib.rand(3, dtype=lib.bfloat16),
    "rand_int": lambda lib: lib.rand(3, dtype=lib.int64),
    "rand_bool": lambda lib: lib.rand(3, dtype=lib.bool),
    "rand_rg": lambda lib: lib.rand(3, requires_grad=True),
    "rand_neg": lambda lib: lib.rand(-1),
    "rand_noargs": lambda lib: lib.rand(),
    "rand_gen": lambda lib: lib.rand(2, generator=lib.Generator().manual_seed(0)),
    "rand_bad_gen": lambda lib: lib.rand(2, generator=3),
    "randn": lambda lib: lib.randn(2, 0, 3),
    "randn_int": lambda lib: lib.randn(2, dtype=lib.int32),
    "randn_f16": lambda lib: lib.randn(2, dtype=lib.float16),
    "randint_high": lambda lib: lib.randint(5, (3, 2)),
    "randint_low_high": lambda lib: lib.randint(-5, 5, (3,)),
    "randint_kw": lambda lib: lib.randint(high=5, size=(3,)),
    "randint_high_size_kw": lambda lib: lib.randint(5, size=(3,)),
    "randint_dtype": lambda lib: lib.randint(0, 5, (3,), dtype=lib.int16),
    "randint_float": lambda lib: lib.randint(0, 5, (3,), dtype=lib.float64),
    "randint_bad_range": lambda lib: lib.randint(5, 3, (2,)),
    "randint_equal": lambda lib: lib.randint(3, 3, (2,)),
    "randint_int_size": lambda lib: lib.randint(10, 3),
    "randint_float_high": lambda lib: lib.randint(3.5, (3,)),
    "randint_u8_overflow": lambda lib: lib.randint(0, 300, (2,), dtype=lib.uint8),
    "randint_u8_negative": lambda lib: lib.randint(-1, 3, (2,), dtype=lib.uint8),
    "randint_bool": lambda lib: lib.randint(0, 3, (2,), dtype=lib.bool),
    "randint_bool_ok": lambda lib: lib.randint(0, 2, (2,), dtype=lib.bool),
    "randint_i32_big": lambda lib: lib.randint(0, 2**40, (2,), dtype=lib.int32),
    "randint_int64_overflow": lambda lib: lib.randint(0, 2**63, (2,)),
    "randint_half_overflow": lambda lib: lib.randint(0, 100000, (2,), dtype=lib.float16),
    "randperm": lambda lib: lib.randperm(6),
    "randperm_f32": lambda lib: lib.randperm(6, dtype=lib.float32),
    "randperm_i16": lambda lib: lib.randperm(6, dtype=lib.int16),
    "randperm_neg": lambda lib: lib.randperm(-2),
    "randperm_bool": lambda lib: lib.randperm(2, dtype=lib.bool),
    "randperm_u8_ok": lambda lib: lib.randperm(256, dtype=lib.uint8),
    "randperm_u8_over": lambda lib: lib.randperm(257, dtype=lib.uint8),
    "randperm_half_over": lambda lib: lib.randperm(2050, dtype=lib.float16),
    "normal_ff": lambda lib: lib.normal(1.0, 2.0, (3, 2)),
    "normal_ff_dtype": lambda lib: lib.normal(1.0, 2.0, (3,), dtype=lib.float64),
    "normal_ff_nosize": lambda lib: lib.normal(1.0, 2.0),
    "normal_tt": lambda lib: lib.normal(lib.zeros(3, 1), lib.ones(2)),
    "normal_tt_mixed": lambda lib: lib.normal(lib.zeros(3, dtype=lib.float64), lib.ones(3)),
    "normal_tf": lambda lib: lib.normal(lib.zeros(2, 2)),
    "normal_ft": lambda lib: lib.normal(0.0, lib.ones(3, dtype=lib.float64)),
    "normal_tt_grad": lambda lib: lib.normal(lib.zeros(3, requires_grad=True),
                                         lib.ones(3, requires_grad=True)),
    "normal_tf_grad": lambda lib: lib.normal(lib.zeros(3, requires_grad=True), 1.0),
    "normal_ft_grad": lambda lib: lib.normal(0.0, lib.ones(3, requires_grad=True)),
    "normal_neg_std": lambda lib: lib.normal(0.0, -1.0, (2,)),
    "normal_neg_std_t": lambda lib: lib.normal(lib.zeros(2), -lib.ones(2)),
    "normal_bad_broadcast": lambda lib: lib.normal(lib.zeros(3), lib.ones(2)),
    "normal_int_mean": lambda lib: lib.normal(lib.zeros(2, dtype=lib.int64), 1.0),
    "rand_like": lambda lib: lib.rand_like(lib.zeros(2, 3, dtype=lib.float64)),
    "rand_like_int": lambda lib: lib.rand_like(lib.zeros(2, dtype=lib.int64)),
    "rand_like_dtype_rg": lambda lib: lib.rand_like(lib.zeros(2), dtype=lib.float64,
                                                requires_grad=True),
    "randn_like": lambda lib: lib.randn_like(lib.zeros(4, dtype=lib.float16)),
    "randint_like_high": lambda lib: lib.randint_like(lib.zeros(2, dtype=lib.float64), 5),
    "randint_like_low_high": lambda lib: lib.randint_like(lib.zeros(2, dtype=lib.int8), 3, 5),
    "randint_like_bad": lambda lib: lib.randint_like(lib.zeros(2), 5, 3),
    "bernoulli": lambda lib: lib.bernoulli(lib.full((3, 2), 0.5)),
    "bernoulli_f64": lambda lib: lib.bernoulli(lib.full((3,), 0.5, dtype=lib.float64)),
    "bernoulli_grad": lambda lib: lib.bernoulli(lib.full((3,), 0.5, requires_grad=True) * 1),
    "bernoulli_p": lambda lib: lib.bernoulli(lib.zeros(3, dtype=lib.float64), 0.2),
    "bernoulli_bad_probs": lambda lib: lib.bernoulli(lib.tensor([0.5, 1.5])),
    "bernoulli_bad_p": lambda lib: lib.bernoulli(lib.zeros(2), 2.0),
    "bernoulli_int": lambda lib: lib.bernoulli(lib.tensor([1, 0])),
    "bernoulli_method": lambda lib: lib.full((2,), 0.5).bernoulli(),
    "multinomial": lambda lib: lib.multinomial(lib.tensor([0.1, 0.2, 0.7]), 2),
    "multinomial_2d": lambda lib: lib.multinomial(lib.ones(4, 5), 3),
    "multinomial_repl": lambda lib: lib.multinomial(lib.ones(4, 5), 9, True),
    "multinomial_f64": lambda lib: lib.multinomial(lib.ones(3, dtype=lib.float64), 1),
    "multinomial_zero_rows": lambda lib: lib.multinomial(lib.ones(0, 3), 1),
    "multinomial_too_many": lambda lib: lib.multinomial(lib.ones(3), 4),
    "multinomial_zero_samples": lambda lib: lib.multinomial(lib.ones(3), 0),
    "multinomial_negative": lambda lib: lib.multinomial(lib.tensor([1.0, -1.0]), 1),
    "multinomial_zero_sum": lambda lib: lib.multinomial(lib.zeros(2), 1, True),
    "multinomial_3d": lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
    "multinomial_0d": lambda lib: lib.multinomial(lib.tensor(1.0), 1),
    "multinomial_int": lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    "multinomial_rg": lambda lib: lib.multinomial(lib.ones(3, requires_grad=True), 2),
    "multinomial_method": lambda lib: lib.ones(3).multinomial(2),
    "poisson": lambda lib: lib.poisson(lib.full((2, 2), 3.0)),
    "poisson_grad": lambda lib: lib.poisson(lib.full((2,), 3.0, requires_grad=True)),
    "poisson_negative": lambda lib: lib.poisson(lib.tensor([1.0, -1.0])),
    "poisson_int": lambda lib: lib.poisson(lib.tensor([1, 2])),
    "get_rng_state": lambda lib: (str(lib.get_rng_state().dtype), lib.get_rng_state().dim()),
    "set_rng_state_float": lambda lib: lib.set_rng_state(lib.zeros(3)),
    "set_state_int": lambda lib: lib.Generator().set_state(3),
    "manual_seed_overflow": lambda lib: lib.manual_seed(2**64),
    "manual_seed_str": lambda lib: lib.manual_seed("a"),
}


INPLACE = {  # case name -> (method, args)
    "uniform": ("uniform_", ()),
    "uniform_range": ("uniform_", (-1, 1)),
    "uniform_bad": ("uniform_", (2, 1)),
    "normal": ("normal_", (0.0, 2.0)),
    "normal_bad": ("normal_", (0.0, -1.0)),
    "bernoulli": ("bernoulli_", (0.3,)),
    "bernoulli_bad": ("bernoulli_", (1.5,)),
    "random": ("random_", ()),
    "random_to": ("random_", (5,)),
    "random_from_to": ("random_", (2, 5)),
    "random_bad": ("random_", (5, 3)),
    "random_zero": ("random_", (0,)),
    "exponential": ("exponential_", (2.0,)),
    "exponential_bad": ("exponential_", (0.0,)),
    "geometric": ("geometric_", (0.5,)),
    "geometric_bad": ("geometric_", (1.0,)),
    "cauchy": ("cauchy_", ()),
    "cauchy_bad": ("cauchy_", (0.0, -1.0)),
    "log_normal": ("log_normal_", ()),
    "log_normal_bad": ("log_normal_", (0.0, -1.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_factories_match_torch(name):
    assert _outcome(dt, CASES[name]) == _outcome(torch, CASES[name])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int8", "uint8",
                                   "bool"])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_samplers_match_torch(name, dtype):
    method, args = INPLACE[name]

    def fill(lib):
        return getattr(lib.zeros(2, 3, dtype=getattr(lib, dtype)), method)(*args)

    def fill_non_leaf(lib):
        if dtype not in ("float32", "float64"):
            return None
        y = lib.zeros(2, 3, dtype=getattr(lib, dtype), requires_grad=True) * 1
        return getattr(y, method)(*args)

    assert _outcome(dt, fill) == _outcome(torch, fill)
    assert _outcome(dt, fill_non_leaf) == _outcome(torch, fill_non_leaf)


def test_inplace_on_leaf_requiring_grad_matches_torch():
    def fill(lib):
        return lib.zeros(3, requires_grad=True).normal_()
    assert _outcome(dt, fill) == _outcome(torch, fill) == ("error", "RuntimeError")
