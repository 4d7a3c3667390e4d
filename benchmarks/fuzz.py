"""Fuzzing the decoder: every input gives an image or a TilecodecError, within time and memory.

    python benchmarks/fuzz.py [--mutants 10000] [--workers 2] [--timeout 20] [--memory-gb 3]
        # writes benchmarks/results/fuzz.md

Seed files are coded by the bundled models (several sizes, grayscale, whole images and patch
layouts, qualities). Mutants, in classes:

- ``raw``: bit flips, byte overwrites, insertions, deletions anywhere;
- ``truncation``: every prefix of the smallest seed;
- ``header``: header fields set to edge values, header CRC recomputed;
- ``payload``: section payload edits with the section CRC recomputed (index CRC, word count,
  range-coded words, escape bytes, forged escape varints such as 2^63, -2^63, 2^64 - 1);
- ``forged``: files claiming large whole-image sizes with a valid hyper-latent section (its
  index CRC matches) and an empty or tiny latent stream;
- ``splice``: sections swapped between files, files concatenated.

Each case runs in a worker process with an address-space cap (``--memory-gb``) and a timeout;
outcomes: ``image`` (decoded), ``rejected`` (a TilecodecError), ``escape`` (any other
exception), ``crash`` (the worker died), ``timeout``, ``memory`` (the cap was hit). The target
is 0 escapes, crashes, timeouts and memory-cap hits.
"""

import argparse
import multiprocessing
import random
import resource
import signal
import struct
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = ("image", "rejected", "escape", "crash", "timeout", "memory")


def make_seeds() -> list[bytes]:
    """Small real files of the bundled models: sizes, grayscale, patch layouts, qualities."""
    from PIL import Image

    import tilecodec
    from tilecodec.demo import SAMPLE

    photo = np.asarray(Image.open(SAMPLE).convert("RGB"))
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    cases = [("ckbd-mse", photo[:64, :64], dict(quality=50)),
             ("ckbd-mse", gray[40:110, 100:230], dict(quality=90)),
             ("ckbd-mse", photo[100:196, 50:210], dict(quality=20, patch=64, overlap=0)),
             ("msh-mse-fast", photo[:150, :200], dict(quality=70, patch=64, overlap=8)),
             ("msh-mse-fast", photo[200:264, 300:428], dict(quality=0)),
             ("ckbd-msssim", photo[10:74, 10:74], dict(quality=100))]
    return [tilecodec.load(model).compress(np.ascontiguousarray(image), **options) for model, image, options in cases]


def _frame(payload: bytes) -> bytes:
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


def _split(data: bytes):
    """(header bytes including CRC, [section payloads]) of a valid file."""
    from tilecodec import container

    _, table = container.index(data)
    first = table[0][0] - 8
    return data[:first], [data[o: o + n] for o, n, _ in table]


def _rebuild_header(head: bytes, edit) -> bytes:
    """``head`` with its body edited by ``edit`` (bytearray -> None) and its CRC recomputed."""
    body = bytearray(head[:-4])
    edit(body)
    return bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))


def _varint(z: int) -> bytes:
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    return bytes(out + bytes([z]))


EDGE_VARINTS = [2 * 2 ** 63, 2 * 2 ** 63 - 1, 2 ** 64 - 1, 2 ** 70, 2 * 2 ** 24, 2 * 2 ** 21 - 1, 2 * 32769, 1]


def raw(rng: random.Random, seed: bytes):
    data = bytearray(seed)
    kind = rng.choice(["bit flip", "byte overwrite", "insertion", "deletion"])
    for _ in range(rng.choice([1, 1, 2, 8])):
        pos = rng.randrange(len(data))
        if kind == "bit flip":
            data[pos] ^= 1 << rng.randrange(8)
        elif kind == "byte overwrite":
            data[pos] = rng.randrange(256)
        elif kind == "insertion":
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 4, 16])))
        elif len(data) > 1:
            del data[pos: pos + rng.choice([1, 4, 16])]
    return kind, bytes(data)


def header(rng: random.Random, seed: bytes):
    head, sections = _split(seed)
    name_len = head[7]
    fixed = 8 + name_len  # offset of the fixed fields: hash(8s) width height channels quality step patch overlap sections
    fields = [("hash", 0, "8s"), ("width", 8, "I"), ("height", 12, "I"), ("channels", 16, "B"), ("quality", 17, "f"),
              ("step", 21, "f"), ("patch", 25, "H"), ("overlap", 27, "H"), ("sections", 29, "I")]
    name, offset, fmt = rng.choice(fields)
    edges = {"I": [0, 1, 63, 64, 65, 1024, 8191, 65535, 65536, 2 ** 31, 2 ** 32 - 1],
             "B": [0, 2, 4, 255], "H": [0, 1, 8, 63, 64, 65, 4096, 65535],
             "f": [float("nan"), float("inf"), -1.0, 0.0, 1e-3, 100.0, 100.5, 1e30],
             "8s": [b"00000000", b"zzzzzzzz", b"\xff" * 8]}[fmt]
    value = rng.choice(edges)

    def edit(body):
        struct.pack_into("<" + fmt, body, fixed + offset, value)

    new = _rebuild_header(head, edit)
    if rng.random() < 0.2:  # the model name too
        new = _rebuild_header(new, lambda body: body.__setitem__(slice(8, 8 + min(4, name_len)),
                                                                 rng.choice([b"../x", b"\x00\x00\x00\x00", b"ckbX"])[:min(4, name_len)]))
    return f"{name} = {value!r}", new + b"".join(_frame(s) for s in sections)


def payload(rng: random.Random, seed: bytes):
    head, sections = _split(seed)
    i = rng.randrange(len(sections))
    s = bytearray(sections[i])
    n_words = int.from_bytes(s[4:8], "little") if len(s) >= 8 else 0
    kind = rng.choice(["index CRC", "word count", "range-coded words", "escape bytes", "escape varint"])
    if kind == "index CRC" and len(s) >= 4:
        s[rng.randrange(4)] ^= 1 << rng.randrange(8)
    elif kind == "word count" and len(s) >= 8:
        s[4:8] = rng.choice([0, 1, n_words - 1, n_words + 1, 2 ** 31, 2 ** 32 - 1]).to_bytes(4, "little", signed=False) \
            if n_words >= 1 else (2 ** 32 - 1).to_bytes(4, "little")
    elif kind == "range-coded words" and n_words:
        pos = 8 + rng.randrange(4 * n_words)
        s[pos] ^= 1 << rng.randrange(8)
    elif kind == "escape bytes" and len(s) > 8 + 4 * n_words:
        pos = rng.randrange(8 + 4 * n_words, len(s))
        s[pos] = rng.randrange(256)
    else:
        kind = "escape varint"
        s = s[: 8 + 4 * n_words] + _varint(rng.choice(EDGE_VARINTS)) + bytes(s[8 + 4 * n_words:])
    sections[i] = bytes(s)
    return kind, head + b"".join(_frame(x) for x in sections)


def forged(rng: random.Random, seed: bytes):
    """A whole-image file claiming a large size: a valid hyper-latent of zeros (its index CRC
    matches, as a forger who knows the model would make it) and an empty or tiny latent."""
    import torch

    import tilecodec
    from tilecodec import container

    codec = tilecodec.load("ckbd-mse")
    side = rng.choice([(512, 512), (1024, 1024), (2048, 2048), (4096, 8192), (65535, 4096)])
    h, w = side
    z_shape = (-(-h // 64), -(-w // 64))
    lc = codec.model.latent_codec
    z = torch.zeros(1, lc.z.density.channels, *z_shape) + lc.z.density.medians.reshape(1, -1, 1, 1)
    if z_shape[0] * z_shape[1] > 4096:  # a large hyper-latent: forge its bytes, not a real stream
        z_bytes = bytes(8)
    else:
        z_bytes = lc.z.compress(z).strings[0]
    y_strings = [rng.choice([b"", bytes(8), bytes(rng.randrange(256) for _ in range(64))]) for _ in range(2)]
    header = container.Header("ckbd-mse", codec.model_hash, w, h, 3, 50.0, 1.0, sections=3)
    return f"{w}x{h}", container.pack(header, [z_bytes, *y_strings])


def splice(rng: random.Random, seeds: list[bytes]):
    a, b = rng.sample(seeds, 2)
    if rng.random() < 0.3:
        return "concatenation", a + b
    head, sa = _split(a)
    _, sb = _split(b)
    i, j = rng.randrange(len(sa)), rng.randrange(len(sb))
    sa[i] = sb[j]
    return "section swap", head + b"".join(_frame(s) for s in sa)


def mutants(seeds: list[bytes], count: int, seed: int = 0):
    """``count`` mutants (class, kind, bytes), deterministic for ``seed``; every truncation of
    the smallest seed first."""
    rng = random.Random(seed)
    smallest = min(seeds, key=len)
    made = 0
    for n in range(len(smallest)):
        if made >= count // 10:
            break
        yield "truncation", "prefix", smallest[:n]
        made += 1
    makers = [("raw", raw), ("header", header), ("payload", payload), ("forged", forged), ("splice", None)]
    weights = [4, 2, 3, 1, 1]
    while made < count:
        name, fn = rng.choices(makers, weights)[0]
        kind, data = splice(rng, seeds) if name == "splice" else fn(rng, rng.choice(seeds))
        yield name, kind, data
        made += 1


def decode(data: bytes) -> str:
    """The outcome of decoding ``data`` in this process: "image", "rejected" or "escape"."""
    import tilecodec
    from tilecodec import container

    try:
        tilecodec.info(data)
        container.unpack(data)
        out = tilecodec.load(tilecodec.info(data).model).decompress(data)
        return "image" if isinstance(out, np.ndarray) else "escape"
    except tilecodec.TilecodecError:
        return "rejected"
    except MemoryError:
        return "memory"
    except Exception as exc:  # noqa: BLE001 (what the fuzzer counts)
        return f"escape: {type(exc).__name__}: {str(exc)[:80]}"


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _worker(jobs, results, memory_gb: float, timeout: float) -> None:
    import torch

    torch.set_num_threads(1)
    cap = int(memory_gb * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    signal.signal(signal.SIGALRM, _alarm)
    while True:
        job = jobs.get()
        if job is None:
            return
        number, data = job
        results.put((number, "started", time.time()))
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            outcome = decode(data)
        except _Timeout:
            outcome = "timeout"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        results.put((number, outcome, time.time()))


def run(cases: list, workers: int, memory_gb: float, timeout: float) -> list[str]:
    """The outcome of every case (class, kind, bytes), in worker processes that are replaced
    when they die or hang."""
    ctx = multiprocessing.get_context("spawn")
    jobs, results = ctx.Queue(), ctx.Queue()
    outcomes = [None] * len(cases)
    running: dict[int, tuple] = {}  # case -> (process, start)
    procs = []

    def spawn():
        p = ctx.Process(target=_worker, args=(jobs, results, memory_gb, timeout), daemon=True)
        p.start()
        procs.append(p)

    for _ in range(workers):
        spawn()
    for number, (_, _, data) in enumerate(cases):
        jobs.put((number, data))
    done = 0
    started = {}
    while done < len(cases):
        try:
            number, what, when = results.get(timeout=1.0)
        except Exception:  # queue.Empty: look for dead or hung workers
            number = None
        if number is not None:
            if what == "started":
                started[number] = when
                continue
            started.pop(number, None)
            if outcomes[number] is None:
                outcomes[number] = what
                done += 1
        for p in list(procs):
            if not p.is_alive():  # a crash: the case it was running is the one started and unfinished
                procs.remove(p)
                lost = [n for n in started if outcomes[n] is None]
                for n in lost[:1]:
                    outcomes[n] = "memory" if p.exitcode in (-9,) else "crash"
                    started.pop(n)
                    done += 1
                spawn()
        now = time.time()
        for n, t in list(started.items()):
            if now - t > 3 * timeout and outcomes[n] is None:  # hung in C code past the alarm
                outcomes[n] = "timeout"
                started.pop(n)
                done += 1
    for _ in procs:
        jobs.put(None)
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
    return outcomes


def table(cases: list, outcomes: list[str]) -> list[str]:
    counts = Counter((c[0], o.split(":")[0]) for c, o in zip(cases, outcomes))
    kinds = Counter((c[0], c[1], o.split(":")[0]) for c, o in zip(cases, outcomes))
    lines = ["| class | cases | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for cls in dict.fromkeys(c[0] for c in cases):
        row = [counts[(cls, o)] for o in OUTCOMES]
        lines.append(f"| {cls} | {sum(row)} | " + " | ".join(map(str, row)) + " |")
    total = [sum(counts[(cls, o)] for cls in dict.fromkeys(c[0] for c in cases)) for o in OUTCOMES]
    lines.append(f"| **all** | {sum(total)} | " + " | ".join(map(str, total)) + " |")
    lines += ["", "By mutation kind:", "", "| class | kind | cases | " + " | ".join(OUTCOMES) + " |",
              "|---" * (len(OUTCOMES) + 3) + "|"]
    for cls, kind in dict.fromkeys((c[0], c[1]) for c in cases):
        row = [kinds[(cls, kind, o)] for o in OUTCOMES]
        lines.append(f"| {cls} | {kind} | {sum(row)} | " + " | ".join(map(str, row)) + " |")
    escapes = sorted({o for o in outcomes if o.startswith("escape")})
    if escapes:
        lines += ["", "Escapes:", ""] + [f"- {e}" for e in escapes[:20]]
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mutants", type=int, default=10000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    p.add_argument("--memory-gb", type=float, default=3.0, help="address-space cap per worker")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fuzz.md"))
    args = p.parse_args()
    from tilecodec.numerics import cpu_name

    seeds = make_seeds()
    cases = list(mutants(seeds, args.mutants, args.seed))
    start = time.time()
    outcomes = run(cases, args.workers, args.memory_gb, args.timeout)
    minutes = (time.time() - start) / 60
    lines = [f"`python benchmarks/fuzz.py {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"{len(cases)} mutants of {len(seeds)} seed files, {args.workers} workers with a {args.memory_gb:g} GB "
             f"address-space cap and a {args.timeout:g} s timeout each, {minutes:.1f} minutes on {cpu_name()}.", "",
             *table(cases, outcomes)]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    bad = sum(1 for o in outcomes if o.split(":")[0] in ("escape", "crash", "timeout", "memory"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
