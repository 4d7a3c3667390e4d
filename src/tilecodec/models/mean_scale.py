"""Mean-scale hyperprior (Minnen, Ballé, Toderici, "Joint autoregressive and hierarchical
priors for learned image compression", NeurIPS 2018, without the autoregressive part)."""


from ..latent import GaussianConditionalCodec, HyperpriorLatentCodec
from .base import CompressionModel
from .transforms import analysis_transform, mean_scale_hyper_transforms, synthesis_transform


class MeanScaleHyperprior(CompressionModel):
    """Gaussian conditional whose means and scales come from a hyper-latent."""

    def __init__(self, N: int = 128, M: int = 192, lmbdas: list | None = None,
                 widths: list | None = None, hyper_widths: list | None = None):
        """``lmbdas``: train one rate level per lambda with gain units (variable rate)."""
        super().__init__()
        self.analysis = analysis_transform(N, M, widths)
        self.synthesis = synthesis_transform(N, M, widths)
        hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M, hyper_widths)
        levels = len(lmbdas) if lmbdas else None
        self.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N,
                                                 GaussianConditionalCodec(True, levels), levels=levels)
        if lmbdas:
            self.add_gain_units(lmbdas, M)
