"""Models: the bundled zoo (read-only, inside the package) and the user's own models.

Bundled models are registered in ``weights/zoo.json``, and in the same registry of each
installed companion package (``bundled_folders``; ``tilecodec-research`` holds the
research and reference models, so that each wheel stays under PyPI's 100 MB). A user's models (``tilecodec export``)
live outside the package, in the user model directory (``$TILECODEC_MODELS``, else
``$XDG_DATA_HOME/tilecodec/models``, else ``~/.local/share/tilecodec/models``) or any folder,
each as ``NAME.safetensors`` with its entry in ``NAME.json`` beside it. ``entry`` takes a
bundled name, a user model's name, or the path of such a ``.safetensors`` file.

A model is identified in bitstreams by its name plus the first 8 hex digits of the SHA-256 of
its weights file: a file made with other weights under the same name is refused, and a file
of a user model decodes wherever that model's weights are.

A model may be built on another (``base``, pinned by the SHA-256 of the base's file): its
file then holds only the tensors that differ from the base's, as when a context model is
trained on a bundled model's frozen transforms (``tilecodec export --base``). Loading it
needs the base, unchanged: a replaced base is refused, never silently used.
"""

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

import torch

from .errors import ModelError
from .files import atomic_write

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY = WEIGHTS_DIR / "zoo.json"  # the package's own registry
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
    # SHA-256 of earlier files of the same model that its files may still name: weights stored
    # anew with the entropy path's tensors unchanged (see compact_state)
    aliases: tuple = ()
    base: str = ""  # the model whose weights this file completes ("": the file holds them all)
    base_sha256: str = ""  # the SHA-256 of the base's file this model was built on
    reference: bool = False  # kept for study: it does not beat the default model
    folder: Path = field(default=WEIGHTS_DIR, compare=False)  # where ``file`` is

    @property
    def path(self) -> Path:
        return Path(self.folder) / self.file

    @property
    def short_hash(self) -> str:
        return self.sha256[:8]

    @property
    def accepted_hashes(self) -> tuple:
        """The short hashes a file of this model may carry: its own, then its aliases'."""
        return (self.short_hash, *(a[:8] for a in self.aliases))

    @property
    def bundled(self) -> bool:
        return Path(self.folder).resolve() in [f.resolve() for f in bundled_folders()]

    @property
    def companion(self) -> bool:
        """Whether a companion package ships it (``bundled_folders``), not tilecodec itself."""
        return Path(self.folder).resolve() in [f.resolve() for f in bundled_folders()[1:]]

    def fields(self) -> dict:
        """The entry as stored in a registry (without its folder)."""
        out = asdict(self)
        del out["name"], out["folder"]
        if not out["aliases"]:
            del out["aliases"]
        else:
            out["aliases"] = list(out["aliases"])
        for key in ("base", "base_sha256", "reference"):
            if not out[key]:
                del out[key]
        return out


def user_dir() -> Path:
    """The user model directory (see the module docstring)."""
    if os.environ.get("TILECODEC_MODELS"):
        return Path(os.environ["TILECODEC_MODELS"])
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data) / "tilecodec" / "models"


def _read_entry(sidecar: Path) -> ZooEntry:
    try:
        fields = json.loads(sidecar.read_text())
        fields["aliases"] = tuple(fields.get("aliases", ()))
        return ZooEntry(name=sidecar.stem, folder=sidecar.parent, **fields)
    except (OSError, ValueError, TypeError) as exc:
        raise ModelError(f"{sidecar}: not a tilecodec model entry ({exc})") from None


@functools.cache
def bundled_folders() -> tuple[Path, ...]:
    """The package's weights folder, then those of installed companion packages (the
    ``WEIGHTS`` folder of each module that the ``tilecodec.zoo`` entry-point group names, such
    as ``tilecodec-research``): each holds a ``zoo.json`` registry and its files."""
    folders = [WEIGHTS_DIR]
    for point in sorted(entry_points(group="tilecodec.zoo"), key=lambda p: p.name):
        try:
            folders.append(Path(point.load().WEIGHTS))
        except (ImportError, AttributeError):
            continue  # a companion removed without its metadata: its models are simply absent
    return tuple(folders)


def bundled() -> dict[str, ZooEntry]:
    """The bundled models, by name, from every bundled folder."""
    out = {}
    for folder in bundled_folders():
        registry_file = folder / "zoo.json"
        if registry_file.exists():
            out.update({name: ZooEntry(name=name, folder=folder, **{**fields, "aliases": tuple(fields.get("aliases", ()))})
                        for name, fields in json.loads(registry_file.read_text()).items()})
    return out


def bundled_file(name: str) -> Path | None:
    """A file of that name in a bundled folder (the first that has it), or None."""
    return next((f / name for f in bundled_folders() if (f / name).exists()), None)


def user_models() -> dict[str, ZooEntry]:
    """The models in the user model directory, by name."""
    folder = user_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: _read_entry(p) for p in sorted(folder.glob("*.json")) if p.with_suffix(".safetensors").exists()}


def registry() -> dict[str, ZooEntry]:
    """Every model ``entry`` finds by name: the bundled ones, then the user's."""
    return {**user_models(), **bundled()}


def entry(name: str) -> ZooEntry:
    """The entry for a model name or the path of a model's ``.safetensors`` file; ModelError
    if there is none."""
    if str(name).endswith(".safetensors"):
        path = Path(name)
        if not path.exists():
            raise ModelError(f"{path}: no such model file")
        if not path.with_suffix(".json").exists():
            raise ModelError(f"{path}: its entry {path.with_suffix('.json').name} is missing beside it")
        return _read_entry(path.with_suffix(".json"))
    models = registry()
    if name not in models:
        raise ModelError(f"unknown model {name!r}; models: {', '.join(sorted(models)) or 'none'}")
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


COMPACT_PREFIXES = ("analysis.", "synthesis.", "latent_codec.hyper_analysis.", "predictor.",
                    "net.")  # net.: the recurrent codec's networks (its bits carry their own probabilities)


def compact_state(state: dict) -> dict:
    """``state`` with the convolution weights of the transforms that never decide a table
    (analysis, synthesis, hyper-analysis) stored in float16: their rounding moves PSNR by at
    most 0.0015 dB and sizes by at most 0.03% (experiments/weights_fp16), and decoding a file
    made with the float32 weights moves a pixel by at most one level. Everything on the entropy
    path keeps its exact float32 values."""
    return {k: (v.half() if k.startswith(COMPACT_PREFIXES) and k.endswith(".weight") and v.ndim == 4
                and v.is_floating_point() else v) for k, v in state.items()}


def register(entry: ZooEntry) -> None:
    """Add or replace ``entry``: in its folder's registry when its file is in a bundled
    weights folder (maintainers replacing a bundled model), else as ``NAME.json`` beside its
    file."""
    if entry.bundled:
        registry_file = Path(entry.folder) / "zoo.json"
        data = json.loads(registry_file.read_text()) if registry_file.exists() else {}
        data[entry.name] = entry.fields()
        atomic_write(registry_file, [(json.dumps(dict(sorted(data.items())), indent=2) + "\n").encode()])
    else:
        sidecar = entry.path.with_suffix(".json")
        atomic_write(sidecar, [(json.dumps(entry.fields(), indent=2) + "\n").encode()])


def load_weights(e: ZooEntry) -> dict:
    """The verified tensors of the model ``e``: its file's, over its base's if it has one.
    ModelError if a file is missing or does not match its checksum, or the base has changed."""
    from safetensors.torch import load_file

    if not e.path.exists():
        raise ModelError(f"weights file for model {e.name!r} is missing: {e.path}")
    if sha256_file(e.path) != e.sha256:
        raise ModelError(f"weights file for model {e.name!r} does not match its checksum")
    state = {}
    if e.base:
        base = entry(e.base)
        if base.sha256 != e.base_sha256:
            raise ModelError(f"model {e.name!r} is built on {e.base!r} {e.base_sha256[:8]}, "
                             f"but {e.base!r} is now {base.short_hash}: re-export it on the new base")
        state = load_weights(base)
    return {**state, **load_file(e.path)}


def load_file_keys(path: Path) -> set:
    """The tensor names in a safetensors file."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return set(f.keys())


def load_model(name: str):
    """Build ``name``'s architecture and load its verified weights (eval mode)."""
    from .models import build

    e = entry(name)
    weights = load_weights(e)
    model = build(e.architecture, e.distortion, **e.config)
    if e.base:  # the base's own networks that this architecture replaces (say, its context model)
        own = model.state_dict()
        weights = {k: v for k, v in weights.items() if k in own or k in load_file_keys(e.path)}
    model.load_weights(weights)
    return model.eval(), e
