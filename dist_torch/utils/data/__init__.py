"""Datasets, samplers and the DataLoader, as ``torch.utils.data``.

Example::

    >>> from dist_torch.utils.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=4, shuffle=True)
    >>> [batch[0].shape for batch in loader]
    [torch.Size([4, 2]), torch.Size([4, 2])]
"""

from dist_torch.utils.data._collate import default_collate, default_convert
from dist_torch.utils.data._worker import WorkerInfo, _DatasetKind, get_worker_info
from dist_torch.utils.data.dataloader import DataLoader
from dist_torch.utils.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from dist_torch.utils.data.distributed import DistributedBatchSampler, DistributedSampler
from dist_torch.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "DistributedBatchSampler", "DistributedSampler", "ChainDataset",
    "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo",
    "_DatasetKind", "default_collate", "default_convert", "get_worker_info", "random_split",
]
