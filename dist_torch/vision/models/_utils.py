"""Helpers shared by the model builders."""

from __future__ import annotations


def check_weights(weights, kwargs: dict, name: str) -> None:
    """Pretrained weights are not bundled (nothing is downloaded): only ``weights=None``."""
    pretrained = kwargs.pop("pretrained", False)
    if weights is None and not pretrained:
        return
    raise ValueError(
        f"{name}: pretrained weights are not bundled with dist_torch and cannot be downloaded "
        f"(weights={weights!r}). Build the model with weights=None, then load converted "
        "weights: in PyTorch, `safetensors.torch.save_file(torchvision_model.state_dict(), "
        "'w.safetensors')`; here, `model.load_state_dict(torch.load('w.safetensors'))`.")
