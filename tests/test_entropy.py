"""Entropy coding: exact symbol round trips, table invariants, index clipping, bf16 safety."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from tilecodec.entropy import GaussianConditional, coder, quantize_pmf
from tilecodec.entropy.tables import PRECISION
from tilecodec.errors import BitstreamError
from tilecodec.entropy.paths import FIXED_POINT, FLOAT64
from tilecodec.latent import FactorizedLatentCodec, GaussianConditionalCodec
from tilecodec.rate import RatePoint
from tilecodec.models import build

_gaussian = GaussianConditional()
_gaussian.update_tables()


BOUND = _gaussian.tables.value_bound()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-BOUND, BOUND), st.integers(0, 63)), min_size=0, max_size=300))
def test_values_survive_coding_exactly_including_far_tails(pairs):
    values = np.array([p[0] for p in pairs], dtype=np.int64)
    indexes = np.array([p[1] for p in pairs], dtype=np.int64)
    data = coder.encode(values, indexes, _gaussian.tables)
    np.testing.assert_array_equal(coder.decode(data, indexes, _gaussian.tables), values)


def test_encoder_refuses_values_it_could_not_decode():
    indexes = np.zeros(3, dtype=np.int64)
    for bad in ([0.0, np.nan, 1.0], [0.0, np.inf, 1.0], [0.0, 0.5, 1.0], [0, BOUND + 1, 0]):
        with pytest.raises(FloatingPointError):
            coder.encode(np.array(bad), indexes, _gaussian.tables)
    with pytest.raises(ValueError):
        coder.encode(np.zeros(3), np.array([0, -1, 0]), _gaussian.tables)


def _escape_varint(z: int) -> bytes:
    """The varint bytes of a zigzagged value ``z`` (any size, as a forger would write them)."""
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    return bytes(out + bytes([z]))


@pytest.mark.parametrize("value", [BOUND + 1, -BOUND - 1, 2 ** 24, -2 ** 21, 2 ** 63, -2 ** 63, 2 ** 64 - 1, 2 ** 69])
def test_decoder_rejects_escape_values_out_of_range(value):
    """Escapes are bounded by what the tables could ever need (a small multiple of their
    largest value; real latents stay far inside), not by 64-bit integers."""
    data = coder.encode(np.array([5000]), np.array([0]), _gaussian.tables)
    n_words = int.from_bytes(data[4:8], "little")
    zigzag = 2 * value if value >= 0 else -2 * value - 1
    forged = data[: 8 + 4 * n_words] + _escape_varint(zigzag)
    with pytest.raises(BitstreamError, match="out of range"):
        coder.decode(forged, np.array([0]), _gaussian.tables)
    assert 1000 < BOUND < 2 ** 24


def test_a_stream_too_short_for_its_symbols_is_refused_before_decoding():
    indexes = np.zeros(200000, dtype=np.int64)  # the narrowest row: each symbol costs at least 6.6e-5 bits
    data = coder.encode(np.zeros(200000), indexes, _gaussian.tables)
    coder.decode(data, indexes, _gaussian.tables)  # the real stream decodes
    rows = np.full(200000, 63)  # the widest row: each symbol costs at least ~11 bits
    forged = coder._index_check(rows) + data[4:]
    with pytest.raises(BitstreamError, match="cannot hold"):
        coder.decode(forged, rows, _gaussian.tables)


def test_a_decoder_that_computes_one_index_differently_gets_an_error_not_wrong_values():
    rng = np.random.default_rng(0)
    indexes = rng.integers(0, len(_gaussian.tables.length), 2000)
    values = np.round(rng.normal(0, 3, 2000))
    data = coder.encode(values, indexes, _gaussian.tables)
    np.testing.assert_array_equal(coder.decode(data, indexes, _gaussian.tables), values)
    off_by_one = indexes.copy()
    off_by_one[1234] = off_by_one[1234] + 1 if off_by_one[1234] == 0 else off_by_one[1234] - 1
    with pytest.raises(BitstreamError, match="coding tables differ"):
        coder.decode(data, off_by_one, _gaussian.tables)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=500), st.floats(0, 1e-3))
def test_quantized_tables_are_normalized_and_never_zero(pmf, tail):
    freq = quantize_pmf(np.array(pmf), tail)
    assert freq.sum() == 2**PRECISION
    assert freq.min() >= 1
    assert len(freq) == len(pmf) + 1


@pytest.mark.parametrize("path", [FLOAT64, FIXED_POINT], ids=str)
def test_scale_indexes_are_clipped_to_the_table(path):
    scales = torch.tensor([0.0, 1e-6, 0.11, 1.0, 256.0, 1e6, float("inf")])
    idx = path.indexes(scales, 1.0)
    assert idx.min() >= 0 and idx.max() <= 63
    assert idx[0] == 0 and idx[-1] == 63
    # inside the table range the chosen scale is within half a table step (in log) of the request
    ratio = float(_gaussian.scale_table[1] / _gaussian.scale_table[0])
    chosen = _gaussian.scale_table[idx[2:5]]
    assert torch.all(torch.abs(torch.log(chosen / scales[2:5])) <= 0.5 * np.log(ratio) + 1e-5)


@pytest.mark.parametrize("path", [FLOAT64, FIXED_POINT], ids=str)
@pytest.mark.parametrize("mean_scale", [True, False])
def test_gaussian_latent_decoder_sees_exactly_the_encoders_symbols(path, mean_scale):
    torch.manual_seed(0)
    codec = GaussianConditionalCodec(mean_scale)
    codec.gaussian.update_tables()
    y = torch.randn(1, 8, 5, 7) * 20
    params = torch.cat([torch.rand(1, 8, 5, 7) * 10, torch.randn(1, 8, 5, 7)][: 2 if mean_scale else 1], dim=1)
    for step in (0.25, 1.0, 3.0):
        rate = RatePoint(50.0, None, step, None)
        strings, y_hat = codec.compress(y, params.double(), rate, path)
        torch.testing.assert_close(codec.decompress(strings, params.double(), (5, 7), rate, path), y_hat, rtol=0, atol=0)
        assert torch.all(torch.abs(y_hat - y) <= step / 2 + 1e-4)


def test_factorized_latent_round_trip_is_exact():
    torch.manual_seed(0)
    codec = FactorizedLatentCodec(4).eval()
    codec.density.update_tables()
    z = torch.randn(1, 4, 6, 3) * 5
    z[0, 0, 0, 0] = codec.density.tables.value_bound()  # far outside the learned support: escape-coded
    strings, z_hat = codec.compress(z)
    torch.testing.assert_close(codec.decompress(strings, (6, 3)), z_hat, rtol=0, atol=0)


def test_training_forward_works_under_bf16_and_keeps_likelihoods_float32():
    model = build("mean-scale-hyperprior", N=16, M=24).train()
    x = torch.rand(2, 3, 64, 64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    for lik in out["likelihoods"].values():
        assert lik.dtype == torch.float32
        assert torch.all((lik > 0) & (lik <= 1))
    loss = sum(-torch.log2(v).sum() for v in out["likelihoods"].values()) + out["x_hat"].float().mean()
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "quantiles" not in n)


def test_a_model_copied_after_coding_codes_the_same_bytes(codec, small_photo, small_file):
    """Copies leave out the cached coder models (not picklable) and rebuild them."""
    import copy

    from tilecodec.api import Codec

    twin = Codec(copy.deepcopy(codec.model), codec.name, codec.model_hash)
    assert twin.compress(small_photo, quality=50) == small_file
