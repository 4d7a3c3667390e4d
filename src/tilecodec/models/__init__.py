"""Architectures by stable name. Each is transforms + one latent codec."""

from .autoregressive import JointAutoregressiveHyperprior
from .base import CompressionModel
from .channel import ChannelAutoregressiveHyperprior
from .checkerboard import CheckerboardHyperprior
from .cheng2020 import Cheng2020GMM, cheng2020_gmm_autoregressive
from .factorized import FactorizedPrior
from .hyperprior import ScaleHyperprior
from .mean_scale import MeanScaleHyperprior
from .patch_vae import PredictivePatchCodec
from .progressive import RecurrentImageCodec

ARCHITECTURES = {
    "factorized-prior": FactorizedPrior,
    "scale-hyperprior": ScaleHyperprior,
    "mean-scale-hyperprior": MeanScaleHyperprior,
    "checkerboard-hyperprior": CheckerboardHyperprior,
    "joint-autoregressive": JointAutoregressiveHyperprior,
    "channel-autoregressive": ChannelAutoregressiveHyperprior,
    "cheng2020-gmm": Cheng2020GMM,
    "cheng2020-gmm-autoregressive": cheng2020_gmm_autoregressive,
    "predictive-patch": PredictivePatchCodec,
    "recurrent": RecurrentImageCodec,
}


def build(architecture: str, distortion: str = "mse", **config) -> CompressionModel:
    """Instantiate an architecture by name with its ``config`` (e.g. N, M, lmbdas) and the
    distortion it is trained for ("mse" or "ms-ssim")."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    model = ARCHITECTURES[architecture](**config)
    model.distortion = distortion
    return model


__all__ = ["ARCHITECTURES", "build", "CompressionModel", "FactorizedPrior", "ScaleHyperprior",
           "MeanScaleHyperprior", "CheckerboardHyperprior", "JointAutoregressiveHyperprior",
           "ChannelAutoregressiveHyperprior", "Cheng2020GMM",
           "PredictivePatchCodec", "RecurrentImageCodec"]
