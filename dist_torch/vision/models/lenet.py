"""LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for 28x28 or 32x32 grey images."""

from __future__ import annotations

from dist_torch import nn
from dist_torch.vision.models._utils import check_weights

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    """conv 1->6 5x5 (padding 2 so that 28x28 inputs give the classic 28x28 maps), max pool 2,
    conv 6->16 5x5, max pool 2, then fully connected 400 -> 120 -> 84 -> ``num_classes``.

    Args:
        num_classes: outputs of the last layer.
        in_channels: channels of the input images.
        padding: padding of the first convolution: 2 for 28x28 inputs (MNIST), 0 for 32x32.

    Shape:
        input (N, in_channels, 28, 28) (with padding=2) -> output (N, num_classes).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, padding: int = 2):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=padding),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.flatten(1))


def lenet5(*, weights=None, progress: bool = True, **kwargs) -> LeNet5:
    """LeNet-5; ``kwargs`` go to :class:`LeNet5` (``num_classes``, ``in_channels``,
    ``padding``)."""
    check_weights(weights, kwargs, "lenet5")
    return LeNet5(**kwargs)
