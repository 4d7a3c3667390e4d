"""Numeric settings: transform precision, entropy-path threading, memory.

Transforms run in a ``precision`` chosen once per model at load time: "bf16" (channels_last
with bf16 autocast), "float32" (channels_last) or "reference" (plain float32, the fallback
when a fast result is not finite). Their rounding only perturbs pixels. The entropy path
(``entropy.paths``) decides which table codes each symbol; it runs outside autocast on one
thread per job (``entropy_scope``), and the entropy paths of several patches or halves run
side by side, one per Python thread (``entropy_map``).
"""

import ctypes
import json
import os
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import torch

from .files import atomic_write

ENTROPY_THREADS = 1


PRECISIONS = ("bf16", "float32", "reference")
BF16_MARGIN = 0.9  # bf16 must take at most this share of float32's time to be chosen


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``) with its family and model numbers, which tell
    apart generations that a virtual machine names alike ("AMD EPYC"), or what ``platform``
    knows."""
    try:
        fields = {}
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        if "model name" in fields:
            numbers = f" (family {fields['cpu family']}, model {fields['model']})" if "cpu family" in fields else ""
            return fields["model name"] + numbers
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine_key() -> str:
    return f"{cpu_name()}|torch {torch.__version__}|{torch.backends.cpu.get_cpu_capability()}"


def _cache_file() -> Path:
    root = os.environ.get("TILECODEC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tilecodec")
    return Path(root) / "precision.json"


def measure_bf16(runs: int = 4) -> tuple[float, float]:
    """Best seconds of one synthesis stage (a 5x5 stride-2 transposed convolution and an
    inverse GDN, 96 channels, 24x24 -> 48x48) in float32 and under bf16 autocast, both
    channels_last, on this machine's current torch thread setting."""
    from .layers import GDN, deconv

    torch.manual_seed(0)
    stage = torch.nn.Sequential(deconv(96, 96), GDN(96, inverse=True)).eval()
    x = torch.randn(1, 96, 24, 24).contiguous(memory_format=torch.channels_last)
    best = []
    with torch.no_grad():
        for bf16 in (False, True):
            times = []
            for _ in range(runs + 1):  # the first run warms the kernels up
                t = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    stage(x)
                times.append(time.perf_counter() - t)
            best.append(min(times[1:]))
    return best[0], best[1]


def bf16_pays() -> bool:
    """Whether bf16 autocast makes transforms faster on this machine, decided by measuring
    (``measure_bf16``) once per CPU model, torch version and kernel capability and cached in
    ``~/.cache/tilecodec/precision.json`` (``TILECODEC_CACHE`` or ``XDG_CACHE_HOME`` move
    it). ``TILECODEC_BF16=1`` or ``0`` decides instead."""
    forced = os.environ.get("TILECODEC_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    key, path = _machine_key(), _cache_file()
    with _DECISION_LOCK:
        if key in _DECISIONS:
            return _DECISIONS[key]
        try:
            cached = json.loads(path.read_text())
        except (OSError, ValueError):
            cached = {}
        if isinstance(cached, dict) and isinstance(cached.get(key), dict) and "bf16" in cached[key]:
            decision = bool(cached[key]["bf16"])
        else:
            float32, bf16 = measure_bf16()
            decision = bf16 <= BF16_MARGIN * float32
            cached = cached if isinstance(cached, dict) else {}
            cached[key] = {"bf16": decision, "float32_s": round(float32, 6), "bf16_s": round(bf16, 6)}
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, [json.dumps(cached, indent=1, sort_keys=True).encode()])
            except OSError:
                pass  # an unwritable cache: measure again next time
        _DECISIONS[key] = decision
        return decision


_DECISIONS: dict[str, bool] = {}
_DECISION_LOCK = threading.Lock()


def default_precision() -> str:
    """The transform precision a model gets at load time on this machine: "bf16" where
    ``bf16_pays``, else "float32"."""
    return "bf16" if bf16_pays() else "float32"


@contextmanager
def entropy_scope(threads: int = ENTROPY_THREADS):
    """No autocast, no gradients, ``threads`` torch threads (ENTROPY_THREADS by default): where
    an entropy path (``entropy.paths``) runs, so that both sides of the channel compute the
    same numbers. More threads only for a path whose sums are exact in any order
    (``EntropyPath.exact_sums``)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.autocast("cpu", enabled=False), torch.no_grad():
            yield
    finally:
        torch.set_num_threads(previous)


def entropy_map(fn, items: list) -> list:
    """``[fn(item) for item in items]``, the items spread over as many Python threads as torch
    has threads, each running its torch ops on ENTROPY_THREADS threads: every item's result is
    the same as in a sequential call, and the cores the single-threaded entropy path leaves
    idle do the work of other items (patches)."""
    workers = min(len(items), torch.get_num_threads())
    if workers <= 1:
        return [fn(item) for item in items]
    threads = torch.get_num_threads()
    torch.set_num_threads(ENTROPY_THREADS)

    def run(item):  # grad mode and autocast are per thread: set them here
        with torch.no_grad(), torch.autocast("cpu", enabled=False):
            return fn(item)

    try:
        return list(_pool(workers).map(run, items))
    finally:
        torch.set_num_threads(threads)


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``workers`` threads, kept for later calls: starting threads anew
    cost about 7 ms per ``entropy_map`` call, a few percent of a 768x512 decode."""
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="tilecodec-entropy")
        return _POOLS[workers]


def _forget_pools() -> None:  # a forked child has none of the parent's threads
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_pools)


BAND_ROWS = 8  # input rows from which ``row_bands`` splits the work in two


def row_bands(fn, x: torch.Tensor, halo: int, scale: int) -> torch.Tensor:
    """``fn(x)`` on the entropy path, for a conv stack ``fn`` whose output is ``scale`` times
    taller than ``x`` and whose output rows depend only on input rows within ``halo``. From
    BAND_ROWS rows on, the top and bottom halves (each with ``halo`` rows of its neighbour)
    are computed side by side (``entropy_map``) and joined. The split depends only on the
    shape of ``x``, so encoder and decoder compute the same numbers."""
    def run(band):
        with entropy_scope():
            return fn(band)

    h = x.shape[2]
    if h < BAND_ROWS:
        return run(x)
    mid = h // 2
    top, bottom = entropy_map(run, [x[:, :, : mid + halo], x[:, :, mid - halo:]])
    return torch.cat([top[:, :, : mid * scale], bottom[:, :, halo * scale:]], dim=2)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve large buffers from its heap and keep freed memory for
    reuse (M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 GiB), from one arena for every thread
    (M_ARENA_MAX = 1), so that what the entropy path's threads free serves the transforms.
    By default every buffer above 32 MB is a fresh mmap whose pages the kernel zeroes again on
    first touch, and the transforms allocate several such feature maps per image
    (benchmarks/results/allocator.md); ``release_freed_memory`` returns the kept memory.
    Process-wide; set TILECODEC_MALLOC=default to leave malloc alone. True if applied."""
    if os.environ.get("TILECODEC_MALLOC") == "default" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8  # malloc.h
        return (bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
                and bool(libc.mallopt(M_ARENA_MAX, 1)))
    except (OSError, AttributeError):
        return False


def release_freed_memory() -> None:
    """Hand the memory malloc keeps for reuse (``keep_freed_memory``) back to the system:
    called between the patch batches of a large image, so that the process's peak stays that
    of one batch, not the sum of every batch's fragments."""
    if os.environ.get("TILECODEC_MALLOC") == "default" or platform.libc_ver()[0] != "glibc":
        return
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


BAND_HALO = 4  # latent rows of context on each side of a band: the bundled transforms reach 2


def in_bands(transform, x: torch.Tensor, unit_in: int, unit_out: int, rows: int | None,
             halo: int = BAND_HALO) -> torch.Tensor:
    """``transform(x)`` computed in horizontal bands of ``rows`` latent rows, each with
    ``halo`` latent rows of context above and below, cropped and stacked: ``x`` has
    ``unit_in`` rows per latent row, the output ``unit_out`` (16 and 1 for an analysis, 1 and
    16 for a synthesis). Equal to one pass up to float rounding while ``halo`` covers the
    transform's receptive field; the working memory is that of one band. ``rows=None`` or a
    band as tall as ``x``: one pass."""
    n = x.shape[2] // unit_in
    if rows is None or rows >= n:
        return transform(x)
    rows = max(1, rows)
    out = []
    for a in range(0, n, rows):
        b = min(n, a + rows)
        a0, b0 = max(0, a - halo), min(n, b + halo)
        y = transform(x[:, :, a0 * unit_in: b0 * unit_in])
        out.append(y[:, :, (a - a0) * unit_out: (b - a0) * unit_out].clone())
        del y
    return torch.cat(out, dim=2)


def fast_transform(module: torch.nn.Module, x: torch.Tensor, precision: str) -> torch.Tensor:
    """``module(x)`` in ``precision`` (see the module docstring); returns float32, possibly
    in channels_last layout (call ``.contiguous()`` where the layout matters).

    A non-finite fast result (seen rarely, and not reproducibly, from oneDNN bf16 kernels on
    tiny feature maps) is recomputed in "reference" precision; FloatingPointError if that
    is not finite either. The check is on the sum, which is non-finite if any element is
    (and, harmlessly, if the sum itself overflows).
    """
    if precision != "reference":
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = module(x.float().contiguous(memory_format=torch.channels_last)).float()
        if torch.isfinite(out.sum()):
            return out
    out = module(x.float().contiguous())
    if not torch.isfinite(out.sum()):
        raise FloatingPointError("a transform produced non-finite values")
    return out
