"""VisionDataset and StandardTransform, as in torchvision."""

from __future__ import annotations

import operator
import os

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.utils.data import Dataset

__all__ = ["VisionDataset", "StandardTransform"]


class StandardTransform:
    """Applies ``transform`` to the input and ``target_transform`` to the target."""

    def __init__(self, transform=None, target_transform=None):
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input, target):
        if self.transform is not None:
            input = self.transform(input)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return input, target

    @staticmethod
    def _format_transform_repr(transform, head):
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self):
        body = [type(self).__name__]
        if self.transform is not None:
            body += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(Dataset):
    """Base class of the image datasets: holds ``root`` and the transforms, prints like
    torchvision's datasets.

    Args:
        root: directory of the data (``~`` is expanded).
        transforms: a callable ``(image, target) -> (image, target)``; exclusive with
            ``transform``/``target_transform``.
        transform: applied to each image.
        target_transform: applied to each target.
    """

    _repr_indent = 4

    def __init__(self, root=None, transforms=None, transform=None, target_transform=None):
        if isinstance(root, (str, os.PathLike)):
            root = os.path.expanduser(root)
        self.root = root
        has_transforms = transforms is not None
        has_separate = transform is not None or target_transform is not None
        if has_transforms and has_separate:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body.append(repr(self.transforms))  # as torchvision: only its first line indented
        lines = [f"Dataset {type(self).__name__}"] + [" " * self._repr_indent + line
                                                      for line in body]
        return "\n".join(lines)


def host_array(value) -> np.ndarray:
    """The NumPy array behind a tensor (or an array-like) held as ``data``/``targets``."""
    if isinstance(value, Tensor):
        return np.asarray(value._data) if type(value._data) is not np.ndarray else value._data
    return np.asarray(value)


class ImageClassification(VisionDataset):
    """Shared item access for datasets that hold ``data`` (N, H, W) uint8 and ``targets``.

    ``dataset[i]`` is ``(image, target)``: the image is a read-only ``(H, W)`` uint8 NumPy
    array (where torchvision gives a PIL image of mode 'L'; ``transforms.ToTensor`` turns
    either into the same float tensor of shape (1, H, W) in [0, 1]), the target a Python int.
    """

    classes: list = []

    def __getitem__(self, index):
        index = operator.index(index)
        image = host_array(self.data)[index]  # a view: read-only, like a PIL image's pixels
        image.flags.writeable = False
        target = int(host_array(self.targets)[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.data)

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.classes)}
