"""The latent-codec interface, and the coding loop of the Gaussian-conditional codecs.

A latent codec codes the (gained) latent ``y`` of an image:

- ``forward(y, levels=None, quantize=None) -> LatentOut(y_hat, likelihoods, extras)``:
  training, for a batch with one rate level per image (``levels``, or None); ``quantize``
  replaces training's noise and straight-through rounding (refinement, see ``refine``).
- ``compress(y, rate, path, precision="reference") -> Coded(strings, y_hat)``: a batch of
  one, at a ``rate.RatePoint``, with the table-choosing arithmetic of an ``entropy.paths``
  path; ``y_hat`` is exactly what ``decompress`` returns. ``precision``: of the
  encoder-only transforms inside the codec (a hyper-analysis; see ``numerics``).
- ``decompress(strings, shape, rate, path) -> y_hat`` for a latent of spatial ``shape``.
- ``num_strings``: how many strings (file sections) ``compress`` returns.

A *conditional* codec codes ``y`` given parameters from a hyperprior (``params``, the
hyper-synthesis output): ``forward(y, params, levels, quantize)``, and
``passes(params, shape, y_hat, rate, path)``, a generator of ``(positions, scales, means)``,
each ``(1, C, 1, n)`` at the flat ``positions`` it codes next, reading the decoded values
of earlier passes from ``y_hat`` (C x H*W, filled by the caller between passes). One pass
codes everything at once; a context model codes in several. ``encode``, ``decode`` and
``pass_params`` run those passes, one string per pass.
"""

from typing import NamedTuple

import torch

from ..entropy import coder
from ..entropy.paths import DTYPE
from ..errors import BitstreamError
from ..numerics import entropy_scope


class LatentOut(NamedTuple):
    y_hat: torch.Tensor
    likelihoods: dict
    extras: dict


class Coded(NamedTuple):
    strings: list
    y_hat: torch.Tensor


def _indexes(codec, scales, rate, path):
    with entropy_scope():
        return path.indexes(path.floored(scales, codec.gaussian.scale_floors, rate), rate.step)


def _symbols(flat, positions, scales, means, step):
    centered = flat[:, positions].view_as(scales)
    return torch.round((centered - means if means is not None else centered) / step)


def _values(symbols, means, step, channels):
    v = symbols.to(DTYPE) * step
    return (v + means if means is not None else v).view(channels, -1)


def encode(codec, y: torch.Tensor, params: torch.Tensor, rate, path) -> Coded:
    """A conditional ``codec``'s strings for ``y`` (1 x C x H x W), one per pass."""
    flat = y.float()[0].flatten(1)
    y_hat = torch.zeros(flat.shape, dtype=DTYPE)
    strings = []
    for positions, scales, means in codec.passes(params, y.shape[2:], y_hat, rate, path):
        indexes = _indexes(codec, scales, rate, path)
        symbols = _symbols(flat, positions, scales, means, rate.step)
        strings.append(coder.encode(symbols.reshape(-1).numpy(), indexes.reshape(-1).numpy(), codec.gaussian.tables))
        y_hat[:, positions] = _values(symbols, means, rate.step, len(flat))
    return Coded(strings, y_hat.view_as(y))


def decode(codec, strings: list, params: torch.Tensor, shape: tuple[int, int], rate, path) -> torch.Tensor:
    """Inverse of ``encode``: y_hat (1 x C x H x W, float64) of spatial ``shape``."""
    if len(strings) != codec.num_strings:
        raise BitstreamError(f"latent has {len(strings)} strings; its codec codes {codec.num_strings}")
    channels = codec.latent_channels(params)
    y_hat = torch.zeros(channels, shape[0] * shape[1], dtype=DTYPE)
    for data, (positions, scales, means) in zip(strings, codec.passes(params, shape, y_hat, rate, path)):
        indexes = _indexes(codec, scales, rate, path)
        symbols = torch.from_numpy(coder.decode(data, indexes.reshape(-1).numpy(), codec.gaussian.tables))
        y_hat[:, positions] = _values(symbols.to(scales.dtype).view_as(scales), means, rate.step, channels)
    return y_hat.view(1, channels, *shape)


def pass_params(codec, y: torch.Tensor, params: torch.Tensor, rate, path):
    """(scales before the floor, means or None), each 1 x C x H x W, exactly as ``encode``
    derives them for ``y``, pass by pass."""
    flat = y.float()[0].flatten(1)
    y_hat, scales_map, means_map = (torch.zeros(flat.shape, dtype=DTYPE) for _ in range(3))
    has_means = False
    for positions, scales, means in codec.passes(params, y.shape[2:], y_hat, rate, path):
        symbols = _symbols(flat, positions, scales, means, rate.step)
        y_hat[:, positions] = _values(symbols, means, rate.step, len(flat))
        scales_map[:, positions] = scales.view(len(flat), -1)
        if means is not None:
            has_means = True
            means_map[:, positions] = means.view(len(flat), -1)
    return scales_map.view_as(y), (means_map.view_as(y) if has_means else None)
