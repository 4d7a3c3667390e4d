"""Training: data, rate-distortion loss, the resumable loop."""

from .loop import TrainConfig, rd_loss, train

__all__ = ["TrainConfig", "rd_loss", "train"]
