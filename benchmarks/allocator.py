"""Encode/decode time of a 768x512 photo with glibc malloc left at its defaults and with
``numerics.keep_freed_memory`` (what ``tilecodec.load()`` applies), in fresh processes
that alternate, so the machine's slow spells hit both alike. Writes
benchmarks/results/allocator.md.

    python benchmarks/allocator.py [--rounds 4]
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT.parent / "shared/data/eval/wiki-001.png"

CHILD = """
import sys, time, numpy as np, torch, tilecodec
from PIL import Image
torch.set_num_threads(2)
codec = tilecodec.load()
img = np.ascontiguousarray(np.asarray(Image.open(sys.argv[1]).convert("RGB"))[:512, :768])
data = codec.compress(img, quality=75)
for _ in range(2):
    codec.compress(img, quality=75), codec.decompress(data)
for _ in range(9):
    t = time.perf_counter(); codec.compress(img, quality=75); e = time.perf_counter() - t
    t = time.perf_counter(); codec.decompress(data); d = time.perf_counter() - t
    print(e, d)
print("hwm", int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024)
"""

MODES = {"glibc defaults (TILECODEC_MALLOC=default)": "default", "keep_freed_memory (tilecodec default)": ""}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    runs = {name: ([], [], []) for name in MODES}
    for _ in range(args.rounds):
        for name, value in MODES.items():
            env = {**os.environ, "TILECODEC_MALLOC": value}
            out = subprocess.run([sys.executable, "-c", CHILD, str(IMAGE)], env=env, capture_output=True,
                                 text=True, check=True).stdout.split("\n")
            for line in out:
                fields = line.split()
                if len(fields) == 2 and fields[0] == "hwm":
                    runs[name][2].append(int(fields[1]))
                elif len(fields) == 2:
                    runs[name][0].append(float(fields[0]))
                    runs[name][1].append(float(fields[1]))
    lines = [f"`python benchmarks/allocator.py --rounds {args.rounds}`", "",
             f"768x512 crop of {IMAGE.name}, quality 75, default patches (one patch at this size), 2 threads; "
             f"{args.rounds} fresh processes per mode, alternating, 9 timed runs each.", "",
             "| malloc | encode s (best / median) | decode s (best / median) | peak RSS MB (max) |", "|---|---|---|---|"]
    for name, (enc, dec, hwm) in runs.items():
        lines.append(f"| {name} | {min(enc):.3f} / {statistics.median(enc):.3f} | "
                     f"{min(dec):.3f} / {statistics.median(dec):.3f} | {max(hwm)} |")
    path = ROOT / "benchmarks/results/allocator.md"
    path.write_text("\n".join(lines) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
