"""Training objectives: rate + lambda * distortion (MSE or MS-SSIM), and the latent
correlation penalty of Ali et al. (NeurIPS 2023)."""

import torch
import torch.nn.functional as F

from .extras import require

DISTORTIONS = ("mse", "ms-ssim")


def _ms_ssim(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image MS-SSIM (pytorch-msssim, 5 scales). Crops of 160 pixels or less use the
    largest odd Gaussian window below 11 that the 5 scales allow."""
    side = min(x.shape[-2:])
    win = 11
    while win > 3 and (win - 1) * 16 >= side:
        win -= 2
    ms_ssim = require("pytorch_msssim", "the MS-SSIM loss").ms_ssim
    return ms_ssim(x_hat.float().clamp(0, 1), x, data_range=1.0, size_average=False, win_size=win)


def rd_loss(out: dict, x: torch.Tensor, lmbda, distortion: str = "mse") -> dict:
    """Mean over the batch of ``lmbda * D + bpp`` with bpp from the likelihoods (float32);
    ``D`` is ``255^2 * mse`` or ``1 - ms_ssim``; ``lmbda`` is a number or one per image."""
    pixels = x.shape[2] * x.shape[3]
    bpp = sum(-torch.log2(lik).flatten(1).sum(1) for lik in out["likelihoods"].values()) / pixels
    mse = torch.mean((out["x_hat"].float() - x) ** 2, dim=(1, 2, 3))
    if distortion == "mse":
        d = 255**2 * mse
    elif distortion == "ms-ssim":
        d = 1 - _ms_ssim(out["x_hat"], x)
    else:
        raise ValueError(f"unknown distortion {distortion!r}; known: {', '.join(DISTORTIONS)}")
    return {"loss": torch.mean(lmbda * d + bpp), "bpp": bpp.mean(), "mse": mse.mean()}


def correlation_loss(normalized: torch.Tensor, k: int = 5, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``||mask * corr_kxk(n)||^2`` for the normalized latent ``n = (y - mu) / sigma``:
    for each image and channel, the mean product of each element with its neighbour at
    every offset of a k x k window; the centre (the variance) is masked out by default."""
    b, c, h, w = normalized.shape
    n = normalized.float()
    neighbours = F.unfold(n, k, padding=k // 2).view(b, c, k * k, h * w)
    corr = (neighbours * n.view(b, c, 1, h * w)).mean(-1)  # b, c, k*k
    if mask is None:
        mask = torch.ones(k * k)
        mask[k * k // 2] = 0
    return ((mask.to(corr) * corr) ** 2).sum(-1).mean()
