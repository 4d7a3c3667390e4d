"""Exact arithmetic for the entropy path (format version 4).

Encoder and decoder must derive the same table index and mean for every symbol. A float
network's output depends on the order in which its kernels sum, which differs between
CPUs and libraries. Here every number on the entropy path is a multiple of ``2**-GRID_BITS``:
weights and activations are rounded to that grid, biases to its square, and each layer's
input is clamped to a bound (``input_bound``) under which every product and every partial
sum of the layer is a multiple of ``2**-(2 * GRID_BITS)`` below ``2**20`` in magnitude. Such
numbers are exact in float64 and so is their sum, in any order: every machine's float64
kernels (multiply and add, as ATen's and the BLAS's are) return the same bits. This is
integer arithmetic on float64's 53-bit mantissa, in the spirit of Ballé et al., "Integer
networks for data compression with latent-variable models" (ICLR 2019), without retraining
(what it costs against plain float64: docs/design.md).

The steps that need ``exp`` or ``log`` (gains, scale floors, the scale table's thresholds),
whose float results differ between math libraries, are computed with Python's ``decimal``
module, correctly rounded on every platform, and rounded to the grid.
"""

import copy
import decimal
import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from .layers.conv import subpixel_deconv
from .rate import DECIMAL as _DECIMAL, interpolate_exact

GRID_BITS = 16
_SCALE = float(2 ** GRID_BITS)
SUM_LIMIT = 2.0 ** 20  # bound on |partial sums|: 2**52 units of 2**-32, exact in float64


def on_grid(x: torch.Tensor) -> torch.Tensor:
    """``x`` (float64) rounded to the nearest multiple of ``2**-GRID_BITS`` (ties to even)."""
    return torch.round(x * _SCALE).div_(_SCALE)


def on_grid_(x: torch.Tensor) -> torch.Tensor:
    """``on_grid`` in place, for a tensor nothing else holds (a layer's fresh output)."""
    return x.mul_(_SCALE).round_().div_(_SCALE)


def _decimal_on_grid(v: decimal.Decimal) -> float:
    with decimal.localcontext(_DECIMAL):
        return float((v * (2 ** GRID_BITS)).to_integral_value()) / _SCALE


def input_bound(weight: torch.Tensor, bias: torch.Tensor | None, input_dims: tuple[int, ...]) -> float:
    """The largest power of two ``P`` such that, for inputs in ``[-P, P]``, every partial sum
    of the layer stays within ``SUM_LIMIT``: ``P * max_out sum |w| + max |b| <= SUM_LIMIT``.
    ``weight`` and ``bias`` must be on their grids (the sums are then exact)."""
    total = float(weight.abs().sum(dim=input_dims).max())
    slack = SUM_LIMIT - (float(bias.abs().max()) if bias is not None else 0.0)
    if total == 0.0:
        return SUM_LIMIT
    bound = 2.0 ** (math.frexp(slack / total)[1] - 1)  # <= slack / total
    while bound * total > slack:
        bound /= 2
    return bound


def exact_layers(module: nn.Module) -> nn.Module:
    """A float64 copy of ``module`` with every convolution's weight on the grid, its bias on
    the grid's square, and its ``input_bound`` set from the weights of each output channel
    (dims 1-3 of a convolution's weight, dims 0, 2, 3 of a transposed one's)."""
    module = copy.deepcopy(module).double().requires_grad_(False)
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            layer.weight.copy_(on_grid(layer.weight))
            if layer.bias is not None:
                layer.bias.copy_(torch.round(layer.bias * _SCALE * _SCALE) / (_SCALE * _SCALE))
            weight = layer.weight * getattr(layer, "mask", 1.0)
            dims = (0, 2, 3) if isinstance(layer, nn.ConvTranspose2d) else (1, 2, 3)
            layer.input_bound = input_bound(weight, layer.bias, dims)
    return module


def clamp(x: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """``x`` clamped to ``layer.input_bound``."""
    return x.clamp(-layer.input_bound, layer.input_bound)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int = 0) -> torch.Tensor:
    """A stride-1 convolution of one image (1 x C x H x W) as one matrix product over its
    unfolded patches: the same products as ``F.conv2d``, summed in another order (exact here),
    and on CPU faster in float64, whose convolutions have no optimized kernel."""
    k = weight.shape[2]
    h, w = x.shape[2] + 2 * padding - k + 1, x.shape[3] + 2 * padding - k + 1
    columns = F.unfold(x, k, padding=padding)[0]  # (C k k, h w)
    out = torch.mm(weight.flatten(1), columns)
    if bias is not None:
        out += bias[:, None]
    return out.view(1, -1, h, w)


def conv_transpose2d(x: torch.Tensor, layer: nn.ConvTranspose2d) -> torch.Tensor:
    """``layer(x)`` for one image (1 x C x H x W) as one matrix product, whose columns
    ``fold`` adds where they overlap: the same products as the layer, summed in another order
    (exact here), and no zero taps (``subpixel_deconv`` multiplies 36 taps for 25).
    ``layer``: square kernel and stride, no dilation or groups, output padding at most the
    padding."""
    k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
    h, w = x.shape[2:]
    columns = torch.mm(layer.weight.flatten(1).T, x[0].flatten(1))  # (C_out k k, h w)
    full = F.fold(columns[None], ((h - 1) * s + k, (w - 1) * s + k), k, stride=s)
    out_h = (h - 1) * s - 2 * p + k + layer.output_padding[0]
    out_w = (w - 1) * s - 2 * p + k + layer.output_padding[1]
    out = full[:, :, p: p + out_h, p: p + out_w]
    return out + layer.bias[:, None, None] if layer.bias is not None else out.contiguous()


def _foldable(layer: nn.ConvTranspose2d) -> bool:
    k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
    return (layer.kernel_size == (k, k) and layer.stride == (s, s) and layer.padding == (p, p)
            and layer.dilation == (1, 1) and layer.groups == 1 and max(layer.output_padding) <= p)


def run(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)`` for ``exact_layers`` output and grid input: each convolution's input
    clamped to its bound, every layer's output rounded to the grid (stride-2 transposed
    convolutions as ``conv_transpose2d``, convolutions as ``conv2d``: the same products,
    regrouped). The sums are exact, so any number of threads gives the same bits."""
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, nn.ConvTranspose2d) and _foldable(layer) and x.shape[0] == 1:
                x = conv_transpose2d(clamp(x, layer), layer)
            elif isinstance(layer, nn.ConvTranspose2d):
                x = subpixel_deconv(clamp(x, layer), layer)
            elif type(layer) is nn.Conv2d and _plain(layer) and x.shape[0] == 1:
                x = conv2d(clamp(x, layer), layer.weight, layer.bias, layer.padding[0])
            elif isinstance(layer, nn.Conv2d):
                x = layer(clamp(x, layer))
            else:
                x = layer(x)
            x = on_grid_(x)
    return x


def _plain(layer: nn.Conv2d) -> bool:
    """Stride 1, no dilation or groups, square kernel, equal integer padding."""
    k = layer.kernel_size[0]
    return (layer.stride == (1, 1) and layer.dilation == (1, 1) and layer.groups == 1
            and layer.kernel_size == (k, k) and layer.padding_mode == "zeros"
            and isinstance(layer.padding, tuple) and layer.padding[0] == layer.padding[1])


@lru_cache(maxsize=64)
def _gains(log_gain: tuple[tuple[float, ...], ...], s: float) -> tuple[float, ...]:
    columns = zip(*log_gain)  # per channel, one value per level
    return tuple(_decimal_on_grid(interpolate_exact(tuple(map(decimal.Decimal, c)), s).exp(_DECIMAL)) for c in columns)


def gains(log_gain: torch.Tensor, s: float) -> torch.Tensor:
    """``exp`` of the rows of ``log_gain`` (levels x C) interpolated at level ``s``, on the
    grid: (1, C, 1, 1) float64, the same on every machine."""
    rows = tuple(tuple(r) for r in log_gain.detach().double().tolist())
    return torch.tensor(_gains(rows, float(s)), dtype=torch.float64)[None, :, None, None]


@lru_cache(maxsize=64)
def scale_floor(floors: tuple[float, ...], s: float | None) -> float:
    """The scale floor at level ``s`` (geometric between the per-level ``floors``; the first
    one without levels), on the grid."""
    if s is None:
        return _decimal_on_grid(decimal.Decimal(floors[0]))
    logs = tuple(decimal.Decimal(f).ln(_DECIMAL) for f in floors)
    return _decimal_on_grid(interpolate_exact(logs, s).exp(_DECIMAL))


@lru_cache(maxsize=4)
def index_thresholds(scale_min: float, scale_max: float, levels: int) -> torch.Tensor:
    """The scales where the nearest tabulated scale (in log) changes: the geometric means of
    neighbouring entries of the log-spaced table, float64, the same on every machine."""
    with decimal.localcontext(_DECIMAL):
        lo, hi = decimal.Decimal(scale_min).ln(), decimal.Decimal(scale_max).ln()
        spacing = (hi - lo) / (levels - 1)
        edges = [float((lo + (k + decimal.Decimal("0.5")) * spacing).exp()) for k in range(levels - 1)]
    return torch.tensor(edges, dtype=torch.float64)
