"""The real code length matches the model's estimate; quality moves the rate monotonically."""

import pytest
import torch

from tilecodec import TilecodecError

from tilecodec.images import to_tensor


# Each string carries a u32 index checksum, a u32 word count and the range coder's final
# flush (at most two u32 words) that no symbol's likelihood accounts for; the checkerboard
# model codes 3 strings.
FRAMING_BITS = 32 + 32 + 64


@pytest.mark.parametrize("quality", [5, 60, 95])
def test_code_length_is_within_one_percent_of_the_estimated_rate(codec, photo, quality):
    model = codec.model
    x = to_tensor(photo, model.size_multiple)
    with torch.no_grad():
        rate = model.rate_control.point(quality)
        estimated_bits = model.latent_codec.estimate_bits(model.latent(x, rate), rate)
    strings = model.compress(x, quality)[0]
    actual_bits = 8 * sum(len(s) for s in strings)
    # within 1% either way, plus the framing: the estimate uses the calibrated scale floors the coder
    # uses (without them, +-1 symbols at tiny scales cost 18.5 bits by the float estimate but 16 by the tables)
    framing = FRAMING_BITS * len(strings)
    assert 0.99 * estimated_bits < actual_bits < 1.01 * estimated_bits + framing, (actual_bits, estimated_bits)


def test_rate_grows_monotonically_with_quality(codec, photo):
    sizes = [len(codec.compress(photo, quality=q)) for q in (0, 10, 25, 40, 50, 60, 75, 90, 100)]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes), sizes


@pytest.mark.parametrize("target", [0.5, 1.0])
def test_bpp_target_lands_within_two_percent(codec, photo, target):
    data = codec.compress(photo, bpp=target)
    actual = 8 * len(data) / (photo.shape[0] * photo.shape[1])
    assert abs(actual / target - 1) <= 0.02, actual
    assert codec.decompress(data).shape == photo.shape


def test_unreachable_bpp_is_a_clear_error(codec, small_photo):
    with pytest.raises(TilecodecError, match="outside what model"):
        codec.compress(small_photo, bpp=60.0)
    with pytest.raises(TilecodecError, match="positive"):
        codec.compress(small_photo, bpp=-1)


def test_the_size_estimate_tracks_real_files(codec, photo):
    from tilecodec.target_size import SizeEstimate

    estimate = SizeEstimate(codec, photo, 256, 8)  # several patches, some sampled
    for quality in (0, 50, 100):
        real = len(codec.compress(photo, quality=quality, patch=256, overlap=8))
        assert abs(estimate(quality) / real - 1) < 0.05, (quality, estimate(quality), real)


def test_bpp_target_with_refinement_searches_on_real_files(codec, small_photo):
    data = codec.compress(small_photo, bpp=1.0, refine=2)
    assert abs(8 * len(data) / (small_photo.shape[0] * small_photo.shape[1]) - 1.0) <= 0.02 * 1.0 + 0.02
