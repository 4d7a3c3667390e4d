"""Entropy paths: how the numbers that choose each symbol's table are computed.

Encoder and decoder must derive the same table index and mean for every symbol, from the
hyper-latent through the hyper-synthesis, context model and entropy-parameter network to
the scale index. An ``EntropyPath`` owns that arithmetic: the copies of the layers it runs,
how a layer's input is clamped and its output rounded, gains, scale floors and table
indexes. Latent codecs take a path and never branch on how it computes.

- ``FLOAT64`` (``Float64Path``): plain float64, as format version 3 coded.
- ``FIXED_POINT`` (``FixedPointPath``): exact fixed-point arithmetic on float64
  (``tilecodec.fixed_point``), the same bits on every machine; format version 4.

Which path a file was coded with is the container's business (``container.entropy_path``).
Paths run outside autocast (``numerics.entropy_scope``), on one torch thread per job, or on
all of the caller's threads where ``exact_sums`` says that the order of sums cannot matter.
"""

import copy
import math
import threading
from weakref import WeakKeyDictionary

import torch
from torch import nn

from .. import fixed_point
from ..layers.conv import run_inference
from ..rate import RatePoint, interpolate
from .gaussian import SCALE_LEVELS, SCALE_MAX, SCALE_MIN

DTYPE = torch.float64


def floor_scales(scales: torch.Tensor, floors: torch.Tensor, levels: torch.Tensor | None,
                 step: float = 1.0) -> torch.Tensor:
    """``scales`` raised to the per-level ``floors`` (geometric between levels; the first
    floor without levels) times ``step``, computed in the dtype of ``scales``: training,
    refinement and the float64 path."""
    log_floors = torch.log(floors.to(scales.dtype))[:, None]
    floor = torch.exp(log_floors[:1]) if levels is None else torch.exp(interpolate(log_floors, levels))
    return torch.maximum(scales, floor[:, :, None, None] * step)


class EntropyPath:
    """The interface; see the module docstring. Layer copies are cached per module until its
    parameters change (training updates them in place)."""

    name = "entropy path"
    exact_sums = False  # whether every sum is exact, so that any order (threads) gives the same bits

    def __init__(self):
        self._copies = WeakKeyDictionary()
        self._lock = threading.Lock()

    def layers(self, module: nn.Module) -> nn.Module:
        """``module`` as this path runs it (a cached float64 copy)."""
        key = tuple((p.data_ptr(), p._version) for p in module.parameters())
        with self._lock:
            cached = self._copies.get(module)
            if cached is None or cached[0] != key:
                cached = (key, self._copy(module))
                self._copies[module] = cached
        return cached[1]

    def _copy(self, module: nn.Module) -> nn.Module:
        raise NotImplementedError

    def input(self, x: torch.Tensor) -> torch.Tensor:
        """A tensor entering the path (float64)."""
        raise NotImplementedError

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """A layer's output as the path keeps it, possibly changed in place: ``x`` must be a
        fresh result that nothing else holds."""
        raise NotImplementedError

    def clamp(self, x: torch.Tensor, layer: nn.Module) -> torch.Tensor:
        """A layer's input as the path feeds it (``layer`` from ``layers``)."""
        raise NotImplementedError

    def run(self, layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
        """``layers`` (from ``layers``) applied to ``x`` (from ``input``)."""
        raise NotImplementedError

    def gains(self, log_gain: torch.Tensor, level: float) -> torch.Tensor:
        """``exp`` of the rows of ``log_gain`` (levels x C) at ``level``: (1, C, 1, 1) float64."""
        raise NotImplementedError

    def floored(self, scales: torch.Tensor, floors: torch.Tensor, rate: RatePoint) -> torch.Tensor:
        """``scales`` as coded: at least the scale floor at ``rate``'s level times its step."""
        raise NotImplementedError

    def indexes(self, scales: torch.Tensor, step: float) -> torch.Tensor:
        """Table row of each element: the tabulated scale nearest (in log) to ``scales / step``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Float64Path(EntropyPath):
    """Plain float64 (format version 3): results depend on the kernels' summation order."""

    name = "float64"

    def _copy(self, module):
        return copy.deepcopy(module).to(DTYPE)

    def input(self, x):
        return x.to(DTYPE)

    def output(self, x):
        return x

    def clamp(self, x, layer):
        return x

    def run(self, layers, x):
        return run_inference(layers, x)

    def gains(self, log_gain, level):
        return torch.exp(interpolate(log_gain.to(DTYPE), torch.full((1,), level)))[:, :, None, None]

    def floored(self, scales, floors, rate):
        return floor_scales(scales, floors, rate.levels(), rate.step)

    def indexes(self, scales, step):
        s = (scales.double() / step).clamp(SCALE_MIN, SCALE_MAX)
        spacing = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (SCALE_LEVELS - 1)
        return torch.round((torch.log(s) - math.log(SCALE_MIN)) / spacing).long().clamp_(0, SCALE_LEVELS - 1)


class FixedPointPath(EntropyPath):
    """Exact fixed-point arithmetic on float64 (format version 4, ``tilecodec.fixed_point``):
    weights and activations on a grid, inputs clamped to bounds that keep every sum exact;
    gains, floors and index thresholds from correctly rounded decimal arithmetic."""

    name = "fixed-point"
    exact_sums = True

    def _copy(self, module):
        return fixed_point.exact_layers(module)

    def input(self, x):
        return fixed_point.on_grid(x.to(DTYPE))

    def output(self, x):
        return fixed_point.on_grid_(x)

    def clamp(self, x, layer):
        return fixed_point.clamp(x, layer)

    def run(self, layers, x):
        return fixed_point.run(layers, x)

    def gains(self, log_gain, level):
        return fixed_point.gains(log_gain, level)

    def floored(self, scales, floors, rate):
        floor = fixed_point.scale_floor(tuple(floors.double().tolist()), rate.level)
        return scales.clamp_min(floor * rate.step)

    def indexes(self, scales, step):
        edges = fixed_point.index_thresholds(SCALE_MIN, SCALE_MAX, SCALE_LEVELS)
        return torch.bucketize((scales.double() / step).contiguous(), edges, right=True)


FLOAT64 = Float64Path()
FIXED_POINT = FixedPointPath()
