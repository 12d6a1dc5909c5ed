"""torch.amp: automatic mixed precision — ``autocast`` regions and ``GradScaler``."""

from dist_torch.amp.autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from dist_torch.amp.grad_scaler import GradScaler

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]
