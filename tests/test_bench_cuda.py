"""benchmarks/bench_cuda.py runs every case at tiny sizes on the CPU (``--device cpu --quick``).

The GPU run itself needs a device; this checks, in a subprocess, that the script runs end to
end, that its JSON holds every case, and that dist_torch and torch, started from the same
weights, compute the same first training steps.
"""

import json
import math
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="the benchmark runs dist_torch side by side with PyTorch")
pytest.importorskip("ml_dtypes", reason="the bf16 cases need bfloat16 on the CPU")

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRAINING = {"simplenet_small_eager", "simplenet_large_eager", "convnet_small_eager",
            "convnet_large_eager", "gpt_float32", "gpt_bfloat16"}
GRAPHS = {"simplenet_small_graph", "convnet_small_graph"}
MATMULS = {"matmul_fp32", "matmul_tf32", "matmul_fp16", "matmul_bf16"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_cuda") / "results.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_cuda.py"),
                           "--device", "cpu", "--quick", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def _cases(run):
    return {c["key"]: c for c in run[0]["cases"]}


def test_every_case_is_present_and_the_run_completed(run):
    data, stdout = run
    assert data["meta"]["complete"] is True
    assert data["meta"]["device"] == "cpu" and data["meta"]["quick"] is True
    cases = _cases(run)
    assert set(cases) == TRAINING | GRAPHS | MATMULS
    assert len(data["cases"]) == len(cases)
    for case in cases.values():  # one table row per case
        assert f"| {case['label']} |" in stdout


def test_first_steps_agree_between_frameworks(run):
    for key in TRAINING:
        case = _cases(run)[key]
        theirs, ours = case["torch"], case["dist_torch"]
        assert "error" not in theirs and "error" not in ours, key
        assert len(theirs["losses"]) == len(ours["losses"]) == 2
        # on the CPU both compute in the same float32 (bf16 under autocast) arithmetic
        rtol = 2e-2 if case["dtype"] == "bfloat16" else 1e-4
        for a, b in zip(ours["losses"] + [ours["grad_norm"]],
                        theirs["losses"] + [theirs["grad_norm"]]):
            assert math.isfinite(b) and b > 0, key
            assert a == pytest.approx(b, rel=rtol), key
        assert case["check"]["ok"] is True, case["check"]
    gpt = _cases(run)["gpt_float32"]["torch"]["losses"][0]
    assert gpt == pytest.approx(math.log(64), rel=0.25)  # near ln(vocab) at initialisation


def test_throughputs_and_ratios_are_positive_and_consistent(run):
    cases = _cases(run)
    for key in TRAINING | MATMULS:
        case = cases[key]
        for side in ("torch", "dist_torch"):
            r = case[side]
            assert math.isfinite(r["throughput"]) and r["throughput"] > 0, (key, side)
            assert r["step_ms"] > 0 and r["blocks"] >= 1
            assert r["peak_mib"] is None  # no device memory on the CPU
        assert math.isfinite(case["ratio"]) and case["ratio"] > 0
        assert case["ratio"] == pytest.approx(case["dist_torch"]["throughput"]
                                              / case["torch"]["throughput"])
    gpt = cases["gpt_float32"]
    tokens = gpt["batch"] * 16  # quick context length
    assert gpt["torch"]["throughput"] == pytest.approx(tokens / (gpt["torch"]["step_ms"] / 1e3))
    n = 64
    mm = cases["matmul_fp32"]["torch"]
    assert mm["throughput"] == pytest.approx(2 * n**3 / (mm["step_ms"] / 1e3) / 1e12)


def test_matmul_products_agree(run):
    for key in MATMULS:
        check = _cases(run)[key]["check"]
        assert check["ok"] is True, (key, check)


def test_graph_cases_are_reported_as_skipped_on_cpu(run):
    for key in GRAPHS:
        case = _cases(run)[key]
        for side in ("torch", "dist_torch"):
            assert "CUDA graphs need --device cuda" in case[side]["error"]
        assert case["ratio"] is None and case["ratio_vs_torch_eager"] is None
        assert case["check"]["ok"] is None
