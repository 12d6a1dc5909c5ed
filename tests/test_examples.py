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
