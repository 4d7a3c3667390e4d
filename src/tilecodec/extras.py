"""Optional dependencies: the ``bench``, ``train``, ``deploy`` and ``serve`` extras."""

import importlib

from .errors import TilecodecError

EXTRAS = {  # module -> the extra that installs it
    "pytorch_msssim": "train",
    "tensorboard": "train",
    "scipy": "bench",
    "imagecodecs": "bench",
    "matplotlib": "bench",
    "onnx": "deploy",
    "onnxruntime": "deploy",
    "starlette": "serve",
    "uvicorn": "serve",
}


class MissingExtraError(TilecodecError, ImportError):
    """A feature needs an optional dependency that is not installed."""


def require(module: str, feature: str):
    """Import ``module`` for ``feature``, or MissingExtraError naming the pip command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        extra = "train" if top == "torch" else EXTRAS.get(top, "bench")
        name = "tensorboard" if top == "torch" else top
        raise MissingExtraError(f'{feature} needs {name}: pip install "tilecodec[{extra}]"') from None
