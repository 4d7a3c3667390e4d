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
