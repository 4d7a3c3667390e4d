"""Properties every model family keeps, on every entropy path: the decoder returns exactly the
latent the encoder reconstructed, real bits follow the model's estimate, and decoding does not
depend on the thread count."""

import numpy as np
import pytest
import torch

from tilecodec import info
from tilecodec.api import Codec
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.models import ARCHITECTURES, build

FAMILIES = sorted(a for a in ARCHITECTURES if a != "recurrent")  # no latent codec: see test_progressive


def _model(architecture):
    torch.manual_seed(0)
    model = build(architecture, N=16, M=24).eval()
    model.update_tables()
    return model


@pytest.mark.parametrize("path", [FLOAT64, FIXED_POINT], ids=str)
@pytest.mark.parametrize("architecture", FAMILIES)
def test_round_trip_returns_the_encoders_reconstruction(architecture, path):
    model = _model(architecture)
    torch.manual_seed(1)
    y = 6 * torch.randn(1, 24, 8, 12)
    rate = model.rate_control.point(50)
    strings, y_hat = model.latent_codec.compress(y, rate, path)
    assert len(strings) == model.latent_codec.num_strings
    decoded = model.latent_codec.decompress(strings, (8, 12), rate, path)
    assert torch.equal(decoded.double(), y_hat.double())
    # rounded around the coded means; latent residual prediction then moves by under half a step
    bound = {"factorized-prior": float("inf"), "channel-autoregressive": 1.0}.get(architecture, 0.5)
    assert (decoded.double() - y.double()).abs().max() <= bound * rate.step + 1e-4


def _predict_unit_gaussians(model, scale: float = 2.0) -> None:
    """Make the untrained model predict N(0, scale) for every latent element: the layer that
    outputs scales (and means) gets zero weights and the scale as its bias."""
    lc = model.latent_codec
    if hasattr(lc.y, "slice_parameters"):  # each slice's scales and means, and no residual correction
        layers = [net[-1] for net in (*lc.y.slice_parameters, *lc.y.residual_prediction)]
    elif hasattr(lc.y, "entropy_parameters"):
        layers = [lc.y.entropy_parameters[-1]]
    else:
        layers = [[m for m in lc.hyper_synthesis if isinstance(m, torch.nn.Conv2d)][-1]]
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
            layer.bias.zero_()
        components = getattr(lc.y.coding, "components", None)
        if components:  # logits, means, then scales: K equal components N(0, scale)
            layers[0].bias[2 * components * 24:].fill_(scale)
            return
        for layer in layers[: getattr(lc.y, "slices", 1)]:
            layer.bias[: getattr(lc.y, "slice_channels", 24)].fill_(scale)  # scales first, then means (zero)


@pytest.mark.parametrize("architecture", [a for a in FAMILIES if a not in ("factorized-prior", "predictive-patch")])
def test_real_bits_follow_the_estimate(architecture):
    """On data that follows the model's prediction, the real code length is the model's
    estimate to within 1% plus each string's fixed framing (the families whose latent is
    coded with a Gaussian conditional or a Gaussian mixture)."""
    model = _model(architecture)
    _predict_unit_gaussians(model)
    torch.manual_seed(2)
    y = 2.0 * torch.randn(1, 24, 32, 32)
    rate = model.rate_control.point(50)
    strings, _ = model.latent_codec.compress(y, rate, FIXED_POINT)
    real = 8 * sum(len(s) for s in strings)
    estimated = model.latent_codec.estimate_bits(y, rate)
    framing = (32 + 32 + 64) * len(strings)  # index CRC, word count, final flush per string
    assert estimated > 20000  # above the size where framing dominates
    assert 0.99 * estimated < real < 1.01 * estimated + framing, (real, estimated)


@pytest.mark.parametrize("architecture", FAMILIES)
def test_decoding_does_not_depend_on_the_thread_count(architecture, small_photo):
    codec = Codec.from_model(_model(architecture), architecture)
    data = codec.compress(small_photo, quality=60)
    before = torch.get_num_threads()
    try:
        outs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            outs.append(codec.decompress(data))
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(*outs)


@pytest.mark.parametrize("architecture", ["checkerboard-hyperprior", "joint-autoregressive", "channel-autoregressive",
                                          "cheng2020-gmm", "cheng2020-gmm-autoregressive"])
def test_context_models_code_images_through_the_api(architecture, photo):
    """Patches, rate levels (gain units), refinement and the container with every context model."""
    torch.manual_seed(0)
    model = build(architecture, N=16, M=24, lmbdas=[0.002, 0.02]).eval()
    with torch.no_grad():
        model.gain.log_gain.add_(torch.log(torch.tensor([10.0, 100.0]))[:, None])
    model.update_tables()
    codec = Codec.from_model(model, architecture)
    img = photo[:150, :200]
    small = codec.compress(img, quality=0, patch=128, overlap=8)
    big = codec.compress(img, quality=100, patch=128, overlap=8)
    assert len(small) < len(big)
    assert info(big).sections == model.latent_codec.num_strings * 4  # 4 patches
    out = codec.decompress(big)
    assert out.shape == img.shape and np.array_equal(out, codec.decompress(big))
    refined = codec.compress(img, quality=100, patch=128, overlap=8, refine=2)
    assert codec.decompress(refined).shape == img.shape
