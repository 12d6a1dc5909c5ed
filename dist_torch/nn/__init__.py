"""torch.nn: modules, parameters, functional, init and utils."""

from dist_torch.nn import functional, init, parallel, utils  # noqa: F401
from dist_torch.nn.modules import *  # noqa: F403
from dist_torch.nn.parameter import (  # noqa: F401
    Buffer,
    Parameter,
    UninitializedBuffer,
    UninitializedParameter,
)
