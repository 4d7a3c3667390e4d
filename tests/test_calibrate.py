"""Scale floors: they change only the probabilities (same symbols, same pixels), both coders
apply them identically, and calibration picks, per level, the floor that codes smallest."""

import numpy as np
import pytest
import torch

from tilecodec import zoo
from tilecodec.api import Codec
from tilecodec.models import build
from tilecodec.train.calibrate import calibrate_scale_floors, coded_y_bytes, level_qualities, sample_crops


def _private_codec() -> Codec:
    return Codec(*zoo.load_model(zoo.DEFAULT_MODEL))


def test_floors_change_the_rate_but_not_the_picture(photo):
    low, high = _private_codec(), _private_codec()
    low.model.latent_codec.scale_floors.fill_(0.11)
    high.model.latent_codec.scale_floors.fill_(0.3)
    a, b = low.compress(photo, quality=95), high.compress(photo, quality=95)
    assert a != b
    np.testing.assert_array_equal(low.decompress(a), high.decompress(b))
    # each file decodes only with the floors it was coded with (they are part of the weights)
    assert not np.array_equal(low.decompress(a), _decode_or_none(high, a))


def _decode_or_none(codec, data):
    try:
        return codec.decompress(data)
    except Exception:
        return None


def test_floors_interpolate_geometrically_between_levels():
    lc = build("mean-scale-hyperprior", N=16, M=24, lmbdas=[0.001, 0.01, 0.1]).latent_codec
    lc.scale_floors.copy_(torch.tensor([0.1, 0.4, 0.4]))
    scales = torch.zeros(3, 1, 1, 1)
    floored = lc.floored(scales, torch.tensor([0.0, 0.5, 2.0]), step=1.0).flatten()
    torch.testing.assert_close(floored, torch.tensor([0.1, 0.2, 0.4]))
    assert lc.floored(torch.full((1, 1, 1, 1), 5.0), torch.tensor([1.0]), step=2.0).item() == 5.0


@pytest.mark.parametrize("architecture", ["mean-scale-hyperprior", "checkerboard-hyperprior"])
def test_both_coders_apply_the_floors(architecture):
    torch.manual_seed(0)
    model = build(architecture, N=16, M=24, lmbdas=[0.002, 0.02]).eval()
    model.update_tables()
    lc = model.latent_codec
    lc.scale_floors.copy_(torch.tensor([0.2, 0.5]))
    y = 3 * torch.randn(1, 24, 8, 12)
    s = torch.tensor([0.7])
    strings, y_hat = lc.compress(y, 1.0, s=s)
    torch.testing.assert_close(lc.decompress(strings, (8, 12), 1.0, s=s), y_hat, rtol=0, atol=0)
    lc.scale_floors.fill_(0.11)
    unfloored, same = lc.compress(y, 1.0, s=s)
    assert unfloored != strings and torch.equal(same, y_hat)


def test_calibration_picks_the_smallest_coded_size_per_level(small_photo):
    codec = _private_codec()
    model, grid = codec.model, (0.11, 0.2, 0.35)
    records = calibrate_scale_floors(model, [small_photo], grid)
    assert [r["quality"] for r in records] == level_qualities(model)
    x = torch.from_numpy(small_photo).permute(2, 0, 1)[None].float() / 255
    for level, r in enumerate(records):
        sizes = coded_y_bytes(model, x, r["quality"], grid)
        assert model.latent_codec.scale_floors[level].item() == pytest.approx(grid[int(np.argmin(sizes))])
        assert r["bytes"] == min(sizes) and r["saved"] >= 0


EXPORT = """
import sys
from pathlib import Path
from tilecodec import zoo
from tilecodec.train.export import export
out = Path(sys.argv[1])
zoo.WEIGHTS_DIR, zoo.REGISTRY = out, out / "zoo.json"
print(export(out / "run.pt", "tiny", calibrate=[out / "photos"], calibrate_images=1).sha256)
"""


def test_export_calibrates_and_writes_the_same_file_every_time(tmp_path, monkeypatch, small_photo):
    import subprocess
    import sys

    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(small_photo).save(photos / "a.png")
    torch.manual_seed(0)
    model = build("mean-scale-hyperprior", N=16, M=24, lmbdas=[0.002, 0.02])
    torch.save({"config": {"architecture": "mean-scale-hyperprior", "N": 16, "M": 24, "lmbdas": [0.002, 0.02]},
                "model": model.state_dict(), "step": 3}, tmp_path / "run.pt")
    # in separate processes: the model id in .tlc headers must not change when the same weights are re-exported
    shas = [subprocess.run([sys.executable, "-c", EXPORT, str(tmp_path)], check=True, capture_output=True,
                           text=True).stdout.split()[-1] for _ in range(4)]
    assert len(set(shas)) == 1, shas  # without care, safetensors orders metadata keys at random
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(zoo, "REGISTRY", tmp_path / "zoo.json")
    loaded, _ = zoo.load_model("tiny")
    model.eval().update_tables()
    calibrate_scale_floors(model, sample_crops([photos], 1))
    assert torch.equal(loaded.latent_codec.scale_floors, model.latent_codec.scale_floors)
