"""Training: data, rate-distortion loss, the resumable loop."""

from .export import export
from ..losses import correlation_loss, rd_loss
from .loop import TrainConfig, train

__all__ = ["TrainConfig", "correlation_loss", "export", "rd_loss", "train"]
