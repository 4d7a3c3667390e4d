"""``tilecodec serve``: the real server in its own process, driven over HTTP and, where Debian's
chromium is installed, by a real headless browser (Playwright)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import tilecodec
from tilecodec.bench.codecs import classical
from tilecodec.metrics import psnr

CHROMIUM = shutil.which("chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    def __init__(self, tmp: Path):
        self.tmp = tmp / "tmp"
        self.tmp.mkdir()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "TMPDIR": str(self.tmp)}
        self.process = subprocess.Popen([sys.executable, "-m", "tilecodec", "serve", "--port", str(self.port),
                                         "--max-upload", "2", "--max-pixels", "1"],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(300):
            try:
                self.get("/api/models")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def request(self, path, data=None, method=None):
        req = urllib.request.Request(self.url + path, data=data, method=method or ("POST" if data is not None else "GET"))
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path):
        return self.request(path)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=60)
        return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Running(tmp_path_factory.mktemp("serve"))
    yield running
    out = running.stop()
    assert "Traceback" not in out, out
    assert list(running.tmp.iterdir()) == [], "the server left files behind"


@pytest.fixture(scope="module")
def crop(photo) -> np.ndarray:
    return np.ascontiguousarray(photo[40:232, 60:316])  # 256x192


def _png(array, path) -> Path:
    Image.fromarray(array).save(path)
    return path


def _wait(server, job_id, until=("done", "failed", "cancelled")):
    for _ in range(1200):
        status, state = server.get(f"/api/jobs/{job_id}")
        if state["status"] in until:
            return state
        time.sleep(0.1)
    raise AssertionError("the comparison did not end")


def test_bad_uploads_get_a_clear_4xx(server, tmp_path, photo, small_file):
    rgba = np.concatenate([photo[:64, :64], np.full((64, 64, 1), 200, np.uint8)], axis=2)
    cases = [
        ("/api/compare?quality=50&name=notes.txt", b"plain text, not an image", 415, "not an image"),
        ("/api/compare?quality=50&name=alpha.png", _png(rgba, tmp_path / "a.png").read_bytes(), 422, "alpha"),
        ("/api/compare?quality=50&name=big.png",
         _png(np.zeros((1100, 1000, 3), np.uint8), tmp_path / "big.png").read_bytes(), 413, "at most 1.0 MP"),
        ("/api/compare?quality=50", os.urandom(2_100_000), 413, "at most 2.0 MB"),
        ("/api/compare?quality=150", b"x", 400, "between 0 and 100"),
        ("/api/compare?quality=50&bpp=1", b"x", 400, "either quality or bpp"),
        ("/api/compare?quality=50&model=nope", b"x", 400, "unknown model"),
        ("/api/decode?name=bad.tlc", small_file[:-9] + b"\0" * 9, 422, "bad.tlc"),
        ("/api/decode?name=photo.png", _png(photo[:32, :32], tmp_path / "p.png").read_bytes(), 422, "not a tilecodec file"),
        ("/api/jobs/000000000000", None, 404, "no such comparison"),
    ]
    for path, body, status, words in cases:
        got, answer = server.request(path, body)
        assert got == status and words in answer["error"] and "\n" not in answer["error"], (path, got, answer)
    assert server.get("/api/models")[0] == 200  # and it keeps serving


def test_a_comparison_can_be_cancelled_while_the_server_keeps_answering(server, tmp_path, photo):
    body = _png(np.ascontiguousarray(photo[:315, :504]), tmp_path / "p.png").read_bytes()
    status, job = server.request("/api/compare?quality=90&name=p.png", body)
    assert status == 202
    seen = server.get(f"/api/jobs/{job['id']}")[1]["status"]  # answered while the job is queued or running
    assert seen in ("queued", "running")
    server.request(f"/api/jobs/{job['id']}/cancel", b"")
    state = _wait(server, job["id"])
    assert state["status"] == "cancelled"
    assert [k for k, v in state["progress"].items() if v == "done"] != list(state["progress"])


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_the_page_in_a_real_browser(server, tmp_path, crop, small_file):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    upload = _png(crop, tmp_path / "crop.png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.wait_for_selector("#model option[value=ckbd-mse]", state="attached")
        page.set_input_files("#file", str(upload))
        page.fill("#quality", "50")
        page.click("#go")
        page.wait_for_selector("body[data-status=done]", timeout=300_000)

        # the page's numbers are the library's own for this image
        def cell(codec, key):
            return page.inner_text(f"#table tr[data-codec={codec}] td.{key}")

        codec = tilecodec.load("ckbd-mse")
        data = codec.compress(crop, quality=50)
        assert int(cell("tilecodec", "bytes")) == len(data)
        assert cell("tilecodec", "psnr") == f"{psnr(crop, codec.decompress(data)):.2f}"
        for name in ("jpeg", "webp", "avif", "jpegxl"):
            c = classical(name)
            coded = c.encode(crop, float(cell(name, "setting")))
            assert int(cell(name, "bytes")) == len(coded)
            assert cell(name, "psnr") == f"{psnr(crop, c.decode(coded).reshape(crop.shape)):.2f}"
            assert abs(int(cell(name, "bytes")) / len(data) - 1) < 0.15  # matched to about the same size
        assert page.locator("#plot circle.pt[data-codec=tilecodec]").count() >= 3
        assert page.locator("#plot circle.pt[data-codec=jpeg]").count() >= 2
        assert page.evaluate("document.getElementById('img-left').naturalWidth") == crop.shape[1]

        # drag the split; zoom to pixels
        box = page.locator("#stage").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + 20)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + 20, steps=5)
        page.mouse.up()
        split = float(page.input_value("#split"))
        assert 15 < split < 25
        assert page.evaluate("document.getElementById('img-right').style.clipPath") == f"inset(0px 0px 0px {split:g}%)"
        page.select_option("#right", "avif")
        page.select_option("#zoom", "4")
        assert page.evaluate("document.getElementById('img-right').getBoundingClientRect().width") == 4 * crop.shape[1]
        page.select_option("#zoom", "1")
        page.screenshot(path=str(os.environ.get("TILECODEC_SCREENSHOT") or tmp_path / "serve.png"), full_page=True)

        # the download buttons give the .tlc and the PNG
        with page.expect_download() as download:
            page.click("#dl-tlc")
        assert Path(download.value.path()).read_bytes() == data
        with page.expect_download() as download:
            page.click("#dl-png")
        assert np.array_equal(np.asarray(Image.open(download.value.path())), codec.decompress(data))

        # the decode view: a good file shows, a corrupt one gets its message
        (tmp_path / "good.tlc").write_bytes(data)
        page.set_input_files("#tlc", str(tmp_path / "good.tlc"))
        page.wait_for_selector("#decoded:not(.hidden)")
        assert "256x192" in page.inner_text("#decode-info")
        (tmp_path / "bad.tlc").write_bytes(data[:40])
        page.set_input_files("#tlc", str(tmp_path / "bad.tlc"))
        page.wait_for_function("document.getElementById('decode-error').textContent.length > 0")
        assert "bad.tlc" in page.inner_text("#decode-error")
        browser.close()
