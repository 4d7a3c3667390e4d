"""Range coding of integer arrays with per-element table rows (constriction backend).

``encode(values, indexes, tables)`` codes ``values[k]`` with table row ``indexes[k]``.
Elements sharing a row are coded in one vectorized call; values outside a row's support
are coded as its escape symbol and stored exactly after the range-coded words as
zigzag varints. ``decode`` needs the same ``indexes`` and ``tables`` and returns the
exact ``values``. Layout: u32 CRC32 of the indexes, u32 word count, the words
(little-endian u32), escapes.

The indexes come from a float64 network on each side of the channel. Should a decoder
compute even one index differently from the encoder (another tilecodec version, or a
machine whose float kernels sum in another order), range decoding would silently yield
wrong values from there on; the index checksum turns that into a ``BitstreamError``
before any value is decoded.

Values must be integers of magnitude at most ``tables.value_bound()`` (a small multiple of
the largest value the tables hold; never above ``MAX_SYMBOL``, which float32 holds exactly):
``encode`` refuses anything else, so it never writes a stream that cannot be decoded, and
``decode`` refuses escapes beyond it. Before decoding, ``decode`` also checks that the stream
is long enough for the symbols it must hold: a range coder cannot code n symbols in fewer
bits than the sum of their rows' smallest costs (``tables.min_bits``), so a short forged
stream that claims a large latent is refused before any work.
"""

import zlib

import numpy as np
import constriction

RangeEncoder = constriction.stream.queue.RangeEncoder
RangeDecoder = constriction.stream.queue.RangeDecoder

from ..errors import BitstreamError
from .tables import CdfTables

from .tables import MAX_VALUE as MAX_SYMBOL  # noqa: E402


STREAM_SLACK_BITS = 64  # a range coder's flush may leave the last words short of the information


def _checked_values(values, bound: int) -> np.ndarray:
    """``values`` as flat int64; FloatingPointError if any is non-finite, fractional or
    beyond ``bound`` in magnitude."""
    values = np.asarray(values)
    whole = values.dtype.kind != "f" or bool(np.isfinite(values).all() and (values == np.round(values)).all())
    if not whole or ((values < -bound) | (values > bound)).any():  # NaN fails "whole" first
        raise FloatingPointError("the latent holds non-finite, fractional or out-of-range values")
    return values.astype(np.int64).ravel()


def _varints(values: np.ndarray) -> bytes:
    out = bytearray()
    for v in values.tolist():
        z = (v << 1) ^ (v >> 63)  # zigzag
        while z >= 0x80:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)
    return bytes(out)


def _read_varints(data: memoryview, count: int, bound: int) -> np.ndarray:
    """``count`` zigzag varints, each of magnitude at most ``bound`` (checked byte by byte,
    so no forged varint grows beyond it)."""
    vals, pos, limit = [], 0, 2 * bound  # the zigzag of +-bound is at most 2 * bound
    for _ in range(count):
        z = shift = 0
        while True:
            if pos >= len(data):
                raise BitstreamError("corrupt latent data: escape values are truncated")
            b = data[pos]
            pos += 1
            z |= (b & 0x7F) << shift
            shift += 7
            if z > limit:
                raise BitstreamError("corrupt latent data: escape value out of range")
            if b < 0x80:
                break
        vals.append((z >> 1) ^ -(z & 1))
    if pos != len(data):
        raise BitstreamError("corrupt latent data: trailing bytes after escape values")
    return np.array(vals, dtype=np.int64)


def _index_check(indexes: np.ndarray) -> bytes:
    return zlib.crc32(indexes.astype("<u4").tobytes()).to_bytes(4, "little")


def _groups(indexes: np.ndarray, rows: int):
    small = indexes.astype(np.uint16) if rows <= 1 << 16 else indexes  # stable sort of uint16 is a radix sort
    order = np.argsort(small, kind="stable")
    counts = np.bincount(indexes, minlength=rows)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for row in np.flatnonzero(counts):
        yield int(row), order[starts[row]: starts[row + 1]]


def encode(values: np.ndarray, indexes: np.ndarray, tables: CdfTables) -> bytes:
    """Code integer ``values`` (any shape) using table rows ``indexes`` (same shape)."""
    values = _checked_values(values, tables.value_bound())
    indexes = np.asarray(indexes, dtype=np.int64).ravel()
    length = tables.length.numpy().astype(np.int64)
    if indexes.shape != values.shape or (len(indexes) and (indexes.min() < 0 or indexes.max() >= len(length))):
        raise ValueError("table indexes must match the values and name existing rows")
    offset = tables.offset.numpy().astype(np.int64)
    symbols = values - offset[indexes]
    escape = (symbols < 0) | (symbols >= length[indexes] - 1)
    symbols[escape] = length[indexes][escape] - 1
    models = tables.models()
    groups = list(_groups(indexes, len(length)))
    encoder = RangeEncoder()
    for row, where in groups:
        encoder.encode(symbols[where].astype(np.int32), models[row])
    words = encoder.get_compressed()
    order = np.concatenate([w for _, w in groups]) if groups else np.zeros(0, dtype=np.int64)
    escaped = values[order[escape[order]]]
    return (_index_check(indexes) + len(words).to_bytes(4, "little") + words.astype("<u4").tobytes()
            + _varints(escaped))


def decode(data: bytes, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
    """Inverse of ``encode``: the int64 values, shaped like ``indexes``."""
    shape = np.shape(indexes)
    indexes = np.asarray(indexes, dtype=np.int64).ravel()
    view = memoryview(data)
    if len(view) < 8:
        raise BitstreamError("corrupt latent data: too short")
    length = tables.length.numpy().astype(np.int64)
    if len(indexes) and (indexes.min() < 0 or indexes.max() >= len(length)):
        raise BitstreamError("corrupt latent data: table index out of range")
    if bytes(view[:4]) != _index_check(indexes):
        raise BitstreamError("corrupt latent data: the decoder's coding tables differ from the encoder's "
                             "(a corrupted file, or one coded with other weights)")
    view = view[4:]
    n_words = int.from_bytes(view[:4], "little")
    if 4 + 4 * n_words > len(view):
        raise BitstreamError("corrupt latent data: claims more words than it holds")
    if 8 * (len(view) - 4) + STREAM_SLACK_BITS < tables.min_bits()[indexes].sum() * (1 - 1e-6):
        raise BitstreamError(f"corrupt latent data: {len(data)} bytes cannot hold its {len(indexes)} symbols")
    words = np.frombuffer(view[4: 4 + 4 * n_words], dtype="<u4").astype(np.uint32)
    offset = tables.offset.numpy().astype(np.int64)
    models = tables.models()
    symbols = np.empty(len(indexes), dtype=np.int64)
    decoder = RangeDecoder(words)
    order = []
    try:
        for row, where in _groups(indexes, len(length)):
            symbols[where] = decoder.decode(models[row], len(where))
            order.append(where)
    except Exception as exc:  # constriction reports invalid data with its own exceptions
        raise BitstreamError(f"corrupt latent data: {exc}") from None
    values = symbols + offset[indexes]
    escape = symbols == length[indexes] - 1
    if order:
        where = np.concatenate(order)
        escaped_at = where[escape[where]]
        values[escaped_at] = _read_varints(view[4 + 4 * n_words:], len(escaped_at), tables.value_bound())
    elif len(view) > 4 + 4 * n_words:
        raise BitstreamError("corrupt latent data: trailing bytes after escape values")
    return values.reshape(shape)
