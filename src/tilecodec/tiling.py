"""Overlapping patches and their seamless blending (Tarchouli et al., "Patch-based
end-to-end image learned codecs using overlapping", 2022).

Along each axis, consecutive spans share ``overlap`` (N) pixels. In a shared region, output
pixel ``i`` (0..N-1) is ``(1 - i/(N-1)) * left + (i/(N-1)) * right``; in 2-D the weight of a
patch is the product of its row and column weights, so the weights of all patches covering
a pixel sum to one. N = 0 is plain tiling. An axis no longer than ``patch`` is one span.

Two placements, chosen by the file's format version:

- **Cells** (formats 5 and 6): the axis is cut into ``ceil(length / patch)`` cells and each
  span is its cell widened by the overlap, so the coded length is the image's plus N per seam.
  Span lengths are multiples of ``multiple`` as equal as can be; only the last one may not be,
  and the model pads it to its own multiple. Format 5 cuts in the model's padding multiple (16
  for the hyperprior models), format 6 in 64 where the patch size allows (``api.span_multiple``).
- **Widened** (formats 3 and 4): spans of ``patch`` pixels start ``patch - overlap`` apart;
  the last is widened leftwards to a multiple of 64, and the extra pixels it shares with its
  neighbour get weight 0. A 768x512 image at patch 256, overlap 8 codes 832x576 pixels'
  worth this way, against 784x520 in cells.

Pure array code: no model, no bitstreams.
"""

from dataclasses import dataclass

import numpy as np

OVERLAPS = (0, 2, 4, 8, 16, 32)
DEFAULT_PATCH = 1024  # experiments/patch_overlap (bd-sizes-n8): larger patches cost fewer bits; 1024 fits the memory budget
DEFAULT_OVERLAP = 8  # experiments/patch_overlap (bd-p256): the smallest overlap with no visible seam


def _check(patch: int, overlap: int, multiple: int) -> None:
    if overlap not in OVERLAPS:
        raise ValueError(f"overlap must be one of {OVERLAPS}, got {overlap}")
    if patch % multiple or patch < 2 * max(overlap, multiple // 2):
        raise ValueError(f"patch must be a multiple of {multiple} and at least {max(multiple, 2 * overlap)}")


def cell_spans(length: int, patch: int, overlap: int, multiple: int = 16) -> list[tuple[int, int]]:
    """[start, end) spans covering 0..length, ``ceil(length / patch)`` cells widened by the
    overlap: consecutive spans share exactly ``overlap`` pixels; all but the last are
    multiples of ``multiple``, none is longer than ``patch + overlap + multiple``."""
    _check(patch, overlap, multiple)
    if length <= patch:
        return [(0, length)]
    n = -(-length // patch)
    total = length + (n - 1) * overlap
    unit = total // n // multiple * multiple
    sizes = [unit] * n
    extra = total - unit * n  # less than n * multiple
    for k in range(extra // multiple):
        sizes[k] += multiple
    sizes[-1] += extra % multiple
    out, start = [], 0
    for size in sizes:
        out.append((start, start + size))
        start += size - overlap
    return out


def spans(length: int, patch: int, overlap: int, multiple: int = 64) -> list[tuple[int, int]]:
    """The widened placement (formats 3 and 4): [start, end) spans covering 0..length; all but
    a lone span are multiples of ``multiple``."""
    _check(patch, overlap, multiple)
    if length <= patch:
        return [(0, length)]
    out, start, stride = [], 0, patch - overlap
    while start + patch < length:
        out.append((start, start + patch))
        start += stride
    width = -(-(length - start) // multiple) * multiple
    out.append((max(0, length - width), length))
    return out


def span_weights(axis_spans: list[tuple[int, int]], overlap: int) -> list[np.ndarray]:
    """Blend weight of every span over its own pixels (float64); they sum to 1 everywhere."""
    n = overlap
    ramp = np.arange(n, dtype=np.float64) / (n - 1) if n > 1 else np.ones(n)
    weights = []
    for k, (s0, s1) in enumerate(axis_spans):
        w = np.ones(s1 - s0)
        if k > 0:  # ramp in from the previous span, which ends at a1
            a1 = axis_spans[k - 1][1]
            w[: max(0, a1 - n - s0)] = 0.0
            if n:
                w[a1 - n - s0: a1 - s0] = ramp
        if k < len(axis_spans) - 1:  # ramp out into the next span
            if n:
                w[s1 - n - s0:] = 1.0 - ramp
        weights.append(w)
    return weights


@dataclass(frozen=True)
class Patch:
    """One patch: its pixel box and its 2-D blend weights (rows x columns)."""

    index: int
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def size(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0


class PatchGrid:
    """The patches of a ``width`` x ``height`` image, in row-major order; ``cells``: the cell
    placement (format 5), else the widened one."""

    def __init__(self, width: int, height: int, patch: int, overlap: int, multiple: int = 16, cells: bool = True):
        self.width, self.height, self.patch, self.overlap = width, height, patch, overlap
        place = cell_spans if cells else spans
        self.xs = place(width, patch, overlap, multiple)
        self.ys = place(height, patch, overlap, multiple)
        self.wx = span_weights(self.xs, overlap)
        self.wy = span_weights(self.ys, overlap)
        self.patches = [Patch(r * len(self.xs) + c, x0, y0, x1, y1)
                        for r, (y0, y1) in enumerate(self.ys) for c, (x0, x1) in enumerate(self.xs)]

    def __len__(self) -> int:
        return len(self.patches)

    @property
    def largest(self) -> tuple[int, int]:
        """(height, width) of the largest patch."""
        return max(b - a for a, b in self.ys), max(b - a for a, b in self.xs)

    def weights(self, p: Patch) -> np.ndarray:
        """(h, w) float32 blend weights of patch ``p``."""
        r, c = divmod(p.index, len(self.xs))
        return np.outer(self.wy[r], self.wx[c]).astype(np.float32)

    def covering(self, x: int, y: int, w: int, h: int) -> list[Patch]:
        """Patches that touch the region (x, y, w, h), in row-major order."""
        return [p for p in self.patches if p.x0 < x + w and x < p.x1 and p.y0 < y + h and y < p.y1]


class Blender:
    """Accumulates weighted patches into a uint8 image, one band of patch rows at a time.

    Patches must arrive in row-major order. Only the rows still open to later patches are
    kept in float32; finished rows are rounded into ``out`` (the region's uint8 array).
    """

    def __init__(self, grid: PatchGrid, region: tuple[int, int, int, int] | None = None, channels: int = 3):
        self.grid = grid
        self.x, self.y, self.w, self.h = region or (0, 0, grid.width, grid.height)
        self.out = np.zeros((self.h, self.w, channels), np.uint8)
        self.band = np.zeros((0, self.w, channels), np.float32)
        self.band_y = self.y  # image row of band[0]

    def _flush_until(self, row: int) -> None:
        """Round every accumulated row above image row ``row`` into ``out``."""
        n = max(0, min(row, self.y + self.h) - self.band_y)
        if n:
            top = self.band_y - self.y
            self.out[top: top + n] = np.clip(np.rint(self.band[:n] * 255.0), 0, 255).astype(np.uint8)
            self.band = self.band[n:]
            self.band_y += n

    def add(self, p: Patch, pixels: np.ndarray) -> None:
        """Blend one decoded patch (h x w x C float in [0, 1], the patch's full box)."""
        self._flush_until(p.y0)
        y0, y1 = max(p.y0, self.y), min(p.y1, self.y + self.h)
        x0, x1 = max(p.x0, self.x), min(p.x1, self.x + self.w)
        if y0 >= y1 or x0 >= x1:
            return
        need = y1 - self.band_y
        if need > len(self.band):
            self.band = np.concatenate([self.band, np.zeros((need - len(self.band), *self.band.shape[1:]), np.float32)])
        w = self.grid.weights(p)[y0 - p.y0: y1 - p.y0, x0 - p.x0: x1 - p.x0, None]
        self.band[y0 - self.band_y: y1 - self.band_y, x0 - self.x: x1 - self.x] += \
            w * pixels[y0 - p.y0: y1 - p.y0, x0 - p.x0: x1 - p.x0]

    def finish(self) -> np.ndarray:
        self._flush_until(self.y + self.h)
        return self.out
