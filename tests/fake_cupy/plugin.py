"""pytest plugin: run the GPU suites on the emulated device (``-p tests.fake_cupy.plugin``).

On load, before any test module is collected, it installs the emulation as ``cupy`` (so
``dist_torch.backend.cuda.cupy`` is the fake and ``available()`` sees one device), and routes
the CUDA kernel wrappers of ``dist_torch.backend.cuda_kernels`` to their NumPy twins
(``backend/kernel_twins.py``, same signatures), with device arrays unwrapped on the way in
and wrapped on the way out. Host arrays handed to a kernel wrapper are refused, as a real
launch would. Tests that need real CUDA carry ``tests.fake_cupy.needs_real_cuda``.
"""

from __future__ import annotations

import sys

import numpy as np

from tests.fake_cupy import spec  # noqa: F401 - reads real CuPy's names before the swap

if "dist_torch.backend.cuda" in sys.modules:  # pragma: no cover - loaded too late
    raise RuntimeError("tests.fake_cupy.plugin must load before dist_torch is imported: "
                       "pass it with -p on the command line")

from tests.fake_cupy import array as _array  # noqa: E402
from tests.fake_cupy import module as _module  # noqa: E402

_module.install()


def _twin_launcher(name, twin):
    def launch(*args, **kwargs):
        un = _array._Unwrapper(False, name)
        try:
            un_args, un_kwargs = un(args), un(kwargs)
        except TypeError as err:
            raise TypeError(f"kernel wrapper {name} got a host (NumPy) array: {err}") from None
        res = twin(*un_args, **un_kwargs)
        # lists the twin updated in place (momentum buffers): put device arrays back
        for orig, copy in zip(list(args) + list(kwargs.values()),
                              list(un_args) + list(un_kwargs.values())):
            if isinstance(orig, list):
                for i, (o, c) in enumerate(zip(orig, copy)):
                    if isinstance(c, np.ndarray) and not (isinstance(o, _array.ndarray)
                                                          and o._a is c):
                        orig[i] = _array.wrap(c, un.sources)
                if res is copy:
                    res = orig
        if isinstance(res, list) and any(res is a for a in args):
            return res
        return un.result(res)
    launch.__name__ = name
    launch.__wrapped__ = twin
    return launch


def route_kernels() -> None:
    """Point every launch wrapper of backend.cuda_kernels at its NumPy twin."""
    from dist_torch.backend import cuda_kernels as kernels
    from dist_torch.backend import kernel_twins as twins
    for name in kernels.__all__:
        if name in ("FAMILY_DTYPES", "kernel_source", "get_kernel"):
            continue
        setattr(kernels, name, _twin_launcher(name, getattr(twins, name)))


route_kernels()


def pytest_report_header(config):
    from dist_torch.backend import cuda
    return (f"emulated CUDA device (tests.fake_cupy): cupy is {cuda.cupy.__name__!r}, "
            f"available={cuda.available()}, devices={cuda.device_count()}")
