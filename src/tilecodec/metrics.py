"""Distortion and rate metrics on 8-bit pixels (HxWx3 or HxW uint8 arrays)."""

import math

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])  # BT.601 Y' from gamma-encoded R'G'B'


def bpp(num_bytes: int, array: np.ndarray) -> float:
    """Bits per pixel of a file of ``num_bytes`` for the image ``array``."""
    return 8.0 * num_bytes / (array.shape[0] * array.shape[1])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB over all channels (RGB for colour images); inf if identical."""
    return _psnr(a.astype(np.float64), b.astype(np.float64))


def psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of BT.601 luma Y' (on the 0-255 scale); for grayscale, the plain PSNR."""
    if a.ndim == 2:
        return psnr(a, b)
    return _psnr(a.astype(np.float64) @ _LUMA, b.astype(np.float64) @ _LUMA)


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """MS-SSIM (Wang et al., 2003) by pytorch-msssim: RGB channels, data range 255, five
    scales with the standard weights. Undefined (nan) when the short side is <= 160 px.
    """
    import torch

    from .extras import require

    _ms_ssim = require("pytorch_msssim", "MS-SSIM").ms_ssim

    if min(a.shape[:2]) <= 160:
        return float("nan")

    def t(x):
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]

    with torch.no_grad():
        return float(_ms_ssim(t(a), t(b), data_range=255.0, size_average=True))


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale, ``-10 log10(1 - ms_ssim)``."""
    return float("inf") if value >= 1 else -10 * math.log10(1 - value)
