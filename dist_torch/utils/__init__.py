"""Utilities: ``dist_torch.utils.data`` (datasets, samplers, DataLoader) and
``dist_torch.utils.checkpoint`` (activation checkpointing)."""

from dist_torch.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
