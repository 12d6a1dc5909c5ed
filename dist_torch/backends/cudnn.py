"""torch.backends.cudnn flags. dist_torch has no cuDNN; ``allow_tf32`` (default True) decides
whether the GEMMs inside CUDA convolutions may use TF32 (see
:func:`dist_torch.backend.cuda_flags.conv_gemm`); the other flags are remembered only."""

import sys
import types

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    return False


def version():
    return None


class _CudnnModule(types.ModuleType):
    _allow_tf32 = True

    @property
    def allow_tf32(self) -> bool:
        return type(self)._allow_tf32

    @allow_tf32.setter
    def allow_tf32(self, value) -> None:
        if not isinstance(value, bool):
            raise RuntimeError(f"set_allow_tf32_cudnn expects a bool, but got "
                               f"{type(value).__name__}")
        type(self)._allow_tf32 = value


sys.modules[__name__].__class__ = _CudnnModule
