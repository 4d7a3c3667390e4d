"""Folder-scale coding: many images to ``.tlc`` files (and back) in worker processes.

``compress_many`` / ``decompress_many`` map every input under a root folder to the same
relative path under ``out_dir`` (suffix ``.tlc``, or ``.png`` when decoding), skip outputs
that already exist (so an interrupted batch resumes), never stop on a bad file, and yield one
``BatchResult`` per input as it finishes. Workers are processes, each with
``cores // workers`` torch threads, so that they do not oversubscribe the cores.
"""

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from .images import find_images


@dataclass(frozen=True)
class BatchResult:
    source: str
    output: str
    status: str  # "done", "skipped" or "failed"
    bytes_in: int = 0
    bytes_out: int = 0
    pixels: int = 0
    seconds: float = 0.0
    error: str = ""

    @property
    def bpp(self) -> float:
        size = self.bytes_out if self.output.endswith(".tlc") else self.bytes_in
        return 8 * size / self.pixels if self.pixels else float("nan")

    def row(self) -> dict:
        return {**asdict(self), "bpp": round(self.bpp, 5) if self.pixels else None}


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def set_threads(threads: int) -> None:
    """Give this worker process ``threads`` torch threads (``cores // workers`` in a batch)."""
    import torch

    torch.set_num_threads(threads)


def compress_one(source, output, **options) -> BatchResult:
    """Code one image file to ``output`` (folders made as needed); never raises for a bad
    file: its result says "failed" with the one-line error. The unit of work that
    ``compress_many``, or any distributed engine (docs/api.md), runs per image."""
    from . import load
    from .errors import TilecodecError
    from .images import load_image

    source, output = str(source), str(output)
    start = time.perf_counter()
    try:
        array = load_image(source)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        codec = load(options.pop("model", None), allocate=options.pop("allocate", False))
        size = codec.compress_to_file(array, output, **options)
        return BatchResult(source, output, "done", os.path.getsize(source), size, array.shape[0] * array.shape[1],
                           time.perf_counter() - start)
    except (TilecodecError, OSError, ValueError) as exc:
        return BatchResult(source, output, "failed", seconds=time.perf_counter() - start, error=str(exc))


def decompress_one(source, output, **options) -> BatchResult:
    """Decode one .tlc file to the image ``output``, as ``compress_one`` codes one."""
    from . import info, load
    from .api import read_file
    from .errors import TilecodecError
    from .images import save_image

    source, output = str(source), str(output)
    start = time.perf_counter()
    try:
        data = read_file(source)
        array = load(info(data).model).decompress(data, **options)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        save_image(array, output)
        return BatchResult(source, output, "done", len(data), os.path.getsize(output),
                           array.shape[0] * array.shape[1], time.perf_counter() - start)
    except (TilecodecError, OSError, ValueError) as exc:
        return BatchResult(source, output, "failed", seconds=time.perf_counter() - start, error=str(exc))


def _call(job) -> BatchResult:
    fn, source, output, options = job
    return fn(source, output, **options)


def _run(fn, pairs, options: dict, workers: int, force: bool):
    pending = []
    for source, output in pairs:
        if output.exists() and not force:
            yield BatchResult(str(source), str(output), "skipped", bytes_out=output.stat().st_size)
        else:
            pending.append((fn, str(source), str(output), dict(options)))
    if workers <= 1:
        set_threads(_threads(1))
        for job in pending:
            yield _call(job)
        return
    context = multiprocessing.get_context("forkserver")  # no fork of a process whose torch threads run
    with ProcessPoolExecutor(workers, mp_context=context, initializer=set_threads,
                             initargs=(_threads(workers),)) as pool:
        for future in as_completed([pool.submit(_call, job) for job in pending]):
            yield future.result()


def _pairs(paths, out_dir, root, suffix: str):
    out_dir = Path(out_dir)
    for source in map(Path, paths):
        relative = source.relative_to(root) if root is not None else Path(source.name)
        yield source, out_dir / relative.with_suffix(suffix)


def compress_many(paths, out_dir, root=None, workers: int = 1, force: bool = False, **options):
    """Code every image of ``paths`` to ``out_dir`` (its path relative to ``root`` kept, else
    its name), yielding a ``BatchResult`` per image as it finishes. ``options`` are those of
    ``Codec.compress`` (quality, bpp, patch, overlap, max_memory, refine) plus ``model``."""
    yield from _run(compress_one, _pairs(paths, out_dir, root, ".tlc"), options, workers, force)


def decompress_many(paths, out_dir, root=None, workers: int = 1, force: bool = False, **options):
    """Decode every ``.tlc`` file of ``paths`` to PNG in ``out_dir``, as ``compress_many``
    does; ``options``: ``max_memory``."""
    yield from _run(decompress_one, _pairs(paths, out_dir, root, ".png"), options, workers, force)


def find_inputs(folder, recursive: bool, tlc: bool) -> list[Path]:
    """The images (or, with ``tlc``, the .tlc files) in ``folder``, sorted."""
    folder = Path(folder)
    if tlc:
        found = folder.rglob("*.tlc") if recursive else folder.glob("*.tlc")
        files = sorted(p for p in found if p.is_file())
        if not files:
            raise FileNotFoundError(f"no .tlc files found in {folder}")
        return files
    return find_images(folder, recursive=recursive)


def write_report(results: list[BatchResult], path) -> None:
    """Sizes, bpp and times of every result, as CSV (``.csv``) or JSON (anything else)."""
    import csv
    import io
    import json

    from .files import atomic_write

    rows = [r.row() for r in results]
    if str(path).endswith(".csv"):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["source"])
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    else:
        text = json.dumps(rows, indent=1) + "\n"
    atomic_write(path, [text.encode()])
