"""Every bundled model loads (its checksum verified), beats JPEG on the sample photo at a
middle quality, and decodes its own files identically twice."""

import io
from pathlib import Path

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


def test_a_model_built_on_a_base_stores_only_its_own_tensors_and_refuses_a_changed_base(tmp_path, monkeypatch,
                                                                                     small_photo):
    """``export --base``: a context model trained on a base model's frozen transforms stores
    only the tensors that differ; it loads over the base's weights, codes like any model,
    and is refused (not silently rebuilt on other transforms) once the base has changed."""
    import torch
    from safetensors.torch import load_file

    from tilecodec.models import build
    from tilecodec.train.export import export

    config = {"N": 16, "M": 24, "lmbdas": [0.002, 0.02]}
    torch.manual_seed(0)
    base = build("checkerboard-hyperprior", **config)
    torch.save({"config": {"architecture": "checkerboard-hyperprior", **config}, "model": base.state_dict(),
                "step": 1}, tmp_path / "base.pt")
    monkeypatch.setenv("TILECODEC_MODELS", str(tmp_path / "models"))
    export(tmp_path / "base.pt", "base")
    ar = build("channel-autoregressive", **config)  # its context replaces the base's: other tensor names
    base_weights = zoo.load_weights(zoo.entry("base"))
    ar.load_state_dict({k: v for k, v in base_weights.items() if not k.startswith("latent_codec.y.")}, strict=False)
    torch.save({"config": {"architecture": "channel-autoregressive", **config}, "model": ar.state_dict(), "step": 2},
               tmp_path / "ar.pt")
    entry = export(tmp_path / "ar.pt", "ar", base="base")
    stored = load_file(entry.path)
    assert "latent_codec.y.slice_parameters.0.0.weight" in stored and "synthesis.0.weight" not in stored
    codec = tilecodec.load("ar", shared=False)
    data = codec.compress(small_photo, quality=50)
    assert codec.decompress(data).shape == small_photo.shape

    torch.manual_seed(1)
    torch.save({"config": {"architecture": "checkerboard-hyperprior", **config},
                "model": build("checkerboard-hyperprior", **config).state_dict(), "step": 1}, tmp_path / "base.pt")
    export(tmp_path / "base.pt", "base")  # the base replaced by other weights
    with pytest.raises(tilecodec.ModelError, match="built on 'base'"):
        tilecodec.load("ar", shared=False)


def test_a_bundled_folder_named_by_a_relative_path_is_still_bundled(monkeypatch):
    import os

    folder = zoo.bundled_folders()[-1]
    monkeypatch.chdir(folder.parent)
    entry = zoo.ZooEntry(name="x", architecture="recurrent", config={}, file="x.safetensors", sha256="",
                         folder=Path(os.path.relpath(folder)))
    assert entry.bundled and entry.companion == (len(zoo.bundled_folders()) > 1)
