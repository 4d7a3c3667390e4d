"""The CLI end to end, including its one-line error exits that leave no output behind."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tilecodec", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


@pytest.fixture(scope="module")
def image_file(tmp_path_factory, small_photo):
    path = tmp_path_factory.mktemp("cli") / "in.png"
    Image.fromarray(small_photo).save(path)
    return path


def test_compress_info_decompress(tmp_path, image_file, small_photo):
    tlc, png = tmp_path / "a.tlc", tmp_path / "a.png"
    r = run("compress", image_file, "-o", tlc, "--quality", 60)
    assert r.returncode == 0, r.stderr
    assert "bpp" in r.stdout
    r = run("info", tlc)
    assert r.returncode == 0 and "64x64" in r.stdout and "msh-mse" in r.stdout and "quality:   60" in r.stdout
    r = run("decompress", tlc, "-o", png)
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(png)).shape == small_photo.shape
    r = run("models")
    assert r.returncode == 0 and "msh-mse (default)" in r.stdout


def _assert_clean_error(r):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tilecodec: error:"), r.stderr


def test_errors_are_one_line_and_leave_nothing(tmp_path, image_file):
    out = tmp_path / "out.tlc"
    _assert_clean_error(run("compress", tmp_path / "missing.png", "-o", out))
    (tmp_path / "junk.png").write_bytes(b"not an image")
    _assert_clean_error(run("compress", tmp_path / "junk.png", "-o", out))
    _assert_clean_error(run("compress", image_file, "-o", out, "--quality", 101))
    _assert_clean_error(run("compress", image_file, "-o", out, "--model", "no-such-model"))
    assert not out.exists()
    (tmp_path / "bad.tlc").write_bytes(b"\x89TLC garbage garbage")
    _assert_clean_error(run("decompress", tmp_path / "bad.tlc", "-o", tmp_path / "bad.png"))
    _assert_clean_error(run("info", tmp_path / "bad.tlc"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tlc", "junk.png"]


def test_existing_output_is_kept_without_force(tmp_path, image_file):
    out = tmp_path / "out.tlc"
    out.write_bytes(b"precious")
    _assert_clean_error(run("compress", image_file, "-o", out))
    assert out.read_bytes() == b"precious"
    _assert_clean_error(run("compress", image_file, "-o", image_file, "--force"))
    assert run("compress", image_file, "-o", out, "--force").returncode == 0
    assert out.read_bytes() != b"precious"
