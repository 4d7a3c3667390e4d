"""Transforms in bands of rows (numerics.in_bands): the same pixels as one pass, within float
rounding, and the memory budget decides the bands."""

import numpy as np
import torch

import tilecodec
from tilecodec import budget
from tilecodec.metrics import psnr
from tilecodec.numerics import in_bands


def test_banded_transforms_equal_one_pass(photo):
    model = tilecodec.load("msh-mse-fast").model
    rate = model.rate_control.point(60)
    x = torch.from_numpy(np.ascontiguousarray(photo[:256, :320])).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        y = model.analyse(x)
        for rows in (1, 3, 7):  # bands of 16, 48 and 112 pixel rows, the last one shorter
            banded = in_bands(model.analysis, x, 16, 1, rows)
            assert banded.shape == y.shape and (banded - y).abs().max() < 1e-3 * y.abs().max()
        y_hat = torch.round(y)
        image = model.synthesize(y_hat, rate)
        for pixels in (320 * 16 * 9, 320 * 16 * 12):  # 1 and 4 latent rows a band, with the halo
            banded = model.synthesize(y_hat, rate, max_pixels=pixels)
            assert banded.shape == image.shape and (banded - image).abs().max() * 255 < 0.5


def test_a_small_budget_decodes_large_patches_in_bands(photo):
    codec = tilecodec.load("msh-mse-fast")
    image = np.ascontiguousarray(photo[:256, :448])
    data = codec.compress(image, quality=50, patch=None)
    small = 32 << 20  # the whole image passes the entropy check, its synthesis goes in bands
    assert budget.pass_pixels(small) < 256 * 448
    full, banded = codec.decompress(data), codec.decompress(data, max_memory=small)
    assert np.abs(full.astype(int) - banded).max() <= 1
    coded = codec.compress(image, quality=50, patch=None, max_memory=small)  # the analysis in bands
    assert abs(len(coded) / len(data) - 1) < 0.005
    assert abs(psnr(image, codec.decompress(coded)) - psnr(image, full)) < 0.02
