"""Turn a training checkpoint into a bundled model: safetensors weights with their
integer CDF tables, plus a checksummed entry in the zoo registry."""

from pathlib import Path

import torch
from safetensors.torch import save_file

from .. import zoo
from ..models import build


def export(checkpoint: Path, name: str, description: str = "") -> zoo.ZooEntry:
    """Build the tables from the checkpoint's densities, write ``weights/NAME.safetensors``
    (overwriting any earlier export of that name) and register it."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = state["config"]
    config = {"N": cfg["N"], "M": cfg["M"]}
    if cfg.get("lmbdas"):
        config["lmbdas"] = [float(v) for v in cfg["lmbdas"]]
    model = build(cfg["architecture"], **config)
    model.load_state_dict(state["model"])
    model.eval().update_tables()
    path = zoo.WEIGHTS_DIR / f"{name}.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, tmp, metadata={"architecture": cfg["architecture"], "step": str(state["step"])})
    tmp.replace(path)
    entry = zoo.ZooEntry(name=name, architecture=cfg["architecture"], config=config, file=path.name,
                         sha256=zoo.sha256_file(path), description=description)
    zoo.register(entry)
    return entry
