"""Learned intra predictors of 32x32 blocks from their decoded causal neighbours.

- ``InpaintingPredictor`` (Minnen et al., ICIP 2017; the thesis's Table 4.1): a 64x64 input
  whose lower-right 32x32 quarter is the unknown block (zeroed), its top-left, top and left
  neighbours known; four stride-2 convolutions to 4x4, a fully connected bottleneck (a
  depthwise 4x4 convolution to 8192 values), transposed convolutions back to 32x32x3.
- ``ExtendedContextPredictor`` (the thesis's second predictor): the four causal neighbours
  (top-left, top, top-right, left) stacked as a 4 x 32 x 32 x 3 volume; 3-D convolutions in the
  first two layers, then the same bottleneck and decoder.

Both take and return samples in [0, 1]; ``windows`` cuts training examples from 96x64
windows (two rows of three blocks: top-left, top, top-right above; left and the target below).
"""

import json

import torch
from torch import nn

BLOCK = 32
BOTTLENECK = 8192


def _decoder(width: int) -> nn.Sequential:
    """1x1x8192 -> 32x32x3: reshaped to 4x4x512, three stride-2 transposed convolutions."""
    return nn.Sequential(
        nn.Unflatten(1, (BOTTLENECK // 16, 4, 4)),
        nn.ConvTranspose2d(BOTTLENECK // 16, width * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(width * 2, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(width, 3, 4, stride=2, padding=1), nn.Sigmoid())


def _bottleneck(channels: int) -> nn.Sequential:
    """The fully connected layer as a depthwise 4x4 convolution over the 4x4 map: each channel
    to 8192 / channels outputs, 8192 values in all."""
    return nn.Sequential(nn.Conv2d(channels, BOTTLENECK, 4, groups=channels), nn.LeakyReLU(0.2), nn.Flatten())


class InpaintingPredictor(nn.Module):
    """``forward(context)``: context N x 3 x 64 x 64 (lower-right quarter ignored) -> the
    predicted block, N x 3 x 32 x 32."""

    def __init__(self, width: int = 64):
        super().__init__()
        layers, c = [], 3
        for out in (width, width * 2, width * 4, width * 8):  # 64 -> 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(c, out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c = out
        self.encoder = nn.Sequential(*layers, _bottleneck(c))
        self.decoder = _decoder(width)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        context = context.clone()
        context[:, :, BLOCK:, BLOCK:] = 0  # the unknown block
        return self.decoder(self.encoder(context))


class ExtendedContextPredictor(nn.Module):
    """``forward(neighbours)``: N x 4 x 3 x 32 x 32 (top-left, top, top-right, left) -> the
    predicted block, N x 3 x 32 x 32."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.volume = nn.Sequential(  # channels x neighbours x height x width
            nn.Conv3d(3, width, (2, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1)), nn.LeakyReLU(0.2),  # 4 -> 3, 32 -> 16
            nn.Conv3d(width, width * 2, (3, 4, 4), stride=(1, 2, 2), padding=(0, 1, 1)), nn.LeakyReLU(0.2))  # 3 -> 1
        self.planes = nn.Sequential(
            nn.Conv2d(width * 2, width * 4, 4, stride=2, padding=1), nn.LeakyReLU(0.2),  # 8 -> 4
            nn.Conv2d(width * 4, width * 8, 3, padding=1), nn.LeakyReLU(0.2),
            _bottleneck(width * 8))
        self.decoder = _decoder(width)

    def forward(self, neighbours: torch.Tensor) -> torch.Tensor:
        x = self.volume(neighbours.transpose(1, 2))  # N x 3 x 4 x 32 x 32 in
        return self.decoder(self.planes(x[:, :, 0]))


def windows(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """From N x 3 x 64 x 96 windows: (the 64x64 inpainting context, the four neighbours
    N x 4 x 3 x 32 x 32, the target block)."""
    b = BLOCK
    top_left, top, top_right = images[:, :, :b, :b], images[:, :, :b, b: 2 * b], images[:, :, :b, 2 * b:]
    left, target = images[:, :, b:, :b], images[:, :, b:, b: 2 * b]
    return images[:, :, :, : 2 * b], torch.stack([top_left, top, top_right, left], dim=1), target


KINDS = {"inpainting": InpaintingPredictor, "extended": ExtendedContextPredictor}


def build_predictor(kind: str, width: int = 64) -> nn.Module:
    if kind not in KINDS:
        raise ValueError(f"unknown intra predictor {kind!r}; kinds: {', '.join(KINDS)}")
    return KINDS[kind](width=width)


def load_predictor(path) -> nn.Module:
    """A predictor written by ``tilecodec train-intra`` (its kind and width are in the file's
    metadata; weights may be stored in float16), in float32 and eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["intra"])
    model = build_predictor(meta["kind"], meta["width"])
    model.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return model.eval()


def bundled(kind: str) -> nn.Module:
    """The bundled, trained ``kind`` predictor ("inpainting" or "extended"), shipped in the
    ``tilecodec-research`` companion package; ModelError if it is not installed."""
    from ..errors import ModelError
    from ..zoo import bundled_file

    if kind not in KINDS:
        raise ValueError(f"unknown intra predictor {kind!r}; kinds: {', '.join(KINDS)}")
    path = bundled_file(f"intra-{kind}.safetensors")
    if path is None:
        raise ModelError("the learned intra predictors ship in the tilecodec-research package: "
                         'pip install "tilecodec[research]"')
    return load_predictor(path)
