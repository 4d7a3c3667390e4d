"""Range coding of binary symbols under a semi-static context model (entropy.binary)."""

import numpy as np
import pytest

from tilecodec.entropy.binary import decode_bits, encode_bits
from tilecodec.errors import BitstreamError


def test_round_trip_and_saving_on_biased_contexts():
    rng = np.random.default_rng(0)
    contexts = rng.integers(0, 64, 100_000)
    p = np.linspace(0.02, 0.98, 64)[contexts]  # context k is 1 with probability p[k]
    bits = (rng.random(contexts.size) < p).astype(np.int32)
    data = encode_bits(bits, contexts, 64)
    assert np.array_equal(decode_bits(data, contexts, 64), bits)
    entropy = -(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum()
    assert 8 * len(data) < 1.02 * entropy + 8 * (4 + 64 + 8)  # within 2% of the entropy, plus framing
    assert 8 * len(data) < 0.75 * bits.size  # a real saving over raw bits


def test_random_bits_cost_about_one_bit_each_and_edge_cases_round_trip():
    rng = np.random.default_rng(1)
    bits, contexts = rng.integers(0, 2, 4096), np.zeros(4096, np.int64)
    data = encode_bits(bits, contexts, 1)
    assert np.array_equal(decode_bits(data, contexts, 1), bits) and len(data) < 4096 / 8 * 1.01 + 16
    ones = np.ones(1000, np.int32)
    assert np.array_equal(decode_bits(encode_bits(ones, np.zeros(1000), 1), np.zeros(1000), 1), ones)
    assert decode_bits(encode_bits([], [], 3), np.zeros(0), 3).size == 0


def test_damaged_streams_are_bitstream_errors():
    contexts = np.arange(512) % 4
    data = encode_bits(np.arange(512) % 3 == 0, contexts, 4)
    for bad in (data[:3], data[:-2], (1000).to_bytes(4, "little") + data[4:], data[:4] + b"\0" + data[5:]):
        with pytest.raises(BitstreamError):
            decode_bits(bad, contexts, 4)
