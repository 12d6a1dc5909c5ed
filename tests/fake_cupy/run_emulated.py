"""Run a script on the emulated CUDA device: ``python -m tests.fake_cupy.run_emulated SCRIPT
[ARGS...]`` from the repository root (as a module: this folder's ``array.py`` would shadow the
standard library's as a script's folder). Used to run the examples with ``--device cuda`` on
machines without a GPU."""

import runpy
import sys

import tests.fake_cupy.plugin  # noqa: F401 - installs the emulated device, routes the kernels

if __name__ == "__main__":
    script, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
