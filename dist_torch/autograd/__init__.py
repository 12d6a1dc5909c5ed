"""torch.autograd: backward, grad, grad-mode switches, custom Functions, gradcheck."""

from dist_torch.autograd import function, functional, graph  # noqa: F401
from dist_torch.autograd.anomaly_mode import (
                                              detect_anomaly,
                                              is_anomaly_check_nan_enabled,
                                              is_anomaly_enabled,
                                              set_detect_anomaly,
)
from dist_torch.autograd.api import backward, grad
from dist_torch.autograd.function import Function, InplaceFunction, once_differentiable
from dist_torch.autograd.grad_mode import (
                                              enable_grad,
                                              inference_mode,
                                              is_grad_enabled,
                                              is_inference_mode_enabled,
                                              no_grad,
                                              set_grad_enabled,
)
from dist_torch.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "backward", "grad", "Function", "InplaceFunction", "once_differentiable", "gradcheck",
    "gradgradcheck", "GradcheckError", "no_grad", "enable_grad", "set_grad_enabled",
    "inference_mode", "is_grad_enabled", "is_inference_mode_enabled", "detect_anomaly",
    "set_detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
]
