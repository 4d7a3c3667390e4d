"""Mean-scale hyperprior (Minnen, Ballé, Toderici, "Joint autoregressive and hierarchical
priors for learned image compression", NeurIPS 2018, without the autoregressive part)."""


from ..latent import GaussianConditionalCodec
from .base import CompressionModel
from .transforms import hyperprior_model


class MeanScaleHyperprior(CompressionModel):
    """Gaussian conditional whose means and scales come from a hyper-latent."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        """``lmbdas``: train one rate level per lambda with gain units (variable rate)."""
        super().__init__()
        hyperprior_model(self, N, M, lmbdas, widths, hyper_widths, lambda levels: GaussianConditionalCodec(True, levels))
