"""Predictive patch codecs (models.patch_vae, models.predictive): wavefront order, decoding
equals the encoder's reconstruction, block modes in the file, training and export."""

import numpy as np
import pytest
import torch
from PIL import Image

import tilecodec
from tilecodec.errors import BitstreamError
from tilecodec.models import predictive
from tilecodec.models.patch_vae import PredictivePatchCodec
from tilecodec.models.predictive import HEVC0, LEARNED, NEIGHBOURS, NONE, encode_image, wavefronts


def _model(predictor="embedded", modes=False, seed=0, hyperprior=False) -> PredictivePatchCodec:
    torch.manual_seed(seed)
    width = 8
    model = PredictivePatchCodec(16, 16, [0.001, 0.01, 0.05], predictor=predictor, width=width, modes=modes,
                                 level_densities=True, hyperprior=hyperprior)
    model.init_gains(0.01)
    model.eval().update_tables()
    return model


def _image(height=96, width=128, seed=0) -> torch.Tensor:
    """A smooth picture with an edge: what intra prediction is for."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    base = torch.stack([0.2 + 0.6 * xx, 0.3 + 0.4 * yy, 0.5 + 0.3 * (xx > 0.6).float()])
    return (base + 0.02 * torch.rand(3, height, width, generator=g)).clamp(0, 1)[None]


@pytest.mark.parametrize("top_right", [True, False])
def test_wavefronts_decode_every_neighbour_first(top_right):
    rows, cols = 16, 24
    groups = wavefronts(rows, cols, top_right)
    when = {b: t for t, group in enumerate(groups) for b in group}
    assert len(when) == rows * cols
    assert len(groups) == (cols + 2 * (rows - 1) if top_right else cols + rows - 1)  # 54 or 39 steps, not 384
    used = NEIGHBOURS if top_right else tuple(n for n in NEIGHBOURS if n != (-1, 1))
    for (r, c), t in when.items():
        for dr, dc in used:
            if (r + dr, c + dc) in when:
                assert when[(r + dr, c + dc)] < t


@pytest.mark.parametrize("predictor,modes,hyperprior", [("none", False, False), ("pretrained", False, False),
                                                        ("embedded", False, False), ("embedded", True, False),
                                                        ("embedded", False, True)])
def test_decoding_equals_the_encoders_reconstruction(predictor, modes, hyperprior):
    model = _model(predictor, modes, hyperprior=hyperprior)
    image = _image()
    for quality in (0, 60, 100):
        rate = model.rate_control.point(quality)
        strings, reconstruction = encode_image(model, image, rate)
        assert len(strings) == model.num_strings
        decoded = model.decompress([strings], [tuple(image.shape[2:])], quality)[0]
        assert torch.equal(decoded, reconstruction)
        assert torch.equal(torch.round(decoded * 255) / 255, decoded)  # 8-bit samples


def test_modes_are_chosen_by_rate_and_distortion_and_read_back():
    model = _model("embedded", modes=True)
    strings, _ = encode_image(model, _image(), model.rate_control.point(50))
    modes = predictive._modes(strings[1], 3, 4)
    assert ((modes == LEARNED) | (modes == NONE) | (modes >= HEVC0)).all()
    # an untrained predictor loses to HEVC on a smooth picture somewhere
    assert (modes >= HEVC0).any()
    with pytest.raises(BitstreamError):
        predictive._modes(strings[1][:-2], 3, 4)
    with pytest.raises(BitstreamError):
        predictive._modes(strings[1], 4, 4)


@pytest.mark.parametrize("hyperprior", [False, True])
def test_through_the_codec_api_odd_sizes_and_grayscale(hyperprior):
    codec = tilecodec.Codec.from_model(_model("embedded", modes=not hyperprior, hyperprior=hyperprior), "predictive-test")
    rgb = np.asarray(Image.fromarray((_image(70, 45)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)))
    data = codec.compress(rgb, quality=70, patch=None)
    out = codec.decompress(data)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    gray = np.ascontiguousarray(rgb[:, :, 0])
    assert codec.decompress(codec.compress(gray, quality=70, patch=None)).shape == gray.shape
    with pytest.raises(tilecodec.TilecodecError):
        codec.compress(rgb, quality=70, patch=None, refine=2)


def test_train_fit_export_and_load(tmp_path):
    from tilecodec.train.patch_vae import export_patch_codec, train_patch_vae

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        array = (_image(200, 200, seed=i)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        Image.fromarray(array).save(folder / f"{i}.png")
    weights = tmp_path / "run.safetensors"
    last = train_patch_vae([folder], weights, "embedded", closed_loop=True, closed_loop_after=1, lmbdas=(0.001, 0.01),
                           N=16, M=16, width=8, steps=3, batch=4, workers=0, log=lambda msg: None)
    assert last["step"] == 3 and last["closed_loop"] == 1 and weights.with_suffix(".csv").exists()
    entry = export_patch_codec(weights, "pv-test", modes=True, out=tmp_path / "models", fit=[folder],
                               fit_minutes=0.02, log=lambda msg: None)
    codec = tilecodec.load(str(entry.path))
    photo = np.asarray(Image.open(folder / "0.png"))[:64, :96]
    small, large = (codec.compress(photo, quality=q, patch=None) for q in (0, 100))
    assert len(small) <= len(large)
    assert codec.decompress(large).shape == photo.shape
    latent = codec.model.latent_codec  # each level's density was fitted, from the shared one
    shared = latent.density.matrices[0]
    assert all(not torch.equal(d.matrices[0], shared) for d in latent.level_densities)

    # fine-tuning from the exported model to other rate levels starts from its weights
    tuned = tmp_path / "tuned.safetensors"
    last = train_patch_vae([folder], tuned, init=str(entry.path), lmbdas=(0.0002, 0.002), steps=1, batch=4,
                           lr=0.0, workers=0, log=lambda msg: None)
    assert last["closed_loop"] == 0  # closed loop only when asked, from the first step
    from safetensors.torch import load_file
    state = load_file(str(tuned))
    start = {k: v for k, v in codec.model.state_dict().items() if not k.startswith("latent_codec.level_densities.")}
    carried = [k for k, v in start.items() if v.is_floating_point() and not k.endswith("quantiles")]
    assert any(k.startswith("predictor.") for k in carried) and any(k.startswith("gain.") for k in carried)
    assert all(torch.equal(state[k].float(), start[k].half().float()) for k in carried)
    with pytest.raises(ValueError, match="rate levels"):
        train_patch_vae([folder], tuned, init=str(entry.path), lmbdas=(0.001,), steps=1, workers=0)


@pytest.mark.parametrize("name", ["patch-vae", "patch-vae-pretrained-intra", "patch-vae-embedded-intra"])
def test_bundled_predictive_models_code_a_photo(name, photo):
    """The trained models: fewer bits and more distortion at lower quality, and decoding
    equals the encoder's reconstruction."""
    codec = tilecodec.load(name)
    crop = np.ascontiguousarray(photo[64:192, 96:288])
    x = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    sizes, errors = [], []
    for quality in (0, 100):
        rate = codec.model.rate_control.point(quality)
        strings, reconstruction = encode_image(codec.model, x, rate)
        assert torch.equal(codec.model.decompress([strings], [tuple(x.shape[2:])], quality)[0], reconstruction)
        data = codec.compress(crop, quality=quality, patch=None)
        out = codec.decompress(data)
        sizes.append(len(data))
        errors.append(np.mean((out.astype(float) - crop) ** 2))
    assert sizes[0] < sizes[1] and errors[0] > errors[1]


def test_prediction_pays_on_a_photo(photo):
    """At quality 100, predicting blocks from decoded neighbours buys more than 1 dB for less
    than 15% more bits than coding them independently."""
    crop = np.ascontiguousarray(photo[64:192, 96:288])
    points = {}
    for name in ("patch-vae", "patch-vae-embedded-intra"):
        codec = tilecodec.load(name)
        data = codec.compress(crop, quality=100, patch=None)
        mse = np.mean((codec.decompress(data).astype(float) - crop) ** 2)
        points[name] = (len(data), 10 * np.log10(255**2 / mse))
    (plain_bytes, plain_db), (intra_bytes, intra_db) = points.values()
    assert intra_db > plain_db + 1 and intra_bytes < 1.15 * plain_bytes


@pytest.mark.parametrize("closed_loop", [True, False])
def test_closed_loop_training_predicts_from_the_models_reconstructions(closed_loop, tmp_path, monkeypatch):
    """The trainer's gradient step sees the neighbours as the model itself reconstructed them
    (closed loop), or the originals (open loop)."""
    from tilecodec.train import patch_vae

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray((_image(200, 200)[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(folder / "a.png")
    calls = []
    forward = PredictivePatchCodec.forward_blocks

    def spy(self, neighbours, x, s=None):
        out = forward(self, neighbours, x, s)
        calls.append((neighbours.detach().clone(), x.detach().clone(), out["x_hat"].detach().clone(),
                      torch.is_grad_enabled()))
        return out

    monkeypatch.setattr(PredictivePatchCodec, "forward_blocks", spy)
    patch_vae.train_patch_vae([folder], tmp_path / "w.safetensors", "embedded", closed_loop=closed_loop,
                              closed_loop_after=0, lmbdas=(0.001, 0.01), N=8, M=8, width=4, steps=1, batch=3,
                              workers=0, log=lambda msg: None)
    context, target, _, grad = calls[-1]
    assert grad
    if closed_loop:
        neighbours_in, neighbours_x, reconstructed, grad = calls[0]
        assert not grad and len(neighbours_x) == 4 * len(target)
        expected = reconstructed.clamp(0, 1).view(4, len(target), *target.shape[1:]).transpose(0, 1)
        originals = neighbours_x.view(4, len(target), *target.shape[1:]).transpose(0, 1)
    else:
        assert len(calls) == 1
    kept = context != patch_vae.MISSING
    if closed_loop:
        assert torch.equal(context[kept], expected[kept]) and not torch.equal(context[kept], originals[kept])
    else:
        assert not any(c[3] is False for c in calls)


def test_damaged_predictive_files_give_bitstream_errors(photo):
    codec = tilecodec.load("patch-vae-embedded-intra")
    crop = np.ascontiguousarray(photo[:70, :100])
    data = codec.compress(crop, quality=60, patch=None)
    rng = np.random.default_rng(0)
    cases = [data[:n] for n in (len(data) - 1, len(data) // 2, 40)]
    for _ in range(40):
        damaged = bytearray(data)
        for i in rng.integers(0, len(data), 3):
            damaged[i] ^= int(rng.integers(1, 256))
        cases.append(bytes(damaged))
    for damaged in cases:
        try:
            out = codec.decompress(damaged)
            assert out.shape == crop.shape
        except tilecodec.BitstreamError:
            pass
