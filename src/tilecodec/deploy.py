"""Deployable transforms: a model's analysis, synthesis and hyper-transforms as ONNX graphs.

``export_onnx`` writes one graph per transform (dynamic batch, height and width) and a
manifest naming the model and its weights hash. ``load_onnx`` builds a ``Codec`` whose
transforms run in onnxruntime while the entropy path (hyper-synthesis included, in its
exact fixed-point form) stays in the library: its files name the same model and hash, so
any tilecodec decodes them, and it decodes files of the PyTorch model. The transforms'
float rounding differs from PyTorch's, which moves pixels, never table indexes.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import ModelError
from .extras import require
from .files import atomic_write

PARTS = ("analysis", "synthesis", "hyper_analysis", "hyper_synthesis")
OPSET = 17
MANIFEST = "tilecodec-onnx.json"


def _transforms(model) -> dict[str, nn.Module]:
    """The model's transforms by part name (hyper-transforms only where the model has them)."""
    out = {"analysis": model.analysis, "synthesis": model.synthesis}
    for part in ("hyper_analysis", "hyper_synthesis"):
        module = getattr(model.latent_codec, part, None)
        if module is not None:
            out[part] = module
    return out


def _input_channels(part: str, model) -> int:
    first = next(m for m in _transforms(model)[part].modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    return first.in_channels


def export_onnx(name: str, out_dir, log=lambda msg: None) -> Path:
    """Write ``out_dir/PART.onnx`` for each of the model's transforms (``PARTS``; float32,
    inputs ``x`` of shape N x C x H x W with N, H and W dynamic) and the manifest
    ``tilecodec-onnx.json`` (model name, weights hash, parts). Each graph is checked against
    PyTorch on a random input of another size than it was traced with; returns the manifest's
    path. The graphs come from the TorchScript-based exporter, which traces these
    convolutional transforms in about a second each."""
    ort = require("onnxruntime", "ONNX export")
    require("onnx", "ONNX export")
    from .api import load

    codec = load(name, shared=False)
    model = codec.model.float().eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = {}
    for part, module in _transforms(model).items():
        down = part.endswith("analysis")
        side = 64 if down else 4
        x = torch.rand(1, _input_channels(part, model), side, side + (64 if down else 4))
        if part == "hyper_synthesis" or part == "synthesis":
            x = x * 4 - 2  # latents are centred on zero
        path = out / f"{part}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tmp = path.with_suffix(".onnx.tmp")
            torch.onnx.export(module, (x,), str(tmp), dynamo=False, opset_version=OPSET,
                              input_names=["x"], output_names=["out"],
                              dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"},
                                            "out": {0: "batch", 2: "out_height", 3: "out_width"}})
            tmp.replace(path)
        check = torch.rand(2, x.shape[1], side * 2, side * 3) * (4 if not down else 1) - (2 if not down else 0)
        with torch.no_grad():
            expected = module(check).numpy()
        got = _session(ort, path).run(None, {"x": check.numpy()})[0]
        diff = float(np.abs(got - expected).max())
        log(f"{part}: {path.name}, {path.stat().st_size / 1e6:.1f} MB, max |onnxruntime - torch| {diff:.2e}")
        parts[part] = {"file": path.name, "input_channels": int(x.shape[1]),
                       "check_max_abs_diff": diff}
    manifest = out / MANIFEST
    atomic_write(manifest, [json.dumps({"model": codec.name, "model_hash": codec.model_hash, "opset": OPSET,
                                        "parts": parts}, indent=2).encode()])
    return manifest


def _session(ort, path: Path, threads: int | None = None):
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxTransform(nn.Module):
    """One exported transform run by onnxruntime, usable where the PyTorch module was
    (float32 in, float32 out, no gradients)."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {"x": array})[0])


def load_onnx(folder, threads: int | None = None):
    """A ``Codec`` for the model ``export_onnx`` wrote to ``folder``, its analysis, synthesis
    and hyper-analysis running in onnxruntime (``threads`` per session; default: its own
    choice). ModelError if the folder holds no export, or one of other weights than the
    installed model's."""
    ort = require("onnxruntime", "ONNX transforms")
    from .api import Codec, load

    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        parts = {p: folder / manifest["parts"][p]["file"] for p in manifest["parts"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{folder}: not an ONNX export of a tilecodec model ({e.__class__.__name__})") from None
    base = load(manifest["model"], shared=False)
    if manifest.get("model_hash") not in (base.model_hash, *base.aliases):
        raise ModelError(f"{folder}: exported from other weights of {manifest['model']!r} "
                         f"({manifest.get('model_hash')}, installed {base.model_hash})")
    model = base.model
    model.precision = "float32"  # the graphs compute in float32; no autocast applies to them
    model.analysis = OnnxTransform(_session(ort, parts["analysis"], threads))
    model.synthesis = OnnxTransform(_session(ort, parts["synthesis"], threads))
    if "hyper_analysis" in parts:  # encoder only: z is coded exactly
        model.latent_codec.hyper_analysis = OnnxTransform(_session(ort, parts["hyper_analysis"], threads))
    return Codec(model, base.name, base.model_hash, base.aliases)
