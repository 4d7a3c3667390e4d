"""Numeric settings: transform precision, entropy-path threading, memory.

Transforms run in a ``precision`` chosen once per model at load time: "bf16" (channels_last
with bf16 autocast), "float32" (channels_last) or "reference" (plain float32, the fallback
when a fast result is not finite). Their rounding only perturbs pixels. The entropy path
(``entropy.paths``) decides which table codes each symbol; it runs outside autocast on one
thread per job (``entropy_scope``), and the entropy paths of several patches or halves run
side by side, one per Python thread (``entropy_map``).
"""

import ctypes
import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

ENTROPY_THREADS = 1


PRECISIONS = ("bf16", "float32", "reference")


def bf16_pays() -> bool:
    """Whether bf16 transforms should be used on this CPU: only with AMX tiles (measured
    rule: docs/design.md). TILECODEC_BF16=1 or 0 overrides the detection."""
    forced = os.environ.get("TILECODEC_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    return bool(getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", lambda: False)())


def default_precision() -> str:
    """The transform precision a model gets at load time on this machine."""
    return "bf16" if bf16_pays() else "float32"


@contextmanager
def entropy_scope():
    """No autocast, no gradients, ENTROPY_THREADS threads: where an entropy path
    (``entropy.paths``) runs, so that both sides of the channel compute the same numbers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(ENTROPY_THREADS)
    try:
        with torch.autocast("cpu", enabled=False), torch.no_grad():
            yield
    finally:
        torch.set_num_threads(threads)


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
    reuse (M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 GiB). By default every buffer above 32 MB
    is a fresh mmap whose pages the kernel zeroes again on first touch, and the transforms
    allocate several such feature maps per image (benchmarks/results/allocator.md).
    Process-wide; set TILECODEC_MALLOC=default to leave malloc alone. True if applied."""
    if os.environ.get("TILECODEC_MALLOC") == "default" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # malloc.h
        return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False


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
