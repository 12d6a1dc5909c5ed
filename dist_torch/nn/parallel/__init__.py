"""torch.nn.parallel: DistributedDataParallel."""

from dist_torch.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
