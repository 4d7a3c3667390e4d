"""Learned intra predictors (tilecodec.intra.learned): shapes, causality, and that they learn."""

import torch

from tilecodec.intra.learned import ExtendedContextPredictor, InpaintingPredictor, windows


def _gradients(n: int) -> torch.Tensor:
    """n windows of 64x96 smooth colour ramps, each with its own direction and offset."""
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1.5, 96), indexing="ij")
    a, b, c = torch.rand(3, n, 3, 1, 1)
    return (0.5 * a * x + 0.5 * b * y + 0.25 * c).clamp(0, 1)


def test_windows_cut_the_causal_neighbours():
    images = torch.rand(2, 3, 64, 96)
    context, neighbours, target = windows(images)
    assert context.shape == (2, 3, 64, 64) and neighbours.shape == (2, 4, 3, 32, 32) and target.shape == (2, 3, 32, 32)
    assert torch.equal(neighbours[:, 2], images[:, :, :32, 64:])  # top-right
    assert torch.equal(target, images[:, :, 32:, 32:64])


def test_the_inpainting_predictor_never_sees_the_block_it_predicts():
    model = InpaintingPredictor(width=8).eval()
    context, _, _ = windows(torch.rand(2, 3, 64, 96))
    other = context.clone()
    other[:, :, 32:, 32:] = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        out = model(context)
    assert out.shape == (2, 3, 32, 32) and torch.equal(out, model(other).detach())


def test_the_extended_predictor_reads_the_top_right_neighbour():
    model = ExtendedContextPredictor(width=8)
    _, neighbours, _ = windows(torch.rand(1, 3, 64, 96))
    neighbours.requires_grad_(True)
    model(neighbours).sum().backward()
    assert all(float(neighbours.grad[:, k].abs().sum()) > 0 for k in range(4))


def test_both_predictors_fit_a_batch():
    torch.manual_seed(0)
    parts = windows(_gradients(4))
    for model, pick in ((InpaintingPredictor(width=8), 0), (ExtendedContextPredictor(width=8), 1)):
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        losses = []
        for _ in range(100):
            loss = torch.mean((model(parts[pick]) - parts[2]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert sum(losses[-10:]) < 0.2 * sum(losses[:10]), (type(model).__name__, losses[:3], losses[-3:])


def test_train_intra_writes_a_predictor_that_loads(tmp_path, photo):
    from PIL import Image

    from tilecodec.cli import main
    from tilecodec.intra.learned import load_predictor

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(photo[i * 100: i * 100 + 128, i * 150: i * 150 + 160]).save(folder / f"{i}.png")
    out = tmp_path / "inpainting.safetensors"
    assert main(["train-intra", "inpainting", str(folder), "--out", str(out), "--steps", "3", "--batch", "2",
                 "--width", "8"]) == 0
    model = load_predictor(out)
    rows = (tmp_path / "inpainting.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and rows[-1].startswith("3,")
    context = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert model(context).shape == (1, 3, 32, 32)


def test_the_bundled_predictors_beat_a_flat_guess_on_a_real_photo(photo):
    """On the sample photo's interior blocks, each trained predictor's mean error is below that of
    predicting every block by the mean of its top and left edge samples."""
    from tilecodec.intra.learned import bundled

    x = torch.from_numpy(photo.copy()).permute(2, 0, 1).float() / 255
    wins = torch.stack([x[:, y: y + 64, c: c + 96] for y in range(0, 250, 32) for c in range(0, 400, 32)])
    context, neighbours, target = windows(wins)
    flat = torch.cat([neighbours[:, 1, :, -1:, :], neighbours[:, 3, :, :, -1:].transpose(-1, -2)], -1)
    flat_mse = ((flat.mean(dim=(-1, -2), keepdim=True) - target) ** 2).mean()
    with torch.no_grad():
        for kind, source in (("inpainting", context), ("extended", neighbours)):
            assert ((bundled(kind)(source) - target) ** 2).mean() < flat_mse, kind
