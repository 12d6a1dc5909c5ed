"""torch.distributions: the commonly used distributions, constraints and kl_divergence.

Covered: Distribution, ExponentialFamily, Normal, Uniform, Exponential, Laplace, LogNormal,
Bernoulli, Categorical, OneHotCategorical(StraightThrough), Gamma, Beta, Dirichlet,
MultivariateNormal, Independent, kl_divergence/register_kl. Gamma, Beta and Dirichlet sample
without gradient (no implicit reparameterization); see distributions/gamma.py.
"""

from dist_torch.distributions import constraints
from dist_torch.distributions.continuous import Exponential, Laplace, LogNormal, Normal, Uniform
from dist_torch.distributions.discrete import (
    Bernoulli,
    Categorical,
    OneHotCategorical,
    OneHotCategoricalStraightThrough,
)
from dist_torch.distributions.distribution import Distribution, ExponentialFamily
from dist_torch.distributions.gamma import Beta, Dirichlet, Gamma
from dist_torch.distributions.independent import Independent
from dist_torch.distributions.kl import kl_divergence, register_kl
from dist_torch.distributions.multivariate_normal import MultivariateNormal

__all__ = [
    "Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Exponential",
    "ExponentialFamily", "Gamma", "Independent", "Laplace", "LogNormal", "MultivariateNormal",
    "Normal", "OneHotCategorical", "OneHotCategoricalStraightThrough", "Uniform", "constraints",
    "kl_divergence", "register_kl",
]
