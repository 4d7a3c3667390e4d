"""Checkerboard context model: the mask sees only the other colour, symbols survive the
two-pass coding exactly (the API: tests/test_families.py)."""

import torch

from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.latent.checkerboard import CHUNK_POSITIONS, anchor_mask, checkerboard_positions
from tilecodec.layers.masked import CheckerboardConv
from tilecodec.models import build
from tilecodec.numerics import entropy_scope
from tilecodec.rate import RatePoint

RATE = RatePoint(50.0, None, 1.0, None)  # quantization step 1, no levels


def _model(lmbdas=None):
    torch.manual_seed(0)
    model = build("checkerboard-hyperprior", N=16, M=24, lmbdas=lmbdas)
    return model.eval()


def test_context_of_a_non_anchor_depends_only_on_anchors():
    conv = CheckerboardConv(1, 1, 5)
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 5] = 1.0  # the other colour than (4, 4): seen from there
    out = conv(x)
    y = torch.zeros(1, 1, 9, 9)
    y[0, 0, 4, 6] = 1.0  # same colour as (4,4): must not be seen from (4,4)
    assert conv(y)[0, 0, 4, 4] == conv.bias[0]
    assert out[0, 0, 4, 4] != conv.bias[0]
    assert anchor_mask((2, 3)).tolist() == [[True, False, True], [False, True, False]]


def test_two_pass_coding_reproduces_the_encoder_latent_exactly():
    model = _model()
    model.update_tables()
    codec = model.latent_codec
    torch.manual_seed(1)
    y = 4 * torch.randn(1, 24, 8, 12)
    strings, y_hat = codec.compress(y, RATE, FIXED_POINT)
    assert len(strings) == 3
    torch.testing.assert_close(codec.decompress(strings, (8, 12), RATE, FIXED_POINT), y_hat, rtol=0, atol=0)
    assert torch.all((y_hat - y).abs() <= 0.5 + 1e-4)  # rounded around the predicted means


def test_training_forward_matches_the_coded_means():
    model = _model()
    lc = model.latent_codec
    torch.manual_seed(2)
    y = 3 * torch.randn(1, 24, 4, 8)
    lc.eval()
    y_hat, likelihoods, extras = lc(y)
    model.update_tables()
    _, coded = lc.compress(y, RATE, FIXED_POINT)  # its means on the fixed-point grid (2**-16): a few steps off float32
    torch.testing.assert_close(y_hat, coded.float(), rtol=0, atol=1e-4)
    assert set(likelihoods) == {"y", "z"} and extras["normalized"].shape == y.shape



def test_gathered_coding_params_equal_the_masked_conv_computation_up_to_rounding():
    """Coding computes parameters only at the positions each pass codes (gathered taps,
    matrix products, two halves side by side); training uses the masked conv on the whole
    map. Both must give the same numbers, including the split and the borders."""
    y_codec = _model().latent_codec.y
    torch.manual_seed(3)
    for rows, cols in ((1, 5), (3, 7), (2 * CHUNK_POSITIONS // 10 + 1, 10)):
        hyper, y_hat = torch.randn(1, 48, rows, cols), 4 * torch.randn(1, 24, rows, cols)
        y_hat = y_hat * anchor_mask((rows, cols))
        with entropy_scope():
            contexts = (torch.zeros(1, 48, rows, cols), y_codec.context(y_hat))
            whole = [y_codec.entropy_parameters(torch.cat([hyper, c], dim=1)).chunk(2, dim=1) for c in contexts]
        buffer = y_hat.double()[0].flatten(1)  # the decoded anchors, as the decoder holds them
        passes = list(y_codec.passes(hyper.double(), (rows, cols), buffer, RATE, FLOAT64))
        for (positions, *gathered), params, expected in zip(passes, whole, checkerboard_positions((rows, cols))):
            assert torch.equal(positions, expected)
            for g, w in zip(gathered, params):
                w = w[0].flatten(1)[:, positions]
                assert g.shape == (1, 24, 1, len(positions))
                # a wrong tap or a misplaced border would show as differences of order one
                assert (g[0, :, 0].float() - w).abs().max() < 1e-4 * w.abs().max()
