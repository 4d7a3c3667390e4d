"""HEVC intra prediction (ITU-T H.265, 8.4.4.2): planar, DC and the 33 angular modes for
square blocks of 4, 8, 16 or 32 samples, in integer arithmetic on 8-bit samples: each mode is
a few tensor operations over every block and channel at once, and ``predict`` stacks the modes.

A block's reference samples are kept as one line of ``4n + 1`` values in the standard's
substitution order: the left column from the bottom (``p[-1][2n-1]``) up to ``p[-1][0]``, the
corner ``p[-1][-1]`` at index ``2n``, then the top row ``p[0][-1]`` to ``p[2n-1][-1]``.
``reference_lines`` builds them from decoded samples and their availability, with the
standard's substitution of missing samples; ``predict`` applies the [1 2 1] reference
smoothing where the standard does (strong intra smoothing is off, as with
``strong_intra_smoothing_enabled_flag = 0``) and the DC and horizontal / vertical edge filters
for blocks under 32 (the standard applies those to luma only; here ``edge_filters`` decides,
for every channel). A horizontal mode is the transpose of the vertical mode mirrored about
the diagonal, computed on the reversed line.
"""

import torch

PLANAR, DC, HORIZONTAL, VERTICAL = 0, 1, 10, 26
MODES = tuple(range(35))
SIZES = (4, 8, 16, 32)
# intraPredAngle for modes 2..34 (Table 8-4) and invAngle for modes 11..25 (Table 8-5)
ANGLE = dict(zip(range(2, 35), (32, 26, 21, 17, 13, 9, 5, 2, 0, -2, -5, -9, -13, -17, -21, -26,
                                -32, -26, -21, -17, -13, -9, -5, -2, 0, 2, 5, 9, 13, 17, 21, 26, 32)))
INV_ANGLE = dict(zip(range(11, 26), (-4096, -1638, -910, -630, -482, -390, -315, -256,
                                     -315, -390, -482, -630, -910, -1638, -4096)))
_SMOOTHING_THRESHOLD = {8: 7, 16: 1, 32: 0}  # intraHorVerDistThres[nTbS]


def line_positions(y0: int, x0: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, columns) of the ``4n + 1`` reference samples of the n x n block at (y0, x0), in
    line order."""
    k = torch.arange(2 * n)
    rows = torch.cat([y0 + 2 * n - 1 - k, torch.tensor([y0 - 1]), torch.full((2 * n,), y0 - 1)])
    cols = torch.cat([torch.full((2 * n,), x0 - 1), torch.tensor([x0 - 1]), x0 + k])
    return rows, cols


def substitute(lines: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
    """8.4.4.2.2: ``lines`` (..., L) with missing samples replaced. If none is available,
    every sample is 128; else a missing first sample takes the first available one, and every
    other missing sample the one before it in line order."""
    length = lines.shape[-1]
    index = torch.where(available, torch.arange(length), torch.full_like(available, -1, dtype=torch.long))
    last = torch.cummax(index, dim=-1).values  # the latest available position so far, or -1
    first = torch.argmax(available.long(), dim=-1, keepdim=True)  # the first available position
    source = torch.where(last < 0, first, last)
    out = torch.gather(lines, -1, source.expand_as(lines))
    none = ~available.any(dim=-1, keepdim=True)
    return torch.where(none, torch.full_like(out, 128), out)


def reference_lines(samples: torch.Tensor, known: torch.Tensor, blocks, n: int) -> torch.Tensor:
    """The reference lines (B x C x (4n + 1), int64) of the n x n blocks at ``blocks`` ((y0, x0)
    pairs) of ``samples`` (C x H x W, values 0-255), a sample being available where ``known``
    (H x W, bool) is true and it lies inside the picture; missing samples substituted."""
    if n not in SIZES:
        raise ValueError(f"HEVC intra blocks are {SIZES} samples wide, got {n}")
    samples = samples.long()
    height, width = known.shape
    lines, available = [], []
    for y0, x0 in blocks:
        rows, cols = line_positions(int(y0), int(x0), n)
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        r, c = rows.clamp(0, height - 1), cols.clamp(0, width - 1)
        lines.append(samples[:, r, c])
        available.append(inside & known[r, c])
    lines, available = torch.stack(lines), torch.stack(available)[:, None, :].expand(-1, samples.shape[0], -1)
    return substitute(lines, available)


def raster_reference_lines(samples: torch.Tensor, n: int) -> tuple[torch.Tensor, list]:
    """The reference lines of every n x n block of ``samples`` (C x H x W, sides multiples of
    n), with the availability of a raster-order decode: everything above the block's row of
    blocks and the blocks to its left are decoded (so top-right is available inside the
    picture, bottom-left never). Returns (B x C x (4n + 1) lines, [(y0, x0)] in raster order)."""
    _, height, width = samples.shape
    blocks = [(y0, x0) for y0 in range(0, height - n + 1, n) for x0 in range(0, width - n + 1, n)]
    positions = [line_positions(y0, x0, n) for y0, x0 in blocks]
    rows = torch.stack([r for r, _ in positions])
    cols = torch.stack([c for _, c in positions])
    y0 = torch.tensor([b[0] for b in blocks])[:, None]
    x0 = torch.tensor([b[1] for b in blocks])[:, None]
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    decoded = (rows < y0) | ((rows < y0 + n) & (cols < x0))
    lines = samples.long()[:, rows.clamp(0, height - 1), cols.clamp(0, width - 1)].permute(1, 0, 2)
    available = (inside & decoded)[:, None, :].expand_as(lines)
    return substitute(lines, available), blocks


def smoothing_applies(mode: int, n: int) -> bool:
    """8.4.4.2.3: whether the reference samples are [1 2 1]-filtered for ``mode`` at size ``n``."""
    if mode == DC or n == 4:
        return False
    return min(abs(mode - VERTICAL), abs(mode - HORIZONTAL)) > _SMOOTHING_THRESHOLD[n]


def smooth(lines: torch.Tensor) -> torch.Tensor:
    """[1 2 1] filtering of every sample but the two ends of the line."""
    out = lines.clone()
    out[..., 1:-1] = (lines[..., :-2] + 2 * lines[..., 1:-1] + lines[..., 2:] + 2) >> 2
    return out


def predict(lines: torch.Tensor, modes=MODES, edge_filters: bool = True) -> torch.Tensor:
    """Predictions (B x M x C x n x n, int64, 0-255) for each of ``modes`` from reference
    ``lines`` (B x C x (4n + 1), substituted, unfiltered)."""
    n = (lines.shape[-1] - 1) // 4
    if n not in SIZES or lines.shape[-1] != 4 * n + 1:
        raise ValueError(f"reference lines hold 4n + 1 samples with n in {SIZES}, got {lines.shape[-1]}")
    lines = lines.long()
    smoothed = smooth(lines)
    out = [_mode(smoothed if smoothing_applies(m, n) else lines, n, m, edge_filters and n < 32) for m in modes]
    return torch.stack(out, dim=1)


def _mode(r: torch.Tensor, n: int, mode: int, edges: bool) -> torch.Tensor:
    if mode == PLANAR:
        return _planar(r, n)
    if mode == DC:
        return _dc(r, n, edges)
    if mode >= 18:
        return _vertical(r, n, mode, edges)
    # a horizontal mode: the mirrored vertical mode on the line read backwards, transposed
    return _vertical(r.flip(-1), n, 36 - mode, edges).transpose(-1, -2)


def _planar(r: torch.Tensor, n: int) -> torch.Tensor:
    shift = n.bit_length()  # log2(n) + 1
    k = torch.arange(n)
    left = r[..., 2 * n - 1 - k]  # p[-1][y]
    top = r[..., 2 * n + 1 + k]  # p[x][-1]
    top_right, bottom_left = r[..., 3 * n + 1, None, None], r[..., n - 1, None, None]
    y, x = k[:, None], k[None, :]
    return ((n - 1 - x) * left[..., :, None] + (x + 1) * top_right
            + (n - 1 - y) * top[..., None, :] + (y + 1) * bottom_left + n) >> shift


def _dc(r: torch.Tensor, n: int, edges: bool) -> torch.Tensor:
    shift = n.bit_length()
    left, top = r[..., n: 2 * n].flip(-1), r[..., 2 * n + 1: 3 * n + 1]  # p[-1][y], p[x][-1]
    dc = (left.sum(-1) + top.sum(-1) + n) >> shift
    out = dc[..., None, None].expand(*dc.shape, n, n).clone()
    if edges:
        out[..., 0, 1:] = (top[..., 1:] + 3 * dc[..., None] + 2) >> 2
        out[..., 1:, 0] = (left[..., 1:] + 3 * dc[..., None] + 2) >> 2
        out[..., 0, 0] = (left[..., 0] + 2 * dc + top[..., 0] + 2) >> 2
    return out


def _vertical(r: torch.Tensor, n: int, mode: int, edges: bool) -> torch.Tensor:
    """Modes 18-34: rows projected from the top reference row (8.4.4.2.6)."""
    angle = ANGLE[mode]
    x = torch.arange(-n, 2 * n + 1)  # ref[x], stored at x + n
    source = (2 * n + x).clamp(0, 4 * n)  # ref[x] = p[-1 + x][-1] for x >= 0
    if angle < 0 and (n * angle) >> 5 < -1:  # ref[x] for x < 0: left samples projected
        projected = 2 * n - ((x * INV_ANGLE[mode] + 128) >> 8)
        source = torch.where(x < 0, projected.clamp(0, 4 * n), source)
    ref = r[..., source]
    y = torch.arange(n)[:, None]
    idx, fact = ((y + 1) * angle) >> 5, ((y + 1) * angle) & 31
    col = torch.arange(n)[None, :] + idx + 1 + n  # ref[x + iIdx + 1], stored at + n
    a = ref[..., col]
    b = ref[..., (col + 1).clamp(max=3 * n)]  # weight 0 where it would overrun
    out = ((32 - fact) * a + fact * b + 16) >> 5
    if mode == VERTICAL and edges:
        left = r[..., 2 * n - 1 - torch.arange(n)]  # p[-1][y]
        out[..., :, 0] = (r[..., 2 * n + 1, None] + ((left - r[..., 2 * n, None]) >> 1)).clamp(0, 255)
    return out
