"""Layers: GDN's reparametrisation and the sub-pixel form of the synthesis deconvolution."""

import pytest
import torch

from tilecodec.layers import GDN, deconv, subpixel_deconv


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("channels", [(8, 3), (16, 24)])
def test_subpixel_deconv_equals_the_transposed_conv(kernel, channels):
    torch.manual_seed(kernel)
    layer = deconv(*channels, kernel)
    x = torch.randn(2, channels[0], 7, 10)
    torch.testing.assert_close(subpixel_deconv(x, layer), layer(x), rtol=1e-5, atol=1e-5)
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(subpixel_deconv(cl, layer), layer(x), rtol=1e-5, atol=1e-5)


def test_gdn_parameters_stay_valid_under_any_update():
    gdn = GDN(4)
    with torch.no_grad():
        for p in gdn.parameters():
            p.fill_(-5.0)  # an optimizer step gone wild
    out = gdn(torch.randn(1, 4, 5, 5))
    assert torch.isfinite(out).all()
