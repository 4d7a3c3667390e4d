"""The comparison behind the web page: one image coded by a tilecodec model, then by each
classical codec at the same file size (the bench's bisection, ``bench.sweep.match``), with
every measured point kept for the page's rate-distortion plot.

A ``Job`` runs in a worker thread, reports progress in its ``state()`` (a JSON-ready dict
the page polls) and stops at the next encode once ``cancel()`` is called. It writes only
inside its own folder.
"""

import threading
import time
from pathlib import Path

import numpy as np

from ..bench.codecs import classical
from ..bench.sweep import match, measure
from ..images import save_image
from ..metrics import bpp, ms_ssim, psnr

COMPARED = ("jpeg", "webp", "avif", "jpegxl", "jpeg2000")
CURVE_QUALITIES = (0, 25, 50, 75, 100)  # tilecodec's own rate-distortion curve on the image
MATCH_TOLERANCE = 0.03  # relative bpp distance at which a classical codec's size counts as the same


class Cancelled(Exception):
    """The job was cancelled."""


class _Watched:
    """A bench codec whose encodes stop a cancelled job and report each measured point."""

    def __init__(self, codec, job, name):
        self._codec, self._job, self._name = codec, job, name

    def __getattr__(self, attr):
        return getattr(self._codec, attr)

    def encode(self, image, setting):
        self._job.check()
        self._job._progress(self._name, f"searching: setting {setting:g}")
        return self._codec.encode(image, setting)

    def decode(self, data):
        out = self._codec.decode(data)
        image = self._job.image
        self._job._add(self._name, {"bpp": bpp(len(data), image), "psnr": psnr(image, out.reshape(image.shape))})
        return out


class Job:
    """One comparison (``kind="compare"``) of ``image`` (HxWx3 uint8) coded by ``codec`` (a
    ``tilecodec.Codec``) at ``quality`` or at ``target_bpp``, against ``compared`` classical
    codecs at the same size; files go to ``folder``."""

    def __init__(self, job_id: str, folder: Path, image: np.ndarray, codec, quality: float | None,
                 target_bpp: float | None, compared=COMPARED):
        self.id, self.folder, self.image, self.codec = job_id, Path(folder), image, codec
        self.quality, self.target_bpp, self.compared = quality, target_bpp, tuple(compared)
        self.files: dict[str, Path] = {}  # public name -> file in the job's folder
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._status, self._error = "queued", None
        self._progress_by_codec = {name: "waiting" for name in ("tilecodec", *self.compared)}
        self._results: dict[str, dict] = {}
        self._curves: dict[str, list] = {name: [] for name in ("tilecodec", *self.compared)}

    # -- control ---------------------------------------------------------------------------

    def cancel(self) -> None:
        self._cancel.set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def _progress(self, name: str, text: str) -> None:
        with self._lock:
            self._progress_by_codec[name] = text

    def state(self) -> dict:
        """What the page shows: status, per-codec progress, results, curves."""
        with self._lock:
            return {"id": self.id, "status": self._status, "error": self._error,
                    "width": int(self.image.shape[1]), "height": int(self.image.shape[0]),
                    "progress": dict(self._progress_by_codec), "results": dict(self._results),
                    "curves": {k: list(v) for k, v in self._curves.items()}}

    # -- work ------------------------------------------------------------------------------

    def run(self) -> None:
        """The whole comparison; never raises (failures end up in ``state()``)."""
        with self._lock:
            if self._cancel.is_set():
                self._status = "cancelled"
                return
            self._status = "running"
        try:
            self._save_png("original", self.image)
            target = self._code_tilecodec()
            for name in self.compared:
                self._code_classical(name, target)
            self._curve()
            status, error = "done", None
        except Cancelled:
            status, error = "cancelled", None
        except Exception as exc:  # reported on the page as one line, never a trace
            status, error = "failed", f"{exc.__class__.__name__}: {exc}"
        with self._lock:
            self._status, self._error = status, error
            for name, text in self._progress_by_codec.items():
                if text != "done":
                    self._progress_by_codec[name] = status if status != "done" else text

    def _save_png(self, name: str, pixels: np.ndarray) -> None:
        path = self.folder / f"{name}.png"
        save_image(pixels, path)
        self.files[f"{name}.png"] = path

    def _point(self, name: str, data: bytes, decoded: np.ndarray, encode_s: float, decode_s: float,
               setting: float) -> dict:
        m = ms_ssim(self.image, decoded)
        return {"codec": name, "setting": float(setting), "bytes": len(data), "bpp": bpp(len(data), self.image),
                "psnr": psnr(self.image, decoded), "ms_ssim": m, "encode_s": encode_s, "decode_s": decode_s}

    def _add(self, name: str, point: dict) -> None:
        with self._lock:
            self._curves[name].append({"bpp": float(point["bpp"]), "psnr": float(point.get("psnr", point.get("psnr_rgb")))})

    def _code_tilecodec(self) -> float:
        self._progress("tilecodec", "coding")
        t = time.perf_counter()
        if self.target_bpp is not None:
            data = self.codec.compress(self.image, bpp=self.target_bpp)
        else:
            data = self.codec.compress(self.image, quality=self.quality)
        encode_s = time.perf_counter() - t
        t = time.perf_counter()
        decoded = self.codec.decompress(data)
        decode_s = time.perf_counter() - t
        self.check()
        (self.folder / "tilecodec.tlc").write_bytes(data)
        self.files["tilecodec.tlc"] = self.folder / "tilecodec.tlc"
        self._save_png("tilecodec", decoded)
        from ..api import info

        point = self._point("tilecodec", data, decoded, encode_s, decode_s, info(data).quality)
        point["model"] = self.codec.name
        self._add("tilecodec", point)
        with self._lock:
            self._results["tilecodec"] = point
            self._progress_by_codec["tilecodec"] = "done"
        return point["bpp"]

    def _code_classical(self, name: str, target: float) -> None:
        point, pixels, _ = match(_Watched(classical(name), self, name), self.image, "bpp", target,
                                 MATCH_TOLERANCE, max_steps=12)
        self.check()
        self._save_png(name, pixels)
        result = {"codec": name, "setting": point["setting"], "bytes": point["bytes"], "bpp": point["bpp"],
                  "psnr": point["psnr_rgb"], "ms_ssim": point["ms_ssim"], "encode_s": point["encoding_time"],
                  "decode_s": point["decoding_time"]}
        with self._lock:
            self._results[name] = result
            self._progress_by_codec[name] = "done"

    def _curve(self) -> None:
        """tilecodec's own curve on this image (the compared codecs' come from their searches)."""
        done = {round(p["bpp"], 6) for p in self._curves["tilecodec"]}
        for q in CURVE_QUALITIES:
            self.check()
            self._progress("tilecodec", f"curve: quality {q}")
            point, _ = measure(_TilecodecAt(self.codec), self.image, q)
            if round(point["bpp"], 6) not in done:
                self._add("tilecodec", point)
        self._progress("tilecodec", "done")


class _TilecodecAt:
    """The minimal bench-codec face of a ``tilecodec.Codec`` for ``measure``."""

    def __init__(self, codec):
        self.codec = codec

    def encode(self, image, quality):
        return self.codec.compress(image, quality=float(quality))

    def decode(self, data):
        return self.codec.decompress(data)
