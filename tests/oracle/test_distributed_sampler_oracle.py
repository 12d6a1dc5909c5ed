"""DistributedSampler against torch.utils.data.DistributedSampler.

Without shuffling the indices equal torch's. With shuffling the permutation comes from
dist_torch's generator (NumPy's stream, not torch's: see docs/api-coverage.md), so the check is
that padding, dropping and striding treat that permutation exactly as torch treats its own.
"""

import pytest

torch = pytest.importorskip("torch")

from torch.utils.data import DistributedSampler as TorchSampler  # noqa: E402

import dist_torch as dt  # noqa: E402
from dist_torch.utils.data import DistributedSampler  # noqa: E402

CASES = [(n, k, drop_last) for n in (1, 5, 10, 12, 13) for k in (1, 2, 3, 4, 7)
         for drop_last in (False, True) if not (drop_last and n < k)]


@pytest.mark.parametrize("n,k,drop_last", CASES)
def test_unshuffled_indices_and_lengths_equal_torch(n, k, drop_last):
    for r in range(k):
        ours = DistributedSampler(range(n), num_replicas=k, rank=r, shuffle=False,
                                  drop_last=drop_last)
        theirs = TorchSampler(range(n), num_replicas=k, rank=r, shuffle=False,
                              drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))


@pytest.mark.parametrize("n,k,drop_last", CASES)
@pytest.mark.parametrize("seed,epoch", [(0, 0), (7, 3)])
def test_shuffled_indices_follow_torchs_rule_on_our_permutation(n, k, drop_last, seed, epoch):
    g = dt.Generator()
    g.manual_seed(seed + epoch)
    permutation = dt.randperm(n, generator=g).tolist()
    for r in range(k):
        ours = DistributedSampler(range(n), num_replicas=k, rank=r, shuffle=True, seed=seed,
                                  drop_last=drop_last)
        ours.set_epoch(epoch)
        rule = TorchSampler(range(n), num_replicas=k, rank=r, shuffle=False,
                            drop_last=drop_last)
        assert list(ours) == [permutation[i] for i in rule]


def test_invalid_rank_error_matches_torch():
    with pytest.raises(ValueError) as theirs:
        TorchSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4), num_replicas=2, rank=2)
    assert str(ours.value) == str(theirs.value)
