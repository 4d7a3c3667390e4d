"""Training: data, rate-distortion loss, the resumable loop."""

from .export import export
from .loop import TrainConfig, rd_loss, train

__all__ = ["export", "TrainConfig", "rd_loss", "train"]
