"""Digits: scikit-learn's bundled 8x8 handwritten digits, a data set that needs no download."""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from dist_torch._tensor import _wrap
from dist_torch.vision.datasets.vision import ImageClassification

__all__ = ["Digits"]

_N_TEST = 360  # 20%, as train_test_split(test_size=0.2) would take


def _test_mask(labels: np.ndarray) -> np.ndarray:
    """A deterministic stratified split: each class gives its share of the _N_TEST test
    images (largest remainders round), spread evenly over its occurrences in the file."""
    counts = np.bincount(labels, minlength=10)
    exact = counts * _N_TEST / len(labels)
    quota = np.floor(exact).astype(np.int64)
    quota[np.argsort(quota - exact, kind="stable")[:_N_TEST - quota.sum()]] += 1
    order = np.argsort(labels, kind="stable")
    rank = np.empty_like(labels)
    rank[order] = np.arange(len(labels)) - np.repeat(np.cumsum(counts) - counts, counts)
    n, q = counts[labels], quota[labels]
    return (rank + 1) * q // n > rank * q // n
_cache = {}


def _digits_csv_path() -> str:
    """The path of ``sklearn/datasets/data/digits.csv.gz``, found without importing sklearn
    (whose import takes about a second)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Digits needs scikit-learn, which ships the 8x8 digits data "
                           "(pip install scikit-learn); it is not installed.")
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.isfile(path):
            return path
    raise RuntimeError("scikit-learn is installed but its datasets/data/digits.csv.gz was not "
                       f"found under {list(spec.submodule_search_locations)}")


def _load_all() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images as uint8 (N, 8, 8) scaled from 0..16 to 0..255, and int64 labels."""
    path = _digits_csv_path()
    if path not in _cache:
        with gzip.open(path, "rt") as fh:
            table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
        if table.ndim != 2 or table.shape[1] != 65:
            raise RuntimeError(f"{path}: expected 65 columns (64 pixels and a label), got "
                               f"shape {table.shape}")
        pixels = table[:, :64]
        images = np.round(pixels * (255.0 / 16.0)).astype(np.uint8).reshape(-1, 8, 8)
        _cache[path] = (images, table[:, 64].copy())
    images, labels = _cache[path]
    return images.copy(), labels.copy()


class Digits(ImageClassification):
    """The UCI optical-recognition digits bundled with scikit-learn: 1797 grey 8x8 images of
    the digits 0-9, read from the installed package (no download, no sklearn import).

    Pixels (16 grey levels, 0..16 in the source) are scaled to uint8 0..255 like MNIST, so
    ``transforms.ToTensor()`` and ``Normalize`` work the same way. The split is fixed,
    deterministic and stratified: 360 test images (20% of each digit, spread evenly over the
    file) and 1437 training images.

    Args:
        root: ignored (accepted so that code written for MNIST runs unchanged).
        train: the training split (else the test split).
        transform, target_transform: as in :class:`MNIST`.
        split: ``'train'``, ``'test'`` or ``'all'`` (1797 images); overrides ``train``.
        download: ignored (the data ships with scikit-learn).

    Raises RuntimeError when scikit-learn is not installed.

    Example::

        >>> train = datasets.Digits(train=True, transform=transforms.ToTensor())
        >>> len(train), train[0][0].shape
        (1437, torch.Size([1, 8, 8]))
    """

    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None,
                 split: str | None = None, download: bool = False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        if split is None:
            split = "train" if train else "test"
        if split not in ("train", "test", "all"):
            raise ValueError(f"Digits: split must be 'train', 'test' or 'all', got {split!r}")
        self.split = split
        self.train = split == "train"
        images, labels = _load_all()
        if split != "all":
            is_test = _test_mask(labels)
            chosen = ~is_test if split == "train" else is_test
            images, labels = images[chosen], labels[chosen]
        self.data = _wrap(np.ascontiguousarray(images))
        self.targets = _wrap(np.ascontiguousarray(labels))

    def extra_repr(self) -> str:
        return f"Split: {self.split.capitalize()}"
