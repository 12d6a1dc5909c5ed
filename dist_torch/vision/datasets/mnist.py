"""MNIST, FashionMNIST and KMNIST: 28x28 grey images in IDX files, as torchvision reads them."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request

import numpy as np

from dist_torch._tensor import _wrap
from dist_torch.vision.datasets._idx import read_image_file, read_label_file
from dist_torch.vision.datasets.vision import ImageClassification

__all__ = ["MNIST", "FashionMNIST", "KMNIST"]

_DOWNLOAD_TIMEOUT = 15  # seconds per request


def _md5(path, chunk=1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "dist_torch"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class MNIST(ImageClassification):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

    Args:
        root: directory holding the four IDX files (``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
            ``t10k-labels-idx1-ubyte``, each gzip-compressed (``.gz``) or not), either in
            ``root/MNIST/raw/`` (torchvision's layout) or directly in ``root``.
        train: the training set (else the test set).
        transform: applied to each image (a read-only ``(28, 28)`` uint8 NumPy array; see
            below), e.g. ``transforms.ToTensor()``.
        target_transform: applied to each target (an int).
        download: fetch missing files from the mirrors (md5-checked) into ``root/MNIST/raw/``;
            a RuntimeError lists the expected paths when they can be neither found nor fetched.

    Attributes:
        data: uint8 tensor (N, 28, 28).  targets: int64 tensor (N,).  classes: class names.

    ``dataset[i]`` is ``(image, target)``. torchvision's image is a PIL image of mode 'L';
    ours is the same pixels as a read-only ``(28, 28)`` uint8 NumPy array (no PIL
    dependency), which ``transforms.ToTensor()`` turns into the same float32 tensor of shape
    (1, 28, 28) with values in [0, 1], so torchvision scripts run unchanged.

    Example::

        >>> train = datasets.MNIST("data", train=True, download=True,
        ...                        transform=transforms.ToTensor())
        >>> image, label = train[0]        # image: float32 (1, 28, 28), label: 5
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it.\n"
                               + self._missing_report())
        self.data, self.targets = self._load_data()

    # ------------------------------------------------------------------ files

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "processed")

    def _split_files(self) -> list:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _candidates(self, stem: str) -> list:
        """Where ``stem`` (a file name without .gz) may be, in the order they are tried."""
        return [os.path.join(folder, stem + ext) for folder in (self.raw_folder, self.root)
                for ext in ("", ".gz")]

    def _find(self, stem: str):
        for path in self._candidates(stem):
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._find(stem) is not None for stem in self._split_files())

    def _missing_report(self, errors=()) -> str:
        lines = [f"{type(self).__name__} ({'train' if self.train else 'test'} split) needs "
                 "these IDX files, gzip-compressed or not:"]
        for stem in self._split_files():
            state = "found" if self._find(stem) else "missing"
            lines.append(f"  {stem} ({state}); looked for: " + ", ".join(self._candidates(stem)))
        if errors:
            lines.append("Download failed:")
            lines += [f"  {e}" for e in errors]
        names = ", ".join(name for name, _ in self.resources)
        lines.append(f"To provide them, copy {names} (from {self.mirrors[0]}) into "
                     f"{self.raw_folder} or directly into {self.root}, or pass download=True "
                     "on a machine with network access.")
        return "\n".join(lines)

    def download(self) -> None:
        """Fetch the files that are missing (all four), md5-checked, into ``raw_folder``."""
        missing = [(name, md5) for name, md5 in self.resources
                   if self._find(name[:-3] if name.endswith(".gz") else name) is None]
        if not missing:
            return
        errors = []
        try:
            os.makedirs(self.raw_folder, exist_ok=True)
        except OSError as err:
            raise RuntimeError(f"Cannot create {self.raw_folder} for the download ({err}).\n"
                               + self._missing_report()) from None
        unreachable = set()  # mirrors that failed to connect are not asked again
        for name, md5 in missing:
            for mirror in self.mirrors:
                if mirror in unreachable:
                    continue
                url = mirror + name
                try:
                    data = _fetch(url, _DOWNLOAD_TIMEOUT)
                except (urllib.error.URLError, OSError, ValueError) as err:
                    errors.append(f"{url}: {getattr(err, 'reason', err)}")
                    if not isinstance(err, urllib.error.HTTPError):
                        unreachable.add(mirror)
                    continue
                got = hashlib.md5(data, usedforsecurity=False).hexdigest()
                if got != md5:
                    errors.append(f"{url}: md5 {got} does not match the expected {md5}")
                    continue
                _write_atomic(os.path.join(self.raw_folder, name), data)
                break
        if not self._check_exists():
            raise RuntimeError(f"{type(self).__name__}: could not download the dataset.\n"
                               + self._missing_report(errors))

    def _load_data(self):
        image_stem, label_stem = self._split_files()
        images = read_image_file(self._find(image_stem))
        labels = read_label_file(self._find(label_stem))
        if len(images) != len(labels):
            raise RuntimeError(f"{type(self).__name__}: {len(images)} images but {len(labels)} "
                               f"labels in {self._find(image_stem)} and "
                               f"{self._find(label_stem)}")
        return _wrap(np.ascontiguousarray(images)), _wrap(labels)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    # torchvision's deprecated aliases
    @property
    def train_labels(self):
        return self.targets

    @property
    def test_labels(self):
        return self.targets

    @property
    def train_data(self):
        return self.data

    @property
    def test_data(self):
        return self.data


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, in MNIST's format.

    Same arguments as :class:`MNIST`; files live in ``root/FashionMNIST/raw/`` or ``root``.
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 images of 10 cursive Japanese characters, in MNIST's format.

    Same arguments as :class:`MNIST`; files live in ``root/KMNIST/raw/`` or ``root``.
    """

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
