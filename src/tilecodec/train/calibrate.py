"""Calibrate a hyperprior model's per-level scale floors on real bitstreams.

Trained with additive noise, a mean-scale hyperprior predicts tiny scales where rounding
still gives +-1 now and then; coding those with the smallest table costs about 16 bits
each. For every trained level, ``calibrate_scale_floors`` picks the floor (see
``HyperpriorLatentCodec.floored``) that minimizes the real coded size of y on sample
images. Symbols and pixels do not change, only the probabilities they are coded with.
"""

import numpy as np
import torch
from PIL import Image

from ..entropy.gaussian import SCALE_MIN
from ..images import to_tensor
from .data import find_images

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


def level_qualities(model) -> list[float]:
    """The quality of each trained level (75 for a model with a single floor)."""
    levels = len(model.latent_codec.scale_floors)
    return [75.0] if levels == 1 else [100.0 * k / (levels - 1) for k in range(levels)]


@torch.no_grad()
def coded_y_bytes(model, x: torch.Tensor, quality: float, floors) -> list[int]:
    """Coded size of y for ``x`` (1x3xHxW) at ``quality`` with each scale floor in ``floors``."""
    lc = model.latent_codec
    y, step, s = model.latent(x, quality)
    _, scales, means = lc.coding_params(y, step, None if s is None else s[:1])
    return [len(lc.y.compress(y, scales.clamp_min(f * step), means, step)[0][0]) for f in floors]


@torch.no_grad()
def calibrate_scale_floors(model, crops: list[np.ndarray], grid=FLOOR_GRID) -> list[dict]:
    """Set ``model.latent_codec.scale_floors`` (tables must be built) to the floor in ``grid``
    that minimizes the summed coded size of y over ``crops`` at each level; returns one
    record per level: quality, floor, and the bytes saved against the 0.11 table minimum."""
    lc = model.latent_codec
    xs = [to_tensor(c, model.downsampling) for c in crops]
    records = []
    for level, quality in enumerate(level_qualities(model)):
        totals = np.zeros(len(grid))
        for x in xs:
            totals += coded_y_bytes(model, x, quality, grid)
        best = int(np.argmin(totals))
        lc.scale_floors[level] = grid[best]
        records.append(dict(quality=quality, floor=round(grid[best], 4), bytes=int(totals[best]),
                            saved=float(1 - totals[best] / totals[0])))
    return records
