"""Choose latent refinement's steps and learning rate: for each config STEPS:LR:ANNEALING and
each eval photo (index into the sorted eval PNGs; 7 = wiki-015, 14 = wiki-029), the BD-rate
(PSNR-RGB) of refined against plain files of a 512x768 crop at qualities 0/33/67/100.

    python experiments/refine_tuning/sweep.py 30:0.005:4,15:0.01:4 7,14
"""
import sys, time, glob, numpy as np, torch
from pathlib import Path
from PIL import Image
import tilecodec, tilecodec.refine as R
from tilecodec.bench.bdrate import bd_rate
torch.set_num_threads(2)
c = tilecodec.load("ckbd-mse")
files = sorted(glob.glob(str(Path(__file__).resolve().parents[3] / "shared" / "data" / "eval" / "*.png")))
configs = [x.split(":") for x in sys.argv[1].split(",")]  # steps:lr:anneal
QS = (0, 33, 67, 100)
def pt(a, q, r):
    d = c.compress(a, quality=q, refine=r, patch=None)
    out = c.decompress(d).astype(float)
    return 8 * len(d) / a.shape[0] / a.shape[1], 10 * np.log10(255**2 / np.mean((out - a) ** 2))
for i in map(int, sys.argv[2].split(",")):
    a = np.ascontiguousarray(np.array(Image.open(files[i]).convert("RGB"))[:512, :768])
    base = [pt(a, q, 0) for q in QS]
    for steps, lr, ann in configs:
        R.LEARNING_RATE, R.ANNEALING = float(lr), float(ann)
        t = time.time()
        pts = [pt(a, q, int(steps)) for q in QS]
        bd = bd_rate(*zip(*base), *zip(*pts))
        print(f"img={i} steps={steps} lr={lr} ann={ann} BD={bd:+.2f}% t/enc={(time.time()-t)/4:.1f}s", flush=True)
