"""Utilities: ``dist_torch.utils.data`` (datasets, samplers, DataLoader)."""

from dist_torch.utils import data

__all__ = ["data"]
