"""Progressive coding of whole images with the recurrent patch codec (Toderici et al., CVPR
2017; ``models.recurrent``): the image is cut into 32x32 blocks (padded to a multiple of 32),
all blocks go through the networks together, and each iteration's bits (2 x 2 x 32 per block)
are one string, range-coded with one probability per bit channel measured on that string
(``entropy.binary``).

``quality`` chooses the number of iterations, ``1 + round(quality / 100 * (I - 1))`` for a
model of I iterations, so the strings of a file are its iterations in order: the first k of
them are the file of the quality that gives k iterations, and decode to exactly what the
first k iterations of the longer file decode to (the networks' states depend only on the bits
before them). ``api.truncate`` cuts a file so.
"""

import numpy as np
import torch
import torch.nn.functional as F

from ..entropy.binary import decode_bits, encode_bits
from ..rate import RateControl, check_quality
from .base import CompressionModel
from .recurrent import BITS, PATCH, RecurrentCodecNet

CONTEXTS = BITS  # one probability per channel of the binary code


def iterations_for(quality: float, iterations: int) -> int:
    """The iterations a file of ``quality`` holds, for a model of ``iterations``."""
    return 1 + int(round(check_quality(quality) / 100.0 * (iterations - 1)))


def quality_for(k: int, iterations: int) -> float:
    """The quality (as files store it) whose files hold ``k`` iterations."""
    q = check_quality(100.0 * (k - 1) / max(iterations - 1, 1))
    assert iterations_for(q, iterations) == k
    return q


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
    latent_stride = PATCH // 2  # 2 x 2 positions of the binary code per block

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
        return self.iterations

    def strings_at(self, quality: float) -> int:
        return iterations_for(quality, self.iterations)

    def forward(self, x: torch.Tensor, s=None) -> dict:
        raise NotImplementedError("train the recurrent networks with tilecodec train-recurrent")

    def update_tables(self) -> None:
        """Nothing to build: the bits' probabilities travel in each string."""

    @torch.no_grad()
    def compress(self, x, quality: float, refine: int = 0, path=None, max_pixels: int | None = None):
        """Each image's strings: one per iteration, in order."""
        k = self.strings_at(quality)
        out = []
        for batch in (list(x) if isinstance(x, (list, tuple)) else [x]):
            for image in batch.split(1):
                bits, _ = self.net.float().eval()(_blocks(image.float()), k)
                out.append([encode_bits((b > 0).numpy(), _contexts(len(b)), CONTEXTS) for b in bits])
        return out

    @torch.no_grad()
    def decompress(self, strings, sizes, quality: float, path=None, max_pixels: int | None = None):
        out = []
        for image_strings, (h, w) in zip(strings, sizes):
            n = (h // PATCH) * (w // PATCH)
            bits = [torch.from_numpy(2.0 * decode_bits(s, _contexts(n), CONTEXTS) - 1.0).float() for s in image_strings]
            blocks = self.net.float().eval().decode(bits)[-1]
            out.append(_image(blocks, (h, w)).clamp_(0, 1))
        return out
