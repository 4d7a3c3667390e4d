"""Encoder-side latent refinement: real files that decode as any other, with a lower
rate-distortion loss than the plain encoder's at the same quality."""

import numpy as np
import pytest
import torch

import tilecodec
from tilecodec.errors import TilecodecError
from tilecodec.models import build
from tilecodec.rate import RatePoint
from tilecodec.refine import refine_latent, soft_round
from tilecodec.losses import _ms_ssim


def test_soft_round_stays_in_its_bin_and_hardens_when_cold():
    g = torch.Generator().manual_seed(1)
    v = torch.linspace(-3, 3, 601)
    warm = soft_round(v, 0.5, g)
    assert torch.all(warm >= torch.floor(v)) and torch.all(warm <= torch.floor(v) + 1)
    far = (v - torch.floor(v) - 0.5).abs() > 0.1  # not near a rounding tie
    cold = soft_round(v, 1e-3, g)
    assert torch.allclose(cold[far], torch.round(v[far]), atol=1e-3)
    # warm draws still favour the nearer integer: 0.2 goes down more often than up
    draws = soft_round(torch.full((4000,), 0.2), 0.5, g)
    assert 0.0 < draws.mean() < 0.5


def _rd(codec, data, crop, quality):
    """The file's real ``bpp + lambda * D`` at the quality's level, D as the model was trained."""
    model = codec.model
    lmbda = model.rate_control.point(quality).lmbda
    out = torch.from_numpy(codec.decompress(data)).permute(2, 0, 1)[None].double() / 255
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].double() / 255
    if model.distortion == "mse":
        d = 255**2 * torch.mean((out - x) ** 2)
    else:
        d = 1 - _ms_ssim(out.float(), x.float())[0]
    return 8 * len(data) / crop.shape[0] / crop.shape[1] + lmbda * float(d)


@pytest.mark.parametrize("name, quality", [("ckbd-mse", 20), ("ckbd-mse", 80), ("msh-mse-fast", 50),
                                           ("msh-msssim", 50)])
def test_refined_files_decode_and_lower_the_real_loss(photo, name, quality):
    codec = tilecodec.load(name)
    crop = np.ascontiguousarray(photo[:128, :192])
    plain = codec.compress(crop, quality=quality)
    refined = codec.compress(crop, quality=quality, refine=12)
    assert refined != plain and refined == codec.compress(crop, quality=quality, refine=12)  # deterministic
    assert tilecodec.info(refined).quality == tilecodec.info(plain).quality
    assert _rd(codec, refined, crop, quality) < _rd(codec, plain, crop, quality)


def test_refinement_needs_trained_rate_levels():
    model = build("scale-hyperprior", N=16, M=16).eval()
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(TilecodecError, match="gain units"):
        refine_latent(model, x, model.analysis(x), RatePoint(50.0, None, 1.0, None), 2)
