"""Turn a snapshot (snapshot.py's parts, concatenated) back into a checkpoint that
`tilecodec export` takes. Usage: to_checkpoint.py NAME.safetensors NAME.pt"""
import json, sys, torch
from safetensors import safe_open
from safetensors.torch import load_file
from tilecodec.models import build
from tilecodec.train.loop import model_config
src, dst = sys.argv[1], sys.argv[2]
with safe_open(src, "pt") as f: meta = f.metadata()
cfg = json.loads(meta["config"]); step = int(meta["step"])
model = build(cfg["architecture"], **model_config(cfg))
sd = model.state_dict(); sd.update(load_file(src))
model.load_weights(sd)
torch.save({"model": model.state_dict(), "config": cfg, "step": step}, dst)
print(dst, cfg["architecture"], step, cfg["distortion"], cfg["lr"], cfg["crop"], cfg["batch"])
