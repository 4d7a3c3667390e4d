"""Narrow models: configurable stage widths, channel pruning from a wide model, export."""

import numpy as np
import pytest
import torch

from tilecodec import zoo
from tilecodec.models import build
from tilecodec.train.export import export
from tilecodec.train.prune import _STAGES, _activation_rms, keep_channels, prune

WIDE = {"N": 16, "M": 24, "lmbdas": [0.002, 0.02]}
NARROW = {**WIDE, "widths": [8, 12, 16], "hyper_widths": [16, 20]}


@pytest.fixture(scope="module")
def wide():
    torch.manual_seed(0)
    return build("mean-scale-hyperprior", **WIDE).eval()


@pytest.fixture(scope="module")
def crops(photo):
    return [photo[:256, :256], photo[50:306, 240:496]]


def test_widths_set_each_stage_and_mirror_in_the_synthesis():
    model = build("checkerboard-hyperprior", **NARROW)
    assert [model.analysis[i].out_channels for i in (0, 2, 4, 6)] == [8, 12, 16, 24]
    assert [model.synthesis[i].out_channels for i in (0, 2, 4, 6)] == [16, 12, 8, 3]
    hs = model.latent_codec.hyper_synthesis
    assert [hs[i].out_channels for i in (0, 2, 4)] == [16, 20, 48]


def test_pruning_to_full_width_changes_nothing(wide, crops):
    state = prune(wide, crops, [16, 16, 16], [24, 36])
    assert all(torch.equal(state[k], v) for k, v in wide.state_dict().items())


def test_pruning_keeps_the_most_important_channels_exactly(wide, crops):
    state = prune(wide, crops, NARROW["widths"], NARROW["hyper_widths"])
    narrow = build("mean-scale-hyperprior", **NARROW).eval()
    narrow.load_weights(state)  # every narrowed tensor fits the narrow architecture
    x = torch.cat([torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1)[None].float() / 255 for c in crops])
    keep = keep_channels(wide.analysis, _activation_rms(wide.analysis, x, {1, 3, 5}), _STAGES, NARROW["widths"])
    assert [len(keep[i].unique()) for i in (1, 3, 5)] == NARROW["widths"]
    with torch.no_grad():  # the first conv's kept filters are the wide model's, unchanged
        assert torch.equal(narrow.analysis[0](x), wide.analysis[0](x)[:, keep[1]])
    for k in ("gain.log_gain", "latent_codec.hyper_analysis.0.weight", "latent_codec.z.density.quantiles"):
        assert torch.equal(state[k], wide.state_dict()[k])  # what is not narrowed is copied


def test_narrow_model_exports_with_its_widths_and_codes_real_files(tmp_path, monkeypatch, wide, crops, small_photo):
    from tilecodec.api import Codec

    state = prune(wide, crops, NARROW["widths"], NARROW["hyper_widths"])
    torch.save({"config": {"architecture": "mean-scale-hyperprior", **NARROW}, "model": state, "step": 0},
               tmp_path / "run.pt")
    monkeypatch.setattr(zoo, "bundled_folders", lambda: (tmp_path,))
    entry = export(tmp_path / "run.pt", "narrow")
    assert entry.config == NARROW
    model, entry = zoo.load_model("narrow")
    codec = Codec(model, entry.name, entry.short_hash)
    data = codec.compress(small_photo, quality=50)
    out = codec.decompress(data)
    assert out.shape == small_photo.shape and np.array_equal(out, codec.decompress(data))


def test_widening_keeps_the_function_and_the_new_channels_learn(wide, crops):
    from tilecodec.train.widen import widen

    widths = [24, 20, 32]
    state = widen(wide, "mean-scale-hyperprior", WIDE, widths)
    wider = build("mean-scale-hyperprior", **WIDE, widths=widths).eval()
    wider.load_weights(state)
    assert [wider.analysis[i].out_channels for i in (0, 2, 4)] == widths
    x = torch.cat([torch.from_numpy(np.ascontiguousarray(c)).permute(2, 0, 1)[None].float() / 255 for c in crops])
    s = torch.tensor([0.0, 1.0])
    with torch.no_grad():
        torch.testing.assert_close(wider.analysis(x), wide.analysis(x), rtol=0, atol=1e-5)
        torch.testing.assert_close(wider(x, s)["x_hat"], wide(x, s)["x_hat"], rtol=0, atol=1e-5)
    wider.train()
    out = wider(x, s)
    ((out["x_hat"] - x) ** 2).mean().backward()
    # the zero-initialised weights that read the new channels get gradients: the new channels can learn
    assert wider.synthesis[6].weight.grad[16:].abs().sum() > 0
    assert wider.analysis[2].weight.grad[:, 16:].abs().sum() > 0
    with pytest.raises(ValueError, match="widths only grow"):
        widen(wide, "mean-scale-hyperprior", WIDE, [8, 16, 16])


def test_widen_command_starts_from_a_float16_copy_and_is_repeatable(tmp_path, monkeypatch, wide, capsys):
    from safetensors.torch import load_file, save_file

    from tilecodec.train.widen import main

    state = wide.state_dict()
    torch.save({"config": {"architecture": "mean-scale-hyperprior", **WIDE}, "model": state, "step": 0}, tmp_path / "run.pt")
    monkeypatch.setattr(zoo, "bundled_folders", lambda: (tmp_path,))
    export(tmp_path / "run.pt", "small")
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in zoo.load_model("small")[0].state_dict().items()}
    save_file(half, tmp_path / "half.safetensors")
    for out in ("a", "b"):
        main(["small", "--weights", str(tmp_path / "half.safetensors"), "--widths", "24", "20", "32",
              "-o", str(tmp_path / f"{out}.safetensors")])
    a, b = load_file(tmp_path / "a.safetensors"), load_file(tmp_path / "b.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # seeded new filters
    assert a["analysis.0.weight"].shape[0] == 24 and a["analysis.0.weight"].dtype == torch.float32
    torch.testing.assert_close(a["analysis.0.weight"][:16], half["analysis.0.weight"].float(), rtol=0, atol=0)
