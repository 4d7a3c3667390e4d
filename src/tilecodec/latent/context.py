"""The arithmetic context models share when coding: a masked convolution and the
entropy-parameter network evaluated only at the positions a pass codes, as matrix products
over gathered rows, on an entropy path (``entropy.paths``)."""

import torch
import torch.nn.functional as F
from torch import nn


def mlp_rows(layers: nn.Sequential, rows: torch.Tensor, path, used: int | None = None) -> torch.Tensor:
    """``layers`` (an entropy path's copy of 1x1 convolutions and activations) on (n, features)
    rows. ``used``: the rows hold only the first ``used`` input features, the rest being
    zero, so the first layer multiplies only those weights."""
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv2d):
            w = layer.weight.flatten(1)
            rows = F.linear(path.clamp(rows, layer), w[:, :used] if i == 0 and used else w, layer.bias)
        else:
            rows = layer(rows)
        rows = path.output(rows)
    return rows


def _kept_taps(conv: nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The kept (row, column) offsets of ``conv``'s mask (T, 2) and its weight at them
    (out, C T), kept on ``conv`` until its weight changes."""
    key = (conv.weight.data_ptr(), conv.weight._version)
    cached = conv.__dict__.get("_kept_taps")
    if cached is None or cached[0] != key:
        taps = conv.mask[0, 0].nonzero()
        weight = conv.weight[:, :, taps[:, 0], taps[:, 1]]  # (out, C, T)
        cached = (key, taps, weight.reshape(weight.shape[0], -1))
        conv.__dict__["_kept_taps"] = cached
    return cached[1], cached[2]


class Taps:
    """The kept taps of a masked convolution (an entropy path's copy) over a padded map of
    ``width`` columns (plus ``padding`` each side): ``rows(padded, base)`` is the convolution's
    output at the positions whose top-left tap is at flat index ``base`` of ``padded``
    (C x (rows * (width + 2 * padding))), as (n, out channels) rows."""

    def __init__(self, conv: nn.Conv2d, width: int):
        self.conv = conv
        self.padding = conv.padding[0]
        self.stride = width + 2 * self.padding
        taps, self.weight = _kept_taps(conv)
        self.offsets = taps[:, 0] * self.stride + taps[:, 1]

    def base(self, positions: torch.Tensor, width: int) -> torch.Tensor:
        """The ``base`` of flat (row-major, ``width`` columns) ``positions``."""
        return positions // width * self.stride + positions % width

    def rows(self, padded: torch.Tensor, base: torch.Tensor, path) -> torch.Tensor:
        features = padded[:, base[:, None] + self.offsets[None, :]]  # (C, n, T)
        rows = F.linear(features.permute(1, 0, 2).reshape(len(base), -1), self.weight, self.conv.bias)
        return path.output(rows)
