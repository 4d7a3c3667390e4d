"""Evaluation suite: BD-rate, metrics on known images, and a tiny real run of every codec."""

import json
import math
import os

import numpy as np
import pytest
from PIL import Image

from tilecodec.bench import bd_quality, bd_rate, run_bench
from tilecodec.bench.codecs import CLASSICAL, get_codec
from tilecodec.bench.report import load_reference
from tilecodec.metrics import ms_ssim, ms_ssim_db, psnr, psnr_y

RATES = [0.12, 0.25, 0.5, 0.9, 1.6]
PSNRS = [27.1, 29.8, 32.9, 35.6, 38.4]


def test_bd_rate_of_a_curve_against_itself_is_zero():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0, abs=1e-9)
    assert bd_quality(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0, abs=1e-9)


def test_bd_rate_of_ten_percent_fewer_bits_is_minus_ten_percent():
    assert bd_rate(RATES, PSNRS, [r * 0.9 for r in RATES], PSNRS) == pytest.approx(-10, abs=0.1)
    assert bd_rate([r * 0.9 for r in RATES], PSNRS, RATES, PSNRS) == pytest.approx(100 / 0.9 - 100, abs=0.1)
    assert bd_quality(RATES, PSNRS, RATES, [p + 0.5 for p in PSNRS]) == pytest.approx(0.5, abs=1e-6)


def test_bd_rate_without_overlap_is_none():
    assert bd_rate(RATES, PSNRS, RATES, [p + 20 for p in PSNRS]) is None


def test_metrics_on_known_images():
    a = np.full((200, 200, 3), 100, np.uint8)
    b = a + np.uint8(10)
    assert psnr(a, a) == math.inf
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    assert psnr_y(a, b) == pytest.approx(psnr(a, b))  # luma weights sum to one
    c = a.copy()
    c[..., 2] += 10  # blue only: Y' moves by 0.114 * 10
    assert psnr_y(a, c) == pytest.approx(10 * math.log10(255**2 / 1.14**2))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (200, 200, 3)).astype(np.uint8)
    noisy = [np.clip(img + rng.normal(0, s, img.shape), 0, 255).astype(np.uint8) for s in (2, 8, 32)]
    scores = [ms_ssim(img, n) for n in noisy]
    assert ms_ssim(img, img) == pytest.approx(1.0)
    assert 1 > scores[0] > scores[1] > scores[2] > 0
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    assert math.isnan(ms_ssim(img[:100, :100], img[:100, :100]))  # too small for five scales


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, photo):
    root = tmp_path_factory.mktemp("bench")
    data = root / "images"
    data.mkdir()
    for i, (y, x) in enumerate([(0, 0), (100, 280)]):
        Image.fromarray(np.ascontiguousarray(photo[y: y + 192, x: x + 224])).save(data / f"img{i}.png")
    out = root / "out" / "results.json"
    codecs = ["tilecodec-msh-mse-fast", *CLASSICAL]
    doc = run_bench(data, codecs=codecs, out=out, plot_path=root / "out" / "rd.png",
                    report_path=root / "out" / "report.html", points=3, target_bpp=0.8, log=lambda *_: None)
    return doc, out, codecs


def test_tiny_run_covers_every_codec_in_compressai_schema(tiny_run):
    doc, out, codecs = tiny_run
    written = json.loads(out.read_text())
    assert [c["name"] for c in written["codecs"]] == codecs
    for c in written["codecs"]:
        r = c["results"]
        assert isinstance(c["description"], str) and c["description"]
        for key in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"):
            assert len(r[key]) == 3 and all(isinstance(v, float) for v in r[key]), (c["name"], key)
        assert r["bpp"] == sorted(r["bpp"]) and r["bpp"][0] > 0
        assert all(0 < v <= 1 for v in r["ms-ssim-rgb"])
        # every per-codec file loads back as a reference curve
        assert load_reference(out.parent / "results-curves" / f"{c['name']}.json")["name"] == c["name"]
    assert set(written["bd"]) == set(codecs)
    assert all(set(v) == set(codecs) - {k} for k, v in written["bd"].items())
    matched = written["matched"]["bpp=0.8"]
    assert all(abs(m["bpp"] / 0.8 - 1) < 0.25 for m in matched.values())
    assert (out.parent / "results.md").read_text().count("|") > 10


def test_plot_and_self_contained_report(tiny_run):
    _, out, codecs = tiny_run
    assert (out.parent / "rd.png").stat().st_size > 10_000 and (out.parent / "rd.svg").exists()
    page = (out.parent / "report.html").read_text()
    assert all(name in page for name in codecs)
    assert page.count("data:image/png;base64,") == 2 * (len(codecs) + 1)
    assert "http://" not in page and "https://" not in page


def test_rerun_uses_the_cache(tiny_run, tmp_path):
    doc, out, codecs = tiny_run
    cache = out.parent / ".results.cache.jsonl"
    before = cache.read_text()
    again = run_bench(doc["dataset"], codecs=codecs, out=out, points=3, log=lambda *_: None)
    assert cache.read_text() == before
    assert again["codecs"] == json.loads(json.dumps(doc["codecs"]))


def test_reference_curves_join_the_comparison(tiny_run, tmp_path):
    doc, out, _ = tiny_run
    ref = out.parent / "results-curves" / "jpeg.json"
    renamed = json.loads(ref.read_text())
    renamed["name"] = "published-jpeg"
    (tmp_path / "ref.json").write_text(json.dumps(renamed))
    again = run_bench(doc["dataset"], codecs=["jpeg"], out=tmp_path / "r.json", references=[tmp_path / "ref.json"],
                      points=3, cache_path=out.parent / ".results.cache.jsonl", log=lambda *_: None)
    assert again["bd"]["jpeg"]["published-jpeg"]["bd_rate_psnr"] == pytest.approx(0, abs=1e-6)


def test_worker_processes_measure_what_one_process_measures(tiny_run, tmp_path):
    """The sweep in 2 worker processes (started from a fork server after this process has run
    torch) gives the same sizes and PSNRs as the tiny run made in-process."""
    doc, _, _ = tiny_run
    codecs = ["tilecodec-msh-mse-fast", "jpeg"]
    again = run_bench(doc["dataset"], codecs=codecs, out=tmp_path / "r.json", points=3, workers=2,
                      log=lambda *_: None)
    for name in codecs:
        mine = next(c for c in doc["codecs"] if c["name"] == name)["results"]
        theirs = next(c for c in again["codecs"] if c["name"] == name)["results"]
        assert theirs["bpp"] == mine["bpp"] and theirs["psnr-rgb"] == mine["psnr-rgb"]


def test_refined_codec_names_parse_and_keep_their_own_cache_points():
    plain, refined = get_codec("tilecodec-ckbd-mse"), get_codec("tilecodec-ckbd-mse@p512n16+r5")
    assert (refined.refine, refined.patch, refined.overlap) == (5, 512, 16) and plain.refine == 0
    assert refined.name == "tilecodec-ckbd-mse@p512n16+r5"
    assert "refine 5" in refined.cache_key and "refine" not in plain.cache_key
    with pytest.raises(ValueError):
        get_codec("tilecodec-ckbd-mse+x5")


def _descendants(pid: int) -> set[int]:
    """Live (non-zombie) processes below ``pid``, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_sigterm_stops_the_worker_processes():
    import signal
    import subprocess
    import sys
    import time

    script = "import time; from tilecodec.bench.sweep import run_tasks; run_tasks(time.sleep, [(300,), (300,)], 2, 1, print, 'sleep')"
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and len(_descendants(proc.pid)) < 3:  # the forkserver and 2 workers
        time.sleep(0.2)
    workers = _descendants(proc.pid)
    assert len(workers) >= 3
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    deadline = time.time() + 20
    while time.time() < deadline and workers & _descendants(1):
        time.sleep(0.2)
    assert not workers & _descendants(1), "worker processes outlived the terminated bench"
