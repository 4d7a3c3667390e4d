"""HEVC intra prediction (tilecodec.intra.hevc) on patterns whose prediction is known."""

import pytest
import torch

from tilecodec.intra import hevc


def _lines(picture, y0, x0, n, known=None):
    known = torch.ones(picture.shape[1:], dtype=torch.bool) if known is None else known
    return hevc.reference_lines(picture, known, [(y0, x0)], n)


@pytest.mark.parametrize("n", hevc.SIZES)
def test_a_constant_picture_is_predicted_exactly_by_every_mode(n):
    picture = torch.full((3, 3 * n, 3 * n), 77)
    out = hevc.predict(_lines(picture, n, n, n))
    assert out.shape == (1, 35, 3, n, n) and bool((out == 77).all())


@pytest.mark.parametrize("n", hevc.SIZES)
def test_vertical_and_horizontal_modes_continue_ramps(n):
    y, x = torch.meshgrid(torch.arange(3 * n), torch.arange(3 * n), indexing="ij")
    columns = (3 * x + 10).expand(3, -1, -1)  # constant down each column
    rows = (2 * y + 5).expand(3, -1, -1)  # constant along each row
    block = (slice(n, 2 * n), slice(n, 2 * n))
    vertical = hevc.predict(_lines(columns, n, n, n), [hevc.VERTICAL])[0, 0]
    horizontal = hevc.predict(_lines(rows, n, n, n), [hevc.HORIZONTAL])[0, 0]
    assert torch.equal(vertical, columns[:, block[0], block[1]])  # edge filter: the left column's ramp is flat
    assert torch.equal(horizontal, rows[:, block[0], block[1]])
    if n < 32:  # the edge filter adds half the left column's change to the first column
        ramp = (3 * x + 2 * y + 10).expand(3, -1, -1)
        out = hevc.predict(_lines(ramp, n, n, n), [hevc.VERTICAL])[0, 0]
        top = ramp[0, n - 1, n]
        assert torch.equal(out[0, :, 0], top + (ramp[0, n: 2 * n, n - 1] - ramp[0, n - 1, n - 1]) // 2)


@pytest.mark.parametrize("n", hevc.SIZES)
def test_diagonal_modes_continue_diagonal_edges_exactly(n):
    y, x = torch.meshgrid(torch.arange(4 * n), torch.arange(4 * n), indexing="ij")
    up_right = (2 * (x + y) + 3).expand(3, -1, -1)  # constant along anti-diagonals: mode 34
    down_right = (2 * (x - y) + 100).expand(3, -1, -1)  # constant along diagonals: mode 18
    up_left = (2 * (x + y) + 3).expand(3, -1, -1)  # the same lines seen from the left: mode 2
    for picture, mode in ((up_right, 34), (down_right, 18), (up_left, 2)):
        out = hevc.predict(_lines(picture, n, n, n), [mode])[0, 0]
        assert torch.equal(out, picture[:, n: 2 * n, n: 2 * n]), mode


def test_planar_and_dc_on_known_references():
    n = 4  # no reference smoothing at this size
    lines = torch.zeros(1, 1, 4 * n + 1, dtype=torch.long)
    lines[..., 2 * n + 1:] = 64  # top row and top-right 64; left column, corner and bottom-left 0
    dc = hevc.predict(lines, [hevc.DC], edge_filters=False)[0, 0, 0]
    assert bool((dc == 32).all())
    planar = hevc.predict(lines, [hevc.PLANAR])[0, 0, 0]
    y, x = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    assert torch.equal(planar, ((x + 1) * 64 + (n - 1 - y) * 64 + n) >> 3)  # 8.4.4.2.5 with a zero left side


def test_substitution_at_picture_borders():
    n = 8
    picture = torch.arange(3 * 32 * 32).reshape(3, 32, 32) % 251
    # the top-left block of a picture has no neighbours: every reference is 128
    assert bool((_lines(picture, 0, 0, n) == 128).all())
    assert bool((hevc.predict(_lines(picture, 0, 0, n), [hevc.DC]) == 128).all())
    # a block on the top border: the corner and top row copy p[-1][0]; bottom-left (not yet
    # decoded) copies the nearest decoded left sample
    known = torch.zeros(32, 32, dtype=torch.bool)
    known[:n, :8] = True  # only the block to the left is decoded
    line = _lines(picture, 0, 8, n, known)[0]
    left = picture[:, :n, 7]  # p[-1][0..n-1]
    assert torch.equal(line[:, n: 2 * n], left.flip(-1))
    assert bool((line[:, :n] == left[:, n - 1: n]).all())  # bottom-left from p[-1][n-1]
    assert bool((line[:, 2 * n:] == left[:, :1]).all())  # corner and top from p[-1][0]


def test_smoothing_follows_the_standard_thresholds():
    assert not hevc.smoothing_applies(hevc.DC, 32) and not hevc.smoothing_applies(hevc.PLANAR, 4)
    assert hevc.smoothing_applies(hevc.PLANAR, 8) and hevc.smoothing_applies(2, 8)
    assert not hevc.smoothing_applies(20, 8) and hevc.smoothing_applies(20, 16)  # distance 6 from vertical
    assert not hevc.smoothing_applies(hevc.VERTICAL, 32) and hevc.smoothing_applies(25, 32)


def test_predictions_are_batched_over_blocks_and_modes():
    picture = torch.randint(0, 256, (3, 64, 64))
    blocks = [(16, 16), (16, 32), (32, 16)]
    lines = hevc.reference_lines(picture, torch.ones(64, 64, dtype=torch.bool), blocks, 16)
    together = hevc.predict(lines)
    for i, block in enumerate(blocks):
        alone = hevc.predict(_lines(picture, *block, 16))
        assert torch.equal(together[i: i + 1], alone)
    assert together.min() >= 0 and together.max() <= 255


def test_raster_availability_matches_an_explicit_decode_order():
    n = 8
    picture = torch.randint(0, 256, (3, 24, 32))
    lines, blocks = hevc.raster_reference_lines(picture, n)
    for i, (y0, x0) in enumerate(blocks):
        known = torch.zeros(24, 32, dtype=torch.bool)
        for y1, x1 in blocks[:i]:
            known[y1: y1 + n, x1: x1 + n] = True
        assert torch.equal(lines[i: i + 1], _lines(picture, y0, x0, n, known)), (y0, x0)
