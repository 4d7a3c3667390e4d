"""Image input/output and conversion to the package's tensors.

Accepted: 8-bit RGB and 8-bit grayscale (restored as grayscale); palette images without
transparency are read as RGB. Alpha channels, 16-bit (grayscale or RGB), float, CMYK and
other modes are refused with an ``ImageError`` (flatten or convert them first), and so are
images beyond the format's size limits, judged from the file's header before any pixel is
decoded.
"""

import io
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from .container import MAX_PIXELS, MAX_SIDE
from .errors import ImageError
from .files import atomic_write

Image.MAX_IMAGE_PIXELS = None  # size limits are ours (check_size, before decoding), not PIL's warning


def check_size(width: int, height: int, name: str = "image") -> None:
    """ImageError unless a ``width`` x ``height`` image is within the format's limits."""
    if width < 1 or height < 1:
        raise ImageError(f"{name} is empty")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(f"{name} is {width}x{height} pixels; tilecodec codes at most {MAX_SIDE} pixels a side "
                         f"and {MAX_PIXELS / 1e6:.0f} megapixels")


def _sixteen_bit(im: Image.Image) -> bool:
    """Whether the file stores 16 bits per sample although PIL would hand out 8 (RGB PNGs)."""
    return any("16" in str(getattr(tile, "args", "")) for tile in getattr(im, "tile", None) or [])


def _from_pil(im: Image.Image) -> np.ndarray:
    check_size(*im.size)
    if im.mode == "P" and "transparency" not in im.info:
        im = im.convert("RGB")
    elif im.mode == "1":
        im = im.convert("L")
    if im.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La"):
        raise ImageError(f"image has an alpha channel (mode {im.mode}); tilecodec codes RGB or grayscale only")
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        raise ImageError(f"image is {'16-bit' if im.mode.startswith('I;16') else 'high bit depth'} "
                         f"(mode {im.mode}); tilecodec codes 8-bit images only")
    if im.mode not in ("RGB", "L"):
        raise ImageError(f"unsupported image mode {im.mode}; convert it to 8-bit RGB or grayscale")
    return np.asarray(im)


def as_array(image) -> np.ndarray:
    """A PIL image or HxW / HxWx1 / HxWx3 uint8 array -> HxW or HxWx3 uint8 array."""
    if isinstance(image, Image.Image):
        return _from_pil(image)
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"expected a uint8 array, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ImageError(f"expected an HxW or HxWx3 array, got shape {image.shape}")
    check_size(image.shape[1], image.shape[0])
    return image


def load_image(path) -> np.ndarray:
    """Read an image file into an HxW or HxWx3 uint8 array, or raise ImageError."""
    try:
        with Image.open(path) as im:
            check_size(*im.size, name=str(path))  # from the header, before decoding the pixels
            if _sixteen_bit(im) and im.mode == "RGB":
                raise ImageError(f"{path}: image is 16-bit RGB; tilecodec codes 8-bit images only (convert it "
                                 "to 8 bits first)")
            im.load()
            return _from_pil(im)
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{path}: cannot read image ({exc})") from None


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".ppm", ".tif", ".tiff")


def find_images(folders, recursive: bool = True) -> list[Path]:
    """The image files (by suffix, ``IMAGE_SUFFIXES``) in ``folders`` (a folder or a list of
    them), searched recursively unless ``recursive=False``; sorted, so that every run sees
    the same order. FileNotFoundError if a folder is missing or none holds an image."""
    folders = [folders] if isinstance(folders, (str, Path)) else list(folders)
    files = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: not a directory")
        found = folder.rglob("*") if recursive else folder.iterdir()
        files += [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, folders))}")
    return sorted(files)


def save_image(array: np.ndarray, path) -> None:
    """Write an array to ``path`` (format from the extension) through a temporary file."""
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: unknown image file extension (use .png)")
    buf = io.BytesIO()
    try:
        Image.fromarray(array).save(buf, format=fmt)
    except (OSError, KeyError, ValueError) as exc:
        raise ImageError(f"{path}: cannot write this image as {fmt} ({exc})") from None
    atomic_write(path, [buf.getvalue()])


def to_tensor(array: np.ndarray, multiple: int) -> torch.Tensor:
    """uint8 array -> 1x3xHpxWp float in [0, 1], edge-padded so both sides are multiples."""
    x = torch.from_numpy(array.astype(np.float32)).div_(255)
    x = x.unsqueeze(0).expand(3, -1, -1) if x.ndim == 2 else x.permute(2, 0, 1)
    h, w = x.shape[1:]
    ph, pw = -h % multiple, -w % multiple
    x = x.unsqueeze(0)
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x.contiguous()


def to_array(x: torch.Tensor, height: int, width: int, channels: int) -> np.ndarray:
    """1x3xHpxWp in [0, 1] -> cropped uint8 HxWx3 (or HxW when channels == 1)."""
    x = x[0, :, :height, :width].float()
    if channels == 1:
        x = x.mean(0, keepdim=True)
    out = x.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    return out[:, :, 0] if channels == 1 else out
