"""The file format: damaged, random or foreign files only ever raise BitstreamError."""

import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tilecodec
from tilecodec import BitstreamError, container, zoo


def _header(**kw):
    fields = dict(model="msh-mse", model_hash="0123abcd", width=640, height=480, channels=3,
                  quality=75.0, step=0.5, sections=2)
    fields.update(kw)
    return container.Header(**fields)


def test_pack_unpack_round_trip():
    header = _header(patch=256, overlap=16)
    sections = [b"abc", b"", b"\x00" * 1000][:2]
    h, s = container.unpack(container.pack(header, sections))
    assert h == header and s == sections


def _forge(header_fields: dict, sections=(b"x", b"y")) -> bytes:
    """A file whose header and sections carry valid CRCs but whatever fields we like."""
    h = _header(sections=len(sections))
    name = h.model.encode()
    f = dict(width=h.width, height=h.height, channels=h.channels, quality=h.quality, step=h.step)
    f.update(header_fields)
    body = bytes([len(name)]) + name + container._FIXED.pack(
        h.model_hash.encode(), f["width"], f["height"], f["channels"], f["quality"], f["step"], 0, 0, len(sections))
    head = container.MAGIC + bytes([container.FORMAT_VERSION]) + struct.pack("<H", len(body)) + body
    out = head + struct.pack("<I", zlib.crc32(head))
    for s in sections:
        out += struct.pack("<II", len(s), zlib.crc32(s)) + s
    return out


@pytest.mark.parametrize("fields", [dict(width=10**6, height=10**6), dict(width=0), dict(width=60000, height=60000),
                                    dict(channels=4), dict(quality=500.0), dict(step=0.0)])
def test_absurd_headers_are_refused_before_allocation(fields):
    with pytest.raises(BitstreamError):
        container.unpack(_forge(fields))


def test_wrong_model_is_refused(codec, small_photo):
    data = codec.compress(small_photo)
    h, sections = container.unpack(data)
    other = container.pack(container.Header(**{**h.__dict__, "model_hash": "deadbeef"}), sections)
    with pytest.raises(BitstreamError, match="model"):
        codec.decompress(other)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_truncated_files_raise_bitstream_error(codec, small_file, data):
    cut = data.draw(st.integers(0, len(small_file) - 1))
    with pytest.raises(BitstreamError):
        codec.decompress(small_file[:cut])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_bit_flips_raise_bitstream_error(codec, small_file, data):
    pos = data.draw(st.integers(0, len(small_file) - 1))
    bit = data.draw(st.integers(0, 7))
    damaged = bytearray(small_file)
    damaged[pos] ^= 1 << bit
    with pytest.raises(BitstreamError):
        codec.decompress(bytes(damaged))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000), st.booleans())
def test_random_bytes_raise_bitstream_error(codec, blob, with_magic):
    if with_magic:
        blob = container.MAGIC + bytes([container.FORMAT_VERSION]) + blob
    with pytest.raises(BitstreamError):
        codec.decompress(blob)


def test_info_reads_the_header(small_file):
    h = tilecodec.info(small_file)
    assert (h.width, h.height, h.channels, h.quality, h.model) == (64, 64, 3, 50.0, zoo.DEFAULT_MODEL)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    from tilecodec.files import atomic_write

    def chunks():
        yield b"new"
        raise RuntimeError("the encoder failed half-way")

    target = tmp_path / "out.tlc"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        atomic_write(target, chunks())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tlc"]


def test_atomic_write_gives_umask_permissions_and_keeps_an_existing_mode(tmp_path):
    import os
    import stat

    from tilecodec.files import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "new.tlc", [b"x"])
        existing = tmp_path / "old.tlc"
        existing.write_bytes(b"y")
        existing.chmod(0o640)
        atomic_write(existing, [b"z"])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.tlc").stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640 and existing.read_bytes() == b"z"


def _fuzz():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("fuzz", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_deterministic_slice_of_the_fuzzer_gives_images_or_tilecodec_errors():
    """300 mutants of real files (benchmarks/fuzz.py runs 10,000 in capped workers): bit flips,
    truncations, edge-value header fields and payloads with recomputed CRCs, forged
    hyper-latents for large claimed sizes, spliced files. Each decodes to an image or raises a
    TilecodecError, and none takes long."""
    import time

    fuzz = _fuzz()
    cases = list(fuzz.mutants(fuzz.make_seeds(), 300, seed=7))
    assert {c[0] for c in cases} == {"truncation", "raw", "header", "payload", "forged", "splice"}
    start = time.time()
    outcomes = [fuzz.decode(data) for _, _, data in cases]
    assert time.time() - start < 60
    escapes = [(c[0], c[1], o) for c, o in zip(cases, outcomes) if o not in ("image", "rejected")]
    assert not escapes, escapes[:5]


def test_forged_large_whole_image_claims_are_refused_fast():
    """Small files that claim large whole images are refused before the transforms run: by
    the memory budget, or by the latent's checks right after the cheap hyper-synthesis."""
    import random
    import time

    fuzz = _fuzz()
    for side_seed in range(6):
        _, data = fuzz.forged(random.Random(side_seed), b"")
        start = time.time()
        with pytest.raises(tilecodec.TilecodecError):
            tilecodec.load().decompress(data)
        assert len(data) < 2000 and time.time() - start < 3.0  # about 1 s at 1024x1024 on 2 busy cores
