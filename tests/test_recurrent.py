"""The recurrent progressive codec's networks: the binarizer, bit budget per iteration, and
decoder lockstep (the decoder alone, from the bits, rebuilds the encoder's reconstructions,
and a prefix of the bits is a shorter code)."""

import torch

from tilecodec.layers.recurrent import ConvLSTM, binarize
from tilecodec.models.recurrent import BITS, RecurrentCodecNet


def test_the_binarizer_is_unbiased_in_training_and_the_sign_at_inference():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 21)
    samples = torch.stack([binarize(x, training=True) for _ in range(20000)])
    assert set(samples.unique().tolist()) <= {-1.0, 1.0}
    assert (samples.mean(0) - x).abs().max() < 0.03  # E[b] = x
    assert torch.equal(binarize(x, training=False), torch.where(x >= 0, 1.0, -1.0))
    y = x.clone().requires_grad_(True)
    binarize(y, training=True).sum().backward()
    assert torch.equal(y.grad, torch.ones_like(x))  # straight through


def test_conv_lstm_keeps_its_state_shape():
    cell = ConvLSTM(3, 8, 3, stride=2)
    h, state = cell(torch.rand(2, 3, 16, 16), None)
    h2, _ = cell(torch.rand(2, 3, 16, 16), state)
    assert h.shape == h2.shape == (2, 8, 8, 8) and not torch.equal(h, h2)


def test_iterations_cost_128_bits_each_and_the_decoder_follows_from_the_bits_alone():
    torch.manual_seed(0)
    net = RecurrentCodecNet(width=8).eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        bits, outputs = net(x, iterations=4)
        assert all(b.shape == (3, BITS, 2, 2) and set(b.unique().tolist()) <= {-1.0, 1.0} for b in bits)
        assert sum(b[0].numel() for b in bits) == 4 * 128
        decoded = net.decode(bits)
        assert all(torch.equal(a, b) for a, b in zip(outputs, decoded))
        shorter_bits, shorter = net(x, iterations=2)  # a prefix is a 2-iteration code
        assert all(torch.equal(a, b) for a, b in zip(shorter_bits, bits[:2]))
        assert torch.equal(net.decode(bits[:2])[-1], shorter[-1])
        start = torch.rand(3, 3, 32, 32)  # from a prediction, the residual is coded
        b1, o1 = net(x, iterations=1, start=start)
        assert torch.equal(net.decode(b1, start=start)[0], o1[0])


def test_training_reduces_the_error_over_iterations():
    torch.manual_seed(0)
    net = RecurrentCodecNet(width=4)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    x = torch.rand(4, 1, 1, 1).expand(4, 3, 32, 32)  # flat patches of random grey levels
    for _ in range(30):
        _, outputs = net(x, iterations=3)
        loss = sum((o - x).abs().mean() for o in outputs)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        _, outputs = net(x, iterations=3)
    errors = [float((o - x).abs().mean()) for o in outputs]
    assert errors[0] < float((0.5 - x).abs().mean()) and errors[-1] <= errors[0] + 1e-3, errors


def test_train_recurrent_writes_a_network_that_loads(tmp_path, photo):
    from PIL import Image

    from tilecodec.cli import main
    from tilecodec.models.recurrent import load_recurrent

    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(photo[:96, :128]).save(folder / "a.png")
    out = tmp_path / "recurrent.safetensors"
    assert main(["train-recurrent", str(folder), "--out", str(out), "--steps", "2", "--batch", "2",
                 "--iterations", "2", "--width", "4"]) == 0
    net = load_recurrent(out)
    with torch.no_grad():
        bits, outputs = net(torch.rand(1, 3, 32, 32), iterations=2)
    assert len(bits) == 2 and torch.equal(net.decode(bits)[-1], outputs[-1])
    assert (tmp_path / "recurrent.csv").read_text().splitlines()[-1].startswith("2,")
    # fine-tuned to code from multi-mode predictions, from those networks
    Image.fromarray(photo[:96, :96]).save(folder / "b.png")
    tuned = tmp_path / "multi.safetensors"
    assert main(["train-recurrent", str(folder), "--out", str(tuned), "--steps", "1", "--batch", "2",
                 "--iterations", "2", "--prediction", "multi", "--init", str(out), "--workers", "0"]) == 0
    assert load_recurrent(tuned).e_conv.out_channels == 4


def test_predicted_training_predicts_from_the_neighbours_first_iterations():
    from torch import nn

    from tilecodec.intra.learned import windows
    from tilecodec.models.patch_vae import inpainting_context
    from tilecodec.train.recurrent import starts

    torch.manual_seed(0)
    net = RecurrentCodecNet(width=4).train()
    images = torch.rand(64, 3, 64, 96)
    _, neighbours, target = windows(images)
    seen = []

    class Spy(nn.Module):
        def __init__(self, answer):
            super().__init__()
            self.answer = answer

        def forward(self, context):
            seen.append(context.clone())
            return self.answer(context)

    predictors = {"inpainting": Spy(lambda c: torch.zeros(len(c), 3, 32, 32)), "extended": Spy(lambda c: target)}
    x, start = starts(net, images, "multi", predictors)
    assert net.training and torch.equal(x, target)
    net.eval()
    with torch.no_grad():
        first = net(neighbours.flatten(0, 1), 1)[1][0]
    decoded = (torch.round(first.clamp(0, 1) * 255) / 255).view_as(neighbours)
    assert torch.equal(seen[0], inpainting_context(decoded)) and torch.equal(seen[1], decoded)
    assert not torch.allclose(seen[1], neighbours, atol=0.05)  # not the originals
    # the extended predictor is exact here, so it wins wherever the block does not start from none
    exact = (start == target).flatten(1).all(1)
    grey = (start == 0.5).flatten(1).all(1)
    assert (exact | grey).all() and 0 < grey.sum() < len(grey) / 2
