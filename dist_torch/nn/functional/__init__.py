"""torch.nn.functional: stateless versions of the layers, one submodule per family."""

from dist_torch.nn.functional.activation import *  # noqa: F403
from dist_torch.nn.functional.attention import *  # noqa: F403
from dist_torch.nn.functional.conv import *  # noqa: F403
from dist_torch.nn.functional.conv_tbc import *  # noqa: F403
from dist_torch.nn.functional.ctc import *  # noqa: F403
from dist_torch.nn.functional.distance import *  # noqa: F403
from dist_torch.nn.functional.dropout import *  # noqa: F403
from dist_torch.nn.functional.fractional import *  # noqa: F403
from dist_torch.nn.functional.grid import *  # noqa: F403
from dist_torch.nn.functional.linear import *  # noqa: F403
from dist_torch.nn.functional.loss import *  # noqa: F403
from dist_torch.nn.functional.normalization import *  # noqa: F403
from dist_torch.nn.functional.pooling import *  # noqa: F403
from dist_torch.nn.functional.sparse import *  # noqa: F403
from dist_torch.nn.functional.vision import *  # noqa: F403
