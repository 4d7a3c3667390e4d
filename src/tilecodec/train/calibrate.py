"""Calibrate a hyperprior model's per-level scale floors on real bitstreams.

Trained with additive noise, a mean-scale hyperprior predicts tiny scales where rounding
still gives +-1 now and then; coding those with the smallest table costs about 16 bits
each. For every trained level, ``calibrate_scale_floors`` picks the floor (see
``entropy.GaussianConditional``) that minimizes the real coded size of y on sample
images. Symbols and pixels do not change, only the probabilities they are coded with.
"""

import numpy as np
import torch
from PIL import Image

from ..entropy import coder
from ..entropy.gaussian import SCALE_MIN
from ..entropy.paths import FIXED_POINT
from ..images import to_tensor
from ..images import find_images
from ..errors import ModelError
from ..latent.conditional import GaussianCoding

FLOOR_GRID = tuple(SCALE_MIN * 1.1 ** k for k in range(17))  # 0.11 .. 0.50


def sample_crops(folders, count: int = 16, size: int = 512, seed: int = 0) -> list[np.ndarray]:
    """``count`` RGB crops of ``size`` px (or whole smaller images) from randomly chosen files."""
    paths = find_images(folders)
    rng = np.random.default_rng(seed)
    crops = []
    for i in rng.permutation(len(paths))[:count]:
        a = np.asarray(Image.open(paths[i]).convert("RGB"))
        y0 = int(rng.integers(0, max(1, a.shape[0] - size + 1)))
        x0 = int(rng.integers(0, max(1, a.shape[1] - size + 1)))
        crops.append(np.ascontiguousarray(a[y0: y0 + size, x0: x0 + size]))
    return crops


@torch.no_grad()
def coded_y_bytes(model, x: torch.Tensor, quality: float, floors) -> list[int]:
    """Coded size of y for ``x`` (1x3xHxW) at ``quality`` with each scale floor in ``floors``
    (the scales and means of every pass, coded as one string)."""
    lc = model.latent_codec
    rate = model.rate_control.point(quality)
    y = model.latent(x, rate)
    _, scales, means = lc.coding_params(y, rate)
    symbols = torch.round((y.float() - means if means is not None else y.float()) / rate.step).numpy()
    tables = lc.y.gaussian.tables
    return [len(coder.encode(symbols, FIXED_POINT.indexes(scales.clamp_min(f * rate.step), rate.step).numpy(), tables))
            for f in floors]


@torch.no_grad()
def calibrate_scale_floors(model, crops: list[np.ndarray], grid=FLOOR_GRID) -> list[dict]:
    """Set the scale floors of ``model``'s Gaussian conditional (tables must be built) to the floor in ``grid``
    that minimizes the summed coded size of y over ``crops`` at each level; returns one
    record per level: quality, floor, and the bytes saved against the 0.11 table minimum.
    ModelError for a model whose latent is not coded under Gaussians."""
    if not isinstance(getattr(model.latent_codec.y, "coding", None), GaussianCoding):
        raise ModelError("scale-floor calibration needs a latent coded under Gaussians (this model's is not)")
    floors = model.latent_codec.y.gaussian.scale_floors
    xs = [to_tensor(c, model.size_multiple) for c in crops]
    records = []
    for level, quality in enumerate(model.rate_control.level_qualities()):
        totals = np.zeros(len(grid))
        for x in xs:
            totals += coded_y_bytes(model, x, quality, grid)
        best = int(np.argmin(totals))
        floors[level] = grid[best]
        records.append(dict(quality=quality, floor=round(grid[best], 4), bytes=int(totals[best]),
                            saved=float(1 - totals[best] / totals[0])))
    return records
