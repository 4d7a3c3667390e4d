"""Progressive coding of whole images with the recurrent patch codec (Toderici et al., CVPR
2017; ``models.recurrent``): the image is cut into 32x32 blocks (padded to a multiple of 32),
all blocks go through the networks together, and each iteration's bits (2 x 2 x 32 per block)
are one string, range-coded with one probability per bit channel measured on that string
(``entropy.binary``).

``quality`` chooses the number of iterations, ``1 + round(quality / 100 * (I - 1))`` for a
model of I iterations. A file's strings are each block's iteration count (one byte per block,
zlib-compressed), then the iterations in order, each holding the bits of the blocks still
coding: the first k iterations are the file of the quality that gives k iterations, and
decode to exactly what the first k iterations of the longer file decode to (the networks'
states depend only on the bits before them). ``api.truncate`` cuts a file so.

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
from ..rate import RateControl, check_quality
from .base import CompressionModel
from .recurrent import BITS, PATCH, RecurrentCodecNet

CONTEXTS = BITS  # one probability per channel of the binary code
THRESHOLDS = (818, 650, 516, 410, 325, 258, 205, 163, 129, 103, 81, 65, 51, 41, 32, 25, 20, 16, 10, 6, 3)
DELTA = 0.7


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


def allocate(x: torch.Tensor, outputs: list, threshold: float, delta: float = DELTA) -> torch.Tensor:
    """Each block's iteration count (at least 1) from its reconstructions ``outputs`` after
    each iteration: stop at the first that brings its mean squared error (8-bit units) below
    ``threshold``, or before one that leaves more than ``delta`` of the error before it."""
    errors = torch.stack([((o.clamp(0, 1) - x) * 255).square().mean(dim=(1, 2, 3)) for o in outputs])  # k x n
    k = len(outputs)
    counts = torch.full((x.shape[0],), k, dtype=torch.long)
    for i in range(k - 1, -1, -1):  # the earliest stop wins
        counts = torch.where(errors[i] < threshold, torch.full_like(counts, i + 1), counts)
        if i:
            counts = torch.where(errors[i] > delta * errors[i - 1], torch.full_like(counts, i), counts)
    return counts


def _blocks(x: torch.Tensor) -> torch.Tensor:
    """1 x 3 x H x W (multiples of 32) -> (H/32 * W/32) x 3 x 32 x 32, row by row."""
    blocks = F.unfold(x, PATCH, stride=PATCH)  # 1 x (3*32*32) x n
    return blocks[0].T.reshape(-1, 3, PATCH, PATCH)


def _image(blocks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.fold(blocks.reshape(len(blocks), -1).T[None], size, PATCH, stride=PATCH)


def _contexts(n: int) -> np.ndarray:
    return np.broadcast_to(np.arange(BITS)[None, :, None, None], (n, BITS, 2, 2))


class RecurrentImageCodec(CompressionModel):
    """``width``: of the networks (``RecurrentCodecNet``); ``iterations``: at quality 100."""

    size_multiple = PATCH
    format4_multiple = None
    latent_stride = PATCH // 2  # 2 x 2 positions of the binary code per block

    allocate = False  # bit allocation per block (an encoder option; files decode either way)

    def __init__(self, width: int = 32, iterations: int = 16):
        super().__init__()
        self.net = RecurrentCodecNet(width)
        self.iterations = iterations
        self.latent_codec = None

    @property
    def rate_control(self) -> RateControl:
        return RateControl((), variable_step=False)

    @property
    def variable_rate(self) -> bool:
        return True

    @property
    def num_strings(self) -> int:
        return 1 + self.iterations

    def strings_at(self, quality: float) -> int:
        """The block counts, then one string per iteration."""
        return 1 + iterations_for(quality, self.iterations)

    def forward(self, x: torch.Tensor, s=None) -> dict:
        raise NotImplementedError("train the recurrent networks with tilecodec train-recurrent")

    def update_tables(self) -> None:
        """Nothing to build: the bits' probabilities travel in each string."""

    @torch.no_grad()
    def compress(self, x, quality: float, refine: int = 0, path=None, max_pixels: int | None = None):
        """Each image's strings: the blocks' iteration counts, then one string per iteration."""
        k = iterations_for(quality, self.iterations)
        out = []
        for batch in (list(x) if isinstance(x, (list, tuple)) else [x]):
            for image in batch.split(1):
                blocks = _blocks(image.float())
                bits, outputs = self.net.float().eval()(blocks, k)
                counts = allocate(blocks, outputs, threshold_for(quality)) if self.allocate else \
                    torch.full((len(blocks),), k, dtype=torch.long)
                strings = [zlib.compress(counts.to(torch.uint8).numpy().tobytes(), 9)]
                for i, b in enumerate(bits):
                    active = b[counts > i]
                    strings.append(encode_bits((active > 0).numpy(), _contexts(len(active)), CONTEXTS))
                out.append(strings)
        return out

    @torch.no_grad()
    def decompress(self, strings, sizes, quality: float, path=None, max_pixels: int | None = None):
        out = []
        net = self.net.float().eval()
        for image_strings, (h, w) in zip(strings, sizes):
            n = (h // PATCH) * (w // PATCH)
            counts = _counts(image_strings[0], n, len(image_strings) - 1)
            reconstruction = torch.full((n, 3, PATCH, PATCH), 0.5)
            coding = torch.arange(n)  # the blocks still coding; a block that stops never resumes
            state = None
            for i, s in enumerate(image_strings[1:]):
                keep = counts[coding] > i
                coding = coding[keep]
                if not len(coding):
                    break
                if state is not None:
                    state = [(hs[keep], cs[keep]) for hs, cs in state]
                b = torch.from_numpy(2.0 * decode_bits(s, _contexts(len(coding)), CONTEXTS) - 1.0).float()
                step, state = net.decode_step(b, state)
                reconstruction[coding] += step
            out.append(_image(reconstruction, (h, w)).clamp_(0, 1))
        return out


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
