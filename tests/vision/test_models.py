"""dist_torch.vision.models: torchvision's names and shapes, forward shapes, initialisation."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import dist_torch as dt
from dist_torch.vision import models

_NEEDED = ("Conv2d", "BatchNorm2d", "MaxPool2d", "AdaptiveAvgPool2d", "ReLU", "Dropout")
_missing = [name for name in _NEEDED if not hasattr(dt.nn, name)]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"dist_torch.nn lacks {_missing}")


# --------------------------------------------------------------------------- expected layouts
# Derived from torchvision's documented architectures (torchvision is not installed).

def _bn(name, c):
    return [(f"{name}.weight", (c,)), (f"{name}.bias", (c,)), (f"{name}.running_mean", (c,)),
            (f"{name}.running_var", (c,)), (f"{name}.num_batches_tracked", ())]


def resnet_layout(counts, bottleneck, num_classes=1000, stem=7, in_channels=3):
    exp = 4 if bottleneck else 1
    out = [("conv1.weight", (64, in_channels, stem, stem))] + _bn("bn1", 64)
    inplanes = 64
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        for b in range(n):
            stride = 2 if stage > 1 and b == 0 else 1
            p = f"layer{stage}.{b}."
            if bottleneck:
                out += [(p + "conv1.weight", (planes, inplanes, 1, 1))] + _bn(p + "bn1", planes)
                out += [(p + "conv2.weight", (planes, planes, 3, 3))] + _bn(p + "bn2", planes)
                out += [(p + "conv3.weight", (planes * 4, planes, 1, 1))]
                out += _bn(p + "bn3", planes * 4)
            else:
                out += [(p + "conv1.weight", (planes, inplanes, 3, 3))] + _bn(p + "bn1", planes)
                out += [(p + "conv2.weight", (planes, planes, 3, 3))] + _bn(p + "bn2", planes)
            if b == 0 and (stride != 1 or inplanes != planes * exp):
                out += [(p + "downsample.0.weight", (planes * exp, inplanes, 1, 1))]
                out += _bn(p + "downsample.1", planes * exp)
            inplanes = planes * exp
    return out + [("fc.weight", (num_classes, 512 * exp)), ("fc.bias", (num_classes,))]


def vgg_layout(cfg, batch_norm, num_classes=1000):
    out, index, c = [], 0, 3
    for v in cfg:
        if v == "M":
            index += 1
            continue
        out += [(f"features.{index}.weight", (v, c, 3, 3)), (f"features.{index}.bias", (v,))]
        if batch_norm:
            out += _bn(f"features.{index + 1}", v)
        index += 3 if batch_norm else 2
        c = v
    for i, (n_out, n_in) in zip((0, 3, 6), ((4096, 25088), (4096, 4096), (num_classes, 4096))):
        out += [(f"classifier.{i}.weight", (n_out, n_in)), (f"classifier.{i}.bias", (n_out,))]
    return out


@pytest.fixture
def no_init(monkeypatch):
    """Skip the random initialisation (layouts and counts do not need values): building
    VGG's 25088x4096 layer is then instant instead of seconds."""
    for name in ("kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_"):
        monkeypatch.setattr(dt.nn.init, name, lambda tensor, *args, **kwargs: tensor)


def layout(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------- ResNet

@pytest.mark.parametrize("builder,counts,bottleneck,params", [
    (models.resnet18, (2, 2, 2, 2), False, 11_689_512),
    (models.resnet34, (3, 4, 6, 3), False, 21_797_672),
    (models.resnet50, (3, 4, 6, 3), True, 25_557_032),
])
def test_resnet_layout_and_parameter_count(no_init, builder, counts, bottleneck, params):
    model = builder()
    assert layout(model) == resnet_layout(counts, bottleneck)
    assert n_params(model) == params  # torchvision's documented sizes
    assert layout(builder(num_classes=10)) == resnet_layout(counts, bottleneck, 10)


def test_resnet_cifar_stem_and_in_channels():
    model = models.resnet18(num_classes=10, cifar_stem=True, in_channels=1)
    assert layout(model) == resnet_layout((2, 2, 2, 2), False, 10, stem=3, in_channels=1)
    assert isinstance(model.maxpool, dt.nn.Identity)
    assert (model.conv1.stride, model.conv1.padding) == ((1, 1), (1, 1))
    out = model(dt.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)


def test_resnet_forward_shapes():
    model = models.resnet18(num_classes=5).eval()
    with dt.no_grad():
        assert model(dt.randn(1, 3, 32, 48)).shape == (1, 5)
        bottleneck = models.ResNet(models.Bottleneck, [1, 1, 1, 1], num_classes=3).eval()
        assert bottleneck(dt.randn(1, 3, 32, 32)).shape == (1, 3)


def test_resnet_backward_reaches_every_parameter():
    dt.manual_seed(0)
    model = models.resnet18(num_classes=4, cifar_stem=True)
    model(dt.randn(2, 3, 8, 8)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    assert int(model.bn1.num_batches_tracked) == 1


def test_resnet_initialisation():
    dt.manual_seed(0)
    model = models.resnet18()
    w = np.asarray(model.layer4[0].conv2.weight.detach())
    expected_std = math.sqrt(2.0 / (512 * 3 * 3))  # kaiming normal, fan_out, relu
    assert abs(w.std() / expected_std - 1) < 0.02 and abs(w.mean()) < 0.03 * expected_std
    for m in model.modules():
        if isinstance(m, dt.nn.BatchNorm2d):
            assert float(m.weight.min()) == 1.0 and float(m.weight.max()) == 1.0
            assert float(m.bias.abs().max()) == 0.0
    zero = models.resnet18(zero_init_residual=True)
    assert float(zero.layer1[0].bn2.weight.abs().max()) == 0.0
    assert float(zero.layer1[0].bn1.weight.min()) == 1.0
    bottleneck = models.ResNet(models.Bottleneck, [1, 2, 1, 1], zero_init_residual=True)
    assert float(bottleneck.layer2[1].bn3.weight.abs().max()) == 0.0


def test_resnet_errors():
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        models.resnet18(groups=2)
    with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
        models.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or a "
                                         "3-element tuple, got"):
        models.resnet50(replace_stride_with_dilation=[False])
    with pytest.raises(ValueError, match="pretrained weights are not bundled"):
        models.resnet18(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="pretrained weights are not bundled"):
        models.resnet18(pretrained=True)


def test_resnet_dilation_keeps_resolution():
    model = models.ResNet(models.Bottleneck, [1, 1, 1, 1], num_classes=2,
                          replace_stride_with_dilation=[False, True, True]).eval()
    assert model.layer4[0].conv2.dilation == (2, 2) and model.layer4[0].conv2.stride == (1, 1)
    shapes = []
    model.layer4.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    with dt.no_grad():
        assert model(dt.randn(1, 3, 64, 64)).shape == (1, 2)
    assert shapes == [(1, 2048, 8, 8)]  # stride 8 instead of 32


def test_resnet_checkpoint_roundtrip():
    dt.manual_seed(1)
    model = models.resnet18(num_classes=3, cifar_stem=True)
    model(dt.randn(4, 3, 8, 8))  # update the running statistics
    buf = io.BytesIO()
    dt.save({"model": model.state_dict(), "epoch": 1}, buf)
    buf.seek(0)
    fresh = models.resnet18(num_classes=3, cifar_stem=True)
    fresh.load_state_dict(dt.load(buf)["model"])
    x = dt.randn(2, 3, 8, 8)
    model.eval()
    fresh.eval()
    with dt.no_grad():
        np.testing.assert_array_equal(np.asarray(fresh(x)), np.asarray(model(x)))


# --------------------------------------------------------------------------- VGG

@pytest.fixture(scope="module")
def vgg11():
    dt.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:  # VGG overwrites the layers' default init
        for name in ("kaiming_uniform_", "uniform_"):
            mp.setattr(dt.nn.init, name, lambda tensor, *args, **kwargs: tensor)
        return models.vgg11(num_classes=10)


def test_vgg11_layout_and_forward(vgg11):
    assert layout(vgg11) == vgg_layout(models.vgg.cfgs["A"], False, 10)
    assert n_params(vgg11) == 132_863_336 - 1000 * 4096 - 1000 + 10 * 4096 + 10
    assert vgg11.classifier[2].p == 0.5
    with dt.no_grad():
        assert vgg11.eval()(dt.randn(1, 3, 32, 32)).shape == (1, 10)
    w = np.asarray(vgg11.classifier[0].weight.detach()[:512])
    assert abs(w.std() - 0.01) < 2e-4
    assert float(vgg11.classifier[0].bias.abs().max()) == 0.0
    assert float(vgg11.features[0].bias.abs().max()) == 0.0


def test_vgg_bn_layout_and_count(no_init):
    model = models.vgg11_bn(dropout=0.3)
    assert layout(model) == vgg_layout(models.vgg.cfgs["A"], True)
    assert n_params(model) == 132_868_840
    assert model.classifier[5].p == 0.3


def test_vgg_weights_refused():
    with pytest.raises(ValueError, match="vgg11: pretrained weights are not bundled"):
        models.vgg11(weights="DEFAULT")


# --------------------------------------------------------------------------- LeNet-5

def test_lenet5():
    model = models.lenet5()
    assert layout(model) == [
        ("features.0.weight", (6, 1, 5, 5)), ("features.0.bias", (6,)),
        ("features.3.weight", (16, 6, 5, 5)), ("features.3.bias", (16,)),
        ("classifier.0.weight", (120, 400)), ("classifier.0.bias", (120,)),
        ("classifier.2.weight", (84, 120)), ("classifier.2.bias", (84,)),
        ("classifier.4.weight", (10, 84)), ("classifier.4.bias", (10,))]
    assert n_params(model) == 61_706
    assert model(dt.randn(4, 1, 28, 28)).shape == (4, 10)
    classic = models.LeNet5(num_classes=5, in_channels=3, padding=0)
    assert classic(dt.randn(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(ValueError, match="lenet5: pretrained"):
        models.lenet5(weights="x")
