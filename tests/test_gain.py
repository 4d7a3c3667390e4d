"""Gain units: exact at trained levels, geometric in between, and a variable-rate model
whose rate follows the level on real bitstreams."""

import torch

from tilecodec import zoo
from tilecodec.api import Codec
from tilecodec.layers import GainUnit
from tilecodec.models import build


def test_gains_hit_trained_levels_and_interpolate_geometrically():
    g = GainUnit(3, 4)
    with torch.no_grad():
        g.log_gain.copy_(torch.log(torch.tensor([[1.0, 2, 4, 8], [4, 4, 4, 4], [16, 1, 2, 3]])))
    out = g.gains(torch.tensor([0.0, 1.0, 2.0, 0.5, 1.25, 7.0, -1.0]))[:, :, 0, 0]
    torch.testing.assert_close(out[0], torch.tensor([1.0, 2, 4, 8]))
    torch.testing.assert_close(out[2], torch.tensor([16.0, 1, 2, 3]))
    torch.testing.assert_close(out[3], torch.tensor([2.0, 8 ** 0.5, 4, 32 ** 0.5]))
    torch.testing.assert_close(out[4], torch.tensor([4 ** 0.75 * 16 ** 0.25, 4 ** 0.75, 4 ** 0.75 * 2 ** 0.25,
                                                     4 ** 0.75 * 3 ** 0.25]))
    torch.testing.assert_close(out[5], out[2])  # clamped to the trained range
    torch.testing.assert_close(out[6], out[0])


def test_variable_rate_model_round_trips_and_rate_follows_quality(photo):
    torch.manual_seed(0)
    model = build("mean-scale-hyperprior", N=16, M=16, lmbdas=[0.002, 0.01, 0.05])
    model.init_gains(0.01)
    with torch.no_grad():  # an untrained latent is tiny: spread the levels so every one codes symbols
        model.gain.log_gain.add_(torch.log(torch.tensor([3.0, 30, 300]))[:, None])
    model.eval().update_tables()
    codec = Codec(model, zoo.ZooEntry("gain-test", "mean-scale-hyperprior", {}, "", "0" * 64))
    img = photo[:128, :192]
    sizes = []
    for q in (0, 30, 50, 80, 100):
        data = codec.compress(img, quality=q, patch=None)
        out = codec.decompress(data)
        assert out.shape == img.shape
        assert torch.equal(torch.from_numpy(codec.decompress(data)), torch.from_numpy(out))
        sizes.append(len(data))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes
