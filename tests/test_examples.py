"""The example scripts run end to end on the built-in data (digits, synthetic spirals)."""

import importlib.util
import pathlib
import re

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("sklearn", reason="Digits needs scikit-learn's bundled data")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _epoch_lines(text):
    return [line for line in text.splitlines() if line.startswith("epoch ")]


def _without_time(line):
    return re.sub(r"\(\d+\.\d s\)", "", line)


def test_mnist_example_learns_digits_and_resumes_exactly(tmp_path, capsys):
    mnist = _load("mnist")
    assert mnist.main(["--model", "simple", "--epochs", "2", "--no-progress"]) == 0
    straight = _epoch_lines(capsys.readouterr().out)
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", straight[-1]).group(1))
    assert accuracy > 88.0

    checkpoint = str(tmp_path / "ckpt.safetensors")
    mnist.main(["--model", "simple", "--epochs", "1", "--checkpoint", checkpoint,
                "--no-progress"])
    capsys.readouterr()
    mnist.main(["--model", "simple", "--epochs", "2", "--checkpoint", checkpoint, "--resume",
                "--no-progress"])
    resumed = capsys.readouterr().out
    assert "resumed from" in resumed
    assert [_without_time(x) for x in _epoch_lines(resumed)] == [_without_time(straight[1])]


def test_conv_model_shapes():
    mnist = _load("mnist")
    import dist_torch as torch
    assert mnist.ConvNet()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert sum(p.numel() for p in mnist.ConvNet().parameters()) == 225034


def test_autograd_demo_fits_spirals(capsys):
    demo = _load("autograd_demo")
    assert demo.main(["--steps", "400"]) == 0
    accuracy = float(re.search(r"training accuracy ([\d.]+)%", capsys.readouterr().out)[1])
    assert accuracy > 80.0


def test_mnist_example_on_two_ranks_follows_the_one_process_run(capsys):
    """Global batches split across 2 ranks, weighted by rows: the printed losses and accuracies
    (4 decimals) equal the single-process run's."""
    from tests.distributed import jobs
    args = ["--model", "simple", "--epochs", "2", "--no-progress"]
    assert _load("mnist").main(args) == 0
    alone = [_without_time(x) for x in _epoch_lines(capsys.readouterr().out)]
    job = jobs.run([str(EXAMPLES / "mnist.py"), *args], ranks=2, timeout=120)
    assert job.returncode == 0, job.output[-3000:]
    assert "2 ranks" in job.output
    assert [_without_time(x) for x in _epoch_lines(job.output)] == alone


def test_mnist_example_on_an_emulated_gpu_with_one_and_two_ranks():
    """``--device cuda`` on the emulated device (tests/fake_cupy): the model, batches and
    optimizer state live on cuda:0, and 2 ranks sharing that GPU (MPI staging CUDA tensors
    through host memory) print the figures of the one-process run."""
    from tests.distributed import jobs
    args = ["-m", "tests.fake_cupy.run_emulated", str(EXAMPLES / "mnist.py"), "--model",
            "conv", "--epochs", "1", "--device", "cuda", "--no-progress"]
    alone = jobs.run(args, ranks=None, timeout=120)
    assert alone.returncode == 0, alone.output[-3000:]
    assert "1 rank on cuda:0" in alone.output
    pair = jobs.run(args, ranks=2, timeout=120)
    assert pair.returncode == 0, pair.output[-3000:]
    assert "2 ranks on cuda:0" in pair.output
    figures = [_without_time(x) for x in _epoch_lines(alone.output)]
    assert len(figures) == 1 and [_without_time(x) for x in _epoch_lines(pair.output)] == figures


def test_mnist_example_restarts_under_dtrun_and_resumes_from_its_checkpoint(tmp_path):
    """The last rank fails after epoch 1; dtrun relaunches the job, every rank resumes from
    rank 0's checkpoint, and epoch 2 prints what an uninterrupted run prints."""
    import subprocess
    import sys

    from tests.distributed import jobs
    jobs.require_mpi()
    args = ["--model", "simple", "--epochs", "2", "--no-progress"]
    straight = subprocess.run([sys.executable, str(EXAMPLES / "mnist.py"), *args],
                              capture_output=True, text=True, timeout=120)
    dtrun = EXAMPLES.parent / "launch" / "dtrun"
    job = jobs.run([str(dtrun), "-n", "2", "--max-restarts", "1", str(EXAMPLES / "mnist.py"),
                    *args, "--checkpoint", str(tmp_path / "ckpt.safetensors"), "--resume",
                    "--simulate-failure", "1"], ranks=None, timeout=120)
    out = job.output
    assert job.returncode == 0, out[-3000:]
    assert "simulated failure on rank 1 after epoch 1" in out
    assert "restart 1/1" in out and "resumed from" in out
    assert [_without_time(x) for x in _epoch_lines(out)][-1] == \
        _without_time(_epoch_lines(straight.stdout)[-1])
