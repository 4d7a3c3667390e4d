"""Every bundled model loads (its checksum verified), beats JPEG on the sample photo at a
middle quality, and decodes its own files identically twice."""

import io

import numpy as np
import pytest
from PIL import Image

import tilecodec
from tilecodec import zoo
from tilecodec.metrics import psnr


@pytest.mark.parametrize("name", [n for n in tilecodec.models() if not zoo.entry(n).companion])
def test_bundled_model_codes_the_sample_better_than_jpeg(name, photo):
    """Every model of the main package (the companion's research baselines need not)."""
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


def test_weights_stored_anew_keep_reading_files_that_name_their_former_hash(tmp_path, monkeypatch, small_photo):
    """Export stores the transforms compactly (float16, zoo.compact_state); a model whose file
    is stored anew lists the former file's SHA-256 as an alias, so files of the former weights
    still decode, and files of any other weights are still refused."""
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from tilecodec import zoo
    from tilecodec.models import build
    from tilecodec.train.export import export

    torch.manual_seed(0)
    model = build("mean-scale-hyperprior", N=16, M=24, lmbdas=[0.002, 0.02])
    torch.save({"config": {"architecture": "mean-scale-hyperprior", "N": 16, "M": 24, "lmbdas": [0.002, 0.02]},
                "model": model.state_dict(), "step": 1}, tmp_path / "run.pt")
    monkeypatch.setenv("TILECODEC_MODELS", str(tmp_path / "models"))
    entry = export(tmp_path / "run.pt", "renewed")
    stored = load_file(entry.path)
    assert stored["analysis.0.weight"].dtype == torch.float16
    assert stored["latent_codec.hyper_synthesis.0.weight"].dtype == torch.float32  # the entropy path stays exact
    old = tilecodec.load("renewed", shared=False).compress(small_photo, quality=50)

    save_file(stored, entry.path, metadata={"export": "stored anew"})  # other bytes: another hash
    sidecar = entry.path.with_suffix(".json")
    fields = json.loads(sidecar.read_text())
    fields["sha256"] = zoo.sha256_file(entry.path)
    sidecar.write_text(json.dumps(fields))
    with pytest.raises(tilecodec.BitstreamError, match="made with model renewed"):
        tilecodec.load("renewed", shared=False).decompress(old)
    fields["aliases"] = [entry.sha256]
    sidecar.write_text(json.dumps(fields))
    renewed = tilecodec.load("renewed", shared=False)
    assert renewed.decompress(old).shape == small_photo.shape
    assert tilecodec.info(renewed.compress(small_photo, quality=50)).model_hash == fields["sha256"][:8]
