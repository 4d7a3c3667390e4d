"""Scale floors: they change only the probabilities (same symbols, same pixels), both coders
apply them identically, and calibration picks, per level, the floor that codes smallest."""

import numpy as np
import pytest
import torch

import tilecodec
from tilecodec import zoo
from tilecodec.api import Codec
from tilecodec.models import build
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64, floor_scales
from tilecodec.errors import BitstreamError
from tilecodec.rate import RatePoint
from tilecodec.train.export import export, write_model
from tilecodec.train.calibrate import calibrate_scale_floors, coded_y_bytes, sample_crops


def _private_codec() -> Codec:
    return tilecodec.load(shared=False)


def _floors(codec):
    return codec.model.latent_codec.y.gaussian.scale_floors


def test_floors_change_the_rate_but_not_the_picture(photo):
    low, high = _private_codec(), _private_codec()
    _floors(low).fill_(0.11)
    _floors(high).fill_(0.3)
    a, b = low.compress(photo, quality=95), high.compress(photo, quality=95)
    assert a != b
    np.testing.assert_array_equal(low.decompress(a), high.decompress(b))
    # each file decodes only with the floors it was coded with (they are part of the weights)
    try:
        assert not np.array_equal(low.decompress(a), high.decompress(a))
    except BitstreamError:  # the index checksum caught the other tables: also refused
        pass


def test_floors_interpolate_geometrically_between_levels():
    floors = torch.tensor([0.1, 0.4, 0.4])
    floored = floor_scales(torch.zeros(3, 1, 1, 1), floors, torch.tensor([0.0, 0.5, 2.0])).flatten()
    torch.testing.assert_close(floored, torch.tensor([0.1, 0.2, 0.4]))
    assert floor_scales(torch.full((1, 1, 1, 1), 5.0), floors, torch.tensor([1.0]), step=2.0).item() == 5.0
    # the entropy paths floor alike, the fixed-point one on its grid
    for path in (FLOAT64, FIXED_POINT):
        coded = path.floored(torch.zeros(1, 1, 1, 1, dtype=torch.float64), floors, RatePoint(40.0, 0.5, 1.0, None))
        assert abs(coded.item() - 0.2) <= 2 ** -17


@pytest.mark.parametrize("architecture", ["mean-scale-hyperprior", "checkerboard-hyperprior"])
def test_both_coders_apply_the_floors(architecture):
    torch.manual_seed(0)
    model = build(architecture, N=16, M=24, lmbdas=[0.002, 0.02]).eval()
    model.update_tables()
    lc = model.latent_codec
    lc.y.gaussian.scale_floors.copy_(torch.tensor([0.2, 0.5]))
    y = 3 * torch.randn(1, 24, 8, 12)
    rate = RatePoint(35.0, 0.7, 1.0, None)
    strings, y_hat = lc.compress(y, rate, FIXED_POINT)
    torch.testing.assert_close(lc.decompress(strings, (8, 12), rate, FIXED_POINT), y_hat, rtol=0, atol=0)
    lc.y.gaussian.scale_floors.fill_(0.11)
    unfloored, same = lc.compress(y, rate, FIXED_POINT)
    assert unfloored != strings and torch.equal(same, y_hat)


def test_calibration_picks_the_smallest_coded_size_per_level(small_photo):
    codec = _private_codec()
    model, grid = codec.model, (0.11, 0.2, 0.35)
    records = calibrate_scale_floors(model, [small_photo], grid)
    assert [r["quality"] for r in records] == model.rate_control.level_qualities()
    x = torch.from_numpy(small_photo).permute(2, 0, 1)[None].float() / 255
    for level, r in enumerate(records):
        sizes = coded_y_bytes(model, x, r["quality"], grid)
        assert _floors(codec)[level].item() == pytest.approx(grid[int(np.argmin(sizes))])
        assert r["bytes"] == min(sizes) and r["saved"] >= 0


EXPORT = """
import sys
from pathlib import Path
from tilecodec.train.export import export
out = Path(sys.argv[1])
print(export(out / "run.pt", "tiny", calibrate=[out / "photos"], calibrate_images=1, out=out / "models").sha256)
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
    bundled_registry = zoo.REGISTRY.read_bytes()
    monkeypatch.setenv("TILECODEC_MODELS", str(tmp_path / "models"))  # the user model directory
    loaded, entry = zoo.load_model("tiny")
    assert entry.sha256 == shas[0] and not entry.bundled
    assert zoo.entry(str(tmp_path / "models" / "tiny.safetensors")) == entry  # by path too
    assert zoo.REGISTRY.read_bytes() == bundled_registry  # the bundled zoo is never edited
    codec = tilecodec.load("tiny", shared=False)
    data = codec.compress(small_photo, quality=60)
    assert tilecodec.info(data).model_hash == shas[0][:8]
    by_path = tilecodec.load(str(tmp_path / "models" / "tiny.safetensors"), shared=False)
    assert by_path.decompress(data).shape == small_photo.shape
    with pytest.raises(tilecodec.ModelError, match="bundled"):
        export(tmp_path / "run.pt", zoo.DEFAULT_MODEL, out=tmp_path)
    model.eval().update_tables()
    calibrate_scale_floors(model, sample_crops([photos], 1))
    assert torch.equal(loaded.latent_codec.y.gaussian.scale_floors, model.latent_codec.y.gaussian.scale_floors)
    # an exported model re-exports: as it is without --calibrate, recalibrated with it
    odd, _ = zoo.load_model("tiny")
    odd.latent_codec.y.gaussian.scale_floors.fill_(0.5)
    plain = write_model(odd, "plain", "mean-scale-hyperprior", entry.config, tmp_path / "models")
    kept = export(plain.path, "kept", out=tmp_path / "models")
    assert (zoo.load_model("kept")[0].latent_codec.y.gaussian.scale_floors == 0.5).all()
    again = export(plain.path, "again", calibrate=[photos], calibrate_images=1, out=tmp_path / "models")
    assert torch.equal(zoo.load_model("again")[0].latent_codec.y.gaussian.scale_floors,
                       model.latent_codec.y.gaussian.scale_floors)
    assert again.config == plain.config == kept.config and again.architecture == plain.architecture
