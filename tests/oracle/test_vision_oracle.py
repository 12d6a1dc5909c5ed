"""dist_torch.vision against PyTorch: ToTensor/Normalize bit for bit, resize against
torch.nn.functional.interpolate, and the models against the same architectures written in
plain torch.nn (torchvision itself is not installed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dist_torch as dt
from dist_torch.vision import models, transforms
from dist_torch.vision.transforms import functional as F
from tests.oracle.compare import check, check_module

tnn = torch.nn


# --------------------------------------------------------------------------- transforms

@pytest.mark.parametrize("shape", [(28, 28), (5, 7, 3), (4, 4, 1)])
def test_to_tensor_bitwise(shape):
    img = np.random.default_rng(0).integers(0, 256, size=shape).astype(np.uint8)
    ours = np.asarray(transforms.ToTensor()(img))
    hwc = img[:, :, None] if img.ndim == 2 else img
    theirs = torch.from_numpy(hwc.transpose(2, 0, 1).copy()).to(torch.float32).div(255)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_normalize_bitwise():
    x = np.random.default_rng(1).random((3, 6, 5), dtype=np.float32)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    ours = np.asarray(transforms.Normalize(mean, std)(dt.tensor(x)))
    t = torch.tensor(x)
    theirs = (t - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_normalize_errors_match_torch_classes():
    x = np.zeros((2, 2, 2), np.float32)
    with pytest.raises(RuntimeError) as ours:
        transforms.Normalize((0.5, 0.5, 0.5), (1.0, 1.0, 1.0))(dt.tensor(x))
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor(x).sub_(torch.tensor([0.5, 0.5, 0.5]).view(-1, 1, 1))
    assert "must match the size" in str(theirs.value)
    assert "2" in str(ours.value) and "3" in str(ours.value)


_RESIZE_CASES = [
    ((1, 6, 8), (3, 4)), ((2, 5, 7), (11, 13)), ((1, 9, 4), (4, 9)), ((3, 10, 10), (3, 7)),
    ((1, 1, 6), (1, 2)), ((1, 7, 3), (2, 3)),
]


@pytest.mark.parametrize("shape,size", _RESIZE_CASES)
@pytest.mark.parametrize("mode,antialias", [("nearest", False), ("nearest-exact", False),
                                            ("bilinear", False), ("bilinear", True),
                                            ("bicubic", False), ("bicubic", True)])
def test_resize_matches_interpolate(shape, size, mode, antialias):
    x = np.random.default_rng(2).normal(size=shape)
    interp = transforms.InterpolationMode(mode)

    def fn(lib, t):
        if lib is dt:
            return F.resize(t, list(size), interpolation=interp, antialias=antialias)
        align = {} if mode.startswith("nearest") else {"align_corners": False}
        return torch.nn.functional.interpolate(t[None], size=size, mode=mode,
                                               antialias=antialias, **align)[0]

    check(fn, x, rtol=1e-9, atol=1e-12)


def test_resize_float32_close_to_interpolate():
    x = np.random.default_rng(3).random((3, 32, 32), dtype=np.float32)
    ours = np.asarray(transforms.Resize(20)(dt.tensor(x)))
    theirs = torch.nn.functional.interpolate(torch.tensor(x)[None], size=(20, 20),
                                             mode="bilinear", antialias=True)[0]
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_random_crop_draws_follow_manual_seed():
    img = np.arange(100, dtype=np.uint8).reshape(10, 10)
    crop = transforms.RandomCrop(4)
    dt.manual_seed(7)
    a = [crop(img).copy() for _ in range(5)]
    dt.manual_seed(7)
    b = [crop(img).copy() for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- models

_NEEDED = ("Conv2d", "BatchNorm2d", "MaxPool2d", "AdaptiveAvgPool2d", "ReLU", "Dropout")
_missing = [name for name in _NEEDED if not hasattr(dt.nn, name)]
needs_layers = pytest.mark.skipif(bool(_missing), reason=f"dist_torch.nn lacks {_missing}")


class TorchBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TorchBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TorchResNet(tnn.Module):
    """torchvision's ResNet as documented (the reference for names, shapes and maths)."""

    def __init__(self, block, layers, num_classes=1000, cifar_stem=False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 3, 1, 1, bias=False) if cifar_stem else \
            tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.Identity() if cifar_stem else tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(
                tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def torch_vgg(cfg, batch_norm, num_classes=1000):
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
            continue
        layers.append(tnn.Conv2d(c, v, 3, padding=1))
        if batch_norm:
            layers.append(tnn.BatchNorm2d(v))
        layers.append(tnn.ReLU(inplace=True))
        c = v
    model = tnn.Module()
    model.features = tnn.Sequential(*layers)
    model.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
    model.classifier = tnn.Sequential(
        tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(0.5),
        tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(0.5), tnn.Linear(4096, num_classes))
    return model


def _layout(state_dict):
    return [(k, tuple(v.shape)) for k, v in state_dict.items()]


@needs_layers
@pytest.mark.parametrize("builder,block,layers", [
    (models.resnet18, TorchBasicBlock, [2, 2, 2, 2]),
    (models.resnet34, TorchBasicBlock, [3, 4, 6, 3]),
    (models.resnet50, TorchBottleneck, [3, 4, 6, 3]),
])
def test_resnet_state_dict_layout_matches(builder, block, layers):
    ours = builder(num_classes=10)
    with torch.device("meta"):
        theirs = TorchResNet(block, layers, num_classes=10)
    assert _layout(ours.state_dict()) == _layout(theirs.state_dict())


@needs_layers
@pytest.mark.parametrize("name,batch_norm", [("vgg11", False), ("vgg11_bn", True)])
def test_vgg_state_dict_layout_matches(monkeypatch, name, batch_norm):
    for init in ("kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_"):  # values unused
        monkeypatch.setattr(dt.nn.init, init, lambda tensor, *args, **kwargs: tensor)
    ours = getattr(models, name)(num_classes=10)
    with torch.device("meta"):
        theirs = torch_vgg(models.vgg.cfgs["A"], batch_norm, num_classes=10)
    assert _layout(ours.state_dict()) == _layout(theirs.state_dict())


@needs_layers
def test_resnet18_eval_forward_matches_torch():
    torch.manual_seed(0)
    theirs = TorchResNet(TorchBasicBlock, [2, 2, 2, 2], num_classes=7)
    for m in theirs.modules():  # non-trivial running statistics
        if isinstance(m, tnn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    x = np.random.default_rng(0).normal(size=(2, 3, 20, 20))
    check_module(models.resnet18(num_classes=7), theirs, x, train=False, rtol=1e-6,
                 atol=1e-8)


@needs_layers
def test_resnet18_cifar_stem_train_step_matches_torch():
    torch.manual_seed(1)
    theirs = TorchResNet(TorchBasicBlock, [2, 2, 2, 2], num_classes=10, cifar_stem=True)
    x = np.random.default_rng(1).normal(size=(2, 3, 8, 8))
    check_module(models.resnet18(num_classes=10, cifar_stem=True), theirs, x, train=True,
                 rtol=1e-6, atol=1e-8)


@needs_layers
def test_lenet5_matches_torch():
    torch.manual_seed(2)
    theirs = tnn.Module()
    theirs.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(),
                                     tnn.MaxPool2d(2, 2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
                                     tnn.MaxPool2d(2, 2))
    theirs.classifier = tnn.Sequential(tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                                       tnn.ReLU(), tnn.Linear(84, 10))
    theirs.forward = lambda x: theirs.classifier(torch.flatten(theirs.features(x), 1))
    x = np.random.default_rng(2).normal(size=(3, 1, 28, 28))
    check_module(models.LeNet5(), theirs, x, train=True, rtol=1e-6, atol=1e-8)
