"""dist_torch.vision: torchvision's datasets, transforms and models for dist_torch.

Replace ``from torchvision import datasets, transforms, models`` by
``from dist_torch.vision import datasets, transforms, models``.
"""

from dist_torch.vision import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
