"""torchvision.models for dist_torch: LeNet-5, ResNet and VGG with torchvision's parameter
names (no pretrained weights are bundled: ``weights=None`` only)."""

from dist_torch.vision.models import lenet, resnet, vgg
from dist_torch.vision.models.lenet import *  # noqa: F403
from dist_torch.vision.models.resnet import *  # noqa: F403
from dist_torch.vision.models.vgg import *  # noqa: F403

__all__ = ["lenet", "resnet", "vgg", *lenet.__all__, *resnet.__all__, *vgg.__all__]
