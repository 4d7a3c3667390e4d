"""Turn a training checkpoint into a model: safetensors weights with their integer CDF
tables, plus a checksummed entry (``zoo``): a user model by default, a bundled one for
maintainers (``bundle=True``)."""

import json
from pathlib import Path

import torch
from safetensors.torch import save

from ..errors import ModelError
from ..files import atomic_write

from .. import zoo
from ..models import build
from .calibrate import calibrate_scale_floors, sample_crops
from .loop import model_config


def export(checkpoint: Path, name: str, description: str = "", calibrate=None, calibrate_images: int = 16,
           log=lambda msg: None, out=None, bundle: bool = False, base: str | None = None) -> zoo.ZooEntry:
    """Build the tables from the densities of ``checkpoint`` (a file written by training, or
    an exported model's name or ``.safetensors`` file, to re-export it), optionally calibrate
    the scale floors on ``calibrate_images`` crops from the ``calibrate`` folders (use training data,
    never the evaluation set), and write ``NAME.safetensors`` and its entry ``NAME.json`` to
    ``out`` (default: the user model directory, ``zoo.user_dir()``), overwriting an earlier
    export of that name there. ``bundle``: write into the package's own zoo instead (for
    replacing a bundled model). A user model may not take a bundled model's name. ``base``: a
    model whose weights this one shares (trained with ``--train-only`` from ``--init BASE``):
    the file keeps only the tensors that differ from the base's (``zoo``)."""
    folder = model_folder(name, out, bundle)
    if Path(checkpoint).is_file() and Path(checkpoint).suffix != ".safetensors":  # a training checkpoint
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        cfg = state["config"]
        config, architecture, step = model_config(cfg), cfg["architecture"], state["step"]
        distortion = cfg.get("distortion", "mse")
        model = build(architecture, **config)
        model.load_weights(state["model"])
    else:  # an exported model (a name or a .safetensors file): re-export it, say to calibrate
        model, entry = zoo.load_model(str(checkpoint))
        config, architecture, distortion, step = entry.config, entry.architecture, entry.distortion, 0
    model.eval().update_tables()
    if calibrate:
        for r in calibrate_scale_floors(model, sample_crops(calibrate, calibrate_images)):
            log(f"quality {r['quality']:5.1f}: scale floor {r['floor']:.3f}, y {r['saved']:.2%} smaller than at 0.11")
    return write_model(model, name, architecture, config, folder, description, distortion, step,
                       zoo.entry(base) if base else None)


def model_folder(name: str, out=None, bundle: bool = False) -> Path:
    """Where a model ``name`` is written (created): the package's zoo with ``bundle``, else
    ``out`` or the user model directory. ModelError for a bad name, or a bundled model's
    name outside the package's zoo."""
    if not bundle and name in zoo.bundled():
        raise ModelError(f"{name!r} is a bundled model's name; export under another name")
    if not name or "/" in name or name.startswith("."):
        raise ModelError(f"{name!r} is not a valid model name")
    folder = zoo.WEIGHTS_DIR if bundle else Path(out) if out is not None else zoo.user_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_model(model, name: str, architecture: str, config: dict, folder: Path, description: str = "",
                distortion: str = "mse", step: int = 0, base: zoo.ZooEntry | None = None) -> zoo.ZooEntry:
    """``model``'s weights (``zoo.compact_state``) as ``folder/NAME.safetensors`` and its
    checksummed entry, registered (``zoo.register``); with a ``base`` entry, only the tensors
    that differ from the base's."""
    path = folder / f"{name}.safetensors"
    tensors = {k: v.contiguous() for k, v in zoo.compact_state(model.state_dict()).items()}
    if base is not None:
        shared = zoo.load_weights(base)
        tensors = {k: v for k, v in tensors.items()
                   if k not in shared or shared[k].dtype != v.dtype or not torch.equal(shared[k], v)}
    # one metadata key: safetensors writes several in varying order, which changed the file's
    # hash (the model id in every .tlc header) on each export of the same weights
    atomic_write(path, [save(tensors, metadata={"export": json.dumps({"architecture": architecture, "step": step})})])
    entry = zoo.ZooEntry(name=name, architecture=architecture, config=config, file=path.name,
                         sha256=zoo.sha256_file(path), description=description, distortion=distortion,
                         base=base.name if base else "", base_sha256=base.sha256 if base else "", folder=folder)
    zoo.register(entry)
    return entry
