"""Generalized divisive normalization (Ballé, Laparra, Simoncelli, ICLR 2016).

``y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; the inverse multiplies instead.
``beta`` and ``gamma`` are stored through the non-negative reparametrisation of
Ballé et al. (2018): ``p = sqrt(max(v, bound)^2 + pedestal)``, which keeps them
positive and gives useful gradients near zero.
"""

import torch
from torch import nn
import torch.nn.functional as F

_PEDESTAL = 2.0 ** -36


class NonNegative(nn.Module):
    """Maps an unconstrained tensor to values >= ``minimum`` (reparametrised, see module doc)."""

    def __init__(self, minimum: float = 0.0):
        super().__init__()
        self.pedestal = _PEDESTAL
        self.bound = (minimum + self.pedestal) ** 0.5

    def init(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(torch.clamp(x + self.pedestal, min=self.pedestal))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # clamp with a straight-through gradient so that parameters below the bound can recover
        bounded = x + (torch.clamp(x, min=self.bound) - x).detach()
        return bounded * bounded - self.pedestal


class GDN(nn.Module):
    """GDN over channels (``inverse=True`` gives IGDN). Shape-preserving on NCHW tensors."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1):
        super().__init__()
        self.inverse = inverse
        self.beta_reparam = NonNegative(beta_min)
        self.gamma_reparam = NonNegative(0.0)
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        beta = self.beta_reparam(self.beta).to(x.dtype)
        gamma = self.gamma_reparam(self.gamma).to(x.dtype).reshape(c, c, 1, 1)
        norm = F.conv2d(x * x, gamma, beta)
        norm = norm.sqrt_() if self.inverse else norm.rsqrt_()
        return x * norm if torch.is_grad_enabled() else norm.mul_(x)  # in place: one pass less at inference
