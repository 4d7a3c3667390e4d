"""Range coding of integer arrays with per-element table rows (constriction backend).

``encode(values, indexes, tables)`` codes ``values[k]`` with table row ``indexes[k]``.
Elements sharing a row are coded in one vectorized call; values outside a row's support
are coded as its escape symbol and stored exactly after the range-coded words as
zigzag varints. ``decode`` needs the same ``indexes`` and ``tables`` and returns the
exact ``values``. ``StreamEncoder`` / ``StreamDecoder`` code one string in several passes,
for context models whose decoder learns each pass's indexes from the values of the
earlier ones; ``encode`` is a stream of one pass. A stream may also code passes whose
elements each bring their own integer pmf (``encode_pmfs``: a discretized mixture's), with
the same escapes and checksum (over the integers the pmfs were built from). Layout: u32 CRC32 of the indexes, u32 word count, the words
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


class _Varints:
    """Zigzag varints read one by one from ``data``, each of magnitude at most ``bound``
    (checked byte by byte, so no forged varint grows beyond it)."""

    def __init__(self, data: memoryview, bound: int):
        self.data, self.pos, self.limit = data, 0, 2 * bound  # the zigzag of +-bound is at most 2 * bound

    def read(self, count: int) -> np.ndarray:
        vals, data, pos = [], self.data, self.pos
        for _ in range(count):
            z = shift = 0
            while True:
                if pos >= len(data):
                    raise BitstreamError("corrupt latent data: escape values are truncated")
                b = data[pos]
                pos += 1
                z |= (b & 0x7F) << shift
                shift += 7
                if z > self.limit:
                    raise BitstreamError("corrupt latent data: escape value out of range")
                if b < 0x80:
                    break
            vals.append((z >> 1) ^ -(z & 1))
        self.pos = pos
        return np.array(vals, dtype=np.int64)

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise BitstreamError("corrupt latent data: trailing bytes after escape values")


def _categorical_family():
    """constriction's categorical model family, each symbol's probabilities given with it."""
    return constriction.stream.model.Categorical(perfect=False)


def _index_check(indexes: np.ndarray) -> bytes:
    return zlib.crc32(indexes.astype("<u4").tobytes()).to_bytes(4, "little")


def _groups(indexes: np.ndarray, rows: int):
    small = indexes.astype(np.uint16) if rows <= 1 << 16 else indexes  # stable sort of uint16 is a radix sort
    order = np.argsort(small, kind="stable")
    counts = np.bincount(indexes, minlength=rows)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for row in np.flatnonzero(counts):
        yield int(row), order[starts[row]: starts[row + 1]]


class StreamEncoder:
    """One string coded in several calls (passes), in the layout of ``encode``: the decoder
    (``StreamDecoder``) decodes the passes in the same order, each with the indexes it can
    only compute from the values of earlier passes. ``encode`` is one pass."""

    def __init__(self, tables: CdfTables):
        self.tables = tables
        self.length = tables.length.numpy().astype(np.int64)
        self.offset = tables.offset.numpy().astype(np.int64)
        self.encoder = RangeEncoder()
        self.crc = 0
        self.escaped = []

    def encode(self, values: np.ndarray, indexes: np.ndarray) -> None:
        """Code integer ``values`` (any shape) using table rows ``indexes`` (same shape)."""
        values = _checked_values(values, self.tables.value_bound())
        indexes = np.asarray(indexes, dtype=np.int64).ravel()
        length = self.length
        if indexes.shape != values.shape or (len(indexes) and (indexes.min() < 0 or indexes.max() >= len(length))):
            raise ValueError("table indexes must match the values and name existing rows")
        symbols = values - self.offset[indexes]
        escape = (symbols < 0) | (symbols >= length[indexes] - 1)
        symbols[escape] = length[indexes][escape] - 1
        models = self.tables.models()
        groups = list(_groups(indexes, len(length)))
        for row, where in groups:
            self.encoder.encode(symbols[where].astype(np.int32), models[row])
        if groups:
            order = np.concatenate([w for _, w in groups])
            self.escaped.append(values[order[escape[order]]])
        self.crc = zlib.crc32(indexes.astype("<u4").tobytes(), self.crc)

    def encode_pmfs(self, values: np.ndarray, lo: np.ndarray, length: np.ndarray, groups: list,
                    key: np.ndarray) -> None:
        """Code integer ``values`` (n,), element e with its own pmf over ``lo[e] ..
        lo[e] + length[e] - 2`` plus an escape (entry ``length[e] - 1``), in the ``groups`` of
        ``entropy.mixture.mixture_pmfs``; ``key``: the integers the pmfs come from (checksummed).
        Values must stay within the stream's ``tables.value_bound()``."""
        values = _checked_values(values, self.tables.value_bound())
        symbols = values - lo
        escape = (symbols < 0) | (symbols >= length - 1)
        symbols[escape] = length[escape] - 1
        family = _categorical_family()
        for elements, probs in groups:
            self.encoder.encode(symbols[elements].astype(np.int32), family, probs.astype(np.float64))
        order = np.concatenate([e for e, _ in groups]) if groups else np.zeros(0, dtype=np.int64)
        self.escaped.append(values[order[escape[order]]])
        self.crc = zlib.crc32(np.ascontiguousarray(key, dtype="<i4").tobytes(), self.crc)

    def finish(self) -> bytes:
        """The string: u32 CRC32 of all indexes, u32 word count, the words, the escapes."""
        words = self.encoder.get_compressed()
        escaped = np.concatenate(self.escaped) if self.escaped else np.zeros(0, dtype=np.int64)
        return (self.crc.to_bytes(4, "little") + len(words).to_bytes(4, "little") + words.astype("<u4").tobytes()
                + _varints(escaped))


class StreamDecoder:
    """Decodes a ``StreamEncoder``'s string pass by pass. The index checksum can only be
    checked once every pass is decoded (``finish``): until then, values decoded with other
    tables than the encoder's are garbage, never an error, so callers must not let them
    out before ``finish`` returns."""

    def __init__(self, data: bytes, tables: CdfTables):
        view = memoryview(data)
        if len(view) < 8:
            raise BitstreamError("corrupt latent data: too short")
        self.tables = tables
        self.length = tables.length.numpy().astype(np.int64)
        self.offset = tables.offset.numpy().astype(np.int64)
        self.checksum = bytes(view[:4])
        n_words = int.from_bytes(view[4:8], "little")
        if 8 + 4 * n_words > len(view):
            raise BitstreamError("corrupt latent data: claims more words than it holds")
        self.words = np.frombuffer(view[8: 8 + 4 * n_words], dtype="<u4").astype(np.uint32)
        self.escapes = _Varints(view[8 + 4 * n_words:], tables.value_bound())
        self.decoder = RangeDecoder(self.words)
        self.crc = 0

    def decode(self, indexes: np.ndarray) -> np.ndarray:
        """The next pass's int64 values, shaped like ``indexes``."""
        shape = np.shape(indexes)
        indexes = np.asarray(indexes, dtype=np.int64).ravel()
        length = self.length
        if len(indexes) and (indexes.min() < 0 or indexes.max() >= len(length)):
            raise BitstreamError("corrupt latent data: table index out of range")
        models = self.tables.models()
        symbols = np.empty(len(indexes), dtype=np.int64)
        order = []
        try:
            for row, where in _groups(indexes, len(length)):
                symbols[where] = self.decoder.decode(models[row], len(where))
                order.append(where)
        except Exception as exc:  # constriction reports invalid data with its own exceptions
            raise BitstreamError(f"corrupt latent data: {exc}") from None
        values = symbols + self.offset[indexes]
        if order:
            where = np.concatenate(order)
            escaped_at = where[(symbols == length[indexes] - 1)[where]]
            values[escaped_at] = self.escapes.read(len(escaped_at))
        self.crc = zlib.crc32(indexes.astype("<u4").tobytes(), self.crc)
        return values.reshape(shape)

    def decode_pmfs(self, lo: np.ndarray, length: np.ndarray, groups: list, key: np.ndarray) -> np.ndarray:
        """The int64 values ``StreamEncoder.encode_pmfs`` coded with the same pmfs."""
        symbols = np.empty(len(lo), dtype=np.int64)
        family = _categorical_family()
        try:
            for elements, probs in groups:
                symbols[elements] = self.decoder.decode(family, probs.astype(np.float64))
        except Exception as exc:  # constriction reports invalid data with its own exceptions
            raise BitstreamError(f"corrupt latent data: {exc}") from None
        values = symbols + lo
        order = np.concatenate([e for e, _ in groups]) if groups else np.zeros(0, dtype=np.int64)
        escaped_at = order[(symbols == length - 1)[order]]
        values[escaped_at] = self.escapes.read(len(escaped_at))
        self.crc = zlib.crc32(np.ascontiguousarray(key, dtype="<i4").tobytes(), self.crc)
        return values

    def finish(self) -> None:
        """BitstreamError unless the indexes matched the encoder's and no bytes are left over."""
        if self.crc.to_bytes(4, "little") != self.checksum:
            raise BitstreamError("corrupt latent data: the decoder's coding tables differ from the encoder's "
                                 "(a corrupted file, or one coded with other weights)")
        self.escapes.finish()


def encode(values: np.ndarray, indexes: np.ndarray, tables: CdfTables) -> bytes:
    """Code integer ``values`` (any shape) using table rows ``indexes`` (same shape)."""
    stream = StreamEncoder(tables)
    stream.encode(values, indexes)
    return stream.finish()


def decode(data: bytes, indexes: np.ndarray, tables: CdfTables) -> np.ndarray:
    """Inverse of ``encode``: the int64 values, shaped like ``indexes``. The index checksum
    and the stream's length are checked before any value is decoded."""
    flat = np.asarray(indexes, dtype=np.int64).ravel()
    stream = StreamDecoder(data, tables)
    if stream.checksum != _index_check(flat):
        raise BitstreamError("corrupt latent data: the decoder's coding tables differ from the encoder's "
                             "(a corrupted file, or one coded with other weights)")
    if len(flat) and not (flat.min() < 0 or flat.max() >= len(stream.length)) and \
            8 * (len(data) - 8) + STREAM_SLACK_BITS < tables.min_bits()[flat].sum() * (1 - 1e-6):
        raise BitstreamError(f"corrupt latent data: {len(data)} bytes cannot hold its {len(flat)} symbols")
    values = stream.decode(indexes)
    stream.finish()
    return values
