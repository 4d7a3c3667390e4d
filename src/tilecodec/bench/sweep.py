"""Run codecs over images: measured points, cached per (codec, setting, image), in parallel.

A *point* is one real encode and decode of one image at one setting: its size in bytes,
bpp, PSNR (RGB and Y'), MS-SSIM and the encode/decode seconds. Points are appended to a
JSON-lines cache as they finish, so an interrupted run keeps what it finished and a re-run
only computes what is new. Worker processes ignore Ctrl-C; the parent cancels them. They
start from a fork server, never by forking a parent whose torch threads may be running
(a fork then can leave the child's OpenMP runtime waiting for threads that do not exist).
"""

import hashlib
import json
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from .. import images
from ..metrics import bpp, ms_ssim, ms_ssim_db, psnr, psnr_y
from ..search import absolute, closest, relative, search
from .codecs import BenchCodec, get_codec


@dataclass(frozen=True)
class BenchImage:
    name: str
    path: str
    digest: str


def find_images(folder) -> list[BenchImage]:
    """Every image file directly in ``folder``, sorted, with a content digest."""
    files = images.find_images(folder, recursive=False)
    return [BenchImage(p.name, str(p), hashlib.sha1(p.read_bytes()).hexdigest()[:16]) for p in files]


def read_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def measure(codec: BenchCodec, image: np.ndarray, setting: float) -> tuple[dict, np.ndarray]:
    """One real encode/decode: the point's numbers and the decoded pixels."""
    t = time.perf_counter()
    data = codec.encode(image, setting)
    encode_s = time.perf_counter() - t
    t = time.perf_counter()
    out = codec.decode(data)
    decode_s = time.perf_counter() - t
    if out.shape != image.shape:
        out = out.reshape(image.shape)
    m = ms_ssim(image, out)
    point = dict(setting=float(setting), bytes=len(data), bpp=bpp(len(data), image), psnr_rgb=psnr(image, out),
                 psnr_y=psnr_y(image, out), ms_ssim=m, ms_ssim_db=ms_ssim_db(m) if m == m else float("nan"),
                 encoding_time=encode_s, decoding_time=decode_s)
    return point, out


class Cache:
    """Points keyed by (codec cache key, setting, image digest), persisted as JSON lines."""

    def __init__(self, path: Path | None):
        self.path = path
        self.points: dict[str, dict] = {}
        if path and path.exists():
            for line in path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                    self.points[rec["key"]] = rec
                except (json.JSONDecodeError, KeyError):
                    continue  # a line cut by an interrupted write

    @staticmethod
    def key(codec_key: str, setting: float, digest: str) -> str:
        return f"{codec_key}|{float(setting):g}|{digest}"

    def get(self, codec_key, setting, digest):
        return self.points.get(self.key(codec_key, setting, digest))

    def add(self, rec: dict) -> None:
        self.points[rec["key"]] = rec
        if self.path:
            with open(self.path, "a") as f:
                f.write(json.dumps(rec) + "\n")


_CODECS: dict = {}


def _worker_init(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    torch.set_num_threads(threads)


def _codec(name: str, avif_speed: int) -> BenchCodec:
    if (name, avif_speed) not in _CODECS:
        _CODECS[name, avif_speed] = get_codec(name, avif_speed)
    return _CODECS[name, avif_speed]


def _record(codec: BenchCodec, image: BenchImage, point: dict) -> dict:
    return dict(key=Cache.key(codec.cache_key, point["setting"], image.digest), codec=codec.name, image=image.name,
                digest=image.digest, **point)


def _sweep_task(image: BenchImage, codec_name: str, avif_speed: int, settings: list) -> list[dict]:
    codec = _codec(codec_name, avif_speed)
    pixels = read_rgb(image.path)
    return [_record(codec, image, measure(codec, pixels, s)[0]) for s in settings]


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def run_tasks(fn, tasks: list[tuple], workers: int, threads: int, on_result, desc: str) -> None:
    """Run ``fn(*task)`` for every task (in ``workers`` processes if > 1), calling
    ``on_result`` as each finishes. Ctrl-C or SIGTERM cancels what has not finished, stops the
    worker processes (they would otherwise outlive a terminated parent) and re-raises."""
    bar = tqdm(total=len(tasks), desc=desc, dynamic_ncols=True, disable=not tasks)
    if workers <= 1:
        for task in tasks:
            on_result(fn(*task))
            bar.update(1)
        bar.close()
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_worker_init, initargs=(threads,))
    main_thread = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
    try:
        futures = [pool.submit(fn, *task) for task in tasks]
        for fut in as_completed(futures):
            on_result(fut.result())
            bar.update(1)
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(5)
        raise
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        bar.close()
    pool.shutdown()


def thin(settings: tuple, points: int | None) -> tuple:
    """``points`` settings spread evenly over ``settings`` (all of them if None)."""
    if points is None or points >= len(settings):
        return tuple(settings)
    idx = np.unique(np.round(np.linspace(0, len(settings) - 1, max(points, 1))).astype(int))
    return tuple(settings[i] for i in idx)


def sweep(codec_names: list[str], images: list[BenchImage], cache: Cache, workers: int = 1,
          threads: int = 1, avif_speed: int = 6, points: int | None = None) -> dict[str, list[dict]]:
    """Every codec's sweep on every image: {codec name: [point, ...]} (cached points reused).
    ``points`` thins each codec's sweep to that many settings."""
    codecs = [get_codec(n, avif_speed) for n in codec_names]
    for c in codecs:
        c.sweep = thin(c.sweep, points)
    tasks = []
    for codec in codecs:
        for image in images:
            todo = [s for s in codec.sweep if cache.get(codec.cache_key, s, image.digest) is None]
            if todo:
                tasks.append((image, codec.name, avif_speed, todo))

    def keep(records):
        for rec in records:
            cache.add(rec)

    run_tasks(_sweep_task, tasks, workers, threads, keep, "bench")
    return {c.name: [dict(cache.get(c.cache_key, s, im.digest)) for im in images for s in c.sweep] for c in codecs}


def match(codec: BenchCodec, image: np.ndarray, metric: str, target: float, tol: float,
          known: dict | None = None, max_steps: int = 14) -> tuple[dict, np.ndarray, list[dict]]:
    """Search the codec's knob (``search.search``, bisection) so that ``metric`` ("bpp" or
    "psnr_rgb") lands near ``target`` (relative tolerance ``tol`` for bpp, absolute dB for
    PSNR). ``known`` maps settings to already measured points, which are reused. Returns the
    closest point, its decoded pixels, and the points newly measured on the way."""
    points = dict(known or {})
    pixels, new = {}, []
    distance = relative if metric == "bpp" else absolute

    def evaluate(setting):
        point, pixels[float(setting)] = measure(codec, image, float(setting))
        points[float(setting)] = point
        new.append(point)
        return point[metric]

    lo, hi = codec.knob
    trials = search(evaluate, lo, hi, target, distance, tol, integer=codec.integer,
                    known={s: p[metric] for s, p in points.items()}, max_steps=max_steps)
    setting = closest(trials, target, distance)[0]
    out = pixels[setting] if setting in pixels else measure(codec, image, setting)[1]
    return points[setting], out, new


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))

