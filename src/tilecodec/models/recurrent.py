"""The recurrent progressive patch codec's networks (Toderici et al., CVPR 2017; the thesis's
Table 4.2), for 32x32 patches, with widths scaled by ``width`` (64 gives the paper's
64/256/512 encoder; the thesis's model has 32.8 M parameters).

Encoder: a stride-2 convolution, three stride-2 convolutional LSTMs, a 1x1 convolution to 32
channels with tanh and the binarizer: 2 x 2 x 32 = 128 bits per patch and iteration. Decoder:
a 1x1 convolution, four convolutional LSTMs each followed by depth-to-space, and a 1x1
convolution to RGB. Iterations are additive: each codes the residual left by the
reconstructions so far, so one model serves every rate, and the first k iterations of a longer
code are a k-iteration code (the LSTM states depend only on what came before).
"""

import json

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.recurrent import ConvLSTM, binarize

PATCH = 32
BITS = 32  # channels of the binary code (2 x 2 positions per patch)


class RecurrentCodecNet(nn.Module):
    def __init__(self, width: int = 64):
        super().__init__()
        w = width
        self.e_conv = nn.Conv2d(3, w, 3, stride=2, padding=1)
        self.e_rnn = nn.ModuleList([ConvLSTM(w, 4 * w, 3, 2), ConvLSTM(4 * w, 8 * w, 3, 2),
                                    ConvLSTM(8 * w, 8 * w, 3, 2)])
        self.e_bits = nn.Conv2d(8 * w, BITS, 1)
        self.d_conv = nn.Conv2d(BITS, 8 * w, 1)
        self.d_rnn = nn.ModuleList([ConvLSTM(8 * w, 8 * w, 3), ConvLSTM(2 * w, 8 * w, 3),
                                    ConvLSTM(2 * w, 4 * w, 3), ConvLSTM(w, 2 * w, 3)])
        self.d_out = nn.Conv2d(w // 2, 3, 1)

    def encode_step(self, residual: torch.Tensor, state: list | None) -> tuple[torch.Tensor, list]:
        """One iteration's bits (N x 32 x 2 x 2, +-1) for ``residual`` (N x 3 x 32 x 32)."""
        state = state or [None] * len(self.e_rnn)
        x = self.e_conv(residual)
        new = []
        for cell, s in zip(self.e_rnn, state):
            x, s = cell(x, s)
            new.append(s)
        return binarize(torch.tanh(self.e_bits(x)), self.training), new

    def decode_step(self, bits: torch.Tensor, state: list | None) -> tuple[torch.Tensor, list]:
        """One iteration's output (N x 3 x 32 x 32), added to the reconstruction so far."""
        state = state or [None] * len(self.d_rnn)
        x = self.d_conv(bits)
        new = []
        for cell, s in zip(self.d_rnn, state):
            x, s = cell(x, s)
            new.append(s)
            x = F.pixel_shuffle(x, 2)
        return 0.5 * torch.tanh(self.d_out(x)), new

    def forward(self, x: torch.Tensor, iterations: int, start: torch.Tensor | None = None):
        """Code ``x`` (N x 3 x 32 x 32 in [0, 1]) for ``iterations`` iterations, starting from
        the reconstruction ``start`` (a prediction; default mid-grey). Returns (the bits of
        each iteration, the reconstruction after each iteration)."""
        reconstruction = torch.full_like(x, 0.5) if start is None else start
        e_state = d_state = None
        bits, outputs = [], []
        for _ in range(iterations):
            b, e_state = self.encode_step(x - reconstruction, e_state)
            out, d_state = self.decode_step(b, d_state)
            reconstruction = reconstruction + out
            bits.append(b)
            outputs.append(reconstruction)
        return bits, outputs

    def decode(self, bits: list, start: torch.Tensor | None = None) -> list:
        """The reconstructions after each iteration from the bits alone (the decoder's side)."""
        n = len(bits[0])
        reconstruction = torch.full((n, 3, PATCH, PATCH), 0.5, device=bits[0].device) if start is None else start
        state, outputs = None, []
        for b in bits:
            out, state = self.decode_step(b, state)
            reconstruction = reconstruction + out
            outputs.append(reconstruction)
        return outputs


def load_recurrent(path) -> RecurrentCodecNet:
    """The network ``tilecodec train-recurrent`` wrote to ``path``, in float32 and eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata()["recurrent"])
    net = RecurrentCodecNet(width=meta["width"])
    net.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
    return net.eval()
