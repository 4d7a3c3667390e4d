"""Progressive coding of whole images with the recurrent patch codec (Toderici et al., CVPR
2017; ``models.recurrent``): the image is cut into 32x32 blocks (padded to a multiple of 32),
and each iteration's bits (2 x 2 x 32 per block) are one string, range-coded with one
probability per bit channel measured on that string (``entropy.binary``).

``quality`` chooses the number of iterations, ``1 + round(quality / 100 * (I - 1))`` for a
model of I iterations. A file's strings are each block's iteration count (one byte per block,
zlib-compressed), with multi-mode prediction each block's mode (likewise), then the iterations
in order, each holding the bits of the blocks still coding: the first k iterations are the file
of the quality that gives k iterations, and decode to exactly what the first k iterations of the
longer file decode to (the networks' states depend only on the bits before them). ``api.truncate``
cuts a file so.

Intra prediction (``prediction``): the first iteration codes the block's residual from a
prediction instead of from mid-grey. "single": the inpainting predictor (Minnen et al. 2017).
"multi": per block, the encoder tries no prediction, the inpainting and extended-context
predictors and the two HEVC modes that predict the block best, codes the block from each and
keeps the one whose reconstruction has the least error (with bit allocation: the fewest
iterations, then the least error). Predictions read the neighbours as decoded after their
first iteration (rounded to 8 bits), which every truncation keeps: predicted files stay
progressive. Blocks go in wavefronts (``predictive.wavefronts``) for the first iteration; the
later iterations of all blocks run together. The predictors' weights travel in the model's file.

Bit allocation (Jung et al., 2020; ``allocate = True``, an encoder option): a block stops
coding once its squared error (8-bit units) falls below the threshold ``quality`` picks from
``THRESHOLDS`` (818 at quality 0 to 3 at quality 100), or when an iteration leaves more than
``DELTA`` of the error before it (that iteration's bits are then not sent). Without it, every
block codes all the iterations of its quality.
"""

import zlib

import numpy as np
import torch
import torch.nn.functional as F

from ..entropy.binary import decode_bits, encode_bits
from ..errors import BitstreamError
from ..intra import hevc
from ..intra.learned import ExtendedContextPredictor, InpaintingPredictor
from ..rate import RateControl, check_quality
from .base import CompressionModel
from .patch_vae import MISSING, inpainting_context
from .predictive import Canvas, wavefronts
from .recurrent import BITS, PATCH, RecurrentCodecNet

CONTEXTS = BITS  # one probability per channel of the binary code
THRESHOLDS = (818, 650, 516, 410, 325, 258, 205, 163, 129, 103, 81, 65, 51, 41, 32, 25, 20, 16, 10, 6, 3)
DELTA = 0.7
PREDICTIONS = ("none", "single", "multi")
NO_PREDICTION, INPAINTING, EXTENDED, HEVC0 = 0, 1, 2, 3  # block modes; HEVC mode m is HEVC0 + m
MODES = HEVC0 + len(hevc.MODES)
HEVC_CANDIDATES = 2  # HEVC modes the multi-mode encoder tries per block: the best predictions


def iterations_for(quality: float, iterations: int) -> int:
    """The iterations a file of ``quality`` holds, for a model of ``iterations``."""
    return 1 + int(round(check_quality(quality) / 100.0 * (iterations - 1)))


def quality_for(k: int, iterations: int) -> float:
    """The quality (as files store it) whose files hold ``k`` iterations."""
    q = check_quality(100.0 * (k - 1) / max(iterations - 1, 1))
    assert iterations_for(q, iterations) == k
    return q


def threshold_for(quality: float) -> float:
    """The squared-error target (8-bit units) of bit allocation at ``quality``."""
    return float(THRESHOLDS[int(round(check_quality(quality) / 100.0 * (len(THRESHOLDS) - 1)))])


def side_strings(prediction: str) -> int:
    """The strings before the iterations: the block counts, and the block modes if multi-mode."""
    return 2 if prediction == "multi" else 1


def allocate(x: torch.Tensor, outputs: list, threshold: float, delta: float = DELTA) -> torch.Tensor:
    """Each block's iteration count (at least 1) from its reconstructions ``outputs`` after
    each iteration: stop at the first that brings its mean squared error (8-bit units) below
    ``threshold``, or before one that leaves more than ``delta`` of the error before it."""
    errors = _errors(x, outputs)  # k x n
    k = len(outputs)
    counts = torch.full((x.shape[0],), k, dtype=torch.long)
    for i in range(k - 1, -1, -1):  # the earliest stop wins
        counts = torch.where(errors[i] < threshold, torch.full_like(counts, i + 1), counts)
        if i:
            counts = torch.where(errors[i] > delta * errors[i - 1], torch.full_like(counts, i), counts)
    return counts


def _errors(x: torch.Tensor, outputs: list) -> torch.Tensor:
    """Mean squared error (8-bit units) of each block after each iteration, k x n."""
    return torch.stack([((o.clamp(0, 1) - x) * 255).square().mean(dim=(1, 2, 3)) for o in outputs])


def _blocks(x: torch.Tensor) -> torch.Tensor:
    """1 x 3 x H x W (multiples of 32) -> (H/32 * W/32) x 3 x 32 x 32, row by row."""
    blocks = F.unfold(x, PATCH, stride=PATCH)  # 1 x (3*32*32) x n
    return blocks[0].T.reshape(-1, 3, PATCH, PATCH)


def _image(blocks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.fold(blocks.reshape(len(blocks), -1).T[None], size, PATCH, stride=PATCH)


def _contexts(n: int) -> np.ndarray:
    return np.broadcast_to(np.arange(BITS)[None, :, None, None], (n, BITS, 2, 2))


class RecurrentImageCodec(CompressionModel):
    """``width``: of the networks (``RecurrentCodecNet``); ``iterations``: at quality 100;
    ``prediction``: "none", "single" or "multi" (intra prediction before the first iteration);
    ``predictor_width``: of the learned predictors (``intra.learned``)."""

    size_multiple = PATCH
    format4_multiple = None
    latent_stride = PATCH // 2  # 2 x 2 positions of the binary code per block

    allocate = False  # bit allocation per block (an encoder option; files decode either way)

    def __init__(self, width: int = 32, iterations: int = 16, prediction: str = "none", predictor_width: int = 32):
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.net = RecurrentCodecNet(width)
        self.iterations = iterations
        self.prediction = prediction
        self.inpainting = InpaintingPredictor(predictor_width) if prediction != "none" else None
        self.extended = ExtendedContextPredictor(predictor_width) if prediction == "multi" else None
        self.latent_codec = None

    @property
    def rate_control(self) -> RateControl:
        return RateControl((), variable_step=False)

    @property
    def variable_rate(self) -> bool:
        return True

    @property
    def num_strings(self) -> int:
        return side_strings(self.prediction) + self.iterations

    def strings_at(self, quality: float) -> int:
        """The block counts (and modes), then one string per iteration."""
        return side_strings(self.prediction) + iterations_for(quality, self.iterations)

    def forward(self, x: torch.Tensor, s=None) -> dict:
        raise NotImplementedError("train the recurrent networks with tilecodec train-recurrent")

    def update_tables(self) -> None:
        """Nothing to build: the bits' probabilities travel in each string."""

    def _steps(self, rows: int, cols: int) -> list[list[tuple[int, int]]]:
        """The groups of blocks whose first iterations run together: all at once without
        prediction, else the wavefronts of the predictors' causal neighbourhood."""
        if self.prediction == "none":
            return [[(r, c) for r in range(rows) for c in range(cols)]]
        return wavefronts(rows, cols, top_right=self.prediction == "multi")

    def _learned(self, canvas: Canvas, blocks) -> list[torch.Tensor]:
        """The learned predictors' predictions of ``blocks``, computed for the whole group
        (the decoder repeats the encoder's batches, so both get the same values)."""
        neighbours = canvas.neighbours(blocks)
        out = [self.inpainting(inpainting_context(neighbours))]
        if self.extended is not None:
            out.append(self.extended(neighbours))
        return out

    def _candidates(self, canvas: Canvas | None, blocks, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(modes, predictions) the encoder tries for ``blocks`` (pixels ``x``): N x C and
        N x C x 3 x 32 x 32."""
        n = len(x)
        if self.prediction == "none":
            return torch.full((n, 1), NO_PREDICTION), torch.full_like(x, MISSING)[:, None]
        learned = self._learned(canvas, blocks)
        if self.prediction == "single":
            return torch.full((n, 1), INPAINTING), learned[0][:, None]
        hevc_all = canvas.hevc(blocks)
        best = ((hevc_all - x[:, None]) ** 2).flatten(2).sum(2).topk(HEVC_CANDIDATES, dim=1, largest=False).indices
        modes = torch.cat([torch.tensor([[NO_PREDICTION, INPAINTING, EXTENDED]]).expand(n, -1), best + HEVC0], 1)
        preds = torch.stack([torch.full_like(x, MISSING), *learned], 1)
        return modes, torch.cat([preds, hevc_all[torch.arange(n)[:, None], best]], 1)

    def _predict(self, canvas: Canvas | None, blocks, modes: torch.Tensor) -> torch.Tensor:
        """The decoder's predictions of ``blocks`` in their ``modes``."""
        n = len(blocks)
        if self.prediction == "none":
            return torch.full((n, 3, PATCH, PATCH), MISSING)
        learned = self._learned(canvas, blocks)
        out = learned[0].clone()
        if self.prediction == "single":
            return out
        out[modes == NO_PREDICTION] = MISSING
        out[modes == EXTENDED] = learned[1][modes == EXTENDED]
        for mode in modes[modes >= HEVC0].unique().tolist():  # only the HEVC modes in use
            index = (modes == mode).nonzero()[:, 0]
            out[index] = canvas.hevc([blocks[i] for i in index], (mode - HEVC0,))[:, 0]
        return out

    def _first(self, canvas: Canvas | None, blocks, prediction: torch.Tensor, bits: torch.Tensor):
        """The first iteration's reconstruction of ``blocks`` and the decoder's states; the
        reconstruction goes on the canvas, where later predictions read it."""
        step, state = self.net.decode_step(bits, None)
        reconstruction = prediction + step
        if canvas is not None:
            canvas.put(blocks, reconstruction)
        return reconstruction, state

    def _rest(self, reconstruction: torch.Tensor, state: list, bits, counts: torch.Tensor) -> torch.Tensor:
        """Run iterations 2, 3, ... of every block still coding; ``bits`` yields, for each
        iteration, the bits of the blocks still coding (given how many there are)."""
        coding = torch.arange(len(reconstruction))  # a block that stops never resumes
        for i, take in enumerate(bits, start=1):
            keep = counts[coding] > i
            coding = coding[keep]
            if not len(coding):
                break
            state = [(hs[keep], cs[keep]) for hs, cs in state]
            step, state = self.net.decode_step(take(len(coding)), state)
            reconstruction[coding] += step
        return reconstruction

    def _first_pass(self, rows: int, cols: int, first) -> tuple[torch.Tensor, list]:
        """Run ``first(canvas, blocks, index)`` (-> reconstruction, state) group by group and
        gather the results in raster order."""
        canvas = None if self.prediction == "none" else Canvas(rows * PATCH, cols * PATCH)
        recs, states, order = [], [], []
        for blocks in self._steps(rows, cols):
            index = torch.tensor([r * cols + c for r, c in blocks])
            rec, state = first(canvas, blocks, index)
            recs.append(rec)
            states.append(state)
            order.append(index)
        inverse = torch.argsort(torch.cat(order))
        state = [tuple(torch.cat([s[layer][j] for s in states])[inverse] for j in range(2))
                 for layer in range(len(states[0]))]
        return torch.cat(recs)[inverse], state

    @torch.no_grad()
    def encode_image(self, image: torch.Tensor, quality: float) -> tuple[list[bytes], torch.Tensor, torch.Tensor]:
        """(strings, each block's mode in raster order, the reconstruction the decoder will
        make, 1 x 3 x H x W) of one image (sides multiples of 32)."""
        net = self.net.float().eval()
        k = iterations_for(quality, self.iterations)
        threshold = threshold_for(quality)
        x_all = _blocks(image.float())
        rows, cols = image.shape[2] // PATCH, image.shape[3] // PATCH
        n = len(x_all)
        bits_all = torch.zeros(k, n, BITS, 2, 2)
        counts = torch.full((n,), k, dtype=torch.long)
        modes = torch.zeros(n, dtype=torch.long)

        def first(canvas, blocks, index):
            x = x_all[index]
            options, preds = self._candidates(canvas, blocks, x)
            c = options.shape[1]
            targets = x.repeat_interleave(c, 0)
            bits, outputs = net(targets, k, start=preds.flatten(0, 1))
            tried = allocate(targets, outputs, threshold) if self.allocate else torch.full((len(targets),), k)
            errors = _errors(targets, outputs)[tried - 1, torch.arange(len(targets))]
            cost = (tried.double() * 1e9 + errors.double()).view(-1, c)
            pick = torch.arange(len(x)) * c + cost.argmin(1)
            bits_all[:, index] = torch.stack(bits)[:, pick]
            counts[index] = tried[pick]
            modes[index] = options.flatten()[pick]
            return self._first(canvas, blocks, preds.flatten(0, 1)[pick], bits_all[0, index])

        reconstruction, state = self._first_pass(rows, cols, first)
        later = ((lambda m, b=b, i=i: b[counts > i]) for i, b in enumerate(bits_all[1:], start=1))
        reconstruction = self._rest(reconstruction, state, later, counts)
        strings = [zlib.compress(counts.to(torch.uint8).numpy().tobytes(), 9)]
        if self.prediction == "multi":
            strings.append(zlib.compress(modes.to(torch.uint8).numpy().tobytes(), 9))
        for i in range(k):
            strings.append(encode_bits((bits_all[i][counts > i] > 0).numpy(), _contexts(int((counts > i).sum())),
                                       CONTEXTS))
        return strings, modes, _image(reconstruction, tuple(image.shape[2:])).clamp_(0, 1)

    @torch.no_grad()
    def compress(self, x, quality: float, refine: int = 0, path=None, max_pixels: int | None = None):
        """Each image's strings: the blocks' iteration counts (and modes), then one string per
        iteration."""
        out = []
        for batch in (list(x) if isinstance(x, (list, tuple)) else [x]):
            for image in batch.split(1):
                out.append(self.encode_image(image, quality)[0])
        return out

    @torch.no_grad()
    def decompress(self, strings, sizes, quality: float, path=None, max_pixels: int | None = None):
        out = []
        self.net.float().eval()
        side = side_strings(self.prediction)
        for image_strings, (h, w) in zip(strings, sizes):
            rows, cols = h // PATCH, w // PATCH
            n = rows * cols
            if len(image_strings) <= side:
                raise BitstreamError("corrupt recurrent file: no iterations")
            counts = _counts(image_strings[0], n, len(image_strings) - side)
            modes = _modes(image_strings[1], n) if side == 2 else \
                torch.full((n,), INPAINTING if self.prediction == "single" else NO_PREDICTION)
            bits1 = _bits(image_strings[side], n)

            def first(canvas, blocks, index):
                return self._first(canvas, blocks, self._predict(canvas, blocks, modes[index]), bits1[index])

            reconstruction, state = self._first_pass(rows, cols, first)
            later = ((lambda m, s=s: _bits(s, m)) for s in image_strings[side + 1:])
            out.append(_image(self._rest(reconstruction, state, later, counts), (h, w)).clamp_(0, 1))
        return out


def _bits(data: bytes, n: int) -> torch.Tensor:
    """``n`` blocks' bits of one iteration (+-1) from its string."""
    return torch.from_numpy(2.0 * decode_bits(data, _contexts(n), CONTEXTS) - 1.0).float()


def _modes(data: bytes, n: int) -> torch.Tensor:
    """The ``n`` blocks' modes; BitstreamError unless one valid mode per block."""
    stream = zlib.decompressobj()
    try:
        raw = stream.decompress(data, n + 1)
    except zlib.error:
        raise BitstreamError("corrupt recurrent file: unreadable block modes") from None
    if not stream.eof or stream.unused_data or len(raw) != n:
        raise BitstreamError("corrupt recurrent file: block modes do not fit the image")
    modes = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()
    if (modes >= MODES).any():
        raise BitstreamError("corrupt recurrent file: unknown block mode")
    return modes


def _read_counts(data: bytes, most: int) -> np.ndarray:
    try:
        z = zlib.decompressobj()
        raw = z.decompress(data, most + 1)
    except zlib.error:
        raise BitstreamError("corrupt recurrent file: unreadable block counts") from None
    counts = np.frombuffer(raw, dtype=np.uint8)
    if len(counts) > most or not z.eof or z.unused_data or counts.min(initial=1) < 1:
        raise BitstreamError("corrupt recurrent file: block counts do not fit the image")
    return counts


def _counts(data: bytes, n: int, iterations: int) -> torch.Tensor:
    """The ``n`` blocks' iteration counts from their string; BitstreamError if invalid or if
    one exceeds the ``iterations`` the file holds."""
    counts = _read_counts(data, n)
    if len(counts) != n or counts.max(initial=1) > iterations:
        raise BitstreamError("corrupt recurrent file: block counts do not fit the image")
    return torch.from_numpy(counts.astype(np.int64))


def truncate_counts(data: bytes, k: int, most: int) -> bytes:
    """The block-count string of a file cut to ``k`` iterations (each count at most ``k``), as
    the encoder writes it; ``most``: the blocks a patch of the file can have."""
    return zlib.compress(np.minimum(_read_counts(data, most), k).astype(np.uint8).tobytes(), 9)
