"""The distributions a context model's passes code under: how a pass's parameters split, what
training rounds around, and how a pass's elements are coded exactly.

- ``GaussianCoding``: a Gaussian per element, ``(scales, means)``; the symbol
  ``round((y - mean) / step)`` with the table row of its scale (``entropy.gaussian``).
- ``MixtureCoding``: a discretized Gaussian mixture per element, ``(logits, means, scales)``
  each with a component axis; the symbol ``round(y / step)`` minus an integer center, with an
  integer pmf built from exact quantities (``entropy.mixture``).

Both take a pass's parameters as the entropy path computed them, ``(1, P, 1, n)`` rows split
by ``split``, and a ``conditional`` module holding the tables and scale floors (the codec's
``gaussian``). ``encode`` codes into a ``coder.StreamEncoder`` and returns the decoded values
(c, n) float64; ``decode`` reads them back from a ``coder.StreamDecoder`` or, for a pass with a
string of its own, from its bytes; ``values`` is what ``encode`` returns, without coding;
``bits`` is the model's own estimate of a pass's cost.
"""

import numpy as np
import torch

from ..entropy import GaussianConditional, coder
from ..entropy.gaussian import SCALE_MIN
from ..entropy.mixture import MEAN_RANGE, WEIGHT_MIN, GaussianMixtureConditional, mixture_pmfs
from ..entropy.paths import DTYPE, floor_scales
from ..numerics import entropy_scope
from .base import LatentOut


def gaussian_forward(gaussian: GaussianConditional, y: torch.Tensor, scales: torch.Tensor,
                     means: torch.Tensor | None, training: bool, quantize=None) -> LatentOut:
    """Training: (y_hat rounded with a straight-through gradient, {"y": likelihoods under
    additive noise (``training``) or rounding}, {"normalized": (y - means) / scales}).
    ``quantize`` (a function of ``y - means``, see ``refine``) gives both y_hat and the value
    whose likelihood counts."""
    mu = means if means is not None else torch.zeros_like(y)
    if quantize is not None:
        y_hat = noisy = quantize(y - mu) + mu
    else:
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if training else torch.round(y - mu) + mu
        y_hat = y + (torch.round(y - mu) + mu - y).detach()
    normalized = (y.float() - mu) / scales.float().clamp_min(SCALE_MIN)
    return LatentOut(y_hat, {"y": gaussian.likelihood(noisy, scales, means)}, {"normalized": normalized})


def _indexes(conditional, scales, rate, path):
    with entropy_scope():
        return path.indexes(path.floored(scales, conditional.scale_floors, rate), rate.step)


class GaussianCoding:
    """One Gaussian per element: rows are all scales, then all means."""

    def split(self, rows: torch.Tensor):
        scales, means = rows.chunk(2, dim=1)
        return scales, means

    def center(self, params):
        """What training rounds ``y`` around: the means."""
        return params[1]

    def quantized(self, conditional, y_hat, params, levels) -> LatentOut:
        """Refinement: the likelihoods of an already quantized ``y_hat``, coding scale floors."""
        scales, means = params
        floored = floor_scales(scales, conditional.scale_floors, levels)
        return LatentOut(y_hat, {"y": conditional.likelihood(y_hat, floored, means)}, {})

    def forward(self, conditional, y, params, levels, quantize, training) -> LatentOut:
        """Training: ``gaussian_forward``; with ``quantize`` (refinement), coding scale floors."""
        scales, means = params
        if quantize is not None:
            scales = floor_scales(scales, conditional.scale_floors, levels)
        return gaussian_forward(conditional, y, scales, means, training, quantize)

    def _symbols(self, y, scales, means, step):
        centered = y.reshape(scales.shape)
        return torch.round((centered - means if means is not None else centered) / step)

    def _values(self, symbols, means, step):
        v = symbols.to(DTYPE) * step
        return (v + means if means is not None else v).view(symbols.shape[1], -1)

    def values(self, y, params, rate) -> torch.Tensor:
        """What ``encode`` returns for ``y``, without coding."""
        scales, means = params
        return self._values(self._symbols(y.to(DTYPE), scales, means, rate.step), means, rate.step)

    def encode(self, conditional, stream, y, params, rate, path) -> torch.Tensor:
        scales, means = params
        symbols = self._symbols(y, scales, means, rate.step)
        stream.encode(symbols.reshape(-1).numpy(), _indexes(conditional, scales, rate, path).reshape(-1).numpy())
        return self._values(symbols, means, rate.step)

    def decode(self, conditional, source, params, rate, path) -> torch.Tensor:
        scales, means = params
        rows = _indexes(conditional, scales, rate, path).reshape(-1).numpy()
        symbols = source.decode(rows) if isinstance(source, coder.StreamDecoder) else \
            coder.decode(source, rows, conditional.tables)
        return self._values(torch.from_numpy(symbols).to(scales.dtype).view_as(scales), means, rate.step)

    def bits(self, conditional, y, params, rate, path) -> float:
        scales, means = params
        symbols = self._symbols(y.float(), scales, means, rate.step)
        floored = path.floored(scales, conditional.scale_floors, rate)
        return float(-torch.log2(conditional.likelihood(symbols, floored / rate.step, None).double()).sum())


class MixtureCoding:
    """K Gaussians per element: rows are all components' logits, then means, then scales."""

    def __init__(self, components: int = 3):
        self.components = components

    def split(self, rows: torch.Tensor):
        k = self.components
        return tuple(p.reshape(p.shape[0], k, p.shape[1] // k, *p.shape[2:]) for p in rows.chunk(3, dim=1))

    def center(self, params):
        """Training rounds ``y`` itself (there is no one mean)."""
        return 0.0

    def quantized(self, conditional, y_hat, params, levels) -> LatentOut:
        logits, means, scales = params
        floored = floor_scales(scales.flatten(1, 2), conditional.scale_floors, levels).view_as(scales)
        return LatentOut(y_hat, {"y": conditional.likelihood(y_hat, logits, means, floored)}, {})

    def forward(self, conditional, y, params, levels, quantize, training) -> LatentOut:
        """Training: ``y`` rounded (straight-through), the likelihoods of ``y`` plus noise
        (``training``) or rounded; with ``quantize`` (refinement), of ``quantize(y)``."""
        logits, means, scales = params
        if quantize is not None:
            y_hat = noisy = quantize(y)
            scales = floor_scales(scales.flatten(1, 2), conditional.scale_floors, levels).view_as(scales)
        else:
            noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if training else torch.round(y)
            y_hat = y + (torch.round(y) - y).detach()
        return LatentOut(y_hat, {"y": conditional.likelihood(noisy, logits, means, scales)},
                         {"normalized": conditional.standardized(y, logits, means, scales)})

    def integers(self, conditional, params, rate, path):
        """(center (c, n) float64, then the pmfs' integers (c * n, K) int64: scale indexes,
        mean quarters, log-weights), exactly as encoder and decoder derive them."""
        indexes = _indexes(conditional, params[2], rate, path)[0, :, :, 0]
        logits, means = (p.to(DTYPE)[0, :, :, 0] for p in params[:2])  # (K, c, n)
        m = means / rate.step
        top = logits.argmax(dim=0, keepdim=True)  # the first largest
        center = torch.round(m.gather(0, top))
        quarters = torch.round(4 * (m - center)).clamp(-4 * MEAN_RANGE, 4 * MEAN_RANGE)
        log_weights = torch.round(4 * (logits - logits.gather(0, top))).clamp(WEIGHT_MIN, 0)
        as_rows = [t.flatten(1).T.numpy().astype(np.int64) for t in (indexes, quarters, log_weights)]
        return center[0], as_rows

    def _pmfs(self, conditional, params, rate, path):
        center, (indexes, quarters, log_weights) = self.integers(conditional, params, rate, path)
        lo, length, groups = mixture_pmfs(conditional.tables, indexes, quarters, log_weights)
        key = np.concatenate([indexes.ravel(), quarters.ravel(), log_weights.ravel(),
                              center.flatten().numpy().astype(np.int64)])
        return center, lo, length, groups, key

    def values(self, y, params, rate) -> torch.Tensor:
        return torch.round(y.to(DTYPE) / rate.step) * rate.step

    def encode(self, conditional, stream, y, params, rate, path) -> torch.Tensor:
        center, lo, length, groups, key = self._pmfs(conditional, params, rate, path)
        symbols = torch.round(y.to(DTYPE).reshape(center.shape) / rate.step) - center
        stream.encode_pmfs(symbols.flatten().numpy(), lo, length, groups, key)
        return (symbols + center) * rate.step

    def decode(self, conditional, source, params, rate, path) -> torch.Tensor:
        center, lo, length, groups, key = self._pmfs(conditional, params, rate, path)
        stream = source if isinstance(source, coder.StreamDecoder) else coder.StreamDecoder(source, conditional.tables)
        symbols = torch.from_numpy(stream.decode_pmfs(lo, length, groups, key)).to(DTYPE).view_as(center)
        if stream is not source:
            stream.finish()
        return (symbols + center) * rate.step

    def bits(self, conditional, y, params, rate, path) -> float:
        logits, means, scales = params
        floored = path.floored(scales, conditional.scale_floors, rate)
        y_q = torch.round(y.float().reshape(means.shape[0], *means.shape[2:]) / rate.step)
        lik = conditional.likelihood(y_q, logits, means / rate.step, floored / rate.step)
        return float(-torch.log2(lik.double()).sum())


GAUSSIAN = GaussianCoding()


def conditional(levels: int | None, mixture: int | None):
    """(the module holding the tables and floors, its coding): Gaussians, or discretized
    Gaussian mixtures of ``mixture`` components."""
    if mixture:
        return GaussianMixtureConditional(levels, mixture), MixtureCoding(mixture)
    return GaussianConditional(levels), GAUSSIAN
