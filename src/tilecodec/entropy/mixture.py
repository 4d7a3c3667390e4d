"""Discretized Gaussian mixture (Cheng et al., "Learned image compression with discretized
Gaussian mixture likelihoods and attention modules", CVPR 2020), with integer probabilities.

A latent element with K components (weight logits ``l_k``, means ``mu_k``, scales
``sigma_k``) is coded as the integer ``round(y / step)``. Training uses the float mixture
(``likelihood``). Coding builds the element's probabilities from exact quantities only, so
encoder and decoder derive the same integers on every machine:

- each component's scale becomes its table index, as the Gaussian conditional's does
  (``entropy.paths``);
- the element's *center* ``c`` is ``round(mu_top / step)`` of the component with the
  largest logit (the first on ties), and the symbol coded is ``round(y / step) - c``;
- each component's mean becomes ``f_k = round(4 * (mu_k / step - c))``, a quarter-step
  offset clamped to ``+-MEAN_RANGE`` steps;
- each weight becomes ``exp(j_k / 4)`` with ``j_k = round(4 * (l_k - l_top))`` clamped to
  ``WEIGHT_MIN``, as the integer ``round(2**20 * exp(j_k / 4))`` from correctly rounded
  decimal arithmetic (``weight_table``).

The component pmfs come from integer tables stored with the model (``MixtureTables``), one
per (scale index, quarter fraction of the mean), each summing to ``2**16`` with an escape
entry. The mixture's integer pmf over the union of the components' supports (plus one escape)
is ``1 + floor(P * (2**16 - L) / S)`` for the weighted sum ``P`` of the component entries
(``S``: their total, ``L``: the entries), the remainder going to the most probable entry: it
sums to ``2**16`` exactly and every symbol keeps a non-zero probability.
"""

import decimal
import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .gaussian import LIKELIHOOD_BOUND, SCALE_MIN, _std_cdf, scale_table
from .tables import ESCAPE_MARGIN, MAX_VALUE, PRECISION, quantize_pmf

FRACTIONS = 4        # component means to a quarter of the step
WEIGHT_MIN = -48     # log-weights to a quarter, down to exp(-12) of the top component's
WEIGHT_BITS = 20     # weights as integers of this many bits (the smallest is 6)
MEAN_RANGE = 64      # component means within this many steps of the element's center


@lru_cache(maxsize=1)
def weight_table() -> np.ndarray:
    """int64 ``round(2**WEIGHT_BITS * exp(j / 4))`` for ``j = WEIGHT_MIN .. 0`` (index
    ``j - WEIGHT_MIN``), correctly rounded: the same integers everywhere."""
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    scale = decimal.Decimal(1 << WEIGHT_BITS)
    return np.array([int((ctx.exp(decimal.Decimal(j) / 4) * scale).to_integral_value(context=ctx))
                     for j in range(WEIGHT_MIN, 1)], dtype=np.int64)


class MixtureTables(nn.Module):
    """The component tables, concatenated: buffers ``pmf`` (int32, flat), and per row
    (``scale index * FRACTIONS + fraction``) ``start`` into it, ``length`` (entries, the last
    being the escape) and ``offset`` (the value of entry 0). Empty until ``set`` (at export)."""

    def __init__(self):
        super().__init__()
        for name in ("pmf", "start", "length", "offset"):
            self.register_buffer(name, torch.zeros(0, dtype=torch.int32))
        self._arrays = None

    def set(self, rows: list[np.ndarray], offsets: list[int]) -> None:
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        self.pmf = torch.from_numpy(np.concatenate(rows).astype(np.int32))
        self.start = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32))
        self.length = torch.from_numpy(lengths.astype(np.int32))
        self.offset = torch.tensor(offsets, dtype=torch.int32)
        self._arrays = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("pmf", "start", "length", "offset"):
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        self._arrays = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __getstate__(self):
        return {**super().__getstate__(), "_arrays": None}

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(pmf, start, length, offset) as int64 arrays, cached."""
        if self._arrays is None:
            self._arrays = tuple(t.numpy().astype(np.int64) for t in (self.pmf, self.start, self.length, self.offset))
        return self._arrays

    def value_bound(self) -> int:
        """The largest magnitude a coded symbol may have (see ``CdfTables.value_bound``)."""
        _, _, length, offset = self.arrays()
        support = int(max(np.abs(offset).max(initial=0), np.abs(offset + length - 2).max(initial=0), 1)) + MEAN_RANGE
        return min(1 << int(math.ceil(math.log2(ESCAPE_MARGIN * support))), MAX_VALUE)


def mixture_pmfs(tables: MixtureTables, indexes: np.ndarray, quarters: np.ndarray, log_weights: np.ndarray):
    """Integer pmfs of n elements from their K components' ``indexes`` (scale table rows),
    mean ``quarters`` (``f_k``) and ``log_weights`` (``j_k``), each (n, K) int64.

    Returns ``(lo, length, groups)``: element e's pmf covers the values ``lo[e] ..
    lo[e] + length[e] - 2`` then its escape; ``groups`` is a list of ``(elements, probs)``
    with ``probs`` (len(elements), width) int64 rows (zero past ``length``), each summing to
    ``2**PRECISION``, every entry below ``length`` at least 1."""
    pmf, start, length, offset = tables.arrays()
    shift = np.floor_divide(quarters, FRACTIONS)
    rows = indexes * FRACTIONS + (quarters - shift * FRACTIONS)
    weights = weight_table()[log_weights - WEIGHT_MIN]
    comp_lo = offset[rows] + shift
    comp_hi = comp_lo + length[rows] - 2
    lo, hi = comp_lo.min(axis=1), comp_hi.max(axis=1)
    n_entries = hi - lo + 2
    total = weights.sum(axis=1) << PRECISION
    escape_mass = (weights * pmf[start[rows] + length[rows] - 1]).sum(axis=1)
    widths = np.maximum(4, 1 << np.ceil(np.log2(n_entries)).astype(np.int64))
    groups = []
    for width in np.unique(widths):
        elements = np.flatnonzero(widths == width)
        t = np.arange(width)
        values = lo[elements, None] + t[None, :]
        mass = np.zeros((len(elements), width), dtype=np.int64)
        for k in range(indexes.shape[1]):
            col = values - comp_lo[elements, k, None]
            inside = (col >= 0) & (col <= length[rows[elements, k], None] - 2)
            entry = pmf[np.where(inside, start[rows[elements, k], None] + col, 0)]
            mass += np.where(inside, weights[elements, k, None] * entry, 0)  # below 3 * 2**36
        n = n_entries[elements]
        mass[np.arange(len(elements)), n - 1] = escape_mass[elements]
        used = t[None, :] < n[:, None]
        probs = np.where(used, 1 + mass * ((1 << PRECISION) - n)[:, None] // total[elements, None], 0)
        top = mass.argmax(axis=1)
        probs[np.arange(len(elements)), top] += (1 << PRECISION) - probs.sum(axis=1)
        groups.append((elements, probs))
    return lo, n_entries, groups


class GaussianMixtureConditional(nn.Module):
    """Likelihoods for training, integer component tables for coding, and coding scale floors
    (one per rate level, as ``GaussianConditional``'s). ``components``: K."""

    def __init__(self, levels: int | None = None, components: int = 3, tail_mass: float = 1e-9):
        super().__init__()
        self.components = components
        self.tail_mass = tail_mass
        self.register_buffer("scale_table", scale_table())
        self.register_buffer("scale_floors", torch.full((levels or 1,), SCALE_MIN))
        self.tables = MixtureTables()

    def likelihood(self, y_hat: torch.Tensor, logits: torch.Tensor, means: torch.Tensor,
                   scales: torch.Tensor) -> torch.Tensor:
        """Mass of the unit interval around ``y_hat`` (N, C, ...) under the mixture, float32."""
        with torch.autocast("cpu", enabled=False), torch.autocast("cuda", enabled=False):
            v = torch.abs(y_hat.float()[:, None] - means.float())
            s = scales.float().clamp_min(SCALE_MIN)
            mass = _std_cdf((0.5 - v) / s) - _std_cdf((-0.5 - v) / s)
            lik = (torch.softmax(logits.float(), dim=1) * mass).sum(dim=1)
            return lik.clamp_min(LIKELIHOOD_BOUND)

    @staticmethod
    def standardized(y: torch.Tensor, logits: torch.Tensor, means: torch.Tensor, scales: torch.Tensor):
        """``(y - mean) / std`` of the mixture (the correlation loss's normalized latent)."""
        w = torch.softmax(logits.float(), dim=1)
        mean = (w * means.float()).sum(dim=1)
        second = (w * (scales.float().clamp_min(SCALE_MIN) ** 2 + means.float() ** 2)).sum(dim=1)
        return (y.float() - mean) / (second - mean ** 2).clamp_min(SCALE_MIN ** 2).sqrt()

    @torch.no_grad()
    def update_tables(self) -> None:
        """One integer table per (tabulated scale, quarter fraction of the mean); call at export."""
        multiplier = -float(torch.special.ndtri(torch.tensor(self.tail_mass / 2, dtype=torch.float64)))
        rows, offsets = [], []
        for s in self.scale_table.double().tolist():
            for r in range(FRACTIONS):
                mu = r / FRACTIONS
                lo, hi = math.floor(mu - s * multiplier), math.ceil(mu + s * multiplier)
                values = torch.arange(lo, hi + 1, dtype=torch.float64)
                pmf = (_std_cdf((values + 0.5 - mu) / s) - _std_cdf((values - 0.5 - mu) / s)).numpy()
                tail = 1.0 - float(pmf.sum())
                rows.append(quantize_pmf(np.clip(pmf, 0, None), tail))
                offsets.append(lo)
        self.tables.set(rows, offsets)
