"""Integer probability tables shared by encoder and decoder.

A table row ``i`` describes a discrete distribution over the integers
``offset[i] .. offset[i] + length[i] - 2`` plus one *escape* symbol (the last entry),
which stands for any value outside that support. Rows are quantized to integers summing
to ``2**PRECISION`` with every entry >= 1, so every value stays codable. Tables are built
once from a trained model (``quantize_pmf``) and stored with its weights: encoder and
decoder read the same integers and never rebuild them.
"""

import math

import numpy as np
import torch
from torch import nn

PRECISION = 16
ESCAPE_MARGIN = 16  # coded values may reach this many times the largest value a row holds
MAX_VALUE = 2 ** 24  # and never more than float32 holds exactly


def quantize_pmf(pmf: np.ndarray, tail_mass: float) -> np.ndarray:
    """Return int32 frequencies (len(pmf) + 1, last = escape) summing to 2**PRECISION, all >= 1."""
    probs = np.append(np.asarray(pmf, dtype=np.float64), max(float(tail_mass), 0.0))
    probs = np.clip(probs, 0.0, None)
    if not probs.sum() > 0:
        probs = np.ones_like(probs)
    total = 1 << PRECISION
    if len(probs) >= total:
        raise ValueError(f"table of {len(probs)} symbols does not fit {PRECISION}-bit precision")
    freq = np.maximum(1, np.round(probs / probs.sum() * (total - len(probs))).astype(np.int64) + 1)
    # fix the sum on the most probable entries, never going below 1
    excess = int(freq.sum()) - total
    while excess != 0:
        order = np.argsort(-freq)
        for j in order:
            if excess > 0 and freq[j] > 1:
                take = min(excess, int(freq[j]) - 1)
                freq[j] -= take
                excess -= take
            elif excess < 0:
                freq[j] -= excess
                excess = 0
            if excess == 0:
                break
    return freq.astype(np.int32)


class CdfTables(nn.Module):
    """Buffers ``pmf`` (rows x max_len int32), ``length`` and ``offset`` (rows int32).

    Empty until ``set`` is called (at export); loading a state dict resizes them.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("pmf", torch.zeros(0, 0, dtype=torch.int32))
        self.register_buffer("length", torch.zeros(0, dtype=torch.int32))
        self.register_buffer("offset", torch.zeros(0, dtype=torch.int32))
        self._models = None

    def set(self, rows: list[np.ndarray], offsets: list[int]) -> None:
        """Store quantized rows (each from ``quantize_pmf``) with the value of their symbol 0."""
        width = max(len(r) for r in rows)
        pmf = np.zeros((len(rows), width), dtype=np.int32)
        for i, r in enumerate(rows):
            pmf[i, : len(r)] = r
        self.pmf = torch.from_numpy(pmf)
        self.length = torch.tensor([len(r) for r in rows], dtype=torch.int32)
        self.offset = torch.tensor(offsets, dtype=torch.int32)
        self._models = None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("pmf", "length", "offset"):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, torch.empty_like(state_dict[key]))
        self._models = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def __getstate__(self):
        """Copies and pickles leave out the cached coder models (rebuilt on first use)."""
        return {**super().__getstate__(), "_models": None}

    def value_bound(self) -> int:
        """The largest magnitude a coded value may have: the power of two at or above
        ``ESCAPE_MARGIN`` times the largest magnitude any row holds without its escape. Real
        latents stay far inside (on eval photos at most 177 for y, whose rows reach 1565,
        and 41 for z, whose rows reach 97); encoder and decoder refuse anything beyond."""
        offset = self.offset.numpy().astype(np.int64)
        top = offset + self.length.numpy().astype(np.int64) - 2
        support = int(max(np.abs(offset).max(initial=0), np.abs(top).max(initial=0), 1))
        return min(1 << int(math.ceil(math.log2(ESCAPE_MARGIN * support))), MAX_VALUE)

    def min_bits(self) -> np.ndarray:
        """Per row, the fewest bits any one symbol can cost: ``-log2`` of its largest
        probability. A stream of n symbols cannot be much shorter than the sum of these."""
        pmf = self.pmf.numpy().astype(np.float64)
        return -np.log2(pmf.max(axis=1, initial=1) / float(1 << PRECISION))

    def models(self) -> list:
        """One constriction categorical model per row, built once and cached."""
        if self._models is None:
            from constriction import stream

            Categorical = stream.model.Categorical

            pmf = self.pmf.numpy().astype(np.float64)
            self._models = [Categorical(pmf[i, : int(n)], perfect=False)
                            for i, n in enumerate(self.length.tolist())]
        return self._models
