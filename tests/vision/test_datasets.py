"""dist_torch.vision.datasets: the IDX reader, MNIST/FashionMNIST/KMNIST and Digits."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib.util
import os
import pathlib
import struct
import subprocess
import sys
import threading
import urllib.error

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.vision import datasets, transforms
from dist_torch.vision.datasets import _idx, mnist
from tests.helpers import assert_close

# The project's data sets live in shared/data beside the repository (/work/shared/data here).
_REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = next((p for p in (_REPO / "shared" / "data", _REPO.parent / "shared" / "data",
                           pathlib.Path("/work/shared/data")) if p.is_dir()),
              pathlib.Path("/work/shared/data"))
REAL_MD5 = {
    "mnist": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
              "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
              "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    "fashion-mnist": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                      "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                      "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                      "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
}


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """An IDX file written from the format description (big-endian values)."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.ascontiguousarray(array, dtype=big).tobytes()


def write_idx(path, array, code=0x08, compress=False):
    raw = idx_bytes(array, code)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


# --------------------------------------------------------------------------- IDX reader

@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                        (0x0C, np.int32), (0x0D, np.float32),
                                        (0x0E, np.float64)])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (1, 2, 1, 3)])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_types_shapes_and_gzip(tmp_path, code, dtype, shape, compress):
    rng = np.random.default_rng(code)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    values = (rng.integers(info.min, info.max, size=shape, endpoint=True) if info
              else rng.normal(size=shape)).astype(dtype)
    path = write_idx(tmp_path / "f.idx", values, code, compress)
    out = _idx.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == shape
    np.testing.assert_array_equal(out, values)
    assert out.flags.writeable


def test_read_idx_big_endian_value_order():
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(_idx.read_idx_bytes(raw), [258, -2])


@pytest.mark.parametrize("raw,match", [
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"\x01\x00\x08\x01" + bytes(5), "two zero bytes"),
    (b"\x00\x00\x0A\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x0A"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "truncated IDX header"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + bytes(3), r"shape \(4,\) of uint8"),
    (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + bytes(5), "the file has 13 bytes"),
])
def test_read_idx_errors(raw, match):
    with pytest.raises(ValueError, match=match):
        _idx.read_idx_bytes(raw, "f.idx")


def test_read_idx_corrupt_gzip(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8), 0x08))[:-6])
    with pytest.raises(ValueError, match="corrupt gzip"):
        _idx.read_idx(path)


def test_image_and_label_file_checks(tmp_path):
    labels = write_idx(tmp_path / "l", np.arange(3, dtype=np.uint8))
    images = write_idx(tmp_path / "i", np.zeros((2, 4, 4), np.uint8))
    assert _idx.read_label_file(labels).dtype == np.int64
    assert _idx.read_image_file(images).shape == (2, 4, 4)
    with pytest.raises(ValueError, match=r"images of shape \(N, H, W\), got uint8 data of"):
        _idx.read_image_file(labels)
    with pytest.raises(ValueError, match=r"labels of shape \(N,\), got uint8"):
        _idx.read_label_file(images)
    floats = write_idx(tmp_path / "f", np.zeros(3, np.float32), 0x0D)
    with pytest.raises(ValueError, match="got float32"):
        _idx.read_label_file(floats)


# --------------------------------------------------------------------------- MNIST (synthetic)

def make_split(rng, n, size=28):
    return (rng.integers(0, 256, size=(n, size, size)).astype(np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


@pytest.fixture
def fake_root(tmp_path):
    """A torchvision-layout root with small gzipped MNIST files; returns (root, arrays)."""
    rng = np.random.default_rng(0)
    arrays = {"train": make_split(rng, 12), "t10k": make_split(rng, 5)}
    raw = tmp_path / "MNIST" / "raw"
    for prefix, (images, labels) in arrays.items():
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images, compress=True)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", labels, compress=True)
    return tmp_path, arrays


def test_mnist_attributes_and_items(fake_root):
    root, arrays = fake_root
    ds = datasets.MNIST(str(root), train=True)
    images, labels = arrays["train"]
    assert isinstance(ds, dt.utils.data.Dataset)
    assert len(ds) == 12
    assert ds.data.dtype is dt.uint8 and ds.data.shape == (12, 28, 28)
    assert ds.targets.dtype is dt.int64 and ds.targets.shape == (12,)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    img, target = ds[3]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    assert not img.flags.writeable
    np.testing.assert_array_equal(img, images[3])
    assert type(target) is int and target == labels[3]
    img, target = ds[-1]
    np.testing.assert_array_equal(img, images[-1])
    img, _ = ds[dt.tensor(2)]
    np.testing.assert_array_equal(img, images[2])
    assert ds.classes[0] == "0 - zero" and ds.class_to_idx["9 - nine"] == 9
    assert ds.raw_folder == os.path.join(str(root), "MNIST", "raw")
    test = datasets.MNIST(root, train=False)
    assert len(test) == 5
    np.testing.assert_array_equal(test.data.numpy(), arrays["t10k"][0])


def test_mnist_to_tensor_matches_torchvision_semantics(fake_root):
    root, arrays = fake_root
    ds = datasets.MNIST(root, transform=transforms.ToTensor(),
                        target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert x.dtype is dt.float32 and x.shape == (1, 28, 28)
    assert_close(x[0], arrays["train"][0][0].astype(np.float32) / np.float32(255))
    assert y == int(arrays["train"][1][0]) + 100


def test_mnist_flat_uncompressed_layout(tmp_path):
    rng = np.random.default_rng(1)
    images, labels = make_split(rng, 4)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    ds = datasets.MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(tmp_path, train=True)


@pytest.mark.parametrize("cls,folder,first_class", [
    (datasets.FashionMNIST, "FashionMNIST", "T-shirt/top"), (datasets.KMNIST, "KMNIST", "o")])
def test_relatives_use_their_own_folder(tmp_path, cls, folder, first_class):
    rng = np.random.default_rng(2)
    images, labels = make_split(rng, 3)
    write_idx(tmp_path / folder / "raw" / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(tmp_path / folder / "raw" / "train-labels-idx1-ubyte", labels)
    ds = cls(tmp_path)
    assert len(ds) == 3 and ds.classes[0] == first_class and len(ds.classes) == 10
    with pytest.raises(RuntimeError):
        datasets.MNIST(tmp_path)


def test_mnist_repr(fake_root):
    root, _ = fake_root
    ds = datasets.MNIST(str(root), train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    assert repr(ds) == (
        "Dataset MNIST\n"
        "    Number of datapoints: 5\n"
        f"    Root location: {root}\n"
        "    Split: Test\n"
        "    StandardTransform\n"
        "Transform: Compose(\n"
        "               ToTensor()\n"
        "               Normalize(mean=(0.1307,), std=(0.3081,))\n"
        "           )")
    plain = datasets.MNIST(str(root))
    assert repr(plain) == (f"Dataset MNIST\n    Number of datapoints: 12\n"
                           f"    Root location: {root}\n    Split: Train")


def test_mnist_replaced_data_is_used(fake_root):
    root, arrays = fake_root
    ds = datasets.MNIST(root)
    ds.data, ds.targets = ds.data[:4], ds.targets[:4]
    assert len(ds) == 4
    np.testing.assert_array_equal(ds[3][0], arrays["train"][0][3])


def test_mnist_count_mismatch(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    with pytest.raises(RuntimeError, match="3 images but 2 labels"):
        datasets.MNIST(tmp_path)


def test_missing_files_error_names_every_path(tmp_path):
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path / "nowhere", train=True)
    msg = str(info.value)
    assert "Dataset not found. You can use download=True" in msg
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        for folder in (tmp_path / "nowhere" / "MNIST" / "raw", tmp_path / "nowhere"):
            assert os.path.join(folder, stem) in msg
            assert os.path.join(folder, stem + ".gz") in msg
    assert "t10k-images-idx3-ubyte.gz" in msg  # how to provide: the file names to copy


def test_download_skips_the_network_when_files_exist(fake_root, monkeypatch):
    def no_network(url, timeout):
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(mnist, "_fetch", no_network)
    root, _ = fake_root
    assert len(datasets.MNIST(root, download=True)) == 12


def _served_files(rng):
    files = {}
    for prefix, n in (("train", 6), ("t10k", 2)):
        images, labels = make_split(rng, n)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images, 0x08))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels, 0x08))
    return files


def test_download_tries_mirrors_and_checks_md5(tmp_path, monkeypatch):
    files = _served_files(np.random.default_rng(3))
    resources = [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()]
    requested = []

    def fake_fetch(url, timeout):
        requested.append(url)
        assert timeout <= 30
        if url.startswith("http://dead/"):
            raise urllib.error.URLError("no route to host")
        return files[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(mnist, "_fetch", fake_fetch)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://dead/", "http://alive/"])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    ds = datasets.MNIST(tmp_path, download=True)
    assert len(ds) == 6
    # the unreachable mirror is tried once, then each file comes from the live one
    assert requested == ["http://dead/" + resources[0][0]] + [
        "http://alive/" + name for name, _ in resources]
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(files)
    for name, md5 in resources:
        assert hashlib.md5((raw / name).read_bytes()).hexdigest() == md5


def test_download_http_error_keeps_the_mirror(tmp_path, monkeypatch):
    files = _served_files(np.random.default_rng(6))
    first = next(iter(files))
    requested = []

    def fake_fetch(url, timeout):
        requested.append(url)
        name = url.rsplit("/", 1)[1]
        if url.startswith("http://a/") and name == first:
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return files[name]

    monkeypatch.setattr(mnist, "_fetch", fake_fetch)
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://a/", "http://b/"])
    monkeypatch.setattr(datasets.MNIST, "resources",
                        [(n, hashlib.md5(d).hexdigest()) for n, d in files.items()])
    datasets.MNIST(tmp_path, download=True)
    assert requested == ["http://a/" + first, "http://b/" + first] + [
        "http://a/" + name for name in list(files)[1:]]


def test_download_rejects_bad_md5(tmp_path, monkeypatch):
    files = _served_files(np.random.default_rng(4))
    monkeypatch.setattr(mnist, "_fetch", lambda url, timeout: files[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://m/"])
    monkeypatch.setattr(datasets.MNIST, "resources", [(n, "0" * 32) for n in files])
    with pytest.raises(RuntimeError, match="does not match the expected 0{32}"):
        datasets.MNIST(tmp_path, download=True)
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_over_http(tmp_path, monkeypatch):
    """The real urllib path against a local HTTP server; an unreachable mirror comes first."""
    files = _served_files(np.random.default_rng(5))
    served = tmp_path / "served"
    served.mkdir()
    for name, data in files.items():
        (served / name).write_bytes(data)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        monkeypatch.setattr(datasets.FashionMNIST, "mirrors",
                            ["http://127.0.0.1:9/", f"http://127.0.0.1:{port}/"])
        monkeypatch.setattr(datasets.FashionMNIST, "resources",
                            [(n, hashlib.md5(d).hexdigest()) for n, d in files.items()])
        ds = datasets.FashionMNIST(tmp_path / "root", train=False, download=True)
        assert len(ds) == 2
    finally:
        server.shutdown()
        server.server_close()


def test_download_failure_lists_paths_and_errors(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(mnist, "_fetch", offline)
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path, download=True)
    msg = str(info.value)
    assert "could not download" in msg and "Temporary failure in name resolution" in msg
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz" in msg
    assert "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz" in msg
    assert os.path.join(tmp_path, "MNIST", "raw", "train-labels-idx1-ubyte.gz") in msg
    assert os.path.join(tmp_path, "train-images-idx3-ubyte") in msg


# --------------------------------------------------------------------------- real data

def _real(folder):
    path = SHARED / folder
    if not all((path / name).is_file() for name in REAL_MD5[folder]):
        pytest.skip(f"{path} does not hold the {folder} files")
    return path


@pytest.mark.parametrize("folder", ["mnist", "fashion-mnist"])
def test_real_files_md5(folder):
    path = _real(folder)
    for name, md5 in REAL_MD5[folder].items():
        assert hashlib.md5((path / name).read_bytes()).hexdigest() == md5, name


@pytest.fixture(scope="module")
def real_mnist():
    path = _real("mnist")
    return datasets.MNIST(path, train=True), datasets.MNIST(path, train=False)


def test_real_mnist(real_mnist):
    train, test = real_mnist
    assert len(train) == 60000 and len(test) == 10000
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.targets.tolist()[:5] == [5, 0, 4, 1, 9]
    assert test.targets.tolist()[:5] == [7, 2, 1, 0, 4]
    assert np.bincount(train.targets.numpy()).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    total = int(train.data.numpy().sum(dtype=np.int64))
    assert total == 1567298545
    assert abs(total / 255 / train.data.numel() - 0.1307) < 1e-4  # the usual Normalize mean
    x, y = datasets.MNIST(_real("mnist"), train=False, transform=transforms.ToTensor())[0]
    assert x.shape == (1, 28, 28) and y == 7 and float(x.max()) == 1.0


def test_real_fashion_mnist():
    path = _real("fashion-mnist")
    test = datasets.FashionMNIST(path, train=False)
    assert len(test) == 10000 and test.data.shape == (10000, 28, 28)
    assert np.bincount(test.targets.numpy()).tolist() == [1000] * 10
    assert test.targets.tolist()[:3] == [9, 2, 1]
    assert test.classes[9] == "Ankle boot"


# --------------------------------------------------------------------------- Digits

def _need_sklearn():
    if importlib.util.find_spec("sklearn") is None:  # find_spec: importing sklearn is slow
        pytest.skip("scikit-learn (which ships the digits data) is not installed")


@pytest.fixture(scope="module")
def digits():
    _need_sklearn()
    return {s: datasets.Digits(split=s) for s in ("train", "test", "all")}


def test_digits_splits(digits):
    train, test, full = digits["train"], digits["test"], digits["all"]
    assert (len(train), len(test), len(full)) == (1437, 360, 1797)
    assert full.data.dtype is dt.uint8 and full.data.shape == (1797, 8, 8)
    assert full.targets.dtype is dt.int64
    data = full.data.numpy()
    assert data.max() == 255 and data.min() == 0
    assert len(np.unique(data)) == 17  # 0..16 scaled to 0..255
    test_counts = np.bincount(test.targets.numpy(), minlength=10)
    assert test_counts.tolist() == [36, 37, 35, 37, 36, 36, 36, 36, 35, 36]  # 20% of each
    together = np.concatenate([train.data.numpy(), test.data.numpy()])
    assert sorted(map(bytes, together)) == sorted(map(bytes, data))
    assert datasets.Digits(train=False).targets.tolist() == test.targets.tolist()
    assert datasets.Digits(root="ignored", train=True).split == "train"


def test_digits_matches_sklearn(digits):
    from sklearn.datasets import load_digits
    bunch = load_digits()
    expected = np.round(bunch.images * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(digits["all"].data.numpy(), expected)
    np.testing.assert_array_equal(digits["all"].targets.numpy(), bunch.target)


def test_digits_items_and_transforms(digits):
    ds = datasets.Digits(transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
    x, y = ds[0]
    assert x.shape == (1, 8, 8) and x.dtype is dt.float32 and isinstance(y, int)
    raw = digits["train"].data.numpy()[0].astype(np.float32) / np.float32(255)
    assert_close(x[0], (raw - np.float32(0.5)) / np.float32(0.5))
    assert repr(digits["test"]).splitlines()[1:] == ["    Number of datapoints: 360",
                                                     "    Split: Test"]


def test_digits_bad_split():
    with pytest.raises(ValueError, match="split must be"):
        datasets.Digits(split="val")


def test_digits_without_sklearn(monkeypatch):
    from dist_torch.vision.datasets import digits as digits_module
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(digits_module, "_cache", {})
    with pytest.raises(RuntimeError, match="needs scikit-learn.*pip install scikit-learn"):
        datasets.Digits()


def test_digits_does_not_import_sklearn():
    _need_sklearn()
    code = ("import sys; from dist_torch.vision import datasets; "
            "assert len(datasets.Digits()) == 1437; assert 'sklearn' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_REPO,
                   env={**os.environ, "PYTHONPATH": str(_REPO)})
