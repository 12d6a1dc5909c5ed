"""Every kernels/*.cu compiles to PTX for sm_80 and sm_90 with nvcc, and declares the entry
points the wrappers launch; the loader fails clearly without a GPU."""

from __future__ import annotations

import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from dist_torch.backend import cuda_available, cuda_kernels

KERNEL_DIR = cuda_kernels.KERNEL_DIR
FILES = sorted(p.name for p in KERNEL_DIR.glob("*.cu"))
ARCHS = ("compute_80", "compute_90")
NVCC = shutil.which("nvcc") or next(
    (str(p) for p in (Path("/usr/local/cuda/bin/nvcc"),) if p.exists()), None)

# the operations each family must provide, for every dtype in FAMILY_DTYPES
OPS = {
    "softmax": ("softmax_fwd", "log_softmax_fwd", "softmax_bwd", "log_softmax_bwd",
                "cross_entropy_fwd", "cross_entropy_bwd"),
    "pooling": ("max_pool2d_fwd", "max_pool2d_bwd", "avg_pool2d_fwd", "avg_pool2d_bwd"),
    "im2col": ("im2col", "col2im"),
    "layernorm": ("layer_norm_fwd", "layer_norm_bwd_dx", "layer_norm_bwd_dwdb_partial",
                  "layer_norm_bwd_dwdb_final"),
    "activation": ("bias_act_fwd", "bias_act_bwd"),
    "dropout": ("dropout_fwd", "dropout_bwd"),
    "optim": ("sgd_mt", "adam_mt"),
}
EXTRA = {"dropout": {"philox_words"}}
SUFFIX = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}


def entry_names(source: str) -> set[str]:
    """The ``extern "C"`` entry points a source declares, plain or stamped out by a macro
    ``#define NAME(SUFFIX, T) ... extern "C" __global__ void op_##SUFFIX(...)`` invoked as
    ``NAME(f32, float)``."""
    names = set(re.findall(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(', source))
    for macro, param, body in re.findall(r"#define\s+(\w+)\((\w+)\s*,[^)]*\)((?:.*\\\n)+.*)",
                                         source):
        ops = re.findall(r'extern\s+"C"\s+__global__\s+void\s+(\w+)_##' + param + r"\s*\(",
                         body)
        for arg in re.findall(r"^" + macro + r"\((\w+)\s*,", source, flags=re.M):
            names.update(f"{op}_{arg}" for op in ops)
    return names


@pytest.fixture(scope="module")
def ptx(tmp_path_factory):
    """PTX text (or the compiler's error) of every (file, arch), compiled two at a time."""
    if NVCC is None:
        pytest.skip("nvcc is not installed")
    out = tmp_path_factory.mktemp("ptx")

    def compile_one(job):
        name, arch = job
        target = out / f"{Path(name).stem}.{arch}.ptx"
        run = subprocess.run([NVCC, "-ptx", "-std=c++17", f"-arch={arch}", str(KERNEL_DIR / name),
                              "-o", str(target)], capture_output=True, text=True, timeout=300)
        return job, (run.returncode, run.stderr, target.read_text() if target.exists() else "")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(compile_one, [(f, a) for f in FILES for a in ARCHS]))


def test_every_family_has_a_source():
    assert sorted(f"{family}.cu" for family in cuda_kernels.FAMILY_DTYPES) == FILES


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("name", FILES)
def test_compiles_to_ptx_with_every_entry(ptx, name, arch):
    code, stderr, text = ptx[(name, arch)]
    assert code == 0, stderr
    assert "warning" not in stderr.lower(), stderr
    declared = entry_names((KERNEL_DIR / name).read_text())
    assert declared
    in_ptx = set(re.findall(r"\.entry\s+(\w+)\s*\(", text))
    assert declared == in_ptx


@pytest.mark.parametrize("family", sorted(OPS))
def test_entries_cover_every_op_and_dtype(family):
    declared = entry_names(cuda_kernels.kernel_source(family))
    expected = {f"{op}_{SUFFIX[d]}" for op in OPS[family]
                for d in cuda_kernels.FAMILY_DTYPES[family]}
    assert declared == expected | EXTRA.get(family, set())


@pytest.mark.parametrize("name", FILES)
def test_sources_are_nvrtc_friendly(name):
    source = (KERNEL_DIR / name).read_text()
    includes = set(re.findall(r"#include\s*[<\"]([^>\"]+)[>\"]", source))
    assert includes <= {"cuda_fp16.h", "cuda_bf16.h", "common.cuh"}
    assert "__host__" not in source and "printf" not in source


def test_entry_name_parser():
    source = ('extern "C" __global__ void plain(int n) {}\n'
              "#define E(SUFFIX, T) \\\n"
              '  extern "C" __global__ void op_##SUFFIX(T* x) { run<T>(x); } \\\n'
              '  extern "C" __global__ void other_##SUFFIX(T* x) {}\n'
              "E(f32, float)\nE(f64, double)\n")
    assert entry_names(source) == {"plain", "op_f32", "op_f64", "other_f32", "other_f64"}


def test_unknown_family_and_dtype_are_refused():
    with pytest.raises(ValueError, match="unknown kernel family"):
        cuda_kernels.kernel_source("nope")
    if cuda_available():
        import cupy
        with pytest.raises(TypeError, match="no CUDA kernel for dtype float16"):
            cuda_kernels.im2col(cupy.zeros((1, 1, 3, 3), np.float16), 2)


@pytest.mark.skipif(cuda_available(), reason="checks the error seen without a GPU")
def test_wrappers_say_cuda_is_missing():
    with pytest.raises(RuntimeError, match="CUDA is not available for CUDA kernels"):
        cuda_kernels.softmax_forward(np.zeros((2, 3), np.float32))
