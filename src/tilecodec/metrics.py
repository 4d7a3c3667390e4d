"""Distortion metrics on 8-bit pixels."""

import numpy as np


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images of the same shape (inf if identical)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def bpp(num_bytes: int, array: np.ndarray) -> float:
    """Bits per pixel of a file of ``num_bytes`` for the image ``array``."""
    return 8.0 * num_bytes / (array.shape[0] * array.shape[1])
