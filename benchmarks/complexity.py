"""Decoder and encoder complexity of every bundled model, in thousands of multiply-accumulates
(kMAC) per pixel, counted layer by layer on a 768x512 image.

    python benchmarks/complexity.py > benchmarks/results/complexity.md

Counted: every convolution and transposed convolution (kernel taps x input channels per group x
output positions; the checkerboard context's kept taps only) and each GDN's 1x1 channel mixing.
The context and entropy-parameter networks are counted at every latent position with their full
inputs, an upper bound: the checkerboard runs the context at half the positions. Not counted: element-wise work (activations, GDN
square roots, gains) and range coding. The decoder is the hyper-synthesis, the entropy-
parameter and context networks and the synthesis; the encoder adds the analysis and the
hyper-analysis. For scale, JPEG AI's operating points are about 14, 28 and 215 kMAC/pixel and
Cool-chic's about 2.
"""

import torch
from torch import nn

import tilecodec
from tilecodec.layers import GDN

H, W = 512, 768


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):  # masked taps (checkerboard context) count once kept
        taps = int(module.mask.sum()) if hasattr(module, "mask") else module.kernel_size[0] * module.kernel_size[1]
        return out.numel() // out.shape[0] * taps * module.in_channels // module.groups
    if isinstance(module, nn.ConvTranspose2d):
        x_positions = out.shape[2] * out.shape[3] // (module.stride[0] * module.stride[1])
        return x_positions * module.kernel_size[0] * module.kernel_size[1] * module.in_channels * module.out_channels
    if isinstance(module, nn.Linear):
        return out.numel() // out.shape[-1] * module.in_features * module.out_features
    if isinstance(module, GDN):
        return out.shape[1] * out.shape[1] * out.shape[2] * out.shape[3]
    return 0


def count(model, part: nn.Module, x: torch.Tensor) -> int:
    total = [0]
    hooks = [m.register_forward_hook(lambda m, i, o: total.__setitem__(0, total[0] + _macs(m, o)))
             for m in part.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, GDN))]
    try:
        with torch.no_grad():
            part(x)
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def main() -> None:
    print("`python benchmarks/complexity.py`\n")
    print(f"kMAC per pixel at {W}x{H} (convolutions, linear layers and GDN channel mixing).\n")
    print("| model | synthesis | hyper-synthesis + entropy parameters + context | decoder | analysis + hyper-analysis | encoder |")
    print("|---|---|---|---|---|---|")
    for name in tilecodec.models():
        model = tilecodec.load(name, shared=False).model.float()
        lc = model.latent_codec
        x = torch.rand(1, 3, H, W)
        y = model.analysis(x)
        pixels = H * W
        analysis = count(model, model.analysis, x)
        synthesis = count(model, model.synthesis, y)
        hyper_a = count(model, lc.hyper_analysis, y) if hasattr(lc, "hyper_analysis") else 0
        z = lc.hyper_analysis(y) if hasattr(lc, "hyper_analysis") else None
        entropy = count(model, lc.hyper_synthesis, z) if z is not None else 0
        for sub in ("context", "entropy_parameters"):  # at every latent position, full inputs
            module = getattr(lc.y, sub, None) if hasattr(lc, "y") else None
            if module is not None:
                first = next(m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
                channels = first.in_channels if isinstance(first, nn.Conv2d) else first.in_features
                entropy += count(model, module, torch.zeros(1, channels, *y.shape[2:]))
        decoder = synthesis + entropy
        encoder = decoder + analysis + hyper_a
        k = 1000 * pixels
        print(f"| {name} | {synthesis / k:.1f} | {entropy / k:.1f} | {decoder / k:.1f} | {(analysis + hyper_a) / k:.1f} | "
              f"{encoder / k:.1f} |", flush=True)


if __name__ == "__main__":
    main()
