"""DC-GAN weight initialisation, extended to the half-kernel parameters of symmetric layers.

Radford et al. (and pytorch/examples ``dcgan/main.py``) draw every conv weight from
``N(0, 0.02)`` and BatchNorm scales from ``N(1, 0.02)`` with zero biases. A symmetric layer
stores only its free columns (``weight_half``); drawing those from ``N(0, 0.02)`` gives every
entry of the full kernel the same ``N(0, 0.02)`` marginal as a plain DC-GAN kernel, with mirrored
entries tied.
"""

from __future__ import annotations

from torch import nn

from .layers import SymConv2d, SymConvTranspose2d

__all__ = ["dcgan_init"]


def dcgan_init(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Apply DC-GAN initialisation to every layer of ``module`` in place; returns ``module``."""
    for m in module.modules():
        if isinstance(m, SymConv2d | SymConvTranspose2d):
            nn.init.normal_(m.weight_half, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
