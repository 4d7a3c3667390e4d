"""Training objectives: the RD loss per image and lambda, MS-SSIM distortion, and the
latent correlation penalty."""

import torch
import torch.nn.functional as F

from tilecodec.train import correlation_loss, rd_loss


def _out(x_hat, bits_per_image):
    lik = torch.full((x_hat.shape[0], 1, 32, 32), 2.0 ** -(bits_per_image / 1024))
    return {"x_hat": x_hat, "likelihoods": {"y": lik}}


def test_rd_loss_weights_each_image_by_its_lambda():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    x_hat = (x + 0.01 * torch.randn_like(x)).clamp(0, 1)
    out = _out(x_hat, 1024.0)  # 1 bpp on 32x32
    lmbda = torch.tensor([0.01, 0.1])
    mse = ((x_hat - x) ** 2).mean(dim=(1, 2, 3))
    expected = torch.mean(lmbda * 255**2 * mse + 1.0)
    torch.testing.assert_close(rd_loss(out, x, lmbda)["loss"], expected)
    torch.testing.assert_close(rd_loss(out, x, lmbda)["bpp"], torch.tensor(1.0))


def test_ms_ssim_distortion_is_zero_for_a_perfect_reconstruction_and_grows_with_noise():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 128, 128)
    perfect = rd_loss(_out(x.clone(), 0.0), x, 10.0, "ms-ssim")["loss"]
    noisy = rd_loss(_out((x + 0.1 * torch.randn_like(x)).clamp(0, 1), 0.0), x, 10.0, "ms-ssim")["loss"]
    assert abs(perfect.item()) < 1e-4 < noisy.item()


def test_correlation_loss_is_small_for_white_noise_and_large_for_smooth_latents():
    torch.manual_seed(0)
    white = torch.randn(2, 8, 32, 32)
    smooth = F.avg_pool2d(torch.randn(2, 8, 36, 36), 5, stride=1)
    smooth = smooth / smooth.std()
    # white: 24 offsets x (1/sqrt(32*32))^2 of sampling noise each, about 0.023
    assert correlation_loss(white, k=5) < 0.05 < 0.5 < correlation_loss(smooth, k=5)
    only_centre = torch.zeros(25)
    only_centre[12] = 1.0  # the variance term alone: mean(n^2)^2, about 1 for unit noise
    assert abs(correlation_loss(white, k=5, mask=only_centre).item() - 1.0) < 0.1
