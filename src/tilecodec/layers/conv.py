"""Convolution helpers with 'same'-style padding for stride-2 codec transforms."""

import torch
import torch.nn.functional as F
from torch import nn


def conv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    """A conv that maps HxW to (H/stride)x(W/stride) for H, W divisible by ``stride``."""
    return nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)


def deconv(in_ch: int, out_ch: int, kernel: int = 5, stride: int = 2) -> nn.ConvTranspose2d:
    """A transposed conv that maps HxW to (H*stride)x(W*stride)."""
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=stride,
                              padding=kernel // 2, output_padding=stride - 1)


def _subpixel_weights(layer: nn.ConvTranspose2d) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The 3x3 conv (weights, bias) equivalent to ``layer`` before a pixel shuffle; cached on
    the layer until its weights change."""
    key = (layer.weight.data_ptr(), layer.weight._version, layer.weight.dtype)
    cached = getattr(layer, "_subpixel", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    cin, cout, k, _ = layer.weight.shape
    p = k // 2
    # output row 2m + r takes input row m + d through kernel row r + p - 2d
    taps = [(r, d + 1, r + p - 2 * d) for r in (0, 1) for d in (-1, 0, 1) if 0 <= r + p - 2 * d < k]
    with torch.no_grad():
        w = layer.weight.new_zeros(cout, 2, 2, cin, 3, 3)
        for ry, dy, ky in taps:
            for rx, dx, kx in taps:
                w[:, ry, rx, :, dy, dx] = layer.weight[:, :, ky, kx].t()
        bias = None if layer.bias is None else layer.bias.repeat_interleave(4)
    weights = (w.reshape(4 * cout, cin, 3, 3), bias)
    layer._subpixel = (key, weights)
    return weights


def subpixel_deconv(x: torch.Tensor, layer: nn.ConvTranspose2d) -> torch.Tensor:
    """``layer(x)`` for a ``deconv`` of stride 2 and kernel 3 or 5, computed as a 3x3 conv into
    4x the channels followed by a pixel shuffle (the same sums, regrouped; equal up to float
    rounding). On CPU this is faster in float32. Inference only (no gradient to ``layer``)."""
    k = layer.weight.shape[2]
    p = k // 2
    if layer.stride != (2, 2) or layer.padding != (p, p) or layer.output_padding != (1, 1) or k > 5:
        return layer(x)
    w, bias = _subpixel_weights(layer)
    return F.pixel_shuffle(F.conv2d(x, w, bias, padding=1), 2)


def run_inference(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)`` without gradients, with every stride-2 ``deconv`` as ``subpixel_deconv``."""
    with torch.no_grad():
        for layer in layers:
            x = subpixel_deconv(x, layer) if isinstance(layer, nn.ConvTranspose2d) else layer(x)
    return x
