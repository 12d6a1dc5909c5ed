"""The NCCL backend's setup logic that runs without a GPU: the datatype and op tables against
a stand-in ``cupy.cuda.nccl`` (codes as in nccl.h), and the one-GPU-per-rank check."""

from types import SimpleNamespace

import numpy as np
import pytest

from dist_torch.distributed import _nccl_setup as backend
from dist_torch.distributed.process_group import ReduceOp


def fake_nccl(version, avg=True):
    """The constants cupy.cuda.nccl exposes (values of nccl.h's enums)."""
    names = dict(NCCL_INT8=0, NCCL_UINT8=1, NCCL_INT32=2, NCCL_UINT32=3, NCCL_INT64=4,
                 NCCL_UINT64=5, NCCL_FLOAT16=6, NCCL_FLOAT32=7, NCCL_FLOAT64=8,
                 NCCL_BFLOAT16=9, NCCL_SUM=0, NCCL_PROD=1, NCCL_MAX=2, NCCL_MIN=3)
    if avg:
        names["NCCL_AVG"] = 4
    return SimpleNamespace(get_version=lambda: version, **names)


def test_datatypes_cover_unsigned_and_bfloat16_on_modern_nccl():
    types = backend._Types(fake_nccl(21903))
    by = types.by_dtype
    assert by[np.dtype(np.uint32)] == 3 and by[np.dtype(np.uint64)] == 5
    assert by[np.dtype(np.float16)] == 6 and by[np.dtype(np.int64)] == 4
    assert np.dtype(np.int16) not in by  # reduced in int32
    assert types.bfloat16 == 9


def test_avg_is_native_from_nccl_2_10():
    types = backend._Types(fake_nccl(21000))
    assert types.native_avg and types.ops[ReduceOp.AVG] == 4
    assert types.ops[ReduceOp.SUM] == 0 and types.ops[ReduceOp.PRODUCT] == 1
    assert types.ops[ReduceOp.MAX] == 2 and types.ops[ReduceOp.MIN] == 3


def test_old_nccl_sums_then_divides_and_has_no_bfloat16():
    types = backend._Types(fake_nccl(20903, avg=False))
    assert not types.native_avg and types.ops[ReduceOp.AVG] == 0
    assert types.bfloat16 is None


def test_bool_reductions_are_max_and_min_of_bytes():
    ops = backend._Types(fake_nccl(22000)).bool_ops
    assert ops[ReduceOp.SUM] == ops[ReduceOp.MAX] == ops[ReduceOp.BOR] == 2
    assert ops[ReduceOp.PRODUCT] == ops[ReduceOp.MIN] == ops[ReduceOp.BAND] == 3


def test_distinct_gpus_pass():
    places = [("node0", "0000:17:00.0"), ("node0", "0000:65:00.0"),
              ("node1", "0000:17:00.0")]
    assert backend._shared_gpus(places, [0, 1, 2]) is None


def test_two_ranks_on_one_gpu_are_named_with_advice():
    places = [("node0", "0000:17:00.0"), ("node1", "0000:17:00.0"),
              ("node1", "0000:17:00.0")]
    message = backend._shared_gpus(places, [4, 5, 6])
    assert "ranks 5 and 6" in message and "0000:17:00.0" in message and "node1" in message
    assert "backend='mpi'" in message and "one GPU per process" in message


def test_send_to_itself_is_refused():
    with pytest.raises(ValueError, match="destination rank should not be the same"):
        backend._check_not_self("send", 2, 2)
    backend._check_not_self("recv", 1, 2)


@pytest.mark.parametrize("given, index", [(None, None), (3, 3), ("cuda:2", 2),
                                          (SimpleNamespace(index=1), 1)])
def test_device_index(given, index):
    assert backend._device_index(given) == index
