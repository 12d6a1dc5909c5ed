"""The GPU suites on the emulated device (tests/fake_cupy), in subprocesses, on any machine.

Each run is ``python -m pytest -p tests.fake_cupy.plugin ...``: CuPy is replaced by a NumPy
-backed stand-in that refuses what CuPy refuses (implicit host conversion, host arrays in
device ufuncs, attributes CuPy lacks) and the CUDA kernels by their NumPy twins. This catches
Python-level mistakes of the CUDA paths before a GPU is available; it does not check kernels,
streams, graphs or memory statistics (those tests carry ``needs_real_cuda``). The fake is
never installed in this process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.distributed import jobs

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ["-p", "tests.fake_cupy.plugin", "-p", "no:cacheprovider"]
SUITES = ["tests/cuda/test_ops_gpu.py", "tests/cuda/test_kernel_dispatch.py",
          "tests/cuda/test_cuda_api.py", "tests/cuda/test_device_errors.py",
          "tests/cuda/test_tf32_flags.py", "tests/cuda/test_graph_training.py",
          "tests/cuda/test_kernels_gpu.py", "tests/cuda/test_amp_gpu.py", "tests/amp",
          "tests/test_default_device_cuda.py",
          "tests/fake_cupy/emulated_checks.py"]



def _counts(output: str) -> dict:
    summary = re.findall(r"=* ?([\d\w ,]+) in [\d.]+s", output)
    line = summary[-1] if summary else ""
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}


def _run(args, env=None, timeout=240):
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "pytest", *PLUGIN, "-q", *args], cwd=ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def test_gpu_suites_pass_on_the_emulated_device():
    code, out = _run(["-rfE", *SUITES])
    tail = out[-6000:]
    counts = _counts(out)
    assert code == 0, f"emulated GPU suites failed (exit {code}):\n{tail}"
    # the suites ran on the device rather than skipping: ~550 run, ~460 need a real GPU
    assert counts.get("passed", 0) >= 500, tail


def test_second_gpu_keeps_its_tensors():
    code, out = _run(["-rfEs", "tests/fake_cupy/emulated_checks.py"],
                     env={"FAKE_CUPY_DEVICES": "2"})
    assert code == 0, out[-6000:]
    assert _counts(out).get("passed", 0) == 5 and "skipped" not in _counts(out), out[-6000:]


def test_data_parallel_over_two_emulated_gpus():
    code, out = _run(["-rfEs", "tests/nn/test_data_parallel_cuda.py"],
                     env={"FAKE_CUPY_DEVICES": "2"})
    assert code == 0, out[-6000:]
    assert _counts(out).get("passed", 0) == 3 and "skipped" not in _counts(out), out[-6000:]


def test_cuda_mpi_suite_on_the_emulated_device():
    job = jobs.run(["-m", "pytest", "--with-mpi", "-q", *PLUGIN,
                    "tests/distributed/mpi/test_cuda_mpi.py",
                    "tests/distributed/mpi/test_staging.py"], 2, timeout=120)
    tail = job.output[-6000:]
    assert not job.timed_out and job.returncode == 0, tail
    summaries = re.findall(r"(\d+) passed(?:, \d+ \w+)* in [\d.]+s", job.output)
    assert len(summaries) == 2 and all(int(n) >= 30 for n in summaries), tail


@pytest.mark.parametrize("module", ["cupy", "tests.fake_cupy.module"])
def test_the_fake_is_not_installed_in_this_process(module):
    mod = sys.modules.get(module)
    assert not getattr(mod, "__fake_cupy__", False)
