"""Coding to a target size: the size of a file estimated from the model's own likelihoods
without coding it, and the ``bpp=`` search that uses it.

The analysis transform's output does not depend on the rate (gain units scale it afterwards),
so it runs once per sampled patch; each quality then costs one float32 pass of the latent
codec's training form with hard rounding and the coding scale floors (``forward(y, levels,
quantize=torch.round)``): no exact entropy path, no synthesis, no range coding. The sum of
its -log2 likelihoods tracks real files to about 1-2%; the API's ``bpp=`` search runs on
estimates and confirms (and corrects the estimate's bias) with one or two real encodes.
"""

import numpy as np
import torch

from . import container
from .errors import ParameterError
from .images import as_array, to_tensor
from .search import closest, relative, search
from .tiling import DEFAULT_OVERLAP, DEFAULT_PATCH

STRING_OVERHEAD_BYTES = 4 + 4 + 8  # index CRC, word count, the range coder's final flush
SECTION_OVERHEAD_BYTES = 8          # length and CRC32 of each section


class SizeEstimate:
    """``estimate(quality)`` -> estimated bytes of ``codec.compress(array, quality, patch,
    overlap)``, from up to ``max_patches`` patches spread over the image (all of them when
    there are no more), scaled to the whole image by coded area."""

    def __init__(self, codec, array: np.ndarray, patch, overlap: int, max_patches: int = 6):
        model = self.model = codec.model
        _, _, grid, header = codec.plan(array, 50.0, patch, overlap)
        m = model.padding_multiple(container.FORMAT_VERSION)
        boxes = [(p.y0, p.y1, p.x0, p.x1) for p in grid.patches] if grid else [(0, array.shape[0], 0, array.shape[1])]
        picked = sorted({int(round(i)) for i in np.linspace(0, len(boxes) - 1, min(max_patches, len(boxes)))})
        area = [(-(-(y1 - y0) // m) * m) * (-(-(x1 - x0) // m) * m) for y0, y1, x0, x1 in boxes]
        self.scale = sum(area) / sum(area[i] for i in picked)
        with torch.no_grad():
            self.latents = [model.analyse(to_tensor(array[y0:y1, x0:x1], m)) for y0, y1, x0, x1 in
                            (boxes[i] for i in picked)]
        strings = model.strings_at(50.0) * len(boxes)
        self.overhead = len(header.model) + 50 + strings * (STRING_OVERHEAD_BYTES + SECTION_OVERHEAD_BYTES)
        self.cache: dict[float, float] = {}

    def __call__(self, quality: float) -> float:
        if quality not in self.cache:
            rate = self.model.rate_control.point(quality)
            bits = 0.0
            with torch.no_grad():
                for y in self.latents:
                    y = self.model.gained(y, rate)
                    if rate.step != 1.0:  # step-scaled models: the exact path's estimate
                        bits += self.model.latent_codec.estimate_bits(y, rate)
                        continue
                    levels = rate.levels(len(y)) if self.model.gain is not None else None
                    likelihoods = self.model.latent_codec(y, levels, quantize=torch.round).likelihoods
                    bits += float(sum(-torch.log2(v.double()).sum() for v in likelihoods.values()))
            self.cache[quality] = bits / 8 * self.scale + self.overhead
        return self.cache[quality]


def fit_bpp(codec, image, bpp: float, tolerance: float = 0.02, **options) -> bytes:
    """The file whose size is within ``tolerance`` of ``bpp`` (or the closest one found):
    a search over ``quality`` (``search.search``, regula falsi on log-size) on the model's
    own size estimates (``SizeEstimate``), confirmed and corrected by real encodes, and
    on real encodes alone where no estimate applies (refinement, factorized models);
    ParameterError if the model cannot reach it."""
    array = as_array(image)
    target = float(bpp) * array.shape[0] * array.shape[1] / 8
    if not np.isfinite(target) or target <= 0:
        raise ParameterError(f"bpp must be a positive number, got {bpp}")
    if not codec.model.variable_rate:
        raise ParameterError(f"model {codec.name} has a fixed rate; it cannot aim at a bpp")
    files = {}

    def size(quality):  # keyed by the quality asked for; coded at its float32 value
        if quality not in files:
            files[quality] = codec.compress(array, float(np.float32(quality)), **options)
        return len(files[quality])

    if not options.get("refine") and hasattr(codec.model.latent_codec, "estimate_bits"):
        data = _fit_estimated(codec, array, target, tolerance, size, files, **options)
        if data is not None:
            return data
    ends = {0.0: size(0.0), 100.0: size(100.0)}
    if min(relative(v, target) for v in ends.values()) > tolerance and not ends[0.0] < target < ends[100.0]:
        reach = [8 * v / (array.shape[0] * array.shape[1]) for v in ends.values()]
        raise ParameterError(f"{bpp} bpp is outside what model {codec.name} reaches on this image "
                             f"({reach[0]:.3f} to {reach[1]:.3f} bpp)")
    trials = search(size, 0.0, 100.0, target, relative, tolerance, log=True,
                    known={**{q: len(d) for q, d in files.items()}, **ends})
    return files[closest(trials, target, relative)[0]]

def _fit_estimated(codec, array, target, tolerance, size, files, patch=DEFAULT_PATCH,
                   overlap=DEFAULT_OVERLAP, max_memory=None, refine=0):
    """``fit_bpp`` on estimates: the quality whose estimated size hits ``target`` (scaled
    by the real/estimated ratio of the last real encode), at most three real encodes;
    None if that did not land within ``tolerance``. ParameterError when the estimates put
    the target clearly out of reach."""
    estimate = SizeEstimate(codec, array, patch, overlap)
    ends = {0.0: estimate(0.0), 100.0: estimate(100.0)}
    if not 0.95 * ends[0.0] < target < 1.05 * ends[100.0]:
        reach = [8 * v / (array.shape[0] * array.shape[1]) for v in ends.values()]
        raise ParameterError(f"{8 * target / (array.shape[0] * array.shape[1]):g} bpp is outside what model "
                             f"{codec.name} reaches on this image (about {reach[0]:.3f} to {reach[1]:.3f} bpp)")
    goal = target
    for _ in range(3):
        trials = search(estimate, 0.0, 100.0, goal, relative, tolerance / 2, log=True, known=estimate.cache,
                        max_steps=8)
        quality = float(np.float32(closest(trials, goal, relative)[0]))
        real = size(quality)
        if relative(real, target) <= tolerance:
            return files[quality]
        goal = target * estimate(quality) / real  # the estimate's bias on this image
    return None
