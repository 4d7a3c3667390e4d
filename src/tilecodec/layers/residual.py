"""The residual blocks, sub-pixel upsampling and simplified attention module of Cheng et al.
("Learned image compression with discretized Gaussian mixture likelihoods and attention
modules", CVPR 2020)."""

import torch
from torch import nn

from .gdn import GDN


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)


def subpel_conv3x3(in_ch: int, out_ch: int, r: int = 2) -> nn.Sequential:
    """Sub-pixel upsampling by ``r``: a 3x3 convolution to ``r * r`` times the channels, then a
    pixel shuffle (Shi et al., 2016)."""
    return nn.Sequential(conv3x3(in_ch, out_ch * r * r), nn.PixelShuffle(r))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with leaky ReLUs, plus the input (1x1-projected if the widths differ)."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(in_ch, out_ch), nn.LeakyReLU(inplace=True),
                                  conv3x3(out_ch, out_ch), nn.LeakyReLU(inplace=True))
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class ResidualBlockWithStride(nn.Module):
    """Downsampling by 2: a strided 3x3 convolution, a leaky ReLU, a 3x3 convolution and GDN,
    plus a strided 1x1 projection of the input."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(in_ch, out_ch, 2), nn.LeakyReLU(inplace=True),
                                  conv3x3(out_ch, out_ch), GDN(out_ch))
        self.skip = nn.Conv2d(in_ch, out_ch, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class ResidualBlockUpsample(nn.Module):
    """Upsampling by 2: sub-pixel convolution, leaky ReLU, 3x3 convolution and inverse GDN,
    plus a sub-pixel upsampling of the input."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.body = nn.Sequential(subpel_conv3x3(in_ch, out_ch), nn.LeakyReLU(inplace=True),
                                  conv3x3(out_ch, out_ch), GDN(out_ch, inverse=True))
        self.skip = subpel_conv3x3(in_ch, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class _ResidualUnit(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n // 2, 1), nn.ReLU(inplace=True), conv3x3(n // 2, n // 2),
                                  nn.ReLU(inplace=True), nn.Conv2d(n // 2, n, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + x)


class AttentionBlock(nn.Module):
    """The simplified attention module (no non-local block): a trunk of three residual units,
    times the sigmoid of a mask branch (three residual units and a 1x1 convolution), plus
    the input."""

    def __init__(self, n: int):
        super().__init__()
        self.trunk = nn.Sequential(*(_ResidualUnit(n) for _ in range(3)))
        self.mask = nn.Sequential(*(_ResidualUnit(n) for _ in range(3)), nn.Conv2d(n, n, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x) * torch.sigmoid(self.mask(x)) + x
