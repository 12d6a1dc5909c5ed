"""torch.distributions against torch: log_prob, entropy, mean, mode, variance, stddev, cdf and
icdf (values, dtypes and gradients w.r.t. the parameters in float64), broadcasting of
parameters, scalar and float32 parameters, expand, and the argument/sample validation errors.

kl_divergence for every registered pair is at the end; sampling (random, so statistical
checks) is in test_distributions_sampling_oracle.py.
"""

import numpy as np
import pytest
import torch

import dist_torch as dt
import dist_torch.distributions  # noqa: F401 (binds dt.distributions)
from tests.oracle.compare import check

RNG = np.random.default_rng(0)


def _pos(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def _unit(*shape):
    return RNG.uniform(0.05, 0.95, shape)


def _spd(n, batch=()):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _tril(n):
    t = np.tril(RNG.standard_normal((n, n)))
    t[np.diag_indices(n)] = _pos(n)
    return t


def _one_hot(idx, k):
    return np.eye(k)[idx]


# name: (factory(D, *params), params, value, quantiles for icdf or None, has cdf)
SPECS = {
    "normal": (lambda d, a, b: d.Normal(a, b), [RNG.standard_normal((3, 4)), _pos(4)],
               RNG.standard_normal((2, 3, 4)), _unit(3, 4), True),
    "uniform": (lambda d, a, b: d.Uniform(a, b), [-1 - _pos(3, 4), 1 + _pos(4)],
                RNG.uniform(-0.9, 0.9, (2, 3, 4)), _unit(3, 4), True),
    "exponential": (lambda d, r: d.Exponential(r), [_pos(3, 4)], _pos(2, 3, 4), _unit(3, 4),
                    True),
    "laplace": (lambda d, a, b: d.Laplace(a, b), [RNG.standard_normal((3, 1)), _pos(4)],
                RNG.standard_normal((2, 3, 4)), _unit(3, 4), True),
    "lognormal": (lambda d, a, b: d.LogNormal(a, b), [RNG.standard_normal((3, 4)), _pos(4)],
                  _pos(2, 3, 4), _unit(3, 4), True),
    "gamma": (lambda d, c, r: d.Gamma(c, r), [_pos(3, 4) + 0.5, _pos(4)], _pos(2, 3, 4),
              None, False),
    "beta": (lambda d, a, b: d.Beta(a, b), [_pos(3, 4), _pos(3, 4)], _unit(2, 3, 4), None,
             False),
    "dirichlet": (lambda d, c: d.Dirichlet(c), [_pos(3, 5)],
                  RNG.dirichlet(np.ones(5), size=(2, 3)), None, False),
    "bernoulli_probs": (lambda d, p: d.Bernoulli(probs=p), [_unit(3, 4)],
                        RNG.integers(0, 2, (2, 3, 4)).astype(np.float64), None, False),
    "bernoulli_logits": (lambda d, lg: d.Bernoulli(logits=lg), [RNG.standard_normal((3, 4))],
                         RNG.integers(0, 2, (2, 3, 4)).astype(np.float64), None, False),
    "categorical_probs": (lambda d, p: d.Categorical(probs=p), [_pos(3, 5)],
                          RNG.integers(0, 5, (2, 3)), None, False),
    "categorical_logits": (lambda d, lg: d.Categorical(logits=lg),
                           [RNG.standard_normal((3, 5))], RNG.integers(0, 5, (2, 3)), None,
                           False),
    "one_hot_categorical": (lambda d, p: d.OneHotCategorical(p), [_pos(3, 5)],
                            _one_hot(RNG.integers(0, 5, (2, 3)), 5), None, False),
    "mvn_covariance": (lambda d, m, c: d.MultivariateNormal(m, covariance_matrix=c),
                       [RNG.standard_normal((3, 4)), _spd(4)], RNG.standard_normal((2, 3, 4)),
                       None, False),
    "mvn_precision": (lambda d, m, p: d.MultivariateNormal(m, precision_matrix=p),
                      [RNG.standard_normal((4,)), _spd(4, (3,))],
                      RNG.standard_normal((2, 3, 4)), None, False),
    "mvn_scale_tril": (lambda d, m, s: d.MultivariateNormal(m, scale_tril=s),
                       [RNG.standard_normal((3, 4)), _tril(4)], RNG.standard_normal((2, 1, 4)),
                       None, False),
    "independent_normal": (lambda d, a, b: d.Independent(d.Normal(a, b), 1),
                           [RNG.standard_normal((3, 4)), _pos(3, 4)],
                           RNG.standard_normal((2, 3, 4)), None, False),
}


def _dist(lib, name, params):
    return SPECS[name][0](lib.distributions, *params)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_log_prob_and_entropy(name):
    _, params, value, _, _ = SPECS[name]
    check(lambda lib, *t: _dist(lib, name, t[:-1]).log_prob(t[-1]), *params, value)
    check(lambda lib, *t: _dist(lib, name, t).entropy(), *params)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_moments_and_mode(name):
    _, params, _, _, _ = SPECS[name]
    check(lambda lib, *t: (_dist(lib, name, t).mean, _dist(lib, name, t).variance), *params)
    check(lambda lib, *t: _dist(lib, name, t).mode, *params)
    if not name.startswith("categorical"):
        check(lambda lib, *t: _dist(lib, name, t).stddev, *params)


@pytest.mark.parametrize("name", [n for n in sorted(SPECS) if SPECS[n][4]])
def test_cdf_and_icdf(name):
    _, params, value, quantiles, _ = SPECS[name]
    check(lambda lib, *t: _dist(lib, name, t[:-1]).cdf(t[-1]), *params, value)
    check(lambda lib, *t: _dist(lib, name, t[:-1]).icdf(t[-1]), *params, quantiles)


def test_value_gradient_and_parameter_attributes():
    loc, scale = RNG.standard_normal(4), _pos(4)
    value = RNG.standard_normal((2, 4))
    check(lambda lib, m, s, v: lib.distributions.Normal(m, s).log_prob(v), loc, scale, value)
    check(lambda lib, p: (lib.distributions.Bernoulli(probs=p).logits,
                          lib.distributions.Categorical(probs=p).logits), _unit(3, 4))
    check(lambda lib, lg: (lib.distributions.Bernoulli(logits=lg).probs,
                           lib.distributions.Categorical(logits=lg).probs),
          RNG.standard_normal((3, 4)))
    check(lambda lib, m, c: (lib.distributions.MultivariateNormal(m, c).scale_tril,
                             lib.distributions.MultivariateNormal(m, c).precision_matrix),
          RNG.standard_normal(3), _spd(3))
    check(lambda lib, m, s: lib.distributions.MultivariateNormal(m, scale_tril=s)
          .covariance_matrix, RNG.standard_normal(3), _tril(3))
    check(lambda lib, a, b: (lib.distributions.Beta(a, b).concentration1,
                             lib.distributions.Beta(a, b).concentration0), _pos(3), _pos(3))


def test_scalar_and_float32_parameters():
    value = RNG.standard_normal((3,))
    # Python numbers become default-dtype tensors; the value's dtype then promotes
    check(lambda lib, v: lib.distributions.Normal(0.5, 2.0).log_prob(v), value)
    check(lambda lib, v: lib.distributions.Laplace(0.5, 2.0).cdf(v), value)
    check(lambda lib, v: lib.distributions.Normal(v, 2.0).log_prob(v), value)
    check(lambda lib: lib.distributions.Normal(0.5, 2.0).entropy())
    # float32 results: float32 tolerance
    check(lambda lib: lib.distributions.Beta(0.5, 2.0).entropy(), rtol=1e-6)
    check(lambda lib: lib.distributions.Gamma(3.0, 2.0).log_prob(lib.tensor(1.5)), rtol=1e-6)
    f32 = [a.astype(np.float32) for a in (RNG.standard_normal((3, 4)), _pos(4),
                                          RNG.standard_normal((3, 4)))]
    for name in ("normal", "laplace"):
        check(lambda lib, a, b, v, name=name: _dist(lib, name, (a, b)).log_prob(v), *f32,
              rtol=1e-5, atol=1e-6)
    check(lambda lib, p: lib.distributions.Categorical(p).entropy(),
          _pos(3, 5).astype(np.float32), rtol=1e-5, atol=1e-6)


def test_shapes_properties_and_enumerate_support():
    D, T = dt.distributions, torch.distributions
    pairs = [
        (D.Normal(dt.zeros(3, 1), dt.ones(4)), T.Normal(torch.zeros(3, 1), torch.ones(4))),
        (D.Normal(0.0, 1.0), T.Normal(0.0, 1.0)),
        (D.Dirichlet(dt.ones(2, 3)), T.Dirichlet(torch.ones(2, 3))),
        (D.OneHotCategorical(dt.ones(2, 3)), T.OneHotCategorical(torch.ones(2, 3))),
        (D.Categorical(dt.ones(3)), T.Categorical(torch.ones(3))),
        (D.MultivariateNormal(dt.zeros(2, 3), dt.eye(3)),
         T.MultivariateNormal(torch.zeros(2, 3), torch.eye(3))),
        (D.Independent(D.Normal(dt.zeros(2, 3), 1.0), 2),
         T.Independent(T.Normal(torch.zeros(2, 3), 1.0), 2)),
        (D.Beta(dt.ones(2), 2.0), T.Beta(torch.ones(2), 2.0)),
    ]
    for ours, theirs in pairs:
        assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
        assert tuple(ours.event_shape) == tuple(theirs.event_shape)
        assert ours.has_rsample == theirs.has_rsample or type(ours).__name__ in (
            "Dirichlet", "Beta")
        assert repr(ours.support) == repr(theirs.support)
        assert repr(ours) == repr(theirs)
    for name in ("bernoulli_probs", "categorical_logits", "one_hot_categorical"):
        params = SPECS[name][1]
        for expand in (True, False):
            check(lambda lib, *t, name=name, expand=expand:
                  _dist(lib, name, t).enumerate_support(expand), *params, grad=False)


def test_expand():
    for name in ("normal", "bernoulli_logits", "categorical_probs", "mvn_covariance",
                 "dirichlet", "beta", "gamma", "lognormal", "one_hot_categorical"):
        _, params, value, _, _ = SPECS[name]
        bigger = (2,) + tuple(value.shape[1:])

        def fn(lib, *t, name=name, bigger=bigger):
            d = _dist(lib, name, t[:-1])
            e = d.expand(bigger[:len(bigger) - len(d.event_shape)])
            assert tuple(e.batch_shape) == bigger[:len(bigger) - len(d.event_shape)]
            return e.log_prob(t[-1]), e.entropy()
        check(fn, *params, value)
    ind = dt.distributions.Independent(dt.distributions.Normal(dt.zeros(3), 1.0), 1)
    assert tuple(ind.expand((5,)).batch_shape) == (5,)
    assert tuple(ind.expand((5,)).base_dist.batch_shape) == (5, 3)


def _messages(build):
    got = []
    for lib in (dt, torch):
        with pytest.raises(Exception) as info:
            build(lib)
        got.append((type(info.value), str(info.value)))
    return got


@pytest.mark.parametrize("build", [
    lambda lib: lib.distributions.Normal(lib.zeros(2), -lib.ones(2)),
    lambda lib: lib.distributions.Bernoulli(probs=lib.tensor([0.5, 1.5])),
    lambda lib: lib.distributions.Bernoulli(lib.tensor(0.5), lib.tensor(0.5)),
    lambda lib: lib.distributions.Bernoulli(),
    lambda lib: lib.distributions.Categorical(lib.tensor(1.0)),
    lambda lib: lib.distributions.Categorical(logits=lib.tensor(1.0)),
    lambda lib: lib.distributions.Categorical(probs=lib.tensor([0.5, -0.5, 1.0])),
    lambda lib: lib.distributions.Uniform(lib.tensor([0.0, 2.0]), lib.tensor([1.0, 1.0])),
    lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0)),
    lambda lib: lib.distributions.Gamma(lib.tensor([1.0]), lib.tensor([0.0])),
    lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2),
                                                     scale_tril=lib.eye(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.zeros(2)),
    lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), precision_matrix=lib.ones(2)),
    lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), scale_tril=lib.tensor([[1.0, 1.0], [0.0, 1.0]])),
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(2), 1.0), 2),
    lambda lib: lib.distributions.Normal(lib.zeros(2), 1.0).log_prob([0.0, 1.0]),
    lambda lib: lib.distributions.Normal(lib.zeros(2), 1.0).log_prob(lib.zeros(3)),
    lambda lib: lib.distributions.Dirichlet(lib.ones(2, 3)).log_prob(lib.ones(2)),
    lambda lib: lib.distributions.Exponential(lib.ones(2)).log_prob(-lib.ones(2)),
    lambda lib: lib.distributions.Bernoulli(lib.tensor(0.3)).log_prob(lib.tensor(0.5)),
    lambda lib: lib.distributions.Categorical(lib.ones(3)).log_prob(lib.tensor(3)),
    lambda lib: lib.distributions.Uniform(0.0, 1.0).log_prob(lib.tensor(1.5)),
    lambda lib: lib.distributions.Beta(1.0, 2.0).log_prob(lib.tensor(1.5)),
    lambda lib: lib.distributions.OneHotCategorical(lib.ones(3)).log_prob(
        lib.tensor([1.0, 1.0, 0.0])),
    lambda lib: lib.distributions.Distribution().mode,
    lambda lib: lib.distributions.Independent(lib.distributions.Normal(
        lib.zeros(2), 1.0), 1).enumerate_support(),
])
@pytest.mark.filterwarnings("ignore:.*does not define `arg_constraints`")
def test_errors_match_torch(build):
    (ours_type, ours_msg), (their_type, their_msg) = _messages(build)
    assert ours_type.__name__ == their_type.__name__
    ours_msg = ours_msg.replace("dist_torch.distributions.distribution.", "")
    their_msg = their_msg.replace("torch.distributions.distribution.", "")
    assert ours_msg == their_msg


def test_validate_args_off_and_default_switch():
    D = dt.distributions
    d = D.Normal(dt.zeros(2), -dt.ones(2), validate_args=False)   # no error
    assert np.isnan(d.log_prob(dt.zeros(2)).numpy()).all()
    assert D.Exponential(dt.ones(1), validate_args=False).log_prob(-dt.ones(1)).item() == 1.0
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(dt.zeros(2), -dt.ones(2))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(dt.zeros(2), -dt.ones(2))
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args(2)


# ---------------------------------------------------------------------------- kl_divergence

REAL, POS = (lambda: RNG.standard_normal(3)), (lambda: _pos(3))
FAMILIES = {
    "normal": (lambda d, a, b: d.Normal(a, b), [REAL, POS]),
    "laplace": (lambda d, a, b: d.Laplace(a, b), [REAL, POS]),
    "exponential": (lambda d, r: d.Exponential(r), [POS]),
    "gamma": (lambda d, c, r: d.Gamma(c, r), [POS, POS]),
    "beta": (lambda d, a, b: d.Beta(a, b), [POS, POS]),
    "uniform": (lambda d, a, b: d.Uniform(a, b),
                [lambda: RNG.uniform(0.1, 0.3, 3), lambda: RNG.uniform(0.6, 0.9, 3)]),
    "wide_uniform": (lambda d, a, b: d.Uniform(a, b),
                     [lambda: RNG.uniform(-3, -2, 3), lambda: RNG.uniform(2, 3, 3)]),
    "lognormal": (lambda d, a, b: d.LogNormal(a, b), [REAL, POS]),
    "bernoulli": (lambda d, p: d.Bernoulli(p), [lambda: _unit(3)]),
    "categorical": (lambda d, p: d.Categorical(p), [lambda: _pos(3, 4)]),
    "one_hot": (lambda d, lg: d.OneHotCategorical(logits=lg), [lambda: RNG.standard_normal(4)]),
    "dirichlet": (lambda d, c: d.Dirichlet(c), [lambda: _pos(3, 4)]),
    "mvn": (lambda d, m, c: d.MultivariateNormal(m, c), [lambda: RNG.standard_normal((2, 3)),
                                                          lambda: _spd(3)]),
    "mvn_tril": (lambda d, m, s: d.MultivariateNormal(m, scale_tril=s),
                 [lambda: RNG.standard_normal(3), lambda: _tril(3)]),
    "independent": (lambda d, a, b: d.Independent(d.Normal(a, b), 1), [REAL, POS]),
}
KL_PAIRS = [
    ("normal", "normal"), ("laplace", "laplace"), ("exponential", "exponential"),
    ("gamma", "gamma"), ("beta", "beta"), ("uniform", "uniform"), ("uniform", "wide_uniform"),
    ("wide_uniform", "uniform"), ("lognormal", "lognormal"), ("bernoulli", "bernoulli"),
    ("categorical", "categorical"), ("one_hot", "one_hot"), ("dirichlet", "dirichlet"),
    ("mvn", "mvn"), ("mvn", "mvn_tril"), ("independent", "independent"),
    ("beta", "exponential"), ("beta", "gamma"), ("beta", "normal"), ("beta", "uniform"),
    ("beta", "wide_uniform"), ("exponential", "beta"), ("exponential", "uniform"),
    ("exponential", "gamma"), ("exponential", "normal"), ("gamma", "beta"),
    ("gamma", "uniform"), ("gamma", "exponential"), ("gamma", "normal"), ("laplace", "beta"),
    ("laplace", "exponential"), ("laplace", "gamma"), ("laplace", "uniform"),
    ("laplace", "normal"), ("normal", "beta"), ("normal", "exponential"), ("normal", "gamma"),
    ("normal", "uniform"), ("normal", "laplace"), ("uniform", "beta"),
    ("wide_uniform", "beta"), ("uniform", "exponential"), ("wide_uniform", "exponential"),
    ("uniform", "gamma"), ("wide_uniform", "gamma"), ("uniform", "normal"),
]


@pytest.mark.parametrize("p_name,q_name", KL_PAIRS)
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf in compare's loss
def test_kl_divergence(p_name, q_name):
    (p_make, p_gen), (q_make, q_gen) = FAMILIES[p_name], FAMILIES[q_name]
    p_params, q_params = [g() for g in p_gen], [g() for g in q_gen]
    k = len(p_params)

    def fn(lib, *t):
        D = lib.distributions
        return D.kl_divergence(p_make(D, *t[:k]), q_make(D, *t[k:]))
    check(fn, *p_params, *q_params)


def test_kl_edge_cases_and_registry():
    # zero probabilities: inf where q has none, 0 where p has none
    p_probs = np.array([0.0, 0.3, 1.0, 0.5])
    q_probs = np.array([0.2, 0.0, 0.4, 1.0])
    check(lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.Bernoulli(p), lib.distributions.Bernoulli(q)), p_probs, q_probs,
        grad=False)
    cat_p = np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    cat_q = np.array([[0.3, 0.7, 0.0], [0.2, 0.0, 0.8]])
    check(lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.Categorical(p), lib.distributions.Categorical(q)), cat_p, cat_q,
        grad=False)
    D = dt.distributions
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p "
                       "type Bernoulli and q type Normal"):
        D.kl_divergence(D.Bernoulli(dt.tensor(0.5)), D.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(D.MultivariateNormal(dt.zeros(2), dt.eye(2)),
                        D.MultivariateNormal(dt.zeros(3), dt.eye(3)))
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        D.register_kl(int, D.Normal)

    class MyNormal(D.Normal):
        pass

    # a subclass falls back to the parent's rule until it registers its own
    p, q = MyNormal(dt.tensor(0.0), dt.tensor(1.0)), D.Normal(dt.tensor(1.0), dt.tensor(2.0))
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(0.0, 1.0),
                                                 torch.distributions.Normal(1.0, 2.0))
    assert abs(D.kl_divergence(p, q).item() - expected.item()) < 1e-6

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return dt.tensor(42.0)
    try:
        assert D.kl_divergence(p, q).item() == 42.0
    finally:
        from dist_torch.distributions import kl as kl_module
        del kl_module._KL_REGISTRY[MyNormal, D.Normal]
        kl_module._KL_MEMOIZE.clear()
