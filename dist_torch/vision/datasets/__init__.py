"""torchvision.datasets: MNIST-family IDX datasets and scikit-learn's 8x8 digits."""

from dist_torch.vision.datasets.digits import Digits
from dist_torch.vision.datasets.mnist import KMNIST, MNIST, FashionMNIST
from dist_torch.vision.datasets.vision import StandardTransform, VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "Digits", "VisionDataset", "StandardTransform"]
