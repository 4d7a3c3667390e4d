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
``passes(params, shape, y_hat, rate, path)``, a generator of ``(where, *pass_params)`` for
the elements it codes next, the parameters of the distribution its ``coding`` codes under
(``latent.conditional``: ``(scales, means)``, each ``(1, c, 1, n)``, for Gaussians; the
tables and scale floors are in the codec's ``gaussian`` module): ``where`` is a tensor of n flat
positions (all C channels, c = C) or a ``(channels, positions)`` index of ``y_hat`` (a
channel slice). Passes read the decoded values of earlier passes from ``y_hat`` (C x H*W,
filled by the caller between passes; a pass may adjust its own values when it resumes, as
latent residual prediction does). One pass
codes everything at once; a context model codes in several. ``encode``, ``decode``,
``estimate_bits`` and ``pass_params`` run those passes, one string per pass, or all in one string when the codec
has ``streamed = True`` (``entropy.coder.StreamEncoder``: many small passes).
"""

from typing import NamedTuple

import torch

from ..entropy import coder
from ..entropy.paths import DTYPE
from ..errors import BitstreamError


class LatentOut(NamedTuple):
    y_hat: torch.Tensor
    likelihoods: dict
    extras: dict


class Coded(NamedTuple):
    strings: list
    y_hat: torch.Tensor


def _index(where) -> tuple:
    return where if isinstance(where, tuple) else (slice(None), where)


def _stream_encoder(codec):
    return coder.StreamEncoder(codec.gaussian.tables)


def encode(codec, y: torch.Tensor, params: torch.Tensor, rate, path) -> Coded:
    """A conditional ``codec``'s strings for ``y`` (1 x C x H x W), one per pass (or one)."""
    flat = y.float()[0].flatten(1)
    y_hat = torch.zeros(flat.shape, dtype=DTYPE)
    streamed = getattr(codec, "streamed", False)
    stream = _stream_encoder(codec) if streamed else None
    strings = []
    for where, *pass_params in codec.passes(params, y.shape[2:], y_hat, rate, path):
        index = _index(where)
        into = stream or _stream_encoder(codec)
        y_hat[index] = codec.coding.encode(codec.gaussian, into, flat[index], pass_params, rate, path)
        if not streamed:
            strings.append(into.finish())
    return Coded([stream.finish()] if streamed else strings, y_hat.view_as(y))


def decode(codec, strings: list, params: torch.Tensor, shape: tuple[int, int], rate, path) -> torch.Tensor:
    """Inverse of ``encode``: y_hat (1 x C x H x W, float64) of spatial ``shape``."""
    if len(strings) != codec.num_strings:
        raise BitstreamError(f"latent has {len(strings)} strings; its codec codes {codec.num_strings}")
    channels = codec.latent_channels(params)
    y_hat = torch.zeros(channels, shape[0] * shape[1], dtype=DTYPE)
    stream = coder.StreamDecoder(strings[0], codec.gaussian.tables) if getattr(codec, "streamed", False) else None
    for k, (where, *pass_params) in enumerate(codec.passes(params, shape, y_hat, rate, path)):
        y_hat[_index(where)] = codec.coding.decode(codec.gaussian, stream or strings[k], pass_params, rate, path)
    if stream:
        stream.finish()  # the index checksum: no value leaves before it
    return y_hat.view(1, channels, *shape)


def estimate_bits(codec, y: torch.Tensor, params: torch.Tensor, rate, path) -> float:
    """The model's own estimate (sum of -log2 likelihoods) of the bits ``encode`` spends on
    the symbols of ``y``, pass by pass."""
    flat = y.float()[0].flatten(1)
    y_hat = torch.zeros(flat.shape, dtype=DTYPE)
    bits = 0.0
    for where, *pass_params in codec.passes(params, y.shape[2:], y_hat, rate, path):
        index = _index(where)
        bits += codec.coding.bits(codec.gaussian, flat[index], pass_params, rate, path)
        y_hat[index] = codec.coding.values(flat[index], pass_params, rate)
    return bits


def pass_params(codec, y: torch.Tensor, params: torch.Tensor, rate, path):
    """(scales before the floor, means or None), each 1 x C x H x W, exactly as ``encode``
    derives them for ``y``, pass by pass (codecs coding under Gaussians)."""
    flat = y.float()[0].flatten(1)
    y_hat, scales_map, means_map = (torch.zeros(flat.shape, dtype=DTYPE) for _ in range(3))
    has_means = False
    for where, scales, means in codec.passes(params, y.shape[2:], y_hat, rate, path):
        index = _index(where)
        centered = flat[index].reshape(scales.shape) - (means if means is not None else 0)
        values = torch.round(centered / rate.step).to(DTYPE) * rate.step + (means if means is not None else 0)
        y_hat[index] = values.view(scales.shape[1], -1)
        scales_map[index] = scales.view(scales.shape[1], -1)
        if means is not None:
            has_means = True
            means_map[index] = means.view(means.shape[1], -1)
    return scales_map.view_as(y), (means_map.view_as(y) if has_means else None)
