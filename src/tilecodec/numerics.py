"""Numeric settings for inference.

Transforms may run fast (channels_last, plus bf16 autocast where the CPU has AMX): their
rounding only perturbs pixels. The entropy path (hyper-synthesis, context model, scale
indexes) decides which table codes each symbol, so encoder and decoder must compute the
same indexes, also on different CPUs: it runs in float64 (``ENTROPY_DTYPE``), in exact
fixed-point arithmetic (``fixed_point``; plain float64 for format 3 files), outside
autocast, on one thread, whatever the caller's thread setting. Kernels for other
instruction sets sum in other orders; in float32 that moved scales across a table
boundary in 6 of 36 files coded on an AVX-512 Xeon and decoded with oneDNN and ATen
limited to AVX2 or no SIMD. To use the other cores anyway, the entropy paths of several
patches run side by side, one per Python thread (``entropy_map``).
"""

import copy
import ctypes
import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from weakref import WeakKeyDictionary

import torch

from .fixed_point import exact_layers

ENTROPY_THREADS = 1
ENTROPY_DTYPE = torch.float64


def bf16_pays() -> bool:
    """Whether bf16 convolutions beat float32 on this CPU: only with AMX tiles. Without AMX
    they lose: on an Intel Xeon with AVX512-BF16 but no AMX, a 768x512 synthesis took
    0.20 s in bf16 against 0.12 s in float32 channels_last, and on an AVX2-only EPYC (bf16
    emulated) 15 s against 0.23 s. TILECODEC_BF16=1 or 0 overrides the detection."""
    forced = os.environ.get("TILECODEC_BF16")
    if forced in ("0", "1"):
        return forced == "1"
    return bool(getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", lambda: False)())


BF16 = bf16_pays()  # fast transforms use bf16 autocast only where it pays


_COPIES = {False: WeakKeyDictionary(), True: WeakKeyDictionary()}
_COPIES_LOCK = threading.Lock()


def entropy_copy(module: torch.nn.Module, exact: bool = False) -> torch.nn.Module:
    """``module`` in ``ENTROPY_DTYPE``, for the entropy path; ``exact``: with its weights on
    the fixed-point grid (``fixed_point.exact_layers``). A copy, kept until the module's
    parameters change (training updates them in place)."""
    key = tuple((p.data_ptr(), p._version) for p in module.parameters())
    with _COPIES_LOCK:
        cached = _COPIES[exact].get(module)
        if cached is None or cached[0] != key:
            cached = (key, exact_layers(module) if exact else copy.deepcopy(module).to(ENTROPY_DTYPE))
            _COPIES[exact][module] = cached
    return cached[1]


@contextmanager
def entropy_path():
    """No autocast, ENTROPY_THREADS threads: identical results on both sides of the channel
    (with tensors and modules in ENTROPY_DTYPE)."""
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
        with entropy_path():
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


def fast_transform(module: torch.nn.Module, x: torch.Tensor, enabled: bool) -> torch.Tensor:
    """Run ``module`` with channels_last, under bf16 autocast where ``BF16`` (if enabled);
    returns float32, possibly in channels_last layout (call ``.contiguous()`` where the
    layout matters).

    A non-finite bf16 result (seen rarely, and not reproducibly, from oneDNN kernels on
    tiny feature maps) is recomputed in float32. The check is on the sum, which is
    non-finite if any element is (and, harmlessly, if the sum itself overflows).
    """
    if enabled:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
            out = module(x.float().contiguous(memory_format=torch.channels_last)).float()
        if torch.isfinite(out.sum()):
            return out
    out = module(x.float().contiguous())
    if not torch.isfinite(out.sum()):
        raise FloatingPointError("a transform produced non-finite values")
    return out
