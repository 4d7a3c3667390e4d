"""Cache the analysis transform's latents (before the gain units) of every training photo,
so the latent codec can be trained on them without running the transforms again.

Each photo is downscaled by a random factor in [0.5, 1] (bicubic; removes JPEG blocking, as
the training loader does), cropped to multiples of 64, and coded as is and flipped left-right.
Writes a list of float16 tensors (1, M, H/16, W/16) to OUT.

    python experiments/entropy_finetune/cache.py ckbd-mse ../shared/data/train runs/latents-ckbd-mse.pt
"""
import sys, time, random
import numpy as np, torch
from PIL import Image
from tilecodec.zoo import load_model
from tilecodec.train.data import find_images

torch.set_num_threads(2)
model = load_model(sys.argv[1])[0]
files = find_images([sys.argv[2]])
rng = random.Random(0)
latents, t = [], time.time()
for n, f in enumerate(files):
    im = Image.open(f).convert("RGB")
    k = rng.uniform(0.5, 1.0)
    im = im.resize((max(256, round(im.width * k)), max(256, round(im.height * k))), Image.BICUBIC)
    a = np.asarray(im)[: im.height // 64 * 64, : im.width // 64 * 64]
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        for v in (x, x.flip(3)):
            latents.append(model.analysis(v).half())
    if n % 100 == 0:
        print(f"{n}/{len(files)} {time.time() - t:.0f}s", flush=True)
torch.save(latents, sys.argv[3])
print(f"{len(latents)} latents, {sum(y.numel() for y in latents) / 1e6:.1f}M values, {time.time() - t:.0f}s")
