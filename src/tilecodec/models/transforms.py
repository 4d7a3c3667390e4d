"""The four-layer GDN transforms of Ballé et al. (2017, 2018), shared by the models here."""

from torch import nn

from ..latent import HyperpriorLatentCodec
from ..layers import GDN, conv, deconv


def analysis_transform(n: int, m: int, widths: list | None = None) -> nn.Sequential:
    """3 -> m channels, 16x smaller. ``widths``: the channels of the three hidden stages, from
    full resolution inward (default n, n, n); narrow outer stages make a fast model, since
    the stages at 1/2 and 1/4 resolution carry most of the multiply-adds."""
    a, b, c = widths or (n, n, n)
    return nn.Sequential(conv(3, a), GDN(a), conv(a, b), GDN(b), conv(b, c), GDN(c), conv(c, m))


def synthesis_transform(n: int, m: int, widths: list | None = None) -> nn.Sequential:
    """m -> 3 channels, 16x larger, mirroring ``analysis_transform``'s ``widths``; the last
    layer stays float32 at inference."""
    a, b, c = widths or (n, n, n)
    return nn.Sequential(deconv(m, c), GDN(c, inverse=True), deconv(c, b), GDN(b, inverse=True),
                         deconv(b, a), GDN(a, inverse=True), deconv(a, 3))


def mean_scale_hyper_transforms(n: int, m: int, hyper_widths: list | None = None
                                ) -> tuple[nn.Sequential, nn.Sequential]:
    """Hyper-analysis (m -> n, 4x smaller) and hyper-synthesis (n -> 2m: scales then means,
    or the hyper parameters of a context model) of Minnen et al. (2018). ``hyper_widths``:
    the hyper-synthesis's two hidden widths (default m, 3m/2); it runs on the entropy path,
    one thread per row band, in both encoder and decoder."""
    h1, h2 = hyper_widths or (m, m * 3 // 2)
    hyper_analysis = nn.Sequential(conv(m, n, 3, 1), nn.LeakyReLU(inplace=True), conv(n, n),
                                   nn.LeakyReLU(inplace=True), conv(n, n))
    hyper_synthesis = nn.Sequential(deconv(n, h1), nn.LeakyReLU(inplace=True), deconv(h1, h2),
                                    nn.LeakyReLU(inplace=True), conv(h2, m * 2, 3, 1))
    return hyper_analysis, hyper_synthesis


def entropy_parameters(m: int) -> nn.Sequential:
    """The entropy-parameter network of Minnen et al. (2018): hyperprior parameters and context
    (4m channels) -> scales then means (2m), 1x1 convolutions."""
    return nn.Sequential(nn.Conv2d(m * 4, m * 10 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 10 // 3, m * 8 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 8 // 3, m * 2, 1))


def hyperprior_model(model, N: int, M: int, lmbdas: list | None, widths: list | None, hyper_widths: list | None,
                     y_codec, transforms: tuple | None = None) -> None:
    """Give ``model`` the GDN transforms (or ``transforms``: analysis and synthesis), a
    mean-scale hyperprior whose parameters feed the conditional codec ``y_codec(levels)``
    (levels: None, or one per lambda), and, with ``lmbdas``, gain units (variable rate)."""
    model.analysis, model.synthesis = transforms or (analysis_transform(N, M, widths), synthesis_transform(N, M, widths))
    hyper_analysis, hyper_synthesis = mean_scale_hyper_transforms(N, M, hyper_widths)
    levels = len(lmbdas) if lmbdas else None
    model.latent_codec = HyperpriorLatentCodec(hyper_analysis, hyper_synthesis, N, y_codec(levels), levels=levels)
    if lmbdas:
        model.add_gain_units(lmbdas, M)
