"""The exact entropy path (format version 4): results independent of summation order, on the
fixed-point grid, and version 3 files still decode."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tilecodec
from tilecodec import fixed_point
from tilecodec.images import to_tensor
from tilecodec.entropy.gaussian import SCALE_LEVELS, SCALE_MAX, SCALE_MIN
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64

DATA = Path(__file__).parent / "data"


def test_input_bound_is_the_largest_power_of_two_that_keeps_every_sum_exact():
    torch.manual_seed(0)
    for scale in (1e-3, 0.1, 3.0):
        weight = fixed_point.on_grid(torch.randn(8, 16, 3, 3, dtype=torch.float64) * scale)
        bias = torch.randn(8, dtype=torch.float64)
        bound = fixed_point.input_bound(weight, bias, (1, 2, 3))
        worst = float(weight.abs().sum(dim=(1, 2, 3)).max())
        assert math.frexp(bound)[0] == 0.5  # a power of two
        assert bound * worst + float(bias.abs().max()) <= fixed_point.SUM_LIMIT
        assert 2 * bound * worst + float(bias.abs().max()) > fixed_point.SUM_LIMIT


def _permute_hidden(layers: torch.nn.Sequential, generator: torch.Generator) -> None:
    """Permute the hidden channels between consecutive convolutions of ``layers`` in place:
    the same function, with every next layer summing its inputs in another order."""
    convs = [m for m in layers if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    with torch.no_grad():
        for a, b in zip(convs, convs[1:]):
            out_dim = 1 if isinstance(a, torch.nn.ConvTranspose2d) else 0
            in_dim = 0 if isinstance(b, torch.nn.ConvTranspose2d) else 1
            order = torch.randperm(a.weight.shape[out_dim], generator=generator)
            a.weight.copy_(a.weight.index_select(out_dim, order))
            a.bias.copy_(a.bias[order])
            b.weight.copy_(b.weight.index_select(in_dim, order))


def _coding_state(lc, y, rate, path):
    """Everything the coder derives from the networks on ``path``: hyper output, scales,
    means and table indexes of every pass (non-anchor context from the decoded anchors)."""
    z_hat, scales, means = lc.coding_params(y, rate, path)
    indexes = path.indexes(path.floored(scales, lc.y.gaussian.scale_floors, rate), rate.step)
    return [lc.params(z_hat, rate, path), scales, means, indexes]


def _latent(model, array, quality):
    rate = model.rate_control.point(quality)
    return model.latent(to_tensor(np.ascontiguousarray(array), model.size_multiple), rate, "reference"), rate


def test_exact_entropy_path_does_not_depend_on_summation_order(photo):
    """Reordering every hidden layer's inputs (as another CPU's kernels reorder sums) leaves
    the exact path's results bit-identical; the plain float64 path's do change, so the
    reordering does reach the sums."""
    model = tilecodec.load("ckbd-mse").model
    y, rate = _latent(model, photo[:128, :192], 70.0)
    permuted = copy.deepcopy(model.latent_codec)
    generator = torch.Generator().manual_seed(1)
    _permute_hidden(permuted.hyper_synthesis, generator)
    _permute_hidden(permuted.y.entropy_parameters, generator)
    for a, b in zip(_coding_state(model.latent_codec, y, rate, FIXED_POINT), _coding_state(permuted, y, rate, FIXED_POINT)):
        assert torch.equal(a, b)
    plain = zip(_coding_state(model.latent_codec, y, rate, FLOAT64), _coding_state(permuted, y, rate, FLOAT64))
    assert not all(torch.equal(a, b) for a, b in plain)


def test_exact_path_gives_the_same_bits_on_one_and_two_threads(photo):
    """The exact path runs one job on every thread the caller has (its sums are exact), where
    the float64 path keeps one thread per job: thread count must not move a single bit."""
    model = tilecodec.load("ckbd-mse").model
    y, rate = _latent(model, photo[:192, :320], 60.0)
    before = torch.get_num_threads()
    try:
        states = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            states.append(_coding_state(model.latent_codec, y, rate, FIXED_POINT))
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*states):
        assert torch.equal(a, b)


def test_exact_convolutions_as_matrix_products_equal_torchs():
    torch.manual_seed(0)
    weight = fixed_point.on_grid(torch.randn(24, 16, 3, 3, dtype=torch.float64) * 0.1)
    bias = torch.round(torch.randn(24, dtype=torch.float64) * 2 ** 32) / 2 ** 32
    x = fixed_point.on_grid(torch.randn(1, 16, 7, 9, dtype=torch.float64) * 4)
    for padding in (0, 1):
        out = fixed_point.conv2d(x, weight, bias, padding)
        assert torch.equal(out, torch.nn.functional.conv2d(x, weight, bias, padding=padding))
    for k, stride, padding, output_padding in ((5, 2, 2, 1), (3, 2, 1, 1), (4, 2, 1, 0), (3, 1, 1, 0)):
        layer = torch.nn.ConvTranspose2d(16, 24, k, stride, padding, output_padding)
        layer = fixed_point.exact_layers(torch.nn.Sequential(layer))[0]
        out = fixed_point.conv_transpose2d(fixed_point.clamp(x, layer), layer)
        assert torch.equal(out, layer(fixed_point.clamp(x, layer)))


def test_exact_path_values_lie_on_the_grid(photo):
    model = tilecodec.load("ckbd-mse").model
    y, rate = _latent(model, photo[:64, :128], 30.0)
    hyper, scales, means, _ = _coding_state(model.latent_codec, y, rate, FIXED_POINT)
    for t in (hyper, scales, means):
        units = t * 2 ** fixed_point.GRID_BITS
        assert torch.equal(units, torch.round(units))


def test_exact_indexes_pick_the_nearest_tabulated_scale():
    """Thresholds computed in decimal agree with the float64 log rule wherever a scale is not
    within 1e-9 (relative) of a threshold."""
    scales = torch.exp(torch.empty(100000, dtype=torch.float64).uniform_(math.log(0.05), math.log(400)))
    exact, plain = FIXED_POINT.indexes(scales, 1.0), FLOAT64.indexes(scales, 1.0)
    edges = fixed_point.index_thresholds(SCALE_MIN, SCALE_MAX, SCALE_LEVELS)
    near = ((scales[:, None] / edges[None, :] - 1).abs() < 1e-9).any(dim=1)
    assert torch.equal(exact[~near], plain[~near])
    assert exact.min() == 0 and exact.max() == SCALE_LEVELS - 1


def test_gains_and_floors_agree_with_float_math_to_the_grid():
    log_gain = torch.randn(9, 16) * 0.7
    for s in (0.0, 2.37, 8.0):
        exact = fixed_point.gains(log_gain, s)[0, :, 0, 0]
        lo = min(math.floor(s), 7)
        t = s - lo
        plain = torch.exp((1 - t) * log_gain[lo].double() + t * log_gain[lo + 1].double())
        assert (exact - plain).abs().max() <= 2 ** -(fixed_point.GRID_BITS + 1) + 1e-12
    floor = fixed_point.scale_floor((0.11, 0.2, 0.4), 1.5)
    assert abs(floor - math.sqrt(0.2 * 0.4)) <= 2 ** -(fixed_point.GRID_BITS + 1)


GOLDEN = sorted(p.stem for p in DATA.glob("*-v[0-9].tlc"))


@pytest.mark.parametrize("golden", GOLDEN)
def test_golden_files_still_decode(golden):
    """Every golden file (``tests/data/make_golden.py``; version 3: float64 entropy path, the
    msh-mse-fast one in 64-px patches) decodes as it did when it was made. Only the
    synthesis's float32 rounding may move a pixel by one level on another CPU. The files name
    the bundled weights: if those are replaced, these files are refused as made with other
    weights and must be remade."""
    data = (DATA / f"{golden}.tlc").read_bytes()
    assert data[4] == int(golden[-1])
    out = tilecodec.load(tilecodec.info(data).model).decompress(data)
    reference = np.asarray(Image.open(DATA / f"{golden}.png"))
    assert out.shape == reference.shape
    assert np.abs(out.astype(int) - reference).max() <= 1


def test_golden_files_cover_every_version():
    assert {int(g[-1]) for g in GOLDEN} >= {3, tilecodec.container.FORMAT_VERSION}
