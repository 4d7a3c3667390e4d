"""Copy a training checkpoint's model tensors (no optimizer state) to $OUT in <=15 MiB parts
(the device tool returns files of at most 16 MiB). Usage: snapshot.py CKPT NAME [--half]
(--half: floating tensors in float16, half the transfer); here,
`cat NAME.st.part* > NAME.safetensors`, then to_checkpoint.py."""
import json, os, sys
import torch
from safetensors.torch import save_file
ckpt, name = sys.argv[1], sys.argv[2]
state = torch.load(ckpt, map_location="cpu", weights_only=False)
half = "--half" in sys.argv[3:]
tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in state["model"].items() if v.numel()}
out = f"/tmp/{name}.safetensors"
save_file(tensors, out, metadata={"config": json.dumps(state["config"]), "step": str(state["step"])})
os.system(f"split -b 15M -d {out} $OUT/{name}.st.part")
print(name, "step", state["step"], os.path.getsize(out) / 2**20, "MiB")
