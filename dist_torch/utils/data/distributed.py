"""Samplers that divide the data among the ranks of a distributed job.

- :class:`DistributedSampler` (torch's): each rank takes every ``num_replicas``-th index of a
  (shuffled) permutation, padded so that every rank gets the same number of samples. Combined
  with DDP's default averaging, N ranks with batch size B train like one process with batch
  size N*B.
- :class:`DistributedBatchSampler`: splits each *global* batch of a batch sampler across the
  ranks (the first ``len % num_replicas`` ranks get one row more). Combined with
  ``DistributedDataParallel(..., batch_weighting="rows")`` the gradients equal those of one
  process on the same global batches, for any global batch size and world size.
"""

from __future__ import annotations

import math

from dist_torch.utils.data._collate import EmptyBatch
from dist_torch.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DistributedSampler", "DistributedBatchSampler"]


def _world(num_replicas, rank):
    if num_replicas is None or rank is None:
        from dist_torch import distributed as dist
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
    if rank >= num_replicas or rank < 0:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                         f"[0, {num_replicas - 1}]")
    return num_replicas, rank


class DistributedSampler(Sampler):
    """Restrict loading to this rank's share of the dataset (torch.utils.data's).

    Args:
        dataset: the dataset (only its length is used).
        num_replicas, rank: default to the world size and rank of the default group.
        shuffle: permute the indices each epoch (seeded by ``seed + epoch``).
        seed: shared by all ranks so they agree on the permutation.
        drop_last: drop the tail so the data divides evenly, instead of padding with
            repeated indices.

    Call :meth:`set_epoch` at the start of every epoch, before creating the iterator, or every
    epoch uses the same order.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        self.num_replicas, self.rank = _world(num_replicas, rank)
        self.dataset = dataset
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            from dist_torch.random import Generator, randperm
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use a different permutation for each epoch (all ranks must pass the same value)."""
        self.epoch = epoch


class DistributedBatchSampler(Sampler):
    """This rank's rows of every global batch.

    Either wrap a batch sampler that yields the same global batches on every rank, or give
    ``dataset`` and ``batch_size`` (the *global* batch size) to build one: a seeded
    RandomSampler (``shuffle=True``, reseeded from ``seed + epoch`` by :meth:`set_epoch`) or a
    SequentialSampler.

    Example::

        sampler = DistributedBatchSampler(dataset=train_set, batch_size=64, shuffle=True)
        loader = DataLoader(train_set, batch_sampler=sampler)
        model = DistributedDataParallel(net, batch_weighting="rows")
    """

    def __init__(self, batch_sampler=None, num_replicas=None, rank=None, *, dataset=None,
                 batch_size: int | None = None, shuffle: bool = False, seed: int = 0,
                 drop_last: bool = False):
        self.num_replicas, self.rank = _world(num_replicas, rank)
        if (batch_sampler is None) == (dataset is None):
            raise ValueError("DistributedBatchSampler needs either batch_sampler or dataset "
                             "(with batch_size), not both")
        self.seed, self.epoch = seed, 0
        self._generator = None
        if batch_sampler is None:
            if batch_size is None or batch_size <= 0:
                raise ValueError(f"batch_size should be a positive integer, got {batch_size}")
            if shuffle:
                from dist_torch.random import Generator
                self._generator = Generator().manual_seed(seed)
                inner = RandomSampler(dataset, generator=self._generator)
            else:
                inner = SequentialSampler(dataset)
            batch_sampler = BatchSampler(inner, batch_size, drop_last)
        self.batch_sampler = batch_sampler

    def __iter__(self):
        for batch in self.batch_sampler:
            n, k = len(batch), self.num_replicas
            per, extra = divmod(n, k)
            start = self.rank * per + min(self.rank, extra)
            share = list(batch[start:start + per + (self.rank < extra)])
            # a global batch smaller than the world leaves some ranks no rows: they still
            # take part in every collective, with zero-row tensors of the right shape
            yield share if share or not batch else EmptyBatch(batch[0])

    def __len__(self) -> int:
        return len(self.batch_sampler)

    def set_epoch(self, epoch: int) -> None:
        """Reseed the shuffle for ``epoch`` (all ranks must pass the same value)."""
        self.epoch = epoch
        if self._generator is not None:
            self._generator.manual_seed(self.seed + epoch)
        elif hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)
