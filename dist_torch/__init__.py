"""dist_torch: a PyTorch-compatible deep-learning framework on NumPy and CuPy.

Use it as ``import dist_torch as torch``.
"""

from dist_torch import _dtype
from dist_torch._device import device
from dist_torch._dtype import (bfloat16, bool, double, dtype, float, float16, float32, float64,
                               get_default_dtype, half, int, int8, int16, int32, int64, long,
                               promote_types, set_default_dtype, short, uint8)
from dist_torch._size import Size
from dist_torch._tensor import Tensor
from dist_torch import autograd
from dist_torch.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                           is_inference_mode_enabled, no_grad, set_grad_enabled)
from dist_torch._creation import *
from dist_torch._finfo import finfo, iinfo
from dist_torch._type_queries import *
from dist_torch import accelerator, backends, cuda
from dist_torch.backends import get_float32_matmul_precision, set_float32_matmul_precision
from dist_torch import linalg
from dist_torch import return_types
from dist_torch.random import *
from dist_torch._tensor_str import set_printoptions
from dist_torch._promotion_api import *
from dist_torch.ops.conversion import *
from dist_torch.ops.elementwise import *
from dist_torch.ops.unary import *
from dist_torch.ops.comparison import *
from dist_torch.ops.reduction import *
from dist_torch.ops.cumulative import *
from dist_torch.ops.sorting import *
from dist_torch.ops.softmax import *
from dist_torch.ops.statistics import *
from dist_torch.ops.linalg_norm import *
from dist_torch.ops.linalg import *
from dist_torch.ops.shape import *
from dist_torch.ops.slicing import *
from dist_torch.ops.join import *
from dist_torch.ops.rearrange import *
from dist_torch.ops.indexing import *
from dist_torch.ops.fill import *
from dist_torch.ops.scatter import *
from dist_torch.ops.index_ops import *
from dist_torch.ops.masked import *
from dist_torch.ops.norm import *
from dist_torch.ops.activation import *
from dist_torch.ops.embedding import *
from dist_torch.ops.conv import *
from dist_torch.ops.padding import *
from dist_torch.ops.fold import *
from dist_torch.ops.binary_math import *
from dist_torch.ops.special_functions import *
from dist_torch.ops.decompositions import *
from dist_torch.ops.spectral import *
from dist_torch.ops.combinatorics import *
from dist_torch.ops.search import *
from dist_torch import special
from dist_torch.ops.quantiles import *
from dist_torch.ops.windows import *
from dist_torch.ops.scatter_views import *
from dist_torch.ops.strided import *
from dist_torch.ops.index_reduce import *
from dist_torch._tensor_real import *
from dist_torch import _tensor_misc  # noqa: F401  (binds Tensor.new, sum_to_size, ...)
from dist_torch._runtime import *
from dist_torch import nn
from dist_torch import func
from dist_torch.nn.functional.distance import cosine_similarity, pairwise_distance, pdist
from dist_torch.nn.functional import bilinear, channel_shuffle, conv_tbc
from dist_torch.nn.functional.pooling import (adaptive_avg_pool1d, adaptive_max_pool1d,
                                              avg_pool1d, max_pool1d,
                                              max_pool1d_with_indices, max_pool2d, max_pool3d)
from dist_torch import utils
from dist_torch import optim
from dist_torch import distributed
from dist_torch.serialization import load, save
from dist_torch import vision
from dist_torch import amp
from dist_torch import distributions
from dist_torch.amp import autocast
from dist_torch.amp._policy import (autocast_decrement_nesting, autocast_increment_nesting,
                                    clear_autocast_cache, get_autocast_cpu_dtype,
                                    get_autocast_dtype, get_autocast_gpu_dtype,
                                    is_autocast_cache_enabled, is_autocast_cpu_enabled,
                                    is_autocast_enabled, set_autocast_cache_enabled,
                                    set_autocast_cpu_dtype, set_autocast_cpu_enabled,
                                    set_autocast_dtype, set_autocast_enabled,
                                    set_autocast_gpu_dtype)

__version__ = "0.1.0"
