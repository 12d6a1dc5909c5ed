"""DDP communication hooks (``ddp.register_comm_hook(state, hook)``)."""

from dist_torch.distributed.algorithms.ddp_comm_hooks import default_hooks  # noqa: F401
