"""The CLI end to end, including its one-line error exits that leave no output behind."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tilecodec.container import FORMAT_VERSION
from tilecodec.zoo import DEFAULT_MODEL


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
    assert r.returncode == 0 and "64x64" in r.stdout and DEFAULT_MODEL in r.stdout and "quality:   60" in r.stdout
    assert f"format:    version {FORMAT_VERSION}" in r.stdout
    r = run("decompress", tlc, "-o", png)
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(png)).shape == small_photo.shape
    r = run("models")
    assert r.returncode == 0 and f"{DEFAULT_MODEL} (default)" in r.stdout


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
    _assert_clean_error(run("compress", image_file, "-o", out, "--quality", "abc"))
    _assert_clean_error(run("compress", image_file, "-o", out, "--model", "no-such-model"))
    _assert_clean_error(run("compress", image_file, "-o", out, "--refine", -1))
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


def test_ctrl_c_during_bench_keeps_finished_points(tmp_path, photo):
    import signal
    import time

    data = tmp_path / "images"
    data.mkdir()
    for i in range(24):
        y, x = (i * 5) % 120, (i * 11) % 280
        Image.fromarray(np.ascontiguousarray(photo[y: y + 192, x: x + 224])).save(data / f"{i:02d}.png")
    out = tmp_path / "out" / "r.json"
    cache = tmp_path / "out" / ".r.cache.jsonl"
    args = [sys.executable, "-m", "tilecodec", "bench", data, "--codecs", "jpeg", "webp", "--out", out,
            "--workers", "1"]
    # default SIGINT handling in the child even when pytest runs as a background job (which ignores it)
    proc = subprocess.Popen(list(map(str, args)), stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    while not (cache.exists() and cache.read_text().count("\n") >= 11) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    kept = cache.read_text().splitlines()
    assert 11 <= len(kept) < 24 * 21 and not out.exists()
    r = run(*args[3:])
    assert r.returncode == 0, r.stderr
    lines = cache.read_text().splitlines()
    assert lines[: len(kept)] == kept and len(lines) == 24 * 21  # only the missing points were added


def test_patches_and_region_from_the_command_line(tmp_path, photo):
    src, tlc, png = tmp_path / "p.png", tmp_path / "p.tlc", tmp_path / "r.png"
    Image.fromarray(photo).save(src)
    assert run("compress", src, "-o", tlc, "--patch", 128, "--overlap", 8, "--max-memory", "64M").returncode == 0
    assert "128 px, overlap 8" in run("info", tlc).stdout
    r = run("decompress", tlc, "-o", png, "--region", "10,20,30,40")
    assert r.returncode == 0, r.stderr
    assert np.asarray(Image.open(png)).shape == (40, 30, 3)
    _assert_clean_error(run("decompress", tlc, "-o", tmp_path / "bad.png", "--region", "500,0,10,10"))
    _assert_clean_error(run("decompress", tlc, "-o", tmp_path / "bad.png", "--region", "1,2"))
    _assert_clean_error(run("compress", src, "-o", tmp_path / "bad.tlc", "--patch", 100))
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "bad.tlc").exists()


def test_compress_to_target_bpp(tmp_path, image_file):
    tlc = tmp_path / "t.tlc"
    r = run("compress", image_file, "-o", tlc, "--bpp", 1.5)
    assert r.returncode == 0, r.stderr
    assert abs(8 * tlc.stat().st_size / (64 * 64) / 1.5 - 1) <= 0.02
    r = run("compress", image_file, "-o", tmp_path / "u.tlc", "--bpp", 500)
    _assert_clean_error(r)
    assert not (tmp_path / "u.tlc").exists()


def test_refined_compress_from_the_command_line(tmp_path, image_file, small_photo):
    tlc, png = tmp_path / "r.tlc", tmp_path / "r.png"
    r = run("compress", image_file, "-o", tlc, "--quality", 60, "--refine", 3)
    assert r.returncode == 0, r.stderr
    assert run("decompress", tlc, "-o", png).returncode == 0
    assert np.asarray(Image.open(png)).shape == small_photo.shape


def test_the_cli_reference_is_generated_from_the_parser(monkeypatch):
    import importlib.util
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    spec = importlib.util.spec_from_file_location("make_cli", docs / "make_cli.py")
    make_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_cli)
    monkeypatch.setenv("COLUMNS", "100")
    assert (docs / "cli.md").read_text() == make_cli.reference(), "run python docs/make_cli.py"


def _main(capsys, *args):
    """``tilecodec ARGS`` in this process: (exit status, stdout, stderr)."""
    from tilecodec.cli import main

    status = main([str(a) for a in args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_output_paths_are_checked_before_any_work(tmp_path, image_file, capsys):
    tlc = tmp_path / "a.tlc"
    status, _, err = _main(capsys, "compress", image_file, "-o", tmp_path / "a.png")
    assert status == 1 and "must end in .tlc" in err
    (tmp_path / "dir.tlc").mkdir()
    status, _, err = _main(capsys, "compress", image_file, "-o", tmp_path / "dir.tlc", "--force")
    assert status == 1 and f"{tmp_path / 'dir.tlc'}: is a directory" in err and ".tmp" not in err
    status, _, err = _main(capsys, "compress", image_file, "-o", tlc, "--quality", 50, "--bpp", 0.3)
    assert status == 1 and "not both" in err
    assert _main(capsys, "compress", image_file, "-o", tlc)[0] == 0
    status, _, err = _main(capsys, "decompress", tlc, "-o", tmp_path / "a.jpg")
    assert status == 1 and "--lossy" in err and not (tmp_path / "a.jpg").exists()
    assert _main(capsys, "decompress", tlc, "-o", tmp_path / "a.jpg", "--lossy")[0] == 0
    status, _, err = _main(capsys, "decompress", tlc, "-o", tmp_path / "r.png", "--region", "-10,-10,50,50")
    assert status == 1 and "region -10,-10,50,50 is not inside" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.tlc", "dir.tlc"]


def test_outputs_get_normal_permissions_and_force_keeps_the_mode(tmp_path, image_file, capsys):
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert _main(capsys, "compress", image_file, "-o", tmp_path / "a.tlc")[0] == 0
        assert stat.S_IMODE((tmp_path / "a.tlc").stat().st_mode) == 0o644
        (tmp_path / "a.tlc").chmod(0o600)
        assert _main(capsys, "compress", image_file, "-o", tmp_path / "a.tlc", "--force", "--quality", 10)[0] == 0
        assert stat.S_IMODE((tmp_path / "a.tlc").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_truncated_files_usage_errors_version_and_help(tmp_path, capsys):
    import argparse

    from tilecodec import __version__
    from tilecodec.cli import parser

    (tmp_path / "t.tlc").write_bytes(b"\x89TLC")
    status, _, err = _main(capsys, "info", tmp_path / "t.tlc")
    assert status == 1 and "truncated" in err
    with pytest.raises(SystemExit) as exit_:
        _main(capsys, "compress", "--no-such-option")
    assert exit_.value.code == 2 and "tilecodec: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        _main(capsys, "--version")
    assert exit_.value.code == 0 and __version__ in capsys.readouterr().out
    for action in parser()._actions:
        subs = action.choices.values() if isinstance(action, argparse._SubParsersAction) else []
        for sub in subs:
            for a in sub._actions:
                assert a.help, f"{sub.prog} {a.dest} has no help text"


def test_a_folder_is_coded_into_a_folder_resumably_and_bad_files_do_not_stop_it(tmp_path, small_photo, capsys):
    import json

    import tilecodec

    src = tmp_path / "photos"
    (src / "trip").mkdir(parents=True)
    Image.fromarray(small_photo).save(src / "a.png")
    Image.fromarray(small_photo[:, ::-1]).save(src / "trip" / "b.jpg")
    (src / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "coded"
    status, stdout, err = _main(capsys, "compress", src, "-o", out, "--recursive", "--quality", 40)
    assert status == 1 and "2 coded, 0 skipped" in stdout and "1 failed" in stdout
    assert err.count("tilecodec: error:") == 1 and "broken.png" in err
    assert (out / "a.tlc").exists() and (out / "trip" / "b.tlc").exists()
    report = {Path(r["source"]).name: r for r in json.loads((out / "tilecodec-report.json").read_text())}
    assert report["a.png"]["bytes_out"] == (out / "a.tlc").stat().st_size and report["a.png"]["bpp"] > 0
    assert report["broken.png"]["status"] == "failed"
    status, stdout, _ = _main(capsys, "compress", src, "-o", out, "--recursive")
    assert "0 coded, 2 skipped" in stdout  # resumes: what is done stays done
    decoded = tmp_path / "decoded"
    status, stdout, _ = _main(capsys, "decompress", out, "-o", decoded, "--recursive", "--report", tmp_path / "r.csv")
    assert status == 0 and (tmp_path / "r.csv").read_text().startswith("source,")
    assert np.asarray(Image.open(decoded / "a.png")).shape == small_photo.shape
    results = list(tilecodec.compress_many([src / "a.png"], tmp_path / "api", workers=2, quality=10))
    assert [r.status for r in results] == ["done"] and (tmp_path / "api" / "a.tlc").exists()
