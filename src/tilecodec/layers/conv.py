"""Convolution helpers with 'same'-style padding for stride-2 codec transforms."""

from torch import nn


def conv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    """A conv that maps HxW to (H/stride)x(W/stride) for H, W divisible by ``stride``."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)


def deconv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """A transposed conv that maps HxW to (H*stride)x(W*stride)."""
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=stride,
                              padding=kernel // 2, output_padding=stride - 1)
