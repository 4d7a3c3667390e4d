"""The four-layer GDN transforms of Ballé et al. (2017, 2018), shared by the models here."""

from torch import nn

from ..layers import GDN, conv, deconv


def analysis_transform(n: int, m: int) -> nn.Sequential:
    """3 -> m channels, 16x smaller."""
    return nn.Sequential(conv(3, n), GDN(n), conv(n, n), GDN(n), conv(n, n), GDN(n), conv(n, m))


def synthesis_transform(n: int, m: int) -> nn.Sequential:
    """m -> 3 channels, 16x larger; the last layer stays float32 at inference."""
    return nn.Sequential(deconv(m, n), GDN(n, inverse=True), deconv(n, n), GDN(n, inverse=True),
                         deconv(n, n), GDN(n, inverse=True), deconv(n, 3))


def mean_scale_hyper_transforms(n: int, m: int) -> tuple[nn.Sequential, nn.Sequential]:
    """Hyper-analysis (m -> n, 4x smaller) and hyper-synthesis (n -> 2m: scales then means,
    or the hyper parameters of a context model) of Minnen et al. (2018)."""
    hyper_analysis = nn.Sequential(conv(m, n, 3, 1), nn.LeakyReLU(inplace=True), conv(n, n),
                                   nn.LeakyReLU(inplace=True), conv(n, n))
    hyper_synthesis = nn.Sequential(deconv(n, m), nn.LeakyReLU(inplace=True), deconv(m, m * 3 // 2),
                                    nn.LeakyReLU(inplace=True), conv(m * 3 // 2, m * 2, 3, 1))
    return hyper_analysis, hyper_synthesis
