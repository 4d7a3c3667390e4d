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
``passes(params, shape, y_hat, rate, path)``, a generator of ``(where, scales, means)``,
each ``(1, c, 1, n)``, for the elements it codes next: ``where`` is a tensor of n flat
positions (all C channels, c = C) or a ``(channels, positions)`` index of ``y_hat`` (a
channel slice). Passes read the decoded values of earlier passes from ``y_hat`` (C x H*W,
filled by the caller between passes; a pass may adjust its own values when it resumes, as
latent residual prediction does). One pass
codes everything at once; a context model codes in several. ``encode``, ``decode`` and
``pass_params`` run those passes, one string per pass, or all in one string when the codec
has ``streamed = True`` (``entropy.coder.StreamEncoder``: many small passes).
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


def _index(where) -> tuple:
    return where if isinstance(where, tuple) else (slice(None), where)


def _symbols(flat, index, scales, means, step):
    centered = flat[index].reshape(scales.shape)
    return torch.round((centered - means if means is not None else centered) / step)


def _values(symbols, means, step):
    v = symbols.to(DTYPE) * step
    return (v + means if means is not None else v).view(symbols.shape[1], -1)


def encode(codec, y: torch.Tensor, params: torch.Tensor, rate, path) -> Coded:
    """A conditional ``codec``'s strings for ``y`` (1 x C x H x W), one per pass."""
    flat = y.float()[0].flatten(1)
    y_hat = torch.zeros(flat.shape, dtype=DTYPE)
    streamed = getattr(codec, "streamed", False)
    stream = coder.StreamEncoder(codec.gaussian.tables) if streamed else None
    strings = []
    for where, scales, means in codec.passes(params, y.shape[2:], y_hat, rate, path):
        index = _index(where)
        indexes = _indexes(codec, scales, rate, path)
        symbols = _symbols(flat, index, scales, means, rate.step)
        values, rows = symbols.reshape(-1).numpy(), indexes.reshape(-1).numpy()
        if streamed:
            stream.encode(values, rows)
        else:
            strings.append(coder.encode(values, rows, codec.gaussian.tables))
        y_hat[index] = _values(symbols, means, rate.step)
    return Coded([stream.finish()] if streamed else strings, y_hat.view_as(y))


def decode(codec, strings: list, params: torch.Tensor, shape: tuple[int, int], rate, path) -> torch.Tensor:
    """Inverse of ``encode``: y_hat (1 x C x H x W, float64) of spatial ``shape``."""
    if len(strings) != codec.num_strings:
        raise BitstreamError(f"latent has {len(strings)} strings; its codec codes {codec.num_strings}")
    channels = codec.latent_channels(params)
    y_hat = torch.zeros(channels, shape[0] * shape[1], dtype=DTYPE)
    tables = codec.gaussian.tables
    stream = coder.StreamDecoder(strings[0], tables) if getattr(codec, "streamed", False) else None
    for k, (where, scales, means) in enumerate(codec.passes(params, shape, y_hat, rate, path)):
        rows = _indexes(codec, scales, rate, path).reshape(-1).numpy()
        symbols = torch.from_numpy(stream.decode(rows) if stream else coder.decode(strings[k], rows, tables))
        y_hat[_index(where)] = _values(symbols.to(scales.dtype).view_as(scales), means, rate.step)
    if stream:
        stream.finish()  # the index checksum: no value leaves before it
    return y_hat.view(1, channels, *shape)


def pass_params(codec, y: torch.Tensor, params: torch.Tensor, rate, path):
    """(scales before the floor, means or None), each 1 x C x H x W, exactly as ``encode``
    derives them for ``y``, pass by pass."""
    flat = y.float()[0].flatten(1)
    y_hat, scales_map, means_map = (torch.zeros(flat.shape, dtype=DTYPE) for _ in range(3))
    has_means = False
    for where, scales, means in codec.passes(params, y.shape[2:], y_hat, rate, path):
        index = _index(where)
        symbols = _symbols(flat, index, scales, means, rate.step)
        y_hat[index] = _values(symbols, means, rate.step)
        scales_map[index] = scales.view(scales.shape[1], -1)
        if means is not None:
            has_means = True
            means_map[index] = means.view(means.shape[1], -1)
    return scales_map.view_as(y), (means_map.view_as(y) if has_means else None)
