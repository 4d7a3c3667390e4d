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
    codec = Codec.from_model(model, "gain-test")
    img = photo[:128, :192]
    sizes = []
    for q in (0, 30, 50, 80, 100):
        data = codec.compress(img, quality=q, patch=None)
        out = codec.decompress(data)
        assert out.shape == img.shape
        assert torch.equal(torch.from_numpy(codec.decompress(data)), torch.from_numpy(out))
        sizes.append(len(data))
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes


def test_regridded_gains_keep_trained_levels_and_extend_the_log_lambda_line():
    from tilecodec.train.loop import regrid_log_gains

    old = torch.tensor([[0.0, 1.0], [1.0, 3.0], [3.0, 4.0]])  # at lambda 1, 2, 4
    new = regrid_log_gains(old, [1.0, 2.0, 4.0], [0.5, 1.0, 2 ** 0.5, 2.0, 4.0, 8.0])
    torch.testing.assert_close(new[[1, 3, 4]], old)
    torch.testing.assert_close(new[0], torch.tensor([-1.0, -1.0]))  # extrapolated below
    torch.testing.assert_close(new[2], torch.tensor([0.5, 2.0]))  # halfway in log lambda
    torch.testing.assert_close(new[5], torch.tensor([5.0, 5.0]))  # extrapolated above


def test_init_from_a_zoo_model_carries_its_gains_to_new_levels():
    from tilecodec.train.loop import _initial_weights, _load_initial

    weights, lmbdas = _initial_weights(zoo.DEFAULT_MODEL)
    trained = {k: v.clone() for k, v in weights.items() if k.endswith("gain.log_gain")}
    assert lmbdas and len(trained) >= 2
    extended = [lmbdas[0] / 4, lmbdas[0] / 2, *lmbdas]
    model = build(zoo.entry(zoo.DEFAULT_MODEL).architecture, **{**zoo.entry(zoo.DEFAULT_MODEL).config,
                                                                "lmbdas": extended})
    _load_initial(model, weights, 0.025, lmbdas)
    own = model.state_dict()
    for key, value in trained.items():
        torch.testing.assert_close(own[key][2:], value)
        # lower lambda, smaller gains: the new levels continue the trained trend
        assert (own[key][0].mean() < own[key][1].mean() < own[key][2].mean()) == (
            value[0].mean() < value[1].mean()), key
