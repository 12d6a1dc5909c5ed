"""DistributedSampler and DistributedBatchSampler on explicit ranks (no MPI needed)."""

import numpy as np
import pytest

import dist_torch as torch
from dist_torch.utils.data import (
    DataLoader,
    DistributedBatchSampler,
    DistributedSampler,
    TensorDataset,
)


def test_sampler_pads_by_repeating_the_start():
    # 10 samples on 3 ranks: 12 slots, indices 0 and 1 repeated; rank r takes r, r+3, ...
    got = [list(DistributedSampler(range(10), 3, r, shuffle=False)) for r in range(3)]
    assert got == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]


def test_sampler_drop_last_cuts_the_tail():
    got = [list(DistributedSampler(range(10), 3, r, shuffle=False, drop_last=True))
           for r in range(3)]
    assert got == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]


def test_shuffled_ranks_partition_each_epoch_and_epochs_differ():
    orders = []
    for epoch in (0, 1):
        shares = []
        for r in range(4):
            s = DistributedSampler(range(20), 4, r, shuffle=True, seed=3)
            s.set_epoch(epoch)
            shares.append(list(s))
        assert sorted(i for share in shares for i in share) == list(range(20))
        orders.append(shares)
    assert orders[0] != orders[1]


def test_batch_sampler_splits_each_global_batch_by_the_array_split_rule():
    # global batches of 10, 10, 3 rows; shares on 3 ranks: 4/3/3, 4/3/3, 1/1/1
    shares = [list(DistributedBatchSampler(dataset=range(23), batch_size=10,
                                           num_replicas=3, rank=r)) for r in range(3)]
    assert shares[0] == [[0, 1, 2, 3], [10, 11, 12, 13], [20]]
    assert shares[1] == [[4, 5, 6], [14, 15, 16], [21]]
    assert shares[2] == [[7, 8, 9], [17, 18, 19], [22]]
    assert all(len(DistributedBatchSampler(dataset=range(23), batch_size=10, num_replicas=3,
                                           rank=r)) == 3 for r in range(3))


def test_batch_sampler_shuffles_the_same_global_batches_as_one_process():
    def batches(k, r, epoch):
        s = DistributedBatchSampler(dataset=range(17), batch_size=5, shuffle=True, seed=9,
                                    num_replicas=k, rank=r)
        s.set_epoch(epoch)
        return list(s)

    for epoch in (0, 1):
        alone = batches(1, 0, epoch)
        split = [batches(3, r, epoch) for r in range(3)]
        for i, whole in enumerate(alone):
            assert [j for r in range(3) for j in split[r][i]] == whole
    assert batches(1, 0, 0) != batches(1, 0, 1)


def test_ranks_without_rows_get_zero_row_batches_of_the_right_shape():
    x = torch.arange(12.0).reshape(6, 2)
    y = torch.arange(6)
    loader_of = [DataLoader(TensorDataset(x, y), batch_sampler=DistributedBatchSampler(
        dataset=range(6), batch_size=4, num_replicas=3, rank=r)) for r in range(3)]
    # global batches: rows 0-3 (2/1/1) and rows 4-5 (1/1/0)
    last = [list(loader)[-1] for loader in loader_of]
    assert [tuple(b[0].shape) for b in last] == [(1, 2), (1, 2), (0, 2)]
    assert last[2][0].dtype == x.dtype and last[2][1].dtype == y.dtype
    np.testing.assert_array_equal(np.asarray(last[0][0]), [[8.0, 9.0]])


def test_batch_sampler_needs_exactly_one_source():
    with pytest.raises(ValueError, match="either batch_sampler or dataset"):
        DistributedBatchSampler(num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DistributedBatchSampler(dataset=range(3), batch_size=0, num_replicas=1, rank=0)


def test_zero_row_batches_reach_worker_processes():
    x = torch.arange(10.0).reshape(5, 2)
    sampler = DistributedBatchSampler(dataset=range(5), batch_size=4, num_replicas=3, rank=2)
    assert [len(b) for b in sampler] == [1, 0]  # rows 0-3 (2/1/1), row 4 (1/0/0)
    loader = DataLoader(TensorDataset(x), batch_sampler=sampler, num_workers=1)
    assert [tuple(b[0].shape) for b in loader] == [(1, 2), (0, 2)]
