"""Encoder-side latent refinement by stochastic Gumbel annealing (SGA; Yang, Bamler and
Mandt, "Improving inference for neural image compression", NeurIPS 2020).

The analysis transform guesses the latent in one pass. For one image, gradient descent on
the latent itself lowers the loss the model was trained for, ``bpp + lambda * D``, with
``lambda`` the model's trained value at the coded rate level. Rounding is relaxed: each
element goes down or up with Gumbel-softmax probabilities that favour the nearer integer,
at a temperature annealed towards hard rounding. Only the encoder changes: the files are
ordinary files of the same model and decode anywhere.
"""

import math

import torch

from .errors import ParameterError
from .losses import rd_loss
from .rate import RatePoint

# chosen on two tuning crops (experiments/refine_tuning); measured on others in docs/results.md
LEARNING_RATE = 0.005  # Adam, on the gained latent (quantization step 1)
TEMPERATURE = 0.5      # at the first step, annealed by exp(-ANNEALING * progress)
ANNEALING = 4.0


def soft_round(v: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """``floor(v)`` plus a Gumbel-softmax draw in [0, 1] between rounding down and up, with
    logits ``-atanh(distance) / temperature``: the nearer integer is likelier, and the draw
    tends to hard rounding as the temperature goes to 0."""
    down = torch.floor(v)
    r = (v - down).clamp(1e-5, 1 - 1e-5)
    logits = torch.stack([-torch.atanh(r), -torch.atanh(1 - r)], dim=-1) / temperature
    gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator).clamp_min(1e-10)))
    return down + torch.softmax(logits + gumbel, dim=-1)[..., 1]


def refine_latent(model, x: torch.Tensor, y: torch.Tensor, rate: RatePoint, steps: int,
                  seed: int = 0) -> torch.Tensor:
    """``y``, the gained latent of the images ``x`` (B x 3 x H x W, as ``model.latent``
    gives it at ``rate``), after ``steps`` Adam steps of SGA on each image's
    ``bpp + lambda * D`` (``D`` as in training for ``model.distortion``: ``255^2 * MSE`` or
    ``1 - MS-SSIM``; ``lambda`` the trained one at the rate's level). Deterministic: the
    Gumbel noise comes from ``seed``."""
    if model.gain is None or rate.lmbda is None:
        raise ParameterError("latent refinement needs a variable-rate model with gain units (trained lambdas)")
    levels = rate.levels(len(y))
    lmbda = model.rate_control.lmbda(levels)
    generator = torch.Generator().manual_seed(seed)
    y = y.detach().float().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([y], lr=LEARNING_RATE)
    with torch.enable_grad():
        for t in range(steps):
            temperature = TEMPERATURE * math.exp(-ANNEALING * t / steps)
            out = model.reconstruct(y, levels, quantize=lambda v: soft_round(v, temperature, generator))
            loss = rd_loss(out, x, lmbda, model.distortion)["loss"] * len(x)  # each image's own loss
            y.grad, = torch.autograd.grad(loss, [y])  # the weights get no gradient
            optimizer.step()
    return y.detach()
