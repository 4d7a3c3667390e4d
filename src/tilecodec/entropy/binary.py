"""Range coding of binary symbols under a semi-static context model (the recurrent codec's
bits): each context (for example the bit's iteration and channel) gets one probability,
measured on the data, quantized to 8 bits and stored ahead of the range-coded words, so that
the decoder rebuilds exactly the encoder's probabilities from integers.

Layout: 4 bytes symbol count, then one byte per context (P(1) in 256ths, 1 to 255), then the
range coder's 32-bit words.
"""

import numpy as np

from ..errors import BitstreamError

PROBABILITY_BITS = 8


def _probabilities(q: np.ndarray) -> np.ndarray:
    p1 = q.astype(np.float64) / (1 << PROBABILITY_BITS)
    return np.stack([1 - p1, p1], axis=1)


def encode_bits(bits: np.ndarray, contexts: np.ndarray, n_contexts: int) -> bytes:
    """``bits`` (0 or 1) with their ``contexts`` (ints below ``n_contexts``), same shape."""
    from constriction import stream

    bits = np.asarray(bits, dtype=np.int32).ravel()
    contexts = np.asarray(contexts, dtype=np.int64).ravel()
    if bits.shape != contexts.shape or (bits.size and (contexts.min() < 0 or contexts.max() >= n_contexts)):
        raise ValueError("bits and contexts must match, with contexts in [0, n_contexts)")
    ones = np.bincount(contexts, weights=bits, minlength=n_contexts)
    total = np.bincount(contexts, minlength=n_contexts)
    scale = 1 << PROBABILITY_BITS
    q = np.clip(np.rint((ones + 0.5) / (total + 1) * scale), 1, scale - 1).astype(np.uint8)
    encoder = stream.queue.RangeEncoder()
    if bits.size:
        encoder.encode(bits, stream.model.Categorical(perfect=False), _probabilities(q)[contexts])
    words = encoder.get_compressed()
    return len(bits).to_bytes(4, "little") + q.tobytes() + words.astype("<u4").tobytes()


def decode_bits(data: bytes, contexts: np.ndarray, n_contexts: int) -> np.ndarray:
    """Inverse of ``encode_bits``: the bits (int32, 0 or 1), shaped like ``contexts``;
    BitstreamError if ``data`` cannot be what ``encode_bits`` wrote for these contexts."""
    from constriction import stream

    shape = np.shape(contexts)
    contexts = np.asarray(contexts, dtype=np.int64).ravel()
    if len(data) < 4 + n_contexts or (len(data) - 4 - n_contexts) % 4:
        raise BitstreamError("corrupt binary stream: truncated")
    if int.from_bytes(data[:4], "little") != contexts.size:
        raise BitstreamError("corrupt binary stream: wrong symbol count")
    q = np.frombuffer(data, dtype=np.uint8, count=n_contexts, offset=4)
    if q.min(initial=1) == 0:
        raise BitstreamError("corrupt binary stream: a zero probability")
    words = np.frombuffer(data, dtype="<u4", offset=4 + n_contexts).astype(np.uint32)
    if not contexts.size:
        return np.zeros(shape, np.int32)
    try:
        decoder = stream.queue.RangeDecoder(words)
        bits = decoder.decode(stream.model.Categorical(perfect=False), _probabilities(q)[contexts])
    except (ValueError, RuntimeError, AssertionError) as exc:
        raise BitstreamError(f"corrupt binary stream ({exc})") from None
    return np.asarray(bits, dtype=np.int32).reshape(shape)
