"""Coding whole images with a ``patch_vae.PredictivePatchCodec``: 32x32 blocks, each predicted
from its decoded causal neighbours, the residual coded.

Blocks are coded in wavefronts: block (r, c) belongs to wavefront ``c + 2r`` when predictions
read the top-right neighbour (it is then decoded one wavefront earlier), else ``c + r``; a
wavefront's blocks go through the networks together, so a 768x512 image takes 54 (or 39)
sequential steps instead of 384. A neighbour outside the image is mid-grey.

The residual latents of all blocks form one latent map (block (r, c) owns latent rows 4r to
4r + 3 and columns 4c to 4c + 3), coded as one string by the model's factorized latent codec:
the decoder reads every latent first, then runs the wavefronts. Each block's reconstruction is
rounded to 8 bits before it serves as a neighbour, and the decoder repeats the encoder's
computations batch for batch in float32, so a file decodes to exactly the encoder's
reconstruction on the machine that made it.

With a hyperprior per block (``hyperprior`` in the model's config), each block's latent is
coded on its own, a hyper-latent and the latent (the exact entropy path of the file's format),
and the string holds every block's pair in raster order, each with its two lengths.

With ``modes``, the encoder chooses per block, by rate plus lambda times distortion at the
rate level's lambda, between the learned prediction, none (mid-grey) and the two HEVC modes
(``intra.hevc``) that predict the block best; the modes are a second string (one byte per
block in raster order, zlib-compressed).
"""

import struct
import zlib

import torch

from ..entropy.paths import FIXED_POINT
from ..errors import BitstreamError, ParameterError
from ..intra import hevc
from ..latent import HyperpriorLatentCodec
from ..numerics import fast_transform
from .patch_vae import BLOCK, MISSING

LEARNED, NONE, HEVC0 = 0, 1, 2  # block modes; HEVC mode k is HEVC0 + k
MODES = HEVC0 + len(hevc.MODES)
HEVC_CANDIDATES = 2  # HEVC modes the encoder tries per block: those with the least prediction error
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1))  # top-left, top, top-right, left


def wavefronts(rows: int, cols: int, top_right: bool) -> list[list[tuple[int, int]]]:
    """The blocks (r, c) grouped so that each group depends only on earlier groups."""
    k = 2 if top_right else 1
    groups: dict[int, list] = {}
    for r in range(rows):
        for c in range(cols):
            groups.setdefault(c + k * r, []).append((r, c))
    return [groups[t] for t in sorted(groups)]


class Canvas:
    """The decoded image so far, with a one-block mid-grey margin above, left and right."""

    def __init__(self, height: int, width: int):
        self.pixels = torch.full((3, height + BLOCK, width + 2 * BLOCK), MISSING)
        self.known = torch.zeros(height, width, dtype=torch.bool)

    def block(self, r: int, c: int) -> torch.Tensor:
        y, x = (r + 1) * BLOCK, (c + 1) * BLOCK
        return self.pixels[:, y: y + BLOCK, x: x + BLOCK]

    def neighbours(self, blocks) -> torch.Tensor:
        """N x 4 x 3 x 32 x 32 for ``blocks``."""
        return torch.stack([torch.stack([self.block(r + dr, c + dc) for dr, dc in NEIGHBOURS]) for r, c in blocks])

    def hevc(self, blocks, modes=hevc.MODES) -> torch.Tensor:
        """HEVC's predictions of ``blocks`` in ``modes`` from the decoded samples, N x len(modes)
        x 3 x 32 x 32 in [0, 1] (integer arithmetic: the same for any batch)."""
        samples = torch.round(self.pixels[:, BLOCK:, BLOCK:-BLOCK] * 255)
        lines = hevc.reference_lines(samples, self.known, [(r * BLOCK, c * BLOCK) for r, c in blocks], BLOCK)
        return hevc.predict(lines, modes).float() / 255

    def image(self) -> torch.Tensor:
        """The decoded image, 1 x 3 x H x W."""
        return self.pixels[None, :, BLOCK:, BLOCK:-BLOCK].clone()

    def put(self, blocks, values: torch.Tensor) -> None:
        """Store decoded blocks, rounded to 8 bits."""
        for (r, c), v in zip(blocks, torch.round(values.clamp(0, 1) * 255) / 255):
            self.block(r, c).copy_(v)
            self.known[r * BLOCK: (r + 1) * BLOCK, c * BLOCK: (c + 1) * BLOCK] = True


def _predictions(model, canvas: Canvas, blocks):
    """The learned predictions of ``blocks`` and, for a model with modes, HEVC's (else None)."""
    learned = model.predict(canvas.neighbours(blocks))
    if not model.modes:
        return learned, None
    return learned, canvas.hevc(blocks)


def _select(learned: torch.Tensor, hevc_all: torch.Tensor | None, modes: torch.Tensor) -> torch.Tensor:
    """Each block's prediction in its mode."""
    out = learned.clone()
    out[modes == NONE] = MISSING
    if hevc_all is not None:
        h = modes >= HEVC0
        if h.any():
            out[h] = hevc_all[h.nonzero()[:, 0], modes[h] - HEVC0]
    return out


def _residual_code(model, residual: torch.Tensor, rate, precision: str = "reference"):
    """(gained latent y, its quantized y_hat, the decoded residual) of a batch of residuals;
    transforms in ``precision`` (``numerics``): "reference" wherever the decoder must agree."""
    y = model.gained(fast_transform(model.analysis, residual, precision).contiguous(), rate)
    med = model.latent_codec.density_at(rate).medians.reshape(1, -1, 1, 1)
    y_hat = torch.round(y - med) + med
    return y, y_hat, _synthesis(model, y_hat, rate, precision)


def _synthesis(model, y_hat: torch.Tensor, rate, precision: str = "reference") -> torch.Tensor:
    if model.gain is not None:
        y_hat = model.inverse_gain(y_hat, rate.levels(len(y_hat)))
    return fast_transform(model.synthesis, y_hat, precision).contiguous()


def _choose(model, x: torch.Tensor, learned: torch.Tensor, hevc_all: torch.Tensor, rate) -> torch.Tensor:
    """Each block's mode: the least rate + lambda * distortion among the learned prediction,
    none and the best HEVC modes by prediction error. The candidates are coded in the model's
    fast precision: the choice is written in the file, so the decoder never repeats it."""
    n = len(x)
    errors = ((hevc_all - x[:, None]) ** 2).flatten(2).sum(2)
    best = errors.topk(HEVC_CANDIDATES, dim=1, largest=False).indices
    candidates = torch.cat([torch.full((n, 1), LEARNED), torch.full((n, 1), NONE), best + HEVC0], 1)
    preds = torch.stack([_select(learned, hevc_all, candidates[:, k]) for k in range(candidates.shape[1])], 1)
    flat, targets = preds.flatten(0, 1), x.repeat_interleave(candidates.shape[1], 0)
    _, y_hat, r_hat = _residual_code(model, targets - flat, rate, model.precision)
    bits = -torch.log2(model.latent_codec.density_at(rate).likelihood(y_hat)).flatten(1).sum(1)
    sse = ((flat + r_hat).clamp(0, 1) - targets).pow(2).flatten(1).sum(1)
    lmbda = rate.lmbda if rate.lmbda is not None else model.lmbdas[-1]
    cost = (bits + lmbda * 255**2 * sse / 3).view(n, -1)
    return candidates[torch.arange(n), cost.argmin(1)]


def _hyper(model) -> bool:
    return isinstance(model.latent_codec, HyperpriorLatentCodec)


def _check_codable(model) -> None:
    if model.modes and _hyper(model):
        raise ParameterError("block modes need the factorized prior's rate estimate; this model has a hyperprior")


def _code_blocks(model, y: torch.Tensor, rate, path) -> tuple[list[bytes], torch.Tensor]:
    """With a hyperprior per block: each block's (hyper-latent, latent) strings and y_hat."""
    strings, y_hat = [], []
    for yi in y.split(1):
        coded = model.latent_codec.compress(yi, rate, path)
        strings.append(coded.strings)
        y_hat.append(coded.y_hat.float())
    return strings, torch.cat(y_hat)


def _pack(pairs: list[list[bytes]]) -> bytes:
    return b"".join(struct.pack(">II", len(z), len(y)) + z + y for z, y in pairs)


def _unpack(data: bytes, count: int) -> list[list[bytes]]:
    pairs, at = [], 0
    for _ in range(count):
        if at + 8 > len(data):
            raise BitstreamError("block latents end early")
        nz, ny = struct.unpack_from(">II", data, at)
        at += 8
        if at + nz + ny > len(data):
            raise BitstreamError("block latents end early")
        pairs.append([data[at: at + nz], data[at + nz: at + nz + ny]])
        at += nz + ny
    if at != len(data):
        raise BitstreamError("block latents have trailing bytes")
    return pairs


@torch.no_grad()
def compress(model, x, quality: float, refine: int = 0, path=None) -> list[list[bytes]]:
    """Each image's strings ([latent] or [latent, modes]) for Bx3xHxW ``x`` (sides multiples
    of 32) or a list of such batches; ``path``: the entropy path of a hyperprior's tables."""
    if refine:
        raise ParameterError("predictive patch codecs do not refine their latents")
    rate = model.rate_control.point(quality)
    out = []
    for batch in (list(x) if isinstance(x, (list, tuple)) else [x]):
        for image in batch.float().split(1):
            out.append(encode_image(model, image, rate, path)[0])
    return out


@torch.no_grad()
def encode_image(model, image: torch.Tensor, rate, path=None) -> tuple[list[bytes], torch.Tensor]:
    """(strings, the reconstruction the decoder will make) of one 1x3xHxW image (sides
    multiples of 32) at ``rate`` (a ``rate.RatePoint``)."""
    _check_codable(model)
    if _hyper(model):
        return _encode_hyper(model, image, rate, path or FIXED_POINT)
    _, _, height, width = image.shape
    rows, cols = height // BLOCK, width // BLOCK
    canvas = Canvas(height, width)
    latent = torch.zeros(1, model.latent_codec.density.channels, height // 8, width // 8)
    modes = torch.zeros(rows, cols, dtype=torch.long)
    for blocks in wavefronts(rows, cols, model.uses_top_right):
        x = torch.stack([image[0, :, r * BLOCK: (r + 1) * BLOCK, c * BLOCK: (c + 1) * BLOCK] for r, c in blocks])
        learned, hevc_all = _predictions(model, canvas, blocks)
        chosen = _choose(model, x, learned, hevc_all, rate) if model.modes else torch.full((len(x),), LEARNED)
        prediction = _select(learned, hevc_all, chosen)
        y, _, r_hat = _residual_code(model, x - prediction, rate)
        canvas.put(blocks, prediction + r_hat)
        for (r, c), yi, m in zip(blocks, y, chosen):
            latent[0, :, 4 * r: 4 * r + 4, 4 * c: 4 * c + 4] = yi
            modes[r, c] = m
    strings = model.latent_codec.compress(latent, rate).strings
    if model.modes:
        strings.append(zlib.compress(modes.to(torch.uint8).numpy().tobytes(), 9))
    return strings, canvas.image()


def _encode_hyper(model, image: torch.Tensor, rate, path) -> tuple[list[bytes], torch.Tensor]:
    _, _, height, width = image.shape
    canvas = Canvas(height, width)
    pairs = {}
    for blocks in wavefronts(height // BLOCK, width // BLOCK, model.uses_top_right):
        x = torch.stack([image[0, :, r * BLOCK: (r + 1) * BLOCK, c * BLOCK: (c + 1) * BLOCK] for r, c in blocks])
        prediction = model.predict(canvas.neighbours(blocks))
        strings, y_hat = _code_blocks(model, model.gained(model.analysis(x - prediction), rate), rate, path)
        canvas.put(blocks, prediction + _synthesis(model, y_hat, rate))
        pairs.update(zip(blocks, strings))
    return [_pack([pairs[b] for b in sorted(pairs)])], canvas.image()


@torch.no_grad()
def decompress(model, strings: list[list[bytes]], sizes: list[tuple[int, int]], quality: float,
               path=None) -> list[torch.Tensor]:
    """Inverse of ``compress``: each image's strings and (padded) size -> 1x3xHxW images."""
    _check_codable(model)
    rate = model.rate_control.point(quality)
    decode = _decode_hyper if _hyper(model) else _decode
    return [decode(model, s, size, rate, path or FIXED_POINT) for s, size in zip(strings, sizes)]


def _decode_hyper(model, strings: list[bytes], size: tuple[int, int], rate, path) -> torch.Tensor:
    height, width = size
    rows, cols = height // BLOCK, width // BLOCK
    pairs = dict(zip([(r, c) for r in range(rows) for c in range(cols)], _unpack(strings[0], rows * cols)))
    canvas = Canvas(height, width)
    for blocks in wavefronts(rows, cols, model.uses_top_right):
        prediction = model.predict(canvas.neighbours(blocks))
        y_hat = torch.cat([model.latent_codec.decompress(pairs[b], (4, 4), rate, path).float() for b in blocks])
        canvas.put(blocks, prediction + _synthesis(model, y_hat, rate))
    return canvas.image()


def _modes(data: bytes, rows: int, cols: int) -> torch.Tensor:
    """The block modes from their string; BitstreamError unless it is a complete zlib stream
    of exactly one valid mode per block."""
    stream = zlib.decompressobj()
    try:
        raw = stream.decompress(data, rows * cols + 1)
    except zlib.error:
        raise BitstreamError("corrupt block modes") from None
    if not stream.eof or stream.unused_data or len(raw) != rows * cols:
        raise BitstreamError("corrupt block modes")
    modes = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()
    if (modes >= MODES).any():
        raise BitstreamError("corrupt block modes")
    return modes.view(rows, cols)


def _decode(model, strings: list[bytes], size: tuple[int, int], rate, path=None) -> torch.Tensor:
    height, width = size
    rows, cols = height // BLOCK, width // BLOCK
    latent = model.latent_codec.decompress(strings[:1], (height // 8, width // 8), rate).float()
    modes = _modes(strings[1], rows, cols) if model.modes else torch.full((rows, cols), LEARNED)
    canvas = Canvas(height, width)
    for blocks in wavefronts(rows, cols, model.uses_top_right):
        chosen = torch.stack([modes[r, c] for r, c in blocks])
        prediction = _select(model.predict(canvas.neighbours(blocks)), None, chosen)
        for mode in chosen[chosen >= HEVC0].unique().tolist():  # only the HEVC modes in use
            index = (chosen == mode).nonzero()[:, 0]
            prediction[index] = canvas.hevc([blocks[i] for i in index], (mode - HEVC0,))[:, 0]
        y_hat = torch.stack([latent[0, :, 4 * r: 4 * r + 4, 4 * c: 4 * c + 4] for r, c in blocks])
        canvas.put(blocks, prediction + _synthesis(model, y_hat, rate))
    return canvas.image()
