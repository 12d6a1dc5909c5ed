"""dtrun end to end: real mpiexec jobs started through ``launch/dtrun``, no mocks.

Every job carries a unique ``DT_TEST_JOB`` value in its environment, which every process of
the job inherits (dtrun, mpiexec, Hydra's proxy, the ranks and their supervisors); after each
job the test checks in /proc that none of them is left.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from dist_torch.distributed import _progress, _rank_main, _run_output, run

ROOT = Path(__file__).resolve().parents[2]
DTRUN = ROOT / "launch" / "dtrun"


@dataclass
class Job:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _survivors(marker: str) -> list[str]:
    found = []
    needle = f"DT_TEST_JOB={marker}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{entry}: {command}")
        except OSError:
            continue
    return found


def _require_mpi() -> None:
    pytest.importorskip("mpi4py")
    if run._default_mpiexec() is None:
        pytest.skip("mpiexec is not installed")


def dtrun(*args, timeout: float = 30, module: bool = False, cwd=None, env=None) -> Job:
    """Run dtrun with ``args``; fails the test if it outlives ``timeout`` or leaves processes."""
    marker = uuid.uuid4().hex
    full_env = dict(os.environ)
    full_env.update({"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "DT_TEST_JOB": marker})
    for name in ("DT_WATCHDOG_TIMEOUT", "DT_NO_ABORT_ON_EXCEPTION", "DT_DISTRIBUTED_DEBUG"):
        full_env.pop(name, None)
    full_env.update(env or {})
    command = [sys.executable, "-m", "dist_torch.distributed.run"] if module else \
        [sys.executable, str(DTRUN)]
    start = time.monotonic()
    proc = subprocess.Popen(command + [str(a) for a in args], cwd=cwd or ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"dtrun ran past {timeout} s:\n{out}\n{err}") from None
    seconds = time.monotonic() - start
    left = _survivors(marker)
    if left:
        for line in left:
            try:
                os.kill(int(line.split(":")[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise AssertionError("processes left behind by the job:\n" + "\n".join(left))
    return Job(proc.returncode, out, err, seconds)


def script(tmp_path: Path, text: str, name: str = "job.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


ENV_SCRIPT = """\
import os, sys
names = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "DT_RESTART_COUNT")
print("env", " ".join(f"{n}={os.environ.get(n)}" for n in names), "argv", sys.argv[1:])
print(f"err from {os.environ['RANK']}", file=sys.stderr)
"""


# --------------------------------------------------------------------- without mpiexec

def test_usage_errors_exit_2(tmp_path, capsys):
    good = script(tmp_path, "print('hi')\n")
    cases = [([], "script"), (["missing.py"], "script not found: missing.py"),
             (["-n", "0", str(good)], "at least 1"),
             (["--hosts", "a:1", "--hostfile", str(good), str(good)], "not allowed with"),
             (["-n", "2"], "script"), (["--timeout", "0", str(good)], "--timeout"),
             (["--max-restarts", "-1", str(good)], "--max-restarts"), (["-m"], "module")]
    for args, message in cases:
        assert run.main(args) == 2, args
        err = capsys.readouterr().err
        assert "dtrun: error:" in err and message in err, (args, err)
    job = dtrun("missing.py", timeout=20)  # and through the shim
    assert job.returncode == 2 and "dtrun: error: script not found" in job.stderr


def test_help_is_the_manual(capsys):
    assert run.main(["--help"]) == 0
    text = capsys.readouterr().out
    for part in ("--max-restarts", "--timeout", "LOCAL_WORLD_SIZE", "CUDA_VISIBLE_DEVICES",
                 "Slurm", "--hosts node1:4,node2:4", "Exit status"):
        assert part in text


def test_argument_split():
    ns = run.get_parser().parse_args(["-n", "2", "--tag-output", "train.py", "-n", "5", "--x"])
    assert (ns.nprocs, ns.tag_output, ns.script, ns.args) == (2, True, "train.py",
                                                              ["-n", "5", "--x"])
    ns = run.get_parser().parse_args(["--np=3", "-m", "pkg.mod", "--lr", "0.1"])
    assert (ns.nprocs, ns.module, ns.script, ns.args) == (3, "pkg.mod", None, ["--lr", "0.1"])


def test_world_and_gpu_binding_from_env():
    hydra = {"PMI_RANK": "3", "PMI_SIZE": "8", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "4"}
    assert _rank_main.world_from_env(hydra) == (3, 8, 1, 4)
    ompi = {"OMPI_COMM_WORLD_RANK": "5", "OMPI_COMM_WORLD_SIZE": "6",
            "OMPI_COMM_WORLD_LOCAL_RANK": "2", "OMPI_COMM_WORLD_LOCAL_SIZE": "3"}
    assert _rank_main.world_from_env(ompi) == (5, 6, 2, 3)
    slurm = {"SLURM_PROCID": "5", "SLURM_NTASKS": "7", "SLURM_LOCALID": "1",
             "SLURM_NODEID": "1", "SLURM_STEP_TASKS_PER_NODE": "4,3"}
    assert _rank_main.world_from_env(slurm) == (5, 7, 1, 3)
    assert _rank_main.world_from_env({}) == (0, 1, 0, 1)
    env = {"CUDA_VISIBLE_DEVICES": "4,5,6"}
    assert _rank_main.bind_gpu(4, env) == "5" and env["CUDA_VISIBLE_DEVICES"] == "5"
    env = {"CUDA_VISIBLE_DEVICES": ""}
    assert _rank_main.bind_gpu(0, env) is None and env["CUDA_VISIBLE_DEVICES"] == ""
    env = {"CUDA_VISIBLE_DEVICES": "0,1", "DT_BIND_GPUS": "0"}
    assert _rank_main.bind_gpu(1, env) is None


def test_hydra_output_demux():
    pieces = []
    demux = _run_output._HydraDemux(lambda rank, data: pieces.append((rank, data)))
    stream = b"\x011\x02par\x010\x02x\n\x011\x02t\nmpiexec says\n\x010\x02y\x01"
    for i in range(len(stream)):  # byte by byte: patterns cut by the reads
        demux.feed(stream[i:i + 1])
    demux.feed(b"12\x02z\n")
    demux.close()
    joined = {}
    for rank, data in pieces:
        joined[rank] = joined.get(rank, b"") + data
    assert joined == {1: b"part\n", 0: b"x\ny", None: b"mpiexec says\n", 12: b"z\n"}


def test_report_progress_touches_nothing_when_unarmed(monkeypatch):
    """Without a watchdog, report_progress is one check of a module global: faulthandler is
    not called."""
    import faulthandler

    def refuse(*args, **kwargs):
        raise AssertionError("faulthandler re-armed without a watchdog")
    monkeypatch.setattr(faulthandler, "dump_traceback_later", refuse)
    assert not _progress.is_armed()
    _progress.report_progress()


# ------------------------------------------------------------------------ with mpiexec

def test_env_vars_and_arguments(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", script(tmp_path, ENV_SCRIPT), "a", "--b", "1")
    assert job.returncode == 0, job.output
    lines = sorted(line for line in job.stdout.splitlines() if line.startswith("env "))
    assert lines == [f"env RANK={r} LOCAL_RANK={r} WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 "
                     f"DT_RESTART_COUNT=0 argv ['a', '--b', '1']" for r in (0, 1)]
    assert "err from 0" in job.stderr and "err from 1" in job.stderr


def test_tag_output_module_and_python_dash_m(tmp_path):
    _require_mpi()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    script(tmp_path, ENV_SCRIPT, "pkg/envmod.py")
    job = dtrun("-n", "2", "--tag-output", "-m", "pkg.envmod", "x", module=True, cwd=tmp_path)
    assert job.returncode == 0, job.output
    for r in (0, 1):
        assert f"[{r}] env RANK={r} " in job.stdout
        assert f"[{r}] err from {r}" in job.stderr
    plain = dtrun("-n", "2", script(tmp_path, ENV_SCRIPT))
    assert all(not line.startswith("[") for line in plain.stdout.splitlines())


def test_log_dir(tmp_path):
    _require_mpi()
    logs = tmp_path / "logs"
    job = dtrun("-n", "2", "--log-dir", logs, script(tmp_path, ENV_SCRIPT))
    assert job.returncode == 0, job.output
    assert "env RANK" not in job.output and "err from" not in job.output
    assert str(logs) in job.stderr
    for r in (0, 1):
        text = (logs / f"rank{r}.log").read_text()
        assert f"env RANK={r} " in text and f"err from {r}" in text
        assert f"err from {1 - r}" not in text


def test_exception_on_one_rank_ends_the_job(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", script(tmp_path, """\
        import os, time
        import dist_torch.distributed as dist
        dist.init_process_group()
        dist.barrier()
        def load_batch():
            raise ValueError("boom on rank 1")
        if dist.get_rank() == 1:
            load_batch()
        dist.barrier()
        time.sleep(60)
    """), timeout=20)
    assert job.returncode == 1, job.output
    assert job.seconds < 10, f"took {job.seconds:.1f} s"
    summary = job.stderr[job.stderr.index("job failed"):]
    assert "rank 1 (pid" in summary and "exited with code 1" in summary
    assert "ValueError: boom on rank 1" in summary and "in load_batch" in summary


def test_exception_without_mpi_ends_the_job(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", script(tmp_path, """\
        import os, time
        if os.environ["RANK"] == "1":
            raise ValueError("boom on rank 1")
        time.sleep(60)
    """), timeout=20)
    assert job.returncode == 1 and job.seconds < 10, (job.seconds, job.output)
    summary = job.stderr[job.stderr.index("job failed"):]
    assert "rank 1 (pid" in summary and "ValueError: boom on rank 1" in summary


def test_rank_killed_by_a_signal(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", script(tmp_path, """\
        import os, time
        import dist_torch.distributed as dist
        dist.init_process_group()
        dist.barrier()
        if dist.get_rank() == 1:
            print("about to die", flush=True)
            os.kill(os.getpid(), 9)
        dist.barrier()
        time.sleep(60)
    """), timeout=20)
    assert job.returncode == 128 + 9, job.output
    assert job.seconds < 10, f"took {job.seconds:.1f} s"
    summary = job.stderr[job.stderr.index("job failed"):]
    assert "rank 1 (pid" in summary and "killed by signal 9" in summary
    assert "Killed" in summary and "about to die" in summary


def test_hang_is_reported_with_stacks(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", "--timeout", "3", script(tmp_path, """\
        import time
        import dist_torch.distributed as dist
        dist.init_process_group()
        def stuck_in_data_loading():
            time.sleep(3600)
        if dist.get_rank() == 1:
            stuck_in_data_loading()
        dist.barrier()
    """), timeout=25)
    assert job.returncode == 124, job.output
    assert "[dtrun] job hung: no progress for 3 s on rank(s)" in job.stderr
    assert "Timeout (0:00:03)!" in job.stderr
    assert "in stuck_in_data_loading" in job.stderr  # rank 1's stack
    assert "in barrier" in job.stderr  # rank 0's stack
    assert job.seconds < 15, f"took {job.seconds:.1f} s"


def test_progress_keeps_the_watchdog_quiet(tmp_path):
    _require_mpi()
    job = dtrun("-n", "2", "--timeout", "3", script(tmp_path, """\
        import time
        from dist_torch.distributed._progress import report_progress
        for step in range(6):
            time.sleep(1)
            report_progress()
        print("finished")
    """), timeout=25)
    assert job.returncode == 0, job.output
    assert job.stdout.count("finished") == 2 and "hung" not in job.output


def test_max_restarts(tmp_path):
    _require_mpi()
    counter = tmp_path / "counter"
    job = dtrun("-n", "2", "--max-restarts", "1", script(tmp_path, """\
        import os, sys
        path = f"{sys.argv[1]}.{os.environ['RANK']}"
        attempts = int(open(path).read()) if os.path.exists(path) else 0
        open(path, "w").write(str(attempts + 1))
        print("run", os.environ["DT_RESTART_COUNT"], "resumed from", attempts)
        if attempts == 0 and os.environ["RANK"] == "1":
            raise RuntimeError("first attempt fails")
    """), counter, timeout=30)
    assert job.returncode == 0, job.output
    assert "[dtrun] job failed (rank 1 exited with code 1); restart 1/1" in job.stderr
    assert job.stdout.count("run 1 resumed from 1") == 2
