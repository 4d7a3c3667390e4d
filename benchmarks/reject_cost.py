"""What it costs to reject small forged files: time and peak memory per claimed size.

    python benchmarks/reject_cost.py      # writes benchmarks/results/reject_cost.md

Each forged file (``fuzz.forged``: a whole-image header claiming W x H, a valid hyper-latent
of zeros whose index CRC matches, an empty or tiny latent stream) is decoded in a fresh
process; the table gives its size, the wall time of ``decompress`` and the process's peak
resident memory above its baseline after loading the model.
"""

import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import importlib.util, json, re, sys, time
import tilecodec
def hwm():
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1)) // 1024
codec = tilecodec.load()
data = open(sys.argv[1], "rb").read()
base = hwm()
start = time.perf_counter()
try:
    codec.decompress(data)
    outcome = "decoded"
except tilecodec.TilecodecError as exc:
    outcome = type(exc).__name__ + ": " + str(exc)[:60]
print(json.dumps({"seconds": time.perf_counter() - start, "peak_mb": hwm() - base, "outcome": outcome}))
"""


def main() -> None:
    import importlib.util
    import tempfile

    from tilecodec.numerics import cpu_name

    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "benchmarks" / "fuzz.py")
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    rows, seen = [], set()
    for seed in range(40):
        kind, data = fuzz.forged(random.Random(seed), b"")
        if kind in seen:
            continue
        seen.add(kind)
        with tempfile.NamedTemporaryFile(suffix=".tlc") as f:
            f.write(data)
            f.flush()
            out = subprocess.run([sys.executable, "-c", CHILD, f.name], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        rows.append(f"| {kind} | {len(data)} | {r['seconds']:.3f} | {r['peak_mb']} | {r['outcome']} |")
    lines = ["`python benchmarks/reject_cost.py`", "",
             f"Forged whole-image files, decoded with the default model in fresh processes, 2 threads, {cpu_name()}.", "",
             "| claimed size | bytes | seconds | peak MB above baseline | outcome |", "|---|---|---|---|---|", *rows]
    (ROOT / "benchmarks" / "results" / "reject_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
