"""The classic PyTorch MNIST training script runs with only its imports changed.

The script below follows pytorch/examples' mnist/main.py API usage line for line (device
selection through torch.cuda / torch.backends.mps, ``datasets.MNIST(root, train=True,
download=True, transform=...)``, Dropout, log_softmax + nll_loss, Adadelta, StepLR,
``pred.eq(target.view_as(pred))``, ``torch.save(model.state_dict(), ...)``). It trains on a small
MNIST-format data set written here (scikit-learn's digits upscaled to 28x28 in IDX files under
``root/MNIST/raw``), so it runs in seconds.
"""

import numpy as np
import pytest

import dist_torch as torch
import dist_torch.nn as nn
import dist_torch.nn.functional as F
import dist_torch.optim as optim
from dist_torch.optim.lr_scheduler import StepLR
from dist_torch.vision import datasets, transforms
from tests.vision.test_datasets import write_idx

pytest.importorskip("sklearn", reason="the data set is built from scikit-learn's digits")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, device, train_loader, optimizer):
    model.train()
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()


def evaluate(model, device, test_loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return correct / len(test_loader.dataset)


def run_script(root, save_path, epochs=2):
    use_cuda = torch.cuda.is_available()
    use_mps = torch.backends.mps.is_available()
    torch.manual_seed(1)
    device = torch.device("cuda" if use_cuda else "mps" if use_mps else "cpu")
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    dataset1 = datasets.MNIST(root, train=True, download=True, transform=transform)
    dataset2 = datasets.MNIST(root, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=64, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=1000)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for _ in range(epochs):
        train(model, device, train_loader, optimizer)
        accuracy = evaluate(model, device, test_loader)
        scheduler.step()
    torch.save(model.state_dict(), save_path)
    return accuracy


def _digits_as_mnist(root):
    """Write upscaled 8x8 digits as MNIST IDX files (1437 train / 360 test)."""
    for train_split, prefix in ((True, "train"), (False, "t10k")):
        digits = datasets.Digits(train=train_split)
        images = np.asarray(digits.data, dtype=np.uint8)
        big = np.zeros((len(images), 28, 28), np.uint8)
        big[:, 2:26, 2:26] = images.repeat(3, axis=1).repeat(3, axis=2)
        raw = root / "MNIST" / "raw"
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", big, compress=True)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz",
                  np.asarray(digits.targets, dtype=np.uint8), compress=True)


def test_classic_script_trains_and_saves(tmp_path):
    _digits_as_mnist(tmp_path)
    accuracy = run_script(str(tmp_path), tmp_path / "mnist_cnn.safetensors")
    assert accuracy > 0.85
    state = torch.load(tmp_path / "mnist_cnn.safetensors")
    assert sorted(state) == sorted(Net().state_dict())
    assert state["fc1.weight"].shape == (128, 9216)
