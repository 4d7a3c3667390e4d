"""Training crops from image folders (searched recursively, ``images.find_images``).

Images are decoded once into memory. Each sample is a random crop, optionally from a
randomly downscaled region (which also removes JPEG blocking), randomly flipped.
Grayscale becomes RGB; images smaller than the crop are upscaled.
"""

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ..images import find_images


class RandomCrops(Dataset):
    """An endless-style dataset: item ``i`` is a fresh random crop (3 x crop x crop in [0, 1])."""

    def __init__(self, folders, crop: int = 256, min_scale: float = 0.5, length: int = 10**9):
        self.crop, self.min_scale, self.length = crop, min_scale, length
        self.images = []
        for path in find_images(folders):
            with Image.open(path) as im:
                im = im.convert("RGB")
                if min(im.size) < crop:
                    f = crop / min(im.size)
                    im = im.resize((max(crop, round(im.width * f)), max(crop, round(im.height * f))), Image.BICUBIC)
                self.images.append(np.asarray(im))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> torch.Tensor:
        rng = np.random.default_rng(torch.randint(0, 2**62, (1,)).item())
        img = self.images[rng.integers(len(self.images))]
        h, w = img.shape[:2]
        largest = min(h, w) / self.crop
        scale = rng.uniform(max(self.min_scale, 1 / largest), 1.0) if self.min_scale < 1 else 1.0
        size = min(int(round(self.crop / scale)), h, w)
        y, x = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        patch = img[y: y + size, x: x + size]
        if size != self.crop:
            patch = np.asarray(Image.fromarray(patch).resize((self.crop, self.crop), Image.LANCZOS))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        return torch.from_numpy(patch.copy()).permute(2, 0, 1).float().div_(255)


def batches(folders, crop: int, batch: int, workers: int = 2, min_scale: float = 0.5):
    """An endless iterator of ``batch`` x 3 x ``crop`` x ``crop`` random crops (``RandomCrops``),
    cut by ``workers`` processes (none: in this one)."""
    return iter(DataLoader(RandomCrops(folders, crop, min_scale), batch_size=batch, num_workers=workers,
                           persistent_workers=workers > 0))
