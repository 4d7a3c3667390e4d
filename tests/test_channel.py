"""Channel-wise autoregressive context (ChARM): slices coded in turn in one string, each
slice's parameters seeing only the slices before it, latent residual prediction applied the
same way in training and coding (the API: tests/test_families.py)."""

import pytest
import torch

from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.errors import BitstreamError
from tilecodec.latent.channel import residual_correction
from tilecodec.models import build
from tilecodec.rate import RatePoint

RATE = RatePoint(50.0, None, 1.0, None)  # quantization step 1, no levels


def _model(lmbdas=None, slices=4):
    torch.manual_seed(0)
    return build("channel-autoregressive", N=16, M=24, lmbdas=lmbdas, slices=slices).eval()


def test_a_slice_is_predicted_only_from_the_slices_before_it():
    codec = _model().latent_codec.y
    torch.manual_seed(1)
    params, y = torch.randn(1, 48, 4, 4), 3 * torch.randn(1, 24, 4, 4)
    base = codec(y, params)
    later = y.clone()
    later[:, 12:] += 5.0  # slices 2 and 3 change
    moved = codec(later, params)
    lik, lik_moved = base.likelihoods["y"], moved.likelihoods["y"]
    assert torch.equal(base.y_hat[:, :12], moved.y_hat[:, :12])  # slices 0 and 1 unchanged ...
    assert torch.equal(lik[:, :12], lik_moved[:, :12])  # ... and so are their parameters
    assert not torch.equal(lik[:, 12:], lik_moved[:, 12:])


def test_residual_correction_is_bounded_by_half_a_step():
    x = torch.tensor([-1e9, -3.0, 0.0, 2.5, 1e9], dtype=torch.float64)
    c = residual_correction(x)
    assert torch.all(c.abs() < 0.5) and c[2] == 0 and torch.all(torch.diff(c) > 0)


@pytest.mark.parametrize("path", [FLOAT64, FIXED_POINT], ids=str)
def test_one_string_holds_every_slice_and_decodes_to_the_encoders_latent(path):
    model = _model()
    model.update_tables()
    codec = model.latent_codec
    torch.manual_seed(2)
    y = 4 * torch.randn(1, 24, 8, 12)
    strings, y_hat = codec.compress(y, RATE, path)
    assert len(strings) == 2  # z, then every slice of y
    torch.testing.assert_close(codec.decompress(strings, (8, 12), RATE, path), y_hat, rtol=0, atol=0)
    z, ys = strings
    with pytest.raises(BitstreamError):
        codec.decompress([z, ys[:-3]], (8, 12), RATE, path)


def test_training_forward_matches_the_coded_latent():
    """Coding runs the slice networks and the residual correction on the entropy path; the
    training forward (eval mode) must give the same latent up to its rounding."""
    model = _model()
    lc = model.latent_codec
    torch.manual_seed(3)
    y = 3 * torch.randn(1, 24, 4, 8)
    y_hat, likelihoods, _ = lc(y)
    model.update_tables()
    _, coded = lc.compress(y, RATE, FIXED_POINT)
    torch.testing.assert_close(y_hat, coded.float(), rtol=0, atol=1e-3)
    assert set(likelihoods) == {"y", "z"}
