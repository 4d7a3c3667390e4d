"""The shared starting point of every variant: ``ckbd-mse``'s transforms, hyperprior and gain
units (a pretrained mean-scale hyperprior), without its checkerboard context and
entropy-parameter network, so that no variant starts with a trained context.

    python experiments/correlation_loss/make_start.py .gpuinit/corr-start.safetensors
"""

import sys
from pathlib import Path

from safetensors.torch import save_file

from tilecodec import zoo

state = zoo.load_weights(zoo.entry("ckbd-mse"))
start = {k: v.contiguous() for k, v in state.items() if not k.startswith("latent_codec.y.")}
Path(sys.argv[1]).parent.mkdir(parents=True, exist_ok=True)
save_file(start, sys.argv[1])
print(f"{sys.argv[1]}: {len(start)} of {len(state)} tensors of ckbd-mse")
