"""torch.nn modules, one file per family."""

from dist_torch.nn.modules.activation import *  # noqa: F403
from dist_torch.nn.modules.adaptive import *  # noqa: F403
from dist_torch.nn.modules.attention import *  # noqa: F403
from dist_torch.nn.modules.batchnorm import *  # noqa: F403
from dist_torch.nn.modules.container import *  # noqa: F403
from dist_torch.nn.modules.conv import *  # noqa: F403
from dist_torch.nn.modules.data_parallel import *  # noqa: F403
from dist_torch.nn.modules.distance import *  # noqa: F403
from dist_torch.nn.modules.dropout import *  # noqa: F403
from dist_torch.nn.modules.flatten import *  # noqa: F403
from dist_torch.nn.modules.fold import *  # noqa: F403
from dist_torch.nn.modules.fractional import *  # noqa: F403
from dist_torch.nn.modules.lazy import *  # noqa: F403
from dist_torch.nn.modules.legacy import *  # noqa: F403
from dist_torch.nn.modules.linear import *  # noqa: F403
from dist_torch.nn.modules.loss import *  # noqa: F403
from dist_torch.nn.modules.module import *  # noqa: F403
from dist_torch.nn.modules.normalization import *  # noqa: F403
from dist_torch.nn.modules.padding import *  # noqa: F403
from dist_torch.nn.modules.pixelshuffle import *  # noqa: F403
from dist_torch.nn.modules.pooling import *  # noqa: F403
from dist_torch.nn.modules.rnn import *  # noqa: F403
from dist_torch.nn.modules.sparse import *  # noqa: F403
from dist_torch.nn.modules.sync_batchnorm import *  # noqa: F403
from dist_torch.nn.modules.transformer import *  # noqa: F403
from dist_torch.nn.modules.upsampling import *  # noqa: F403
