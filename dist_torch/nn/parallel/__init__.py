"""torch.nn.parallel: DistributedDataParallel and DataParallel."""

from dist_torch.nn.modules.data_parallel import DataParallel
from dist_torch.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
