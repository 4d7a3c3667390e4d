"""Building blocks of the recurrent progressive codec (Toderici et al., CVPR 2017): a
convolutional LSTM cell and the stochastic binarizer."""

import torch
from torch import nn


class ConvLSTM(nn.Module):
    """A convolutional LSTM cell: ``forward(x, state) -> (h, (h, c))``. The input convolution
    has ``stride`` and ``kernel``; the hidden-to-hidden one is ``hidden_kernel`` wide, stride 1.
    ``state=None`` starts from zeros."""

    def __init__(self, in_ch: int, hidden: int, kernel: int = 3, stride: int = 1, hidden_kernel: int = 1):
        super().__init__()
        self.hidden, self.stride = hidden, stride
        self.input = nn.Conv2d(in_ch, 4 * hidden, kernel, stride=stride, padding=kernel // 2)
        self.recurrent = nn.Conv2d(hidden, 4 * hidden, hidden_kernel, padding=hidden_kernel // 2, bias=False)

    def forward(self, x: torch.Tensor, state=None):
        gates = self.input(x)
        if state is None:
            h = c = torch.zeros(len(x), self.hidden, *gates.shape[2:], dtype=gates.dtype, device=gates.device)
        else:
            h, c = state
        i, f, g, o = (gates + self.recurrent(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


def binarize(x: torch.Tensor, training: bool) -> torch.Tensor:
    """x in [-1, 1] -> {-1, +1}. Training: +1 with probability (1 + x) / 2, so that the
    expectation is x, with the gradient passed straight through; inference: the sign (0 -> +1)."""
    if not training:
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    sample = torch.where(torch.rand_like(x) < (1 + x) / 2, torch.ones_like(x), -torch.ones_like(x))
    return sample + (x - x.detach())  # exactly +-1, with the gradient of x
