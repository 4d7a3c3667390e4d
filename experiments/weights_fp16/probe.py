"""Would float16 storage of the transforms' weights keep the bundled models' results?

    python experiments/weights_fp16/probe.py > experiments/weights_fp16/probe.log

For each bundled model, the analysis and synthesis convolution weights (not GDN parameters, not
the entropy path's networks, whose exact copies must not change) are rounded to float16 and
back; 4 eval photos (768x512 crops) are coded at qualities 0, 50 and 100 with both versions.
Reports the change in bytes and in PSNR, and the size of a weights file that stored those
tensors in float16. Precision float32 (TILECODEC_BF16=0), so only the weights differ.
"""

import glob
import os

os.environ["TILECODEC_BF16"] = "0"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import tilecodec  # noqa: E402
from tilecodec.metrics import psnr  # noqa: E402

photos = [np.ascontiguousarray(np.asarray(Image.open(f).convert("RGB"))[:512, :768])
          for f in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "../../../shared/data/eval/*.png")))[:25:6]]
total_saved = 0
for name in tilecodec.models():
    plain, rounded = tilecodec.load(name, shared=False), tilecodec.load(name, shared=False)
    saved = 0
    with torch.no_grad():
        for module in (rounded.model.analysis, rounded.model.synthesis):
            for layer in module.modules():
                if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                    layer.weight.copy_(layer.weight.half().float())
                    saved += 2 * layer.weight.numel()
    size = os.path.getsize(tilecodec.zoo.entry(name).path)
    total_saved += saved
    rows = []
    for q in (0, 50, 100):
        b0 = b1 = 0
        p0, p1 = [], []
        for a in photos:
            d0, d1 = plain.compress(a, quality=q), rounded.compress(a, quality=q)
            b0, b1 = b0 + len(d0), b1 + len(d1)
            p0.append(psnr(a, plain.decompress(d0)))
            p1.append(psnr(a, rounded.decompress(d1)))
        rows.append(f"q{q}: bytes {b1 / b0 - 1:+.3%}, PSNR {np.mean(p1) - np.mean(p0):+.4f} dB")
    print(f"{name}: file {size / 1e6:.1f} MB -> {(size - saved) / 1e6:.1f} MB with float16 transforms; " + "; ".join(rows))
print(f"all models: {total_saved / 1e6:.1f} MB less")
