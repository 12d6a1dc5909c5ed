"""Start small MPI jobs from ordinary tests, and make sure none of their processes survive.

Every job carries a unique marker on its command line (``python -X dt_job=<uuid>``, which
Python ignores), so a test can check with ``pgrep -f`` that no rank is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mpiexec() -> str | None:
    """The mpiexec next to this Python (the mpich wheel's), else the one on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def require_mpi() -> str:
    """mpiexec's path; skips the test where mpi4py or mpiexec is missing."""
    pytest.importorskip("mpi4py")
    path = mpiexec()
    if path is None:
        pytest.skip("mpiexec is not installed")
    return path


@dataclass
class Job:
    returncode: int
    output: str
    seconds: float
    marker: str
    timed_out: bool


def survivors(marker: str) -> list[str]:
    """Command lines of processes that still carry ``marker``."""
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if line.strip()]


def run(args: list[str], ranks: int | None, timeout: float = 60.0, env: dict | None = None,
        cwd: Path = ROOT) -> Job:
    """Run ``python -X dt_job=<marker> *args`` on ``ranks`` MPI ranks (None: no mpiexec).

    The job runs in its own session; on timeout the whole session is killed. Returns the
    exit status and the combined output (stdout + stderr).
    """
    marker = f"dt_job={uuid.uuid4().hex}"
    command = [sys.executable, "-X", marker, *args]
    if ranks is not None:
        command = [require_mpi(), "-n", str(ranks), *command]
    full_env = dict(os.environ)
    full_env.update({"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
                     "PYTHONUNBUFFERED": "1", "DT_DISTRIBUTED_TIMEOUT": "30"})
    full_env.pop("DT_DISTRIBUTED_DEBUG", None)
    full_env.pop("DT_NO_ABORT_ON_EXCEPTION", None)
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    seconds = time.monotonic() - start
    # ranks that outlive mpiexec would still be in the session: give them a moment, then fail
    deadline = time.monotonic() + 5
    while survivors(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = survivors(marker)
    if left:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        raise AssertionError("processes left behind by the job:\n" + "\n".join(left))
    return Job(proc.returncode, output, seconds, marker, timed_out)


def script(tmp_path: Path, name: str, text: str) -> str:
    """Write ``text`` to ``tmp_path/name`` and return its path."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)
