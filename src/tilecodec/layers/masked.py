"""Masked convolutions for context models: a k x k convolution whose ``mask`` buffer (1 where
a tap is used) says which decoded neighbours a position's context may see."""

import torch
import torch.nn.functional as F
from torch import nn


class _Masked(nn.Conv2d):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, mask: torch.Tensor):
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2)
        self.register_buffer("mask", mask.float()[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Saved weights hold zeros at the masked taps (never used, and never trained), so
        that stored models compress."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if not keep_vars:
            destination[prefix + "weight"] = (self.weight * self.mask).detach()


class CheckerboardConv(_Masked):
    """Sees only the positions of the other checkerboard colour (He et al., CVPR 2021): at a
    non-anchor position, only its anchor neighbours."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5):
        i, j = torch.meshgrid(torch.arange(kernel), torch.arange(kernel), indexing="ij")
        super().__init__(in_ch, out_ch, kernel, (i + j) % 2 == 1)


class MaskedConv(_Masked):
    """Sees only the positions before the centre in raster order (the "type A" mask of
    PixelCNN; Minnen et al., NeurIPS 2018): the rows above, and the left part of its own row."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5):
        mask = torch.zeros(kernel, kernel, dtype=torch.bool)
        mask[: kernel // 2] = True
        mask[kernel // 2, : kernel // 2] = True
        super().__init__(in_ch, out_ch, kernel, mask)
