"""torchvision.transforms for dist_torch: ``from dist_torch.vision import transforms``."""

from dist_torch.vision.transforms import functional
from dist_torch.vision.transforms.functional import InterpolationMode
from dist_torch.vision.transforms.transforms import *  # noqa: F403
from dist_torch.vision.transforms.transforms import __all__ as _transforms_all

__all__ = ["functional", "InterpolationMode", *_transforms_all]
