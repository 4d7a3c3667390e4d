"""The Python API: ``load()``, ``Codec.compress()`` and ``Codec.decompress()``.

``quality`` (0-100, higher is better) picks the rate: a continuous level between the
trained levels of a gain-unit model, or a latent quantization step (see
``models.base``). The rate grows monotonically with quality.

Images larger than one patch are coded as overlapping patches (see ``tiling``), each
its own sections of the file, blended back on decoding; ``patch=None`` codes the whole
image at once.
"""

import math
from pathlib import Path

import numpy as np
import torch

from . import container, zoo
from . import budget
from .errors import BitstreamError, ParameterError, TilecodecError
from .images import as_array, to_array, to_tensor
from .numerics import keep_freed_memory, release_freed_memory
from .files import atomic_write
from .rate import check_quality, step_for_quality  # noqa: F401 (public)
from .target_size import fit_bpp
from .tiling import DEFAULT_OVERLAP, DEFAULT_PATCH, OVERLAPS, Blender, PatchGrid  # noqa: F401 (public)

ENCODER_PATH = container.entropy_path(container.FORMAT_VERSION)
def _chunks(items: list, size: int):
    """Consecutive runs of at most ``size`` items."""
    for i in range(0, len(items), size):
        yield items[i: i + size]


def _batches(items: list, size: int):
    """Consecutive runs of at most ``size`` items that share a patch size."""
    run = []
    for item in items:
        if run and (len(run) == size or run[0].size != item.size):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


class Codec:
    """One loaded model; compresses images to bytes and back. Files name the model by
    ``name`` and ``model_hash`` (the first 8 hex digits of its weights' SHA-256) and are
    refused by a codec of another name or hash."""

    def __init__(self, model, name: str, model_hash: str, aliases: tuple = ()):
        self.model = model
        self.name = name
        self.model_hash = model_hash
        self.aliases = tuple(aliases)  # short hashes of earlier files of the same model, still read

    @classmethod
    def from_model(cls, model, name: str = "unregistered") -> "Codec":
        """A codec for a model built in this process (training, tests): its hash is that of
        its current tensors."""
        return cls(model, name, zoo.tensors_hash(model.state_dict())[:8])

    # -- encoding -------------------------------------------------------------------------

    def plan(self, image, quality, patch=DEFAULT_PATCH, overlap=DEFAULT_OVERLAP, refine=0, max_memory=None):
        """Check the arguments of ``compress`` and lay out the file: (image as an array,
        quality as stored, patch grid or None for one whole-image patch, header).
        ParameterError or ImageError for bad arguments, BudgetError if one patch would not fit
        ``max_memory``."""
        array = as_array(image)
        rate = self.model.rate_control.point(quality)
        if int(refine) != refine or refine < 0:
            raise ParameterError(f"refine must be a number of steps (0 or more), got {refine}")
        if refine and self.model.gain is None:
            raise ParameterError(f"model {self.name} has no trained rate levels; it cannot refine its latents")
        height, width = array.shape[:2]
        m = grid_multiple(self.model)
        if patch is not None and (int(patch) != patch or patch % m or patch <= 0):
            raise ParameterError(f"patch must be a positive multiple of {m}, got {patch}")
        if overlap not in OVERLAPS:
            raise ParameterError(f"overlap must be one of {', '.join(map(str, OVERLAPS))}, got {overlap}")
        if patch is not None and patch < 2 * overlap:
            raise ParameterError(f"patch {patch} is too small for overlap {overlap}")
        tiled = patch is not None and (width > patch or height > patch)
        grid = PatchGrid(width, height, int(patch), overlap,
                         span_multiple(container.FORMAT_VERSION, int(patch), m)) if tiled else None
        side = grid.largest if tiled else (height, width)
        budget.check(-(-side[0] // m) * m, -(-side[1] // m) * m, max_memory, refine)
        quality = rate.quality
        header = container.Header(self.name, self.model_hash, width, height,
                                  1 if array.ndim == 2 else 3, float(quality), rate.step,
                                  sections=self.model.strings_at(quality) * (len(grid) if grid else 1),
                                  patch=int(patch) if tiled else 0, overlap=overlap if tiled else 0)
        return array, quality, grid, header

    def _sections(self, array, quality, grid, max_memory, refine=0):
        """Yield the file's sections in order, coding patches batch by batch."""
        if grid is None:
            for strings in self.model.compress(to_tensor(array, grid_multiple(self.model)), quality, int(refine),
                                               ENCODER_PATH, budget.pass_pixels(max_memory, refine)):
                yield from strings
            return
        m, k = grid_multiple(self.model), budget.patches_at_once(max(grid.largest), max_memory, refine)
        for chunk in _chunks(grid.patches, k):
            xs = [torch.cat([to_tensor(array[p.y0: p.y1, p.x0: p.x1], m) for p in batch])
                  for batch in _batches(chunk, k)]
            for strings in self.model.compress(xs, quality, int(refine), ENCODER_PATH,
                                               budget.pass_pixels(max_memory, refine)):
                yield from strings
            release_freed_memory()

    def compress(self, image, quality: float = 75, patch: int | None = DEFAULT_PATCH,
                 overlap: int = DEFAULT_OVERLAP, max_memory: int | None = None, bpp: float | None = None,
                 refine: int = 0) -> bytes:
        """PIL image or HxW(x3) uint8 array -> .tlc bytes.

        ``patch``/``overlap``: largest cell (a multiple of ``model.size_multiple``) and overlap in pixels; images
        no larger than one patch, or ``patch=None``, are coded whole. ``max_memory`` (bytes)
        bounds how many patches go through the transforms together. ``bpp``: instead of
        ``quality``, find the quality whose file is within 2% of this many bits per pixel.
        ``refine``: steps of encoder-side latent refinement (``tilecodec.refine``; slow: each
        step costs about two synthesis passes). Fewer bits for the same quality; the file
        decodes as any other.
        """
        if bpp is not None:
            return fit_bpp(self, image, bpp, patch=patch, overlap=overlap, max_memory=max_memory, refine=refine)
        array, quality, grid, header = self.plan(image, quality, patch, overlap, refine, max_memory)
        return container.pack(header, list(self._sections(array, quality, grid, max_memory, refine)))

    def compress_to_file(self, image, path, quality: float = 75, patch: int | None = DEFAULT_PATCH,
                         overlap: int = DEFAULT_OVERLAP, max_memory: int | None = None,
                         bpp: float | None = None, refine: int = 0) -> int:
        """Like ``compress``, but streams sections into ``path`` as patches finish
        (atomically: nothing is left at ``path`` on failure). Returns the file size.
        With ``bpp`` the quality search runs in memory first."""
        if bpp is not None:
            data = self.compress(image, patch=patch, overlap=overlap, max_memory=max_memory, bpp=bpp, refine=refine)
            atomic_write(path, [data])
            return len(data)
        array, quality, grid, header = self.plan(image, quality, patch, overlap, refine, max_memory)
        return container.write_stream(path, header, self._sections(array, quality, grid, max_memory, refine))

    # -- decoding -------------------------------------------------------------------------

    def _check(self, data: bytes):
        header, table = container.index(data)
        if header.model != self.name or header.model_hash not in (self.model_hash, *self.aliases):
            raise BitstreamError(f"file was made with model {header.model} ({header.model_hash}); "
                                 f"this codec is {self.name} ({self.model_hash})")
        grid = file_grid(header, self.model.padding_multiple(header.version))
        try:
            step = self.model.rate_control.point(header.quality).step
        except TilecodecError as exc:
            raise BitstreamError(f"header holds an invalid quality: {exc}") from None
        if step != header.step:
            raise BitstreamError(f"header step {header.step} does not match quality {header.quality:g}")
        expected = self.model.strings_at(header.quality) * (len(grid) if grid else 1)
        if header.sections != expected:
            raise BitstreamError(f"file has {header.sections} sections; its layout needs {expected}")
        return header, table, grid

    def decompress(self, data: bytes, region: tuple[int, int, int, int] | None = None,
                   max_memory: int | None = None) -> np.ndarray:
        """.tlc bytes -> HxWx3 (or HxW for grayscale) uint8 array; BitstreamError if invalid.

        ``region=(x, y, w, h)`` decodes only the patches covering that box and returns it,
        equal to the same box of a full decode.
        """
        header, table, grid = self._check(data)
        box = self._region(header, region)
        m = self.model.padding_multiple(header.version)
        side = grid.largest if grid else (header.height, header.width)
        budget.check(-(-side[0] // m) * m, -(-side[1] // m) * m, max_memory, decoding=True)
        try:
            return self._decode(data, header, table, grid, box, max_memory)
        except FloatingPointError:
            raise BitstreamError("corrupt latent data: the decoded latent drives the synthesis out of range") from None

    def _decode(self, data, header, table, grid, box, max_memory) -> np.ndarray:
        path = container.entropy_path(header.version)
        n = self.model.strings_at(header.quality)
        m = self.model.padding_multiple(header.version)
        if grid is None:
            strings = [container.section(data, e, i) for i, e in enumerate(table)]
            size = (-(-header.height // m) * m, -(-header.width // m) * m)
            x_hat = self.model.decompress([strings], [size], header.quality, path, budget.pass_pixels(max_memory))[0]
            full = to_array(x_hat, header.height, header.width, header.channels)
            x, y, w, h = box
            return np.ascontiguousarray(full[y: y + h, x: x + w])
        blender = Blender(grid, box, channels=header.channels)
        needed = grid.covering(*box)
        for chunk in _chunks(needed, budget.patches_at_once(max(grid.largest), max_memory)):
            strings = [[container.section(data, table[p.index * n + k], p.index * n + k) for k in range(n)]
                       for p in chunk]
            sizes = [(-(-p.size[0] // m) * m, -(-p.size[1] // m) * m) for p in chunk]
            for p, xi in zip(chunk, self.model.decompress(strings, sizes, header.quality, path,
                                                          budget.pass_pixels(max_memory))):
                ph, pw = p.size
                pixels = xi[0, :, :ph, :pw].permute(1, 2, 0).float().numpy()
                if header.channels == 1:
                    pixels = pixels.mean(axis=2, keepdims=True)
                blender.add(p, pixels)
            release_freed_memory()
        out = blender.finish()
        return out[:, :, 0] if header.channels == 1 else out

    @staticmethod
    def _region(header, region):
        if region is None:
            return 0, 0, header.width, header.height
        x, y, w, h = (int(v) for v in region)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > header.width or y + h > header.height:
            raise ParameterError(f"region {x},{y},{w},{h} is not inside the {header.width}x{header.height} image")
        return x, y, w, h


def grid_multiple(model) -> int:
    """What the files this version writes pad ``model``'s images and patches to."""
    return model.padding_multiple(container.FORMAT_VERSION)


CELL_UNIT = 64  # the hyperprior models' whole stride (16 x 4): experiments/patch_overlap, placement-large-p256-cells64


def span_multiple(version: int, patch: int, multiple: int) -> int:
    """What the patch spans of a file of format ``version`` are cut in multiples of (all but
    the last of a row or column), for a model padding to ``multiple``: from format 6 on, the
    least common multiple of ``multiple`` and CELL_UNIT where ``patch`` is one (cells of 240
    pixels cost 5 points of BD-rate more than cells of 256 and 192 on 1920x1080 crops), else
    ``multiple``."""
    unit = math.lcm(CELL_UNIT, multiple)
    return unit if version >= 6 and patch % unit == 0 else multiple


def file_grid(header: container.Header, multiple: int) -> PatchGrid | None:
    """The patch grid of a file (None when it codes the image whole): the cell placement from
    format 5 on (``span_multiple``), the widened one before; BitstreamError for a layout no
    encoder makes."""
    if not header.patch:
        return None
    try:
        return PatchGrid(header.width, header.height, header.patch, header.overlap,
                         span_multiple(header.version, header.patch, multiple), cells=header.version >= 5)
    except ValueError as exc:
        raise BitstreamError(f"header holds an invalid patch layout: {exc}") from None


_CACHE: dict[str, Codec] = {}


def load(name: str | None = None, shared: bool = True, allocate: bool = False) -> Codec:
    """The model ``name`` (default ``ckbd-mse``): a bundled model, a user model's name, or the
    path of a model's ``.safetensors`` file (``zoo.entry``), loaded once per process;
    ``shared=False``: a private copy, loaded anew, whose model the caller may change.
    ``allocate``: a private copy that codes with bit allocation per block (an encoder option of
    the recurrent models, ``models.progressive``; ParameterError for the others)."""
    name = name or zoo.DEFAULT_MODEL
    if allocate:
        codec = load(name, shared=False)
        if not hasattr(codec.model, "allocate"):
            raise ParameterError(f"bit allocation is an option of the recurrent models, not of {name}")
        codec.model.allocate = True
        return codec
    if name not in _CACHE or not shared:
        keep_freed_memory()
        model, entry = zoo.load_model(name)
        codec = Codec(model, entry.name, entry.short_hash, entry.accepted_hashes[1:])
        if not shared:
            return codec
        _CACHE[name] = codec
    return _CACHE[name]


def models() -> list[str]:
    """Names of the bundled models."""
    return sorted(zoo.registry())


def truncate(data: bytes, iterations: int) -> bytes:
    """The first ``iterations`` iterations of a progressive file (a ``recurrent`` model's): a
    valid file of lower quality whose decode equals what those iterations of ``data`` decode
    to. ParameterError if the model's files are not progressive or ``iterations`` is not
    between 1 and the file's; BitstreamError if ``data`` is not a valid file."""
    from dataclasses import replace

    from .models.progressive import PATCH, iterations_for, quality_for, side_strings, truncate_counts

    header, table = container.index(data)
    entry = zoo.entry(header.model)
    if entry.architecture != "recurrent":
        raise ParameterError(f"files of model {header.model} are not progressive: only a recurrent model's are")
    total = int(entry.config.get("iterations", 16))
    have = iterations_for(header.quality, total)
    if int(iterations) != iterations or not 1 <= iterations <= have:
        raise ParameterError(f"iterations must be between 1 and the file's {have}, got {iterations}")
    side = side_strings(entry.config.get("prediction", "none"))  # the counts (and modes), then iterations
    per_patch = side + have
    if header.sections % per_patch:
        raise BitstreamError(f"file has {header.sections} sections, not a multiple of its {side} + {have} strings")
    keep = [i for i in range(header.sections) if i % per_patch < side + iterations]
    grid = file_grid(header, PATCH)
    h, w = grid.largest if grid else (header.height, header.width)
    most = (-(-h // PATCH)) * (-(-w // PATCH))
    sections = [truncate_counts(container.section(data, table[i], i), int(iterations), most) if i % per_patch == 0
                else container.section(data, table[i], i) for i in keep]
    return container.pack(replace(header, quality=quality_for(int(iterations), total), sections=len(keep)), sections)


def info(data: bytes) -> container.Header:
    """The checked header of a .tlc file."""
    return container.read_header(data)[0]


def read_file(path) -> bytes:
    """The bytes of a .tlc file, or TilecodecError."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TilecodecError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TilecodecError(f"{path}: is a directory") from None
