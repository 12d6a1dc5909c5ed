"""torch.backends.cudnn flags: accepted and remembered, with no effect on dist_torch."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    return None
