"""Peak memory and time for 12-24 megapixel photos, coded as overlapping patches.

    python benchmarks/large_images.py      # writes benchmarks/results/large_images.{json,md}

Every photo of ``large/`` plus the bus photo upscaled to 6000x4000 (24 MP). Each encode
and each decode runs in a fresh process; its peak resident memory is the
process's VmHWM (/proc/self/status), which includes Python, torch and the model weights.
(getrusage's ru_maxrss would not do: Linux carries it over from the parent across exec.)
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tilecodec.api import DEFAULT_OVERLAP, DEFAULT_PATCH

ROOT = Path(__file__).resolve().parents[1]
PEAK = 'int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024'  # bytes

ENCODE = """
import sys, time, torch, tilecodec
from tilecodec.images import load_image
torch.set_num_threads({threads})
t = time.perf_counter()
image = load_image(sys.argv[1])
size = tilecodec.load().compress_to_file(image, sys.argv[2], quality={quality}, patch={patch}, overlap={overlap})
print(time.perf_counter() - t, size, image.shape[1], image.shape[0], {peak})
"""

DECODE = """
import sys, time, numpy as np, torch, tilecodec
torch.set_num_threads({threads})
t = time.perf_counter()
data = open(sys.argv[1], "rb").read()
out = tilecodec.load().decompress(data)
np.save(sys.argv[2], out)
print(time.perf_counter() - t, {peak})
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "large"))
    p.add_argument("--quality", type=float, default=75)
    p.add_argument("--patch", type=int, default=DEFAULT_PATCH)
    p.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", default="/tmp/tilecodec-large")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "large_images"))
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    fmt = dict(peak=PEAK, threads=args.threads, quality=args.quality, patch=args.patch, overlap=args.overlap)
    rows = []
    files = sorted(Path(args.data).glob("*.jpg"))
    if files:  # the largest photo here is 20.6 MP: add the bus photo upscaled to 6000x4000 (24 MP)
        from PIL import Image

        big = work / "024mp-bus-upscaled.png"
        Image.open(files[0].parent / "012mp-bus.jpg").convert("RGB").resize((6000, 4000), Image.LANCZOS).save(big)
        files.append(big)
    for f in files:
        tlc, npy = work / (f.stem + ".tlc"), work / (f.stem + ".npy")
        tlc.unlink(missing_ok=True)
        enc = subprocess.run([sys.executable, "-c", ENCODE.format(**fmt), str(f), str(tlc)], check=True,
                             capture_output=True, text=True).stdout.split()
        dec = subprocess.run([sys.executable, "-c", DECODE.format(**fmt), str(tlc), str(npy)], check=True,
                             capture_output=True, text=True).stdout.split()
        import numpy as np

        from tilecodec.images import load_image
        from tilecodec.metrics import psnr

        ref = load_image(f)
        quality = psnr(ref, np.load(npy))
        w, h, size = int(enc[2]), int(enc[3]), int(enc[1])
        rows.append(dict(image=f.name, width=w, height=h, megapixels=w * h / 1e6, bytes=size, bpp=8 * size / (w * h),
                         psnr=quality, encode_s=float(enc[0]), decode_s=float(dec[0]),
                         encode_peak_rss_mb=int(enc[4]) / 2**20, decode_peak_rss_mb=int(dec[1]) / 2**20))
        print(rows[-1], file=sys.stderr)
        npy.unlink()
    lines = [f"`python benchmarks/large_images.py` — quality {args.quality:g}, patch {args.patch}, overlap "
             f"{args.overlap}, {args.threads} threads; peak resident memory (VmHWM) of the whole process.", "",
             "| image | size | MP | bpp | PSNR dB | encode s | decode s | encode peak MB | decode peak MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['image']} | {r['width']}x{r['height']} | {r['megapixels']:.1f} | {r['bpp']:.3f} | "
                     f"{r['psnr']:.2f} | {r['encode_s']:.1f} | {r['decode_s']:.1f} | {r['encode_peak_rss_mb']:.0f} | "
                     f"{r['decode_peak_rss_mb']:.0f} |")
    text = "\n".join(lines)
    print(text)
    Path(args.out + ".json").write_text(json.dumps(rows, indent=2) + "\n")
    Path(args.out + ".md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
