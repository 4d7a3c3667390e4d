"""The .tlc file format: a checked header, then length- and CRC32-framed sections.

Layout (all integers little-endian)::

    magic        4 bytes   b"\\x89TLC"
    version      u8        FORMAT_VERSION
    header_len   u16       length of the header body
    header body            model name (u8 length + UTF-8), weights hash (8 ASCII hex),
                           width u32, height u32, channels u8, quality f32, step f32,
                           patch u16 (0 = whole image), overlap u16, section count u32
    header_crc   u32       CRC32 of everything above
    sections               each: length u32, crc32 u32, payload

The file ends exactly after the last section. ``unpack`` checks every length, limit and
CRC before the caller allocates anything, and raises ``BitstreamError`` otherwise.
Knows nothing about neural networks; it only names, per version, the entropy path that
version's files were coded with (``entropy_path``).
"""

import re
import struct
import zlib
from dataclasses import dataclass

from .errors import BitstreamError
from .files import atomic_write

MAGIC = b"\x89TLC"
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")  # a name, never a path
HEX8 = re.compile(r"[0-9a-f]{8}")
FORMAT_VERSION = 6  # 2: each latent string starts with a checksum of its table indexes; 3: float64 entropy path;
#                    4: exact fixed-point entropy path (see fixed_point); 5: the same entropy path, patches in
#                    cells (tiling.cell_spans) and images padded to the model's size_multiple, not 64;
#                    6: cells in multiples of 64 (api.span_multiple)
READABLE_VERSIONS = (3, 4, 5, 6)
MAX_SIDE = 65535
MAX_PIXELS = 1 << 28          # 268 megapixels
MAX_SECTIONS = 1 << 20
_FIXED = struct.Struct("<8sIIBffHHI")


@dataclass(frozen=True)
class Header:
    """What a decoder needs before reading any section."""

    model: str
    model_hash: str
    width: int
    height: int
    channels: int
    quality: float
    step: float
    sections: int
    patch: int = 0
    overlap: int = 0
    version: int = FORMAT_VERSION  # new files are written in FORMAT_VERSION; a rewritten one keeps its own

    def validate(self) -> None:
        """Raise BitstreamError unless every field is within the format's limits."""
        if not (1 <= self.width <= MAX_SIDE and 1 <= self.height <= MAX_SIDE) or self.width * self.height > MAX_PIXELS:
            raise BitstreamError(f"header claims an impossible image size {self.width}x{self.height}")
        if self.channels not in (1, 3):
            raise BitstreamError(f"header claims {self.channels} channels; only 1 or 3 are valid")
        if not (0.0 <= self.quality <= 100.0) or not (1e-3 <= self.step <= 1e3):
            raise BitstreamError("header holds invalid coding parameters")
        if not (1 <= self.sections <= MAX_SECTIONS) or self.overlap > self.patch:
            raise BitstreamError("header holds an invalid section or patch layout")
        if not MODEL_NAME.fullmatch(self.model) or self.model.endswith(".safetensors") or \
                not HEX8.fullmatch(self.model_hash):
            raise BitstreamError("header names no valid model")


def pack(header: Header, sections: list[bytes]) -> bytes:
    """Serialize a header and its sections (``header.sections == len(sections)``)."""
    header.validate()
    return b"".join(_frames(header, sections))


def read_header(data: bytes) -> tuple[Header, int]:
    """Parse and check the header; returns it and the offset of the first section."""
    view = memoryview(data)
    if 0 < len(view) < 7 and bytes(view[:4]) == MAGIC[: min(4, len(view))]:
        raise BitstreamError("file is truncated inside its header")
    if len(view) < 7 or bytes(view[:4]) != MAGIC:
        raise BitstreamError("not a tilecodec file (bad magic bytes)")
    if view[4] not in READABLE_VERSIONS:
        raise BitstreamError(f"unsupported format version {view[4]} (this tilecodec reads versions "
                             f"{', '.join(map(str, READABLE_VERSIONS))})")
    body_len = struct.unpack_from("<H", view, 5)[0]
    end = 7 + body_len
    if len(view) < end + 4:
        raise BitstreamError("file is truncated inside its header")
    if zlib.crc32(view[:end]) != struct.unpack_from("<I", view, end)[0]:
        raise BitstreamError("header is corrupted (CRC mismatch)")
    name_len = view[7]
    if 8 + name_len + _FIXED.size != end:
        raise BitstreamError("header has an invalid length")
    try:
        name = bytes(view[8: 8 + name_len]).decode()
        fields = _FIXED.unpack_from(view, 8 + name_len)
        model_hash = fields[0].decode("ascii")
    except (UnicodeDecodeError, struct.error) as exc:
        raise BitstreamError(f"header is malformed: {exc}") from None
    header = Header(name, model_hash, fields[1], fields[2], fields[3], fields[4], fields[5],
                    patch=fields[6], overlap=fields[7], sections=fields[8], version=view[4])
    header.validate()
    return header, end + 4


def index(data: bytes) -> tuple[Header, list[tuple[int, int, int]]]:
    """Header plus (offset, length, crc32) of every section, checking the framing and total
    length but not the payload CRCs (``section`` checks those, for random access)."""
    header, pos = read_header(data)
    view = memoryview(data)
    table = []
    for i in range(header.sections):
        if pos + 8 > len(view):
            raise BitstreamError(f"file is truncated before section {i + 1} of {header.sections}")
        length, crc = struct.unpack_from("<II", view, pos)
        pos += 8
        if pos + length > len(view):
            raise BitstreamError(f"file is truncated inside section {i + 1} of {header.sections}")
        table.append((pos, length, crc))
        pos += length
    if pos != len(view):
        raise BitstreamError(f"file has {len(view) - pos} unexpected bytes after its last section")
    return header, table


def section(data: bytes, entry: tuple[int, int, int], number: int = 0) -> bytes:
    """The payload of one indexed section, after checking its CRC32."""
    offset, length, crc = entry
    payload = bytes(memoryview(data)[offset: offset + length])
    if zlib.crc32(payload) != crc:
        raise BitstreamError(f"section {number + 1} is corrupted (CRC mismatch)")
    return payload


def unpack(data: bytes) -> tuple[Header, list[bytes]]:
    """Parse a whole file, checking every section's length and CRC32."""
    header, table = index(data)
    return header, [section(data, e, i) for i, e in enumerate(table)]


def _frames(header: Header, sections):
    name = header.model.encode()
    body = bytes([len(name)]) + name + _FIXED.pack(
        header.model_hash.encode("ascii"), header.width, header.height, header.channels,
        header.quality, header.step, header.patch, header.overlap, header.sections)
    head = MAGIC + bytes([header.version]) + struct.pack("<H", len(body)) + body
    yield head + struct.pack("<I", zlib.crc32(head))
    count = 0
    for s in sections:
        count += 1
        yield struct.pack("<II", len(s), zlib.crc32(s)) + s
    if count != header.sections:
        raise ValueError(f"header announces {header.sections} sections, {count} were written")


def write_stream(path, header: Header, sections) -> int:
    """Write a file section by section as ``sections`` (an iterable) produces them,
    atomically (``files.atomic_write``); returns the byte count."""
    header.validate()
    return atomic_write(path, _frames(header, sections))


def entropy_path(version: int):
    """The entropy path (``entropy.paths``) that files of format ``version`` were coded with."""
    from .entropy import paths

    return {3: paths.FLOAT64, 4: paths.FIXED_POINT, 5: paths.FIXED_POINT, 6: paths.FIXED_POINT}[version]
