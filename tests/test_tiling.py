"""Overlapping patches: weights, exact reconstruction, region decoding, damaged patch files."""

import numpy as np
import pytest

from tilecodec import BitstreamError, container
from tilecodec.tiling import OVERLAPS, Blender, PatchGrid, cell_spans, spans

SIZES = [(1, 1), (63, 65), (200, 129), (517, 300), (1000, 77)]


@pytest.mark.parametrize("cells", [True, False])
@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("width,height", SIZES)
def test_weights_sum_to_one_everywhere(width, height, overlap, cells):
    grid = PatchGrid(width, height, 128, overlap, 16 if cells else 64, cells=cells)
    total = np.zeros((height, width))
    for p in grid.patches:
        w = grid.weights(p)
        assert w.min() >= 0 and w.max() <= 1
        total[p.y0: p.y1, p.x0: p.x1] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


@pytest.mark.parametrize("overlap", OVERLAPS)
def test_spans_overlap_by_n_and_end_at_the_border_without_padding(overlap):
    s = spans(1000, 256, overlap)
    assert s[0][0] == 0 and s[-1][1] == 1000
    assert all((b - a) % 64 == 0 for a, b in s)  # no patch needs padding
    for (a0, a1), (b0, b1) in zip(s[:-2], s[1:-1]):
        assert a1 - b0 == overlap


@pytest.mark.parametrize("multiple", [16, 64])
@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("patch", [64, 256, 1024])
@pytest.mark.parametrize("length", [65, 500, 768, 1058, 1080, 6000])
def test_cells_code_the_image_plus_one_overlap_per_seam(length, patch, overlap, multiple):
    s = cell_spans(length, patch, overlap, multiple)
    n = -(-length // patch)
    assert len(s) == n and s[0][0] == 0 and s[-1][1] == length
    assert all((b - a) % multiple == 0 for a, b in s[:-1])  # only the last span may be cut elsewhere
    assert all(b - a <= patch + overlap + multiple for a, b in s)
    assert all(a1 - b0 == overlap for (_, a1), (b0, _) in zip(s, s[1:]))
    assert sum(b - a for a, b in s) == length + (n - 1) * overlap  # nothing coded twice but the overlaps
    assert max(b - a for a, b in s) - min(b - a for a, b in s) <= 2 * multiple - 1  # equal, up to the granularity


def test_format_6_cuts_cells_in_multiples_of_64_where_the_patch_allows():
    from dataclasses import replace

    from tilecodec.api import file_grid, span_multiple

    assert span_multiple(6, 256, 16) == 64 and span_multiple(6, 96, 16) == 16 and span_multiple(5, 256, 16) == 16
    header = container.Header("ckbd-mse", "0" * 8, 1920, 1080, 3, 50.0, 1.0, sections=1, patch=256, overlap=8)
    assert header.version == 6
    grid = file_grid(header, 16)
    assert [b - a for a, b in grid.xs] == [256] * 6 + [192, 248]
    assert all((b - a) % 64 == 0 for a, b in grid.ys[:-1])
    old = file_grid(replace(header, version=5), 16)  # files of format 5 keep their cells
    assert [b - a for a, b in old.xs] == [256, 256, 256, 240, 240, 240, 240, 248]


@pytest.mark.parametrize("cells", [True, False])
@pytest.mark.parametrize("overlap", OVERLAPS)
@pytest.mark.parametrize("width,height", SIZES)
def test_identity_codec_reconstructs_exactly(width, height, overlap, cells):
    rng = np.random.default_rng(width * 7 + height)
    image = rng.integers(0, 256, (height, width, 3)).astype(np.uint8)
    grid = PatchGrid(width, height, 64, overlap, 16 if cells else 64, cells=cells)
    blender = Blender(grid)
    for p in grid.patches:
        blender.add(p, image[p.y0: p.y1, p.x0: p.x1].astype(np.float32) / 255)
    np.testing.assert_array_equal(blender.finish(), image)


@pytest.fixture(scope="module")
def tiled(codec, photo):
    image = np.ascontiguousarray(photo[:300, :450])
    data = codec.compress(image, quality=60, patch=128, overlap=16)
    return image, data


def test_tiled_file_records_patches_and_decodes_well(codec, tiled):
    from tilecodec.metrics import psnr

    image, data = tiled
    header, table = container.index(data)
    assert (header.patch, header.overlap) == (128, 16)
    assert len(table) == codec.model.latent_codec.num_strings * len(PatchGrid(450, 300, 128, 16))
    out = codec.decompress(data)
    whole = codec.decompress(codec.compress(image, quality=60, patch=None))
    assert out.shape == image.shape
    assert psnr(image, out) > psnr(image, whole) - 1.0


@pytest.mark.parametrize("region", [(0, 0, 450, 300), (100, 90, 130, 70), (440, 290, 10, 10), (0, 0, 1, 1)])
def test_region_decoding_equals_the_same_region_of_a_full_decode(codec, tiled, region):
    _, data = tiled
    x, y, w, h = region
    full = codec.decompress(data)
    np.testing.assert_array_equal(codec.decompress(data, region=region), full[y: y + h, x: x + w])


def test_a_file_cut_or_damaged_inside_one_patch_section_is_corrupt(codec, tiled):
    _, data = tiled
    _, table = container.index(data)
    offset, length, _ = table[5]  # the latent section of the third patch
    with pytest.raises(BitstreamError, match="truncated"):
        codec.decompress(data[: offset + length // 2])
    damaged = bytearray(data)
    damaged[offset + length // 2] ^= 0x10
    with pytest.raises(BitstreamError, match="section 6"):
        codec.decompress(bytes(damaged))
