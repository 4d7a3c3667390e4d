"""Store the bundled models anew with ``zoo.compact_state`` and check what it changed.

    python experiments/weights_fp16/apply.py > experiments/weights_fp16/apply.log

For each bundled model: the transforms that never decide a table (analysis, synthesis,
hyper-analysis) are stored in float16 and the checkerboard context's masked taps as zeros; the
entropy path's tensors keep their float32 bits. The new file's SHA-256 becomes the model's, the
former one its alias, so files coded with the former weights still decode. Then, on 4 eval
photos (768x512 crops) at qualities 0, 50 and 100, with float32 transforms (TILECODEC_BF16=0):
the change in bytes and PSNR between the former and the new weights, and the largest pixel
difference when the new weights decode a file coded with the former ones. Run it once, on the
former weights (it refuses to run twice).
"""

import glob
import os
import shutil
import tempfile
from pathlib import Path

os.environ["TILECODEC_BF16"] = "0"

import numpy as np  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save  # noqa: E402

import tilecodec  # noqa: E402
from tilecodec import zoo  # noqa: E402
from tilecodec.files import atomic_write  # noqa: E402
from tilecodec.metrics import psnr  # noqa: E402
from tilecodec.models import build  # noqa: E402
from tilecodec.models.base import upgrade_names  # noqa: E402

EVAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "eval"
photos = [np.ascontiguousarray(np.asarray(tilecodec.images.load_image(f))[:512, :768])
          for f in sorted(glob.glob(str(EVAL / "*.png")))[:25:6]]
former_dir = Path(tempfile.mkdtemp())
total_before = total_after = 0
for name in tilecodec.models():
    e = zoo.entry(name)
    if e.aliases:
        raise SystemExit(f"{name} was already stored anew (it has aliases)")
    shutil.copy(e.path, former_dir / e.file)
    former = build(e.architecture, e.distortion, **e.config)
    former.load_weights(load_file(former_dir / e.file))
    former.eval()
    stored = upgrade_names(load_file(e.path))  # stored anew under today's tensor names
    state = zoo.compact_state(former.state_dict())
    assert state.keys() == stored.keys(), set(state) ^ set(stored)
    for k, v in state.items():  # the entropy path's tensors keep their exact bits
        if not (k.startswith(zoo.COMPACT_PREFIXES) or k.endswith("context.weight")):
            assert v.dtype == stored[k].dtype and v.equal(stored[k]), k
    with safe_open(e.path, "pt") as f:
        metadata = f.metadata()
    before = e.path.stat().st_size
    atomic_write(e.path, [save({k: v.contiguous() for k, v in state.items()}, metadata=metadata)])
    after = e.path.stat().st_size
    total_before, total_after = total_before + before, total_after + after
    zoo.register(zoo.ZooEntry(name=name, architecture=e.architecture, config=e.config, file=e.file,
                              sha256=zoo.sha256_file(e.path), description=e.description,
                              distortion=e.distortion, aliases=(e.sha256,)))
    old = tilecodec.Codec(former, name, e.short_hash)  # files that name the former weights
    new = tilecodec.load(name, shared=False)
    rows, worst = [], 0
    for q in (0, 50, 100):
        b0 = b1 = 0
        p0, p1 = [], []
        for a in photos:
            d0, d1 = old.compress(a, quality=q), new.compress(a, quality=q)
            b0, b1 = b0 + len(d0), b1 + len(d1)
            r0 = old.decompress(d0)
            p0.append(psnr(a, r0))
            p1.append(psnr(a, new.decompress(d1)))
            worst = max(worst, int(np.abs(new.decompress(d0).astype(int) - r0).max()))
        rows.append(f"q{q}: bytes {b1 / b0 - 1:+.3%}, PSNR {np.mean(p1) - np.mean(p0):+.4f} dB")
    print(f"{name}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB; " + "; ".join(rows)
          + f"; former files decode within {worst} level(s)", flush=True)
print(f"all models: {total_before / 1e6:.1f} MB -> {total_after / 1e6:.1f} MB")
