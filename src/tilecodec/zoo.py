"""Bundled models: name -> architecture, config, safetensors file and SHA-256.

The registry lives in ``weights/zoo.json`` so that ``export`` can add to it. A model
is identified in bitstreams by its name plus the first 8 hex digits of the SHA-256 of
its weights file: a file made with other weights under the same name is refused.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import ModelError

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY = WEIGHTS_DIR / "zoo.json"
DEFAULT_MODEL = "ckbd-mse"


@dataclass(frozen=True)
class ZooEntry:
    name: str
    architecture: str
    config: dict
    file: str
    sha256: str
    description: str = ""
    distortion: str = "mse"  # the training distortion ("mse" or "ms-ssim"), for latent refinement

    @property
    def path(self) -> Path:
        return WEIGHTS_DIR / self.file

    @property
    def short_hash(self) -> str:
        return self.sha256[:8]


def registry() -> dict[str, ZooEntry]:
    """All registered models, by name."""
    if not REGISTRY.exists():
        return {}
    return {name: ZooEntry(name=name, **fields) for name, fields in json.loads(REGISTRY.read_text()).items()}


def entry(name: str) -> ZooEntry:
    """The registry entry for ``name``, or ModelError."""
    models = registry()
    if name not in models:
        raise ModelError(f"unknown model {name!r}; bundled models: {', '.join(sorted(models)) or 'none'}")
    return models[name]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tensors_hash(state: dict) -> str:
    """SHA-256 over the names, shapes and bytes of a state dict's tensors, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        digest.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        digest.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def register(entry: ZooEntry) -> None:
    """Add or replace ``entry`` in the registry file (used by export)."""
    data = json.loads(REGISTRY.read_text()) if REGISTRY.exists() else {}
    data[entry.name] = {"architecture": entry.architecture, "config": entry.config, "file": entry.file,
                        "sha256": entry.sha256, "description": entry.description,
                        "distortion": entry.distortion}
    REGISTRY.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def load_model(name: str):
    """Build ``name``'s architecture and load its verified weights (eval mode)."""
    from safetensors.torch import load_file

    from .models import build

    e = entry(name)
    if not e.path.exists():
        raise ModelError(f"weights file for model {name!r} is missing: {e.path}")
    if sha256_file(e.path) != e.sha256:
        raise ModelError(f"weights file for model {name!r} does not match its checksum")
    model = build(e.architecture, e.distortion, **e.config)
    model.load_weights(load_file(e.path))
    return model.eval(), e
