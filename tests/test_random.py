"""Random numbers: generators, seeding, state, the sampling factories and in-place samplers."""

import numpy as np
import pytest

import dist_torch as torch
from dist_torch import random as dt_random


@pytest.fixture
def default_float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def values(t):
    return np.asarray(t.detach())


DRAWS = {
    "rand": lambda g: torch.rand(5, generator=g),
    "randn": lambda g: torch.randn(2, 3, generator=g),
    "randint": lambda g: torch.randint(0, 100, (6,), generator=g),
    "randperm": lambda g: torch.randperm(8, generator=g),
    "normal": lambda g: torch.normal(2.0, 3.0, (4,), generator=g),
    "normal_tensor": lambda g: torch.normal(torch.zeros(4), torch.ones(4), generator=g),
    "bernoulli": lambda g: torch.bernoulli(torch.full((20,), 0.5), generator=g),
    "multinomial": lambda g: torch.multinomial(torch.ones(10), 4, generator=g),
    "multinomial_repl": lambda g: torch.multinomial(torch.ones(2, 10), 6, True, generator=g),
    "poisson": lambda g: torch.poisson(torch.full((6,), 3.0), generator=g),
    "uniform_": lambda g: torch.empty(5).uniform_(-1, 1, generator=g),
    "normal_": lambda g: torch.empty(5).normal_(generator=g),
    "random_": lambda g: torch.empty(5, dtype=torch.int64).random_(0, 1000, generator=g),
    "exponential_": lambda g: torch.empty(5).exponential_(generator=g),
}


# ----------------------------------------------------------------------------- seeding

@pytest.mark.parametrize("name", sorted(DRAWS))
def test_same_seed_same_numbers_with_the_default_generator(name):
    torch.manual_seed(1234)
    first = values(DRAWS[name](None))
    torch.manual_seed(1234)
    np.testing.assert_array_equal(values(DRAWS[name](None)), first)
    torch.manual_seed(4321)
    assert not np.array_equal(values(DRAWS[name](None)), first)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_same_seed_same_numbers_with_an_explicit_generator(name):
    a = values(DRAWS[name](torch.Generator().manual_seed(7)))
    b = values(DRAWS[name](torch.Generator().manual_seed(7)))
    np.testing.assert_array_equal(a, b)


def test_generators_are_independent_of_each_other_and_of_the_default():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.manual_seed(0)
    expected_default = values(torch.rand(4))
    torch.manual_seed(0)
    torch.rand(100, generator=g1)  # advancing g1 must not move g2 or the default
    np.testing.assert_array_equal(values(torch.rand(4)), expected_default)
    fresh = values(torch.rand(4, generator=torch.Generator().manual_seed(3)))
    np.testing.assert_array_equal(values(torch.rand(4, generator=g2)), fresh)


def test_manual_seed_returns_the_default_generator_and_sets_initial_seed():
    g = torch.manual_seed(42)
    assert g is torch.default_generator
    assert torch.initial_seed() == 42 == g.initial_seed()
    assert torch.random.initial_seed() == 42


def test_generator_manual_seed_returns_self_and_defaults():
    g = torch.Generator()
    assert g.initial_seed() == 67280421310721  # torch's default for a new Generator
    assert g.manual_seed(5) is g
    assert g.initial_seed() == 5
    assert g.device == torch.device("cpu")


def test_negative_seeds_wrap_and_out_of_range_seeds_fail():
    assert torch.Generator().manual_seed(-1).initial_seed() == 2**64 - 1
    a = values(torch.rand(3, generator=torch.Generator().manual_seed(-1)))
    b = values(torch.rand(3, generator=torch.Generator().manual_seed(2**64 - 1)))
    np.testing.assert_array_equal(a, b)
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError, match="Overflow"):
            torch.manual_seed(bad)


def test_seed_is_nondeterministic_and_reported():
    s1 = torch.seed()
    assert torch.initial_seed() == s1
    s2 = torch.Generator().seed()
    assert isinstance(s1, int) and 0 <= s1 < 2**64 and s1 != s2


def test_manual_seed_calls_the_cuda_seeding_hook(monkeypatch):
    import sys
    import types
    seen = []
    fake = types.SimpleNamespace(manual_seed_all=seen.append)
    monkeypatch.setitem(sys.modules, "dist_torch.cuda", fake)
    torch.manual_seed(99)
    assert seen == [99]


# ----------------------------------------------------------------------------- state

def test_get_state_set_state_round_trip_exactly():
    g = torch.Generator().manual_seed(11)
    torch.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == torch.uint8 and state.dim() == 1
    expected = values(torch.randn(10, generator=g))
    torch.rand(50, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(values(torch.randn(10, generator=g)), expected)
    np.testing.assert_array_equal(values(torch.Generator().set_state(state).get_state()),
                                  values(state))


def test_state_restores_the_initial_seed_and_clone_state():
    g = torch.Generator().manual_seed(21)
    state = g.get_state()
    g.manual_seed(5)
    g.set_state(state)
    assert g.initial_seed() == 21
    twin = g.clone_state()
    np.testing.assert_array_equal(values(torch.rand(4, generator=twin)),
                                  values(torch.rand(4, generator=g)))


def test_generators_pickle_with_their_state():
    import pickle
    g = torch.Generator().manual_seed(13)
    torch.rand(5, generator=g)
    twin = pickle.loads(pickle.dumps(g))
    assert twin.initial_seed() == 13
    np.testing.assert_array_equal(values(torch.rand(4, generator=twin)),
                                  values(torch.rand(4, generator=g)))


def test_rng_state_of_the_default_generator():
    torch.manual_seed(3)
    state = torch.get_rng_state()
    a = values(torch.randint(0, 1000, (8,)))
    torch.set_rng_state(state)
    np.testing.assert_array_equal(values(torch.randint(0, 1000, (8,))), a)


def test_fork_rng_restores_the_default_state():
    torch.manual_seed(8)
    expected = values(torch.rand(3))
    torch.manual_seed(8)
    with torch.random.fork_rng():
        torch.rand(100)
    np.testing.assert_array_equal(values(torch.rand(3)), expected)


def test_set_state_errors():
    g = torch.Generator()
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(torch.zeros(5))
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got int"):
        g.set_state(5)
    with pytest.raises(RuntimeError, match="Invalid RNG state"):
        g.set_state(torch.zeros(5, dtype=torch.uint8))
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        torch.set_rng_state(torch.zeros(5))


def test_generator_argument_must_be_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        torch.rand(3, generator=5)


# ----------------------------------------------------------------------------- factories

@pytest.mark.parametrize("make, shape", [
    (lambda: torch.rand(2, 3), (2, 3)),
    (lambda: torch.rand((2, 3)), (2, 3)),
    (lambda: torch.rand([2, 3]), (2, 3)),
    (lambda: torch.rand(torch.Size([2, 3])), (2, 3)),
    (lambda: torch.rand(size=(4,)), (4,)),
    (lambda: torch.rand(()), ()),
    (lambda: torch.randn(0, 3), (0, 3)),
    (lambda: torch.randint(5, (2, 2)), (2, 2)),
    (lambda: torch.randint(2, 5, [3]), (3,)),
    (lambda: torch.randint(high=5, size=(3,)), (3,)),
    (lambda: torch.normal(0.0, 1.0, size=(2, 5)), (2, 5)),
    (lambda: torch.normal(torch.zeros(3, 1), torch.ones(4)), (3, 4)),
    (lambda: torch.randperm(7), (7,)),
    (lambda: torch.randperm(0), (0,)),
])
def test_factory_shapes(make, shape):
    assert tuple(make().shape) == shape


@pytest.mark.parametrize("make, dtype", [
    (lambda: torch.rand(3), torch.float32),
    (lambda: torch.randn(3), torch.float32),
    (lambda: torch.rand(3, dtype=torch.float64), torch.float64),
    (lambda: torch.randn(3, dtype=torch.float16), torch.float16),
    (lambda: torch.rand(3, dtype=torch.bfloat16), torch.bfloat16),
    (lambda: torch.randint(9, (3,)), torch.int64),
    (lambda: torch.randint(9, (3,), dtype=torch.uint8), torch.uint8),
    (lambda: torch.randint(9, (3,), dtype=torch.float32), torch.float32),
    (lambda: torch.randperm(4), torch.int64),
    (lambda: torch.randperm(4, dtype=torch.float32), torch.float32),
    (lambda: torch.normal(0.0, 1.0, (2,)), torch.float32),
    (lambda: torch.normal(torch.zeros(2, dtype=torch.float64), 1.0), torch.float64),
    (lambda: torch.normal(0.0, torch.ones(2, dtype=torch.float64)), torch.float64),
    (lambda: torch.normal(torch.zeros(2, dtype=torch.float64), torch.ones(2)), torch.float64),
    (lambda: torch.rand_like(torch.zeros(2, dtype=torch.float64)), torch.float64),
    (lambda: torch.randn_like(torch.zeros(2), dtype=torch.float16), torch.float16),
    (lambda: torch.randint_like(torch.zeros(2, dtype=torch.int32), 5), torch.int32),
    (lambda: torch.randint_like(torch.zeros(2), 3, 5), torch.float32),
    (lambda: torch.bernoulli(torch.full((2,), 0.5, dtype=torch.float64)), torch.float64),
    (lambda: torch.multinomial(torch.ones(3), 2), torch.int64),
    (lambda: torch.poisson(torch.ones(2, dtype=torch.float64)), torch.float64),
])
def test_factory_dtypes(make, dtype):
    assert make().dtype is dtype


def test_float_samplers_follow_the_default_dtype(default_float64):
    for t in (torch.rand(3), torch.randn(3), torch.normal(0.0, 1.0, (3,))):
        assert t.dtype is torch.float64


def test_float32_sampling_keeps_full_float32_resolution():
    x = values(torch.rand(10000, generator=torch.Generator().manual_seed(0)))
    assert x.dtype == np.float32
    # Draws made in float32 use all 24 bits: far more distinct values than a float16 grid has.
    assert len(np.unique(x)) > 9900


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_rand_never_reaches_one_in_low_precision(dtype):
    x = torch.rand(200000, dtype=dtype, generator=torch.Generator().manual_seed(1)).float()
    assert values(x).max() < 1.0 and values(x).min() >= 0.0


def test_requires_grad_and_out():
    t = torch.randn(3, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    out = torch.empty(5, dtype=torch.float64)
    r = torch.rand(2, 2, out=out)
    assert r is out and tuple(out.shape) == (2, 2) and out.dtype is torch.float64
    out = torch.zeros(4, dtype=torch.int64)
    torch.randint(1, 3, (4,), out=out)
    assert set(values(out).tolist()) <= {1, 2}
    with pytest.raises(RuntimeError, match="dtype Float does not match dtype of out parameter "
                                           r"\(Double\)"):
        torch.rand(2, dtype=torch.float32, out=torch.zeros(2, dtype=torch.float64))


# ----------------------------------------------------------------------------- statistics

def test_randn_mean_and_std():
    x = values(torch.randn(100000, generator=torch.Generator().manual_seed(0))).astype(np.float64)
    assert abs(x.mean()) < 0.015 and abs(x.std() - 1) < 0.015


def test_rand_mean_variance_and_range():
    x = values(torch.rand(100000, generator=torch.Generator().manual_seed(0))).astype(np.float64)
    assert x.min() >= 0 and x.max() < 1
    assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 1 / 12) < 0.002


def test_normal_with_tensor_mean_and_std():
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor(np.tile([-3.0, 10.0], (50000, 1)), dtype=torch.float32)
    x = values(torch.normal(mean, torch.tensor([0.5, 2.0]), generator=g)).astype(np.float64)
    np.testing.assert_allclose(x.mean(0), [-3.0, 10.0], atol=0.05)
    np.testing.assert_allclose(x.std(0), [0.5, 2.0], rtol=0.02)
    y = values(torch.normal(5.0, 0.5, (100000,), generator=g)).astype(np.float64)
    assert abs(y.mean() - 5) < 0.01 and abs(y.std() - 0.5) < 0.01


def test_randint_range_and_uniformity():
    x = values(torch.randint(-3, 7, (100000,), generator=torch.Generator().manual_seed(0)))
    assert x.min() == -3 and x.max() == 6
    counts = np.bincount(x + 3, minlength=10)
    expected = len(x) / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 40  # 9 degrees of freedom: p < 1e-5 above this


def test_randperm_is_a_permutation():
    for n in (1, 5, 1000):
        p = values(torch.randperm(n))
        np.testing.assert_array_equal(np.sort(p), np.arange(n))
    assert not np.array_equal(values(torch.randperm(1000)), np.arange(1000))


def test_multinomial_with_replacement_frequencies():
    p = torch.tensor([0.1, 0.0, 0.2, 0.3, 0.4])
    x = values(torch.multinomial(p, 100000, True, generator=torch.Generator().manual_seed(0)))
    freq = np.bincount(x, minlength=5) / len(x)
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.2, 0.3, 0.4], atol=0.006)


def test_multinomial_rows_unnormalized_and_zero_probabilities():
    w = torch.tensor([[1.0, 0.0, 3.0], [0.0, 5.0, 0.0]], dtype=torch.float64)
    x = values(torch.multinomial(w, 40000, replacement=True,
                                 generator=torch.Generator().manual_seed(0)))
    assert x.shape == (2, 40000)
    assert set(x[1].tolist()) == {1}
    assert 1 not in set(x[0].tolist())
    assert abs((x[0] == 2).mean() - 0.75) < 0.01


def test_multinomial_without_replacement_is_distinct_and_follows_sequential_draws():
    rows = torch.tensor(np.tile([0.5, 0.3, 0.2], (30000, 1)), dtype=torch.float32)
    x = values(torch.multinomial(rows, 2, generator=torch.Generator().manual_seed(0)))
    assert (x[:, 0] != x[:, 1]).all()
    first = np.bincount(x[:, 0], minlength=3) / len(x)
    np.testing.assert_allclose(first, [0.5, 0.3, 0.2], atol=0.01)
    # P(second = 2) = 0.5 * 0.2/0.5 + 0.3 * 0.2/0.7
    assert abs((x[:, 1] == 2).mean() - (0.2 + 0.06 / 0.7)) < 0.01


def test_multinomial_without_replacement_all_categories_and_zero_ones_last():
    x = values(torch.multinomial(torch.ones(4, 6), 6))
    np.testing.assert_array_equal(np.sort(x, axis=1), np.tile(np.arange(6), (4, 1)))
    y = values(torch.multinomial(torch.tensor([0.0, 2.0, 0.0, 1.0]), 4))
    assert set(y[:2].tolist()) == {1, 3} and set(y[2:].tolist()) == {0, 2}


def test_bernoulli_rate_dtype_and_p_overload():
    probs = torch.full((100000,), 0.3, dtype=torch.float64)
    x = values(torch.bernoulli(probs, generator=torch.Generator().manual_seed(0)))
    assert set(np.unique(x).tolist()) == {0.0, 1.0} and abs(x.mean() - 0.3) < 0.01
    y = torch.bernoulli(torch.zeros(100000), 0.8)
    assert y.dtype is torch.float32 and abs(values(y).mean() - 0.8) < 0.01
    method = torch.full((1000,), 1.0).bernoulli()
    assert values(method).min() == 1.0


def test_poisson_mean():
    g = torch.Generator().manual_seed(0)
    x = values(torch.poisson(torch.full((100000,), 4.0), generator=g))
    assert abs(x.mean() - 4) < 0.05 and (x == np.round(x)).all()


# ----------------------------------------------------------------------------- autograd

def test_normal_gives_zero_gradients_and_torch_grad_fn_names():
    m = torch.zeros(3, requires_grad=True)
    s = torch.ones(3, requires_grad=True)
    y = torch.normal(m, s)
    assert y.grad_fn.name() == "NormalBackward3"
    y.sum().backward()
    np.testing.assert_array_equal(values(m.grad), 0)
    np.testing.assert_array_equal(values(s.grad), 0)
    assert torch.normal(m, 1.0).grad_fn.name() == "NormalBackward1"
    assert torch.normal(0.0, s).grad_fn.name() == "NormalBackward2"
    assert torch.bernoulli(m * 0 + 0.5).grad_fn.name() == "BernoulliBackward0"


@pytest.mark.parametrize("method, args, node", [
    ("uniform_", (), "UniformBackward0"),
    ("normal_", (), "NormalBackward0"),
    ("bernoulli_", (0.5,), "BernoulliBackward2"),
    ("random_", (5,), "RandomBackward1"),
    ("random_", (), "RandomBackward2"),
    ("exponential_", (), "ExponentialBackward0"),
    ("geometric_", (0.5,), "GeometricBackward0"),
    ("cauchy_", (), "CauchyBackward0"),
    ("log_normal_", (), "LogNormalBackward0"),
])
def test_inplace_samplers_on_non_leaves_pass_zero_gradients(method, args, node):
    x = torch.ones(4, requires_grad=True)
    y = x * 2
    before = y._version
    assert getattr(y, method)(*args) is y
    assert y._version == before + 1
    assert y.grad_fn.name() == node
    y.sum().backward()
    np.testing.assert_array_equal(values(x.grad), np.zeros(4))


def test_inplace_sampler_on_leaf_requiring_grad_needs_no_grad():
    w = torch.empty(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation"):
        w.uniform_()
    with torch.no_grad():
        w.normal_(0, 0.01)
    assert w.is_leaf and w.requires_grad and np.abs(values(w)).max() < 0.1


def test_inplace_sampler_through_a_view_writes_the_base():
    base = torch.zeros(4, 5)
    row = base[1]
    row.uniform_(2, 3)
    b = values(base)
    assert (b[1] >= 2).all() and (b[[0, 2, 3]] == 0).all()


# ----------------------------------------------------------------------------- in-place values

def _filled(method, *args, dtype=torch.float64, n=100000):
    g = torch.Generator().manual_seed(0)
    return values(getattr(torch.empty(n, dtype=dtype), method)(*args, generator=g))


def test_uniform_normal_exponential_statistics():
    u = _filled("uniform_", -2.0, 4.0)
    assert u.min() >= -2 and u.max() < 4 and abs(u.mean() - 1) < 0.03
    z = _filled("normal_", 3.0, 2.0)
    assert abs(z.mean() - 3) < 0.03 and abs(z.std() - 2) < 0.03
    e = _filled("exponential_", 4.0)
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.005
    geo = _filled("geometric_", 0.25)
    assert geo.min() >= 1 and abs(geo.mean() - 4) < 0.1 and (geo == np.round(geo)).all()
    c = _filled("cauchy_", 1.0, 2.0)
    assert abs(np.median(c) - 1) < 0.05
    ln = np.log(_filled("log_normal_", 0.5, 0.25))
    assert abs(ln.mean() - 0.5) < 0.01 and abs(ln.std() - 0.25) < 0.01
    b = _filled("bernoulli_", 0.25, dtype=torch.int64)
    assert set(np.unique(b).tolist()) == {0, 1} and abs(b.mean() - 0.25) < 0.01


def test_bernoulli_inplace_with_tensor_probabilities():
    x = torch.empty(2, 50000)
    x.bernoulli_(torch.tensor([[0.0], [1.0]]))
    np.testing.assert_array_equal(values(x)[0], 0)
    np.testing.assert_array_equal(values(x)[1], 1)


@pytest.mark.parametrize("dtype, args, low, high", [
    (torch.int64, (5,), 0, 4),
    (torch.int64, (-3, 3), -3, 2),
    (torch.float32, (2, 6), 2, 5),
    (torch.int8, (), 0, 127),
    (torch.uint8, (), 0, 255),
    (torch.bool, (), 0, 1),
    (torch.float16, (), 0, 2048),
    (torch.float32, (), 0, 2**24),
    (torch.int16, (100, None), 100, 32767),
])
def test_random_inplace_ranges(dtype, args, low, high):
    x = values(torch.empty(20000, dtype=dtype).random_(*args)).astype(np.float64)
    assert x.min() >= low and x.max() <= high and (x == np.round(x)).all()
    if high - low < 20:
        assert x.min() == low and x.max() == high


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, exc, match", [
    (lambda: torch.randint(5, 3, (2,)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=3"),
    (lambda: torch.randint(10, 3), TypeError, "argument 'size'.*must be tuple of ints, not int"),
    (lambda: torch.randint(3.5, (3,)), TypeError, "argument 'high'.*must be int, not float"),
    (lambda: torch.randint(0, 300, (3,), dtype=torch.uint8), RuntimeError,
     "to - 1 is out of bounds for unsigned char"),
    (lambda: torch.randint(-1, 3, (3,), dtype=torch.uint8), RuntimeError,
     "from is out of bounds for unsigned char"),
    (lambda: torch.randint(0, 3, (3,), dtype=torch.bool), RuntimeError,
     "to - 1 is out of bounds for bool"),
    (lambda: torch.randint_like(torch.zeros(2), 5, 3), RuntimeError, "from=5 >= to=3"),
    (lambda: torch.rand(3, dtype=torch.int64), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: torch.randn(3, dtype=torch.int32), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Int'"),
    (lambda: torch.rand(), TypeError, "rand"),
    (lambda: torch.rand(-1), RuntimeError, r"negative dimension -1: \[-1\]"),
    (lambda: torch.randperm(-1), RuntimeError, "negative dimension"),
    (lambda: torch.randperm(257, dtype=torch.uint8), RuntimeError,
     "value cannot be converted to type uint8_t without overflow"),
    (lambda: torch.randperm(3000, dtype=torch.float16), RuntimeError,
     "n cannot be greater than 2049 for Half type"),
    (lambda: torch.normal(0.0, -1.0, (3,)), RuntimeError,
     "normal expects std >= 0.0, but found std -1"),
    (lambda: torch.normal(torch.zeros(3), -0.5), RuntimeError, "found std -0.5"),
    (lambda: torch.normal(torch.zeros(3), -torch.ones(3)), RuntimeError,
     "normal expects all elements of std >= 0.0"),
    (lambda: torch.normal(0.0, -torch.ones(3)), RuntimeError, "all elements of std >= 0.0"),
    (lambda: torch.normal(torch.zeros(3), torch.ones(2)), RuntimeError, "must match the size"),
    (lambda: torch.normal(0.0, 1.0), TypeError, "normal"),
    (lambda: torch.normal(torch.zeros(3, dtype=torch.int64), 1.0), NotImplementedError,
     "normal_kernel_cpu"),
    (lambda: torch.multinomial(torch.tensor([0.1, -0.2, 0.7]), 1), RuntimeError,
     "probability tensor contains either `inf`, `nan` or element < 0"),
    (lambda: torch.multinomial(torch.tensor([0.1, float("nan")]), 1), RuntimeError,
     "`inf`, `nan` or element < 0"),
    (lambda: torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 4), RuntimeError,
     r"cannot sample n_sample > prob_dist.size\(-1\) samples without replacement"),
    (lambda: torch.multinomial(torch.tensor([0.1, 0.2]), 0), RuntimeError,
     "cannot sample n_sample <= 0 samples"),
    (lambda: torch.multinomial(torch.zeros(2), 1, True), RuntimeError,
     r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
    (lambda: torch.multinomial(torch.ones(2, 2, 2), 1), RuntimeError,
     "prob_dist must be 1 or 2 dim"),
    (lambda: torch.multinomial(torch.tensor([1, 2]), 1), RuntimeError,
     "multinomial only supports floating-point dtypes for input, got: Long"),
    (lambda: torch.bernoulli(torch.tensor([0.5, 1.5])), RuntimeError,
     "Expected p_in >= 0 && p_in <= 1"),
    (lambda: torch.bernoulli(torch.zeros(2), 2.0), RuntimeError,
     r"bernoulli_ expects p to be in \[0, 1\], but got p=2"),
    (lambda: torch.bernoulli(torch.tensor([1, 0])), NotImplementedError,
     "bernoulli_tensor_cpu_p_"),
    (lambda: torch.poisson(torch.tensor([1.0, -2.0])), RuntimeError,
     "invalid Poisson rate, expected rate to be non-negative"),
    (lambda: torch.zeros(3).uniform_(2, 1), RuntimeError,
     r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"),
    (lambda: torch.zeros(3, dtype=torch.int64).uniform_(), NotImplementedError,
     "check_uniform_bounds"),
    (lambda: torch.zeros(3).normal_(0, -1), RuntimeError, "normal expects std >= 0.0"),
    (lambda: torch.zeros(3).bernoulli_(1.5), RuntimeError, "bernoulli_ expects p to be in"),
    (lambda: torch.zeros(3).exponential_(0), RuntimeError,
     "exponential_ expects lambda > 0.0, but found lambda=0"),
    (lambda: torch.zeros(3, dtype=torch.int64).exponential_(), RuntimeError,
     "Exponential distribution is a continuous probability distribution. dtype must be a "
     "floating point but you specified Long"),
    (lambda: torch.zeros(3).geometric_(1.0), RuntimeError,
     r"geometric_ expects p to be in \(0, 1\), but got p=1"),
    (lambda: torch.zeros(3).cauchy_(0, -1), RuntimeError, "cauchy_ expects sigma > 0.0"),
    (lambda: torch.zeros(3, dtype=torch.int32).cauchy_(), RuntimeError,
     "Cauchy distribution is a continuous.*you specified int"),
    (lambda: torch.zeros(3).log_normal_(0, -1), RuntimeError, "log_normal_ expects std > 0.0"),
    (lambda: torch.zeros(3).random_(5, 3), RuntimeError, "from=5 >= to=3"),
    (lambda: torch.zeros(3).random_(0), RuntimeError, "from=0 >= to=0"),
    (lambda: torch.zeros(3, dtype=torch.int8).random_(200), RuntimeError,
     "to - 1 is out of bounds for signed char"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_random_range_past_float_precision_warns():
    with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]"):
        torch.zeros(3).random_(0, 2**25)


def test_module_exports():
    assert dt_random.default_generator is torch.default_generator
    for name in ("manual_seed", "get_rng_state", "set_rng_state", "initial_seed", "seed"):
        assert getattr(torch.random, name) is getattr(torch, name)
