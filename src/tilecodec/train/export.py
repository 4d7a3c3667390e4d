"""Turn a training checkpoint into a bundled model: safetensors weights with their
integer CDF tables, plus a checksummed entry in the zoo registry."""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from .. import zoo
from ..models import build
from .calibrate import calibrate_scale_floors, sample_crops
from .loop import model_config


def export(checkpoint: Path, name: str, description: str = "", calibrate=None, calibrate_images: int = 16,
           log=lambda msg: None) -> zoo.ZooEntry:
    """Build the tables from the checkpoint's densities, optionally calibrate the scale
    floors on ``calibrate_images`` crops from the ``calibrate`` folders (use training data,
    never the evaluation set), write ``weights/NAME.safetensors`` (overwriting any earlier
    export of that name) and register it."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = state["config"]
    config = model_config(cfg)
    model = build(cfg["architecture"], **config)
    model.load_weights(state["model"])
    model.eval().update_tables()
    if calibrate:
        for r in calibrate_scale_floors(model, sample_crops(calibrate, calibrate_images)):
            log(f"quality {r['quality']:5.1f}: scale floor {r['floor']:.3f}, y {r['saved']:.2%} smaller than at 0.11")
    path = zoo.WEIGHTS_DIR / f"{name}.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    # one metadata key: safetensors writes several in varying order, which changed the file's
    # hash (the model id in every .tlc header) on each export of the same weights
    save_file(tensors, tmp, metadata={"export": json.dumps({"architecture": cfg["architecture"], "step": state["step"]})})
    tmp.replace(path)
    entry = zoo.ZooEntry(name=name, architecture=cfg["architecture"], config=config, file=path.name,
                         sha256=zoo.sha256_file(path), description=description,
                         distortion=cfg.get("distortion", "mse"))
    zoo.register(entry)
    return entry
