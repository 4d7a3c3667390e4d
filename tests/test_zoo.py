"""Every bundled model loads (its checksum verified), beats JPEG on the sample photo at a
middle quality, and decodes its own files identically twice."""

import io

import numpy as np
import pytest
from PIL import Image

import tilecodec
from tilecodec.metrics import psnr


@pytest.mark.parametrize("name", tilecodec.models())
def test_bundled_model_codes_the_sample_better_than_jpeg(name, photo):
    codec = tilecodec.load(name)
    crop = np.ascontiguousarray(photo[:128, :192])
    data = codec.compress(crop, quality=50)
    out = codec.decompress(data)
    assert out.shape == crop.shape and np.array_equal(out, codec.decompress(data))
    quality_db = psnr(crop, out)
    for q in range(5, 101):  # the smallest JPEG at least as good
        jpeg = io.BytesIO()
        Image.fromarray(crop).save(jpeg, format="JPEG", quality=q)
        if psnr(crop, np.asarray(Image.open(io.BytesIO(jpeg.getvalue())))) >= quality_db:
            break
    else:
        pytest.fail(f"{name}: no JPEG quality reaches {quality_db:.2f} dB")
    assert len(data) < len(jpeg.getvalue()), (name, len(data), len(jpeg.getvalue()), quality_db)
