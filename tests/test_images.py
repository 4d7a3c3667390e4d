"""Any size from 1x1, grayscale kept grayscale, unsupported inputs refused clearly."""

import numpy as np
import pytest
from PIL import Image

from tilecodec import ImageError
from tilecodec.images import load_image
from tilecodec.metrics import psnr


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1000, 3), (65, 33, 3), (33, 65), (1, 1)])
def test_odd_sizes_round_trip(codec, photo, shape):
    h, w = shape[:2]
    tiled = np.tile(photo, (1 + h // photo.shape[0], 1 + w // photo.shape[1], 1))[:h, :w]
    img = np.ascontiguousarray(tiled if len(shape) == 3 else tiled.mean(axis=2).astype(np.uint8))
    out = codec.decompress(codec.compress(img, quality=90))
    assert out.shape == img.shape and out.dtype == np.uint8
    if h * w > 100:
        assert psnr(img, out) > 22


def test_grayscale_is_restored_as_grayscale(codec, photo):
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    out = codec.decompress(codec.compress(Image.fromarray(gray), quality=75))
    assert out.ndim == 2 and psnr(gray, out) > 26


def test_pil_and_array_inputs_give_the_same_file(codec, small_photo):
    assert codec.compress(Image.fromarray(small_photo)) == codec.compress(small_photo)


@pytest.mark.parametrize("image", [
    Image.new("RGBA", (8, 8)), Image.new("LA", (8, 8)), Image.new("I;16", (8, 8)), Image.new("CMYK", (8, 8)),
    Image.new("F", (8, 8)), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32),
    np.zeros((0, 8, 3), np.uint8), "not an image"])
def test_unsupported_inputs_raise_image_error(codec, image):
    with pytest.raises(ImageError):
        codec.compress(image)


def test_unreadable_and_16bit_files_raise_image_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageError):
        load_image(bad)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.zeros((4, 4), np.uint16) + 1000).save(deep)
    with pytest.raises(ImageError, match="16-bit|bit depth"):
        load_image(deep)
    with pytest.raises(ImageError):
        load_image(tmp_path / "missing.png")
