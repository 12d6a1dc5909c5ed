"""Failures are loud and local: small mpiexec jobs that go wrong on purpose.

Each test starts a job as a subprocess (aborts cannot be observed from inside pytest-mpi),
checks its exit status, timing and output, and (in ``jobs.run``) that no rank survived it.
"""

import textwrap

import pytest

from tests.distributed import jobs

HEADER = """\
import os, sys, time, threading
from datetime import timedelta
import dist_torch as torch
import dist_torch.distributed as dist
"""


def launch(tmp_path, body, ranks=2, timeout=30, env=None):
    path = jobs.script(tmp_path, "job.py", HEADER + textwrap.dedent(body))
    return jobs.run([path], ranks, timeout=timeout, env=env)


def test_uncaught_exception_aborts_the_job(tmp_path):
    job = launch(tmp_path, """
        dist.init_process_group()
        t = torch.ones(3)
        dist.all_reduce(t)
        if dist.get_rank() == 1:
            def load_batch():
                raise ValueError("corrupt batch 17")
            load_batch()
        dist.all_reduce(t)       # rank 0 waits here for a rank that is gone
        time.sleep(60)
    """)
    assert job.returncode != 0 and not job.timed_out
    assert job.seconds < 10, f"took {job.seconds:.1f} s"
    out = job.output
    assert "[rank 1] Uncaught exception; aborting the job (MPI_Abort)" in out
    assert "[rank 1] Traceback (most recent call last):" in out
    assert "in load_batch" in out
    assert "[rank 1] ValueError: corrupt batch 17" in out


def test_uncaught_exception_in_a_thread_aborts_the_job(tmp_path):
    job = launch(tmp_path, """
        dist.init_process_group()
        if dist.get_rank() == 0:
            def worker():
                raise KeyError("missing shard")
            threading.Thread(target=worker, name="loader").start()
        time.sleep(60)
    """)
    assert job.returncode != 0 and job.seconds < 10
    assert "[rank 0] Uncaught exception in thread 'loader'" in job.output
    assert "[rank 0] KeyError: 'missing shard'" in job.output


def test_killed_rank_ends_the_job(tmp_path):
    job = launch(tmp_path, """
        import signal
        dist.init_process_group()
        t = torch.ones(3)
        dist.all_reduce(t)
        if dist.get_rank() == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        dist.all_reduce(t)
        time.sleep(60)
    """)
    assert job.returncode != 0 and not job.timed_out
    assert job.seconds < 10, f"took {job.seconds:.1f} s"


SKIP_ALLREDUCE = """
    dist.init_process_group(timeout=timedelta(seconds=2))
    t = torch.ones(3)
    dist.all_reduce(t)                      # sequence number 1
    dist.broadcast(t, src=0)                # 2
    if dist.get_rank() != 1:
        {waiting}
    else:
        time.sleep(8)                       # rank 1 never calls it
"""


def test_timeout_names_the_collective_sequence_number_and_missing_rank(tmp_path):
    job = launch(tmp_path, SKIP_ALLREDUCE.format(waiting="dist.all_reduce(t)"), ranks=3)
    assert job.returncode != 0 and job.seconds < 10, job.output
    out = job.output
    for r in (0, 2):
        assert (f"[rank {r}] Timed out after 2 s waiting for allreduce (sequence number 3) in "
                "the default process group of size 3") in out, out
    assert "rank 1 did not arrive (rank 1 is at sequence number 2)" in out
    assert "unusable after a timeout" in out
    assert "DistTimeoutError" in out


def test_timeout_can_be_caught_and_the_group_is_then_unusable(tmp_path):
    waiting = textwrap.indent(textwrap.dedent("""
        try:
            dist.all_reduce(t, async_op=True).wait()
        except dist.DistTimeoutError as err:
            print("CAUGHT", err, flush=True)
        try:
            dist.barrier()
        except dist.DistBackendError as err:
            print("THEN", err, flush=True)
        sys.exit(0)
    """), " " * 8).strip()
    job = launch(tmp_path, SKIP_ALLREDUCE.format(waiting=waiting), ranks=2,
                 env={"DT_NO_ABORT_ON_EXCEPTION": "1"})
    out = job.output
    assert "CAUGHT [rank 0] Timed out after 2 s waiting for allreduce (sequence number 3)" in out
    assert "rank 1 did not arrive" in out
    assert "THEN barrier: the process group is unusable after an earlier timeout" in out
    # a communication thread is stuck inside MPI: the rank aborts the job at exit
    assert job.returncode != 0 and job.seconds < 12, out


def test_timeout_in_a_subgroup_names_global_ranks(tmp_path):
    job = launch(tmp_path, """
        dist.init_process_group(timeout=timedelta(seconds=2))
        group = dist.new_group([1, 2])
        if dist.get_rank() == 1:
            dist.all_reduce(torch.ones(2), group=group)
        else:
            time.sleep(6)
    """, ranks=3)
    assert job.returncode != 0 and job.seconds < 10, job.output
    assert ("waiting for allreduce (sequence number 1) in the process group of ranks [1, 2] of "
            "size 2") in job.output
    assert "rank 2 (group rank 1) did not arrive" in job.output


@pytest.mark.parametrize("case", ["op", "shape"])
def test_debug_mode_names_mismatched_collectives(tmp_path, case):
    body = {
        "op": """
            if dist.get_rank() == 0:
                dist.all_reduce(t)
            else:
                dist.broadcast(t, src=0)
        """,
        "shape": """
            dist.all_reduce(t if dist.get_rank() != 1 else torch.ones(5, 2))
        """}[case]
    job = launch(tmp_path, textwrap.dedent("""
        dist.init_process_group()
        t = torch.ones(3)
        dist.all_reduce(t)
    """) + textwrap.dedent(body), ranks=2, env={"DT_DISTRIBUTED_DEBUG": "1"})
    assert job.returncode != 0 and job.seconds < 10, job.output
    out = job.output
    assert "Collective mismatch at sequence number 2 in a process group of size 2" in out
    if case == "op":
        assert ("rank 1 called broadcast(src=0) with shapes [(3)] and dtypes [float32] but "
                "rank 0 called allreduce(SUM) with shapes [(3)] and dtypes [float32]") in out
    else:
        assert ("rank 1 called allreduce(SUM) with shapes [(5, 2)] and dtypes [float32] but "
                "rank 0 called allreduce(SUM) with shapes [(3)] and dtypes [float32]") in out


def test_debug_mode_lets_matching_collectives_run(tmp_path):
    job = launch(tmp_path, """
        dist.init_process_group()
        n, r = dist.get_world_size(), dist.get_rank()
        t = torch.full((4,), float(r + 1))
        dist.all_reduce(t)
        dist.broadcast(t, src=1)
        out = [torch.zeros(4) for _ in range(n)]
        dist.all_gather(out, t)
        objs = [None] * n
        dist.all_gather_object(objs, r)
        g = dist.new_group([0, 1])
        dist.all_reduce(t, group=g, async_op=True).wait()
        print("OK", r, t.tolist(), objs, flush=True)
    """, ranks=2, env={"DT_DISTRIBUTED_DEBUG": "1"})
    assert job.returncode == 0, job.output
    assert job.output.count("OK") == 2 and "[6.0, 6.0, 6.0, 6.0]" in job.output
