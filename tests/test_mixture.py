"""The discretized Gaussian mixture (Cheng et al., 2020): integer pmfs that sum to the table
precision with every symbol codable, built only from exact quantities, so that reordered sums
(another CPU's kernels) change nothing the coder sees; the float mixture used in training is a
distribution over the integers."""

import copy
import math

import numpy as np
import pytest
import torch

from tilecodec.entropy import coder
from tilecodec.entropy.mixture import (MEAN_RANGE, PRECISION, WEIGHT_BITS, WEIGHT_MIN, GaussianMixtureConditional, mixture_pmfs,
                                       weight_table)
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.latent.base import _index
from tilecodec.models import build
from tilecodec.rate import RatePoint

from test_fixed_point import _permute_hidden  # the same reordering the Gaussian path's test applies


@pytest.fixture(scope="module")
def conditional():
    c = GaussianMixtureConditional(components=3)
    c.update_tables()
    return c


def _random_integers(n, k, seed=0):
    rng = np.random.default_rng(seed)
    indexes = rng.integers(0, 64, (n, k))
    quarters = rng.integers(-4 * MEAN_RANGE, 4 * MEAN_RANGE + 1, (n, k))
    log_weights = rng.integers(WEIGHT_MIN, 1, (n, k))
    log_weights[np.arange(n), rng.integers(0, k, n)] = 0  # the top component
    return indexes, quarters, log_weights


def test_mixture_pmfs_sum_to_the_table_precision_and_keep_every_symbol(conditional):
    indexes, quarters, log_weights = _random_integers(4000, 3)
    indexes[:5] = 0  # the narrowest components, far apart
    quarters[:5] = [[-4 * MEAN_RANGE, 0, 4 * MEAN_RANGE]]
    indexes[5:10] = 63  # the widest
    lo, length, groups = mixture_pmfs(conditional.tables, indexes, quarters, log_weights)
    seen = np.zeros(len(lo), dtype=bool)
    for elements, probs in groups:
        seen[elements] = True
        used = np.arange(probs.shape[1])[None, :] < length[elements, None]
        assert (probs.sum(axis=1) == 1 << PRECISION).all()
        assert (probs[used] >= 1).all() and (probs[~used] == 0).all()
    assert seen.all()


def test_weights_are_correctly_rounded_powers_of_exp_quarter():
    table = weight_table()
    assert table[-1] == 1 << WEIGHT_BITS and table[0] > 0 and (np.diff(table) > 0).all()
    for j in range(WEIGHT_MIN, 1):
        assert abs(table[j - WEIGHT_MIN] - (1 << WEIGHT_BITS) * math.exp(j / 4)) <= 0.5 + 1e-9


def test_a_mixture_of_equal_components_codes_like_their_gaussian(conditional):
    """Three equal components, whatever their weights: the pmf is their table row, scaled
    down by the entries' share of the +1 floors."""
    n = 64
    indexes = np.full((n, 3), 30)
    quarters = np.zeros((n, 3), dtype=np.int64)
    log_weights = np.array([[0, WEIGHT_MIN, -5]] * n)
    lo, length, groups = mixture_pmfs(conditional.tables, indexes, quarters, log_weights)
    pmf, start, row_length, offset = conditional.tables.arrays()
    row = 30 * 4
    table = pmf[start[row]: start[row] + row_length[row]]
    (elements, probs), = groups
    assert lo[0] == offset[row] and length[0] == len(table)
    assert (probs == probs[0]).all()
    assert np.abs(probs[0, : len(table)] - table).max() <= len(table) + 1


def test_stream_codes_values_inside_and_far_outside_the_support(conditional):
    indexes, quarters, log_weights = _random_integers(500, 3, seed=1)
    lo, length, groups = mixture_pmfs(conditional.tables, indexes, quarters, log_weights)
    rng = np.random.default_rng(2)
    values = lo + rng.integers(0, np.maximum(length - 1, 1))
    values[::50] = 20000 * np.sign(rng.standard_normal(10)).astype(np.int64)  # escapes
    key = np.concatenate([indexes.ravel(), quarters.ravel(), log_weights.ravel()])
    enc = coder.StreamEncoder(conditional.tables)
    enc.encode_pmfs(values, lo, length, groups, key)
    data = enc.finish()
    dec = coder.StreamDecoder(data, conditional.tables)
    assert np.array_equal(dec.decode_pmfs(lo, length, groups, key), values)
    dec.finish()
    wrong = coder.StreamDecoder(data, conditional.tables)
    wrong.decode_pmfs(lo, length, groups, key + 1)
    with pytest.raises(Exception):
        wrong.finish()


def test_the_float_mixture_is_a_distribution_over_the_integers():
    torch.manual_seed(0)
    c = GaussianMixtureConditional(components=3)
    logits, means, scales = torch.randn(1, 3, 2, 1, 1), 3 * torch.randn(1, 3, 2, 1, 1), torch.rand(1, 3, 2, 1, 1) + 0.3
    support = torch.arange(-60, 61).float().view(1, 1, 1, -1).expand(1, 2, 1, -1)
    lik = c.likelihood(support, logits, means, scales)
    assert torch.allclose(lik.sum(dim=-1), torch.ones(1, 2, 1), atol=1e-5)


def _mixture_state(lc, y, rate, path):
    """Every pass's raw parameters and the integers its pmfs are built from."""
    y_codec = lc.y
    z_hat = lc.z.density.quantize(lc._z(lc.hyper_analysis(y), rate.levels()), noise=False)
    params = lc.params(z_hat, rate, path)
    flat = y.double()[0].flatten(1)
    y_hat = torch.zeros(flat.shape, dtype=torch.float64)
    state = []
    for where, *p in y_codec.passes(params, y.shape[2:], y_hat, rate, path):
        center, integers = y_codec.coding.integers(y_codec.gaussian, p, rate, path)
        state += [*p, center, *map(torch.from_numpy, integers)]
        y_hat[_index(where)] = y_codec.coding.values(flat[_index(where)], p, rate)
    return state


@pytest.mark.parametrize("architecture", ["cheng2020-gmm", "cheng2020-gmm-autoregressive"])
def test_mixture_integers_do_not_depend_on_summation_order(architecture):
    """Reordering every hidden layer's inputs (as another CPU's kernels reorder sums) leaves the
    exact path's mixture parameters and pmf integers bit-identical; on the plain float64 path
    the parameters do change, so the reordering reaches the sums."""
    torch.manual_seed(0)
    model = build(architecture, N=16, M=24).eval()
    lc = model.latent_codec
    permuted = copy.deepcopy(lc)
    generator = torch.Generator().manual_seed(1)
    _permute_hidden(permuted.hyper_synthesis, generator)
    _permute_hidden(permuted.y.entropy_parameters, generator)
    y = 4 * torch.randn(1, 24, 6, 8)
    rate = RatePoint(50.0, None, 1.0, None)
    with torch.no_grad():
        for a, b in zip(_mixture_state(lc, y, rate, FIXED_POINT), _mixture_state(permuted, y, rate, FIXED_POINT)):
            assert torch.equal(a, b)
        plain = zip(_mixture_state(lc, y, rate, FLOAT64), _mixture_state(permuted, y, rate, FLOAT64))
        assert not all(torch.equal(a, b) for a, b in plain)
