"""Serial autoregressive context model: the mask sees only earlier positions in raster order,
the wavefront coder computes the same parameters as the masked convolution over the whole
decoded latent (so no context reads a position not yet decoded), one string holds every
wavefront, and damaged strings are refused."""

import pytest
import torch

from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.errors import BitstreamError
from tilecodec.latent.autoregressive import wavefronts
from tilecodec.layers.masked import MaskedConv
from tilecodec.models import build
from tilecodec.numerics import entropy_scope
from tilecodec.rate import RatePoint

RATE = RatePoint(50.0, None, 1.0, None)  # quantization step 1, no levels


def _model(lmbdas=None, architecture="joint-autoregressive"):
    torch.manual_seed(0)
    return build(architecture, N=16, M=24, lmbdas=lmbdas).eval()


def test_mask_sees_exactly_the_earlier_positions_of_its_window():
    conv = MaskedConv(1, 1, 5)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    for di in range(-2, 3):
        for dj in range(-2, 3):
            x = torch.zeros(1, 1, 9, 9)
            x[0, 0, 4 + di, 4 + dj] = 1.0
            seen = conv(x)[0, 0, 4, 4].item() != 0
            assert seen == (di < 0 or (di == 0 and dj < 0)), (di, dj)


def test_wavefronts_cover_every_position_once_after_all_its_context():
    shape = (5, 7)
    order = torch.cat(wavefronts(shape))
    assert sorted(order.tolist()) == list(range(35))
    assert len(wavefronts(shape)) == 3 * (shape[0] - 1) + shape[1]
    step = torch.empty(35, dtype=torch.long)
    for t, positions in enumerate(wavefronts(shape)):
        step[positions] = t
    step = step.view(shape)
    for i in range(5):
        for j in range(7):
            for di, dj in [(0, -1), (0, -2)] + [(-r, c) for r in (1, 2) for c in range(-2, 3)]:
                if 0 <= i + di < 5 and 0 <= j + dj < 7:
                    assert step[i + di, j + dj] < step[i, j]


@pytest.mark.parametrize("architecture", ["joint-autoregressive", "cheng2020-gmm-autoregressive"])
@pytest.mark.parametrize("shape", [(1, 5), (4, 3), (6, 11)])
def test_wavefront_params_equal_the_masked_conv_over_the_decoded_latent(shape, architecture):
    """Each wavefront gathers its context from the positions decoded so far. Were a tap
    misplaced, or did a context read a position of its own or a later wavefront (still zero
    in the decoder's buffer), its parameters (a Gaussian's or a mixture's) would differ from
    the masked convolution over the complete latent by amounts of order one."""
    y_codec = _model(architecture=architecture).latent_codec.y
    torch.manual_seed(3)
    hyper, y_hat = torch.randn(1, 48, *shape), 4 * torch.randn(1, 24, *shape)
    with entropy_scope():
        whole = y_codec.coding.split(y_codec.entropy_parameters(torch.cat([hyper, y_codec.context(y_hat)], dim=1)))
    buffer = torch.zeros(24, shape[0] * shape[1], dtype=torch.float64)
    final = y_hat.double()[0].flatten(1)
    for positions, *gathered in y_codec.passes(hyper.double(), shape, buffer, RATE, FLOAT64):
        for g, w in zip(gathered, whole):
            w = w[0].reshape(-1, shape[0] * shape[1])[:, positions]
            assert (g[0].reshape(-1, len(positions)).float() - w).abs().max() < 1e-4 * w.abs().max()
        buffer[:, positions] = final[:, positions]  # what the decoder writes after decoding the wavefront


@pytest.mark.parametrize("path", [FLOAT64, FIXED_POINT], ids=str)
def test_one_string_holds_every_wavefront_and_decodes_to_the_encoders_latent(path):
    model = _model()
    model.update_tables()
    codec = model.latent_codec
    torch.manual_seed(1)
    y = 4 * torch.randn(1, 24, 8, 12)
    strings, y_hat = codec.compress(y, RATE, path)
    assert len(strings) == 2  # z, then every wavefront of y
    torch.testing.assert_close(codec.decompress(strings, (8, 12), RATE, path), y_hat, rtol=0, atol=0)
    assert torch.all((y_hat - y).abs() <= 0.5 + 1e-4)  # rounded around the predicted means


def test_damaged_strings_are_refused_not_decoded_to_garbage():
    model = _model()
    model.update_tables()
    codec = model.latent_codec
    torch.manual_seed(4)
    y = 6 * torch.randn(1, 24, 8, 12)
    z, ys = codec.compress(y, RATE, FIXED_POINT)[0]
    for damaged in (ys[:-3], ys[:8] + bytes([ys[8] ^ 0x55]) + ys[9:], ys + b"\x01"):
        with pytest.raises(BitstreamError):
            codec.decompress([z, damaged], (8, 12), RATE, FIXED_POINT)
