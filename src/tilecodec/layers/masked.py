"""Masked convolution for context models."""

import torch
import torch.nn.functional as F
from torch import nn


class CheckerboardConv(nn.Conv2d):
    """A k x k conv that sees only the positions of the other checkerboard colour
    (He et al., CVPR 2021): at a non-anchor position, only its anchor neighbours."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 5):
        super().__init__(in_ch, out_ch, kernel, padding=kernel // 2)
        i, j = torch.meshgrid(torch.arange(kernel), torch.arange(kernel), indexing="ij")
        self.register_buffer("mask", ((i + j) % 2 == 1).float()[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        """Saved weights hold zeros at the masked taps (never used, and never trained), so
        that stored models compress."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if not keep_vars:
            destination[prefix + "weight"] = (self.weight * self.mask).detach()
