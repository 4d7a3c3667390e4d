"""The working-memory budget: how many pixels go through the transforms in one pass, and
what does not fit at all.

``max_memory`` (bytes; 256 MiB by default) bounds the working memory of coding, above what
the process holds anyway (PyTorch, the model, the image and, when decoding, the output and
the rows still being blended; ``docs/large-images.md`` gives the measured total). The
transforms take as many patches at once as fit, or cut a patch into bands of rows
(``numerics.in_bands``) when one alone does not; the entropy path handles a patch (or a whole
image) at once, so work whose single patch would exceed the budget there is refused up front
with ``BudgetError``, naming the option that fixes it.
"""

from .errors import BudgetError
from .tiling import DEFAULT_PATCH

DEFAULT_MAX_MEMORY = 256 << 20
_BYTES_PER_PATCH_PIXEL = 400  # measured peak activation memory per pixel of a transform pass, with margin
_BYTES_PER_CODED_PIXEL = 250  # the entropy path's working memory per pixel of a patch (never cut in bands)
# latent refinement keeps the activations for its backward pass: one 1024-px patch of
# ckbd-mse peaked at 2.2 GB RSS against 1.5 GB plain (benchmarks/results/refine_cost.md)
_BYTES_PER_REFINED_PIXEL = 2000


def pass_pixels(max_memory: int | None, refine: int = 0) -> int:
    """How many pixels may go through a transform in one pass within ``max_memory`` bytes:
    patches in flight times their size, or the bands a patch is cut into when one patch
    alone is more (``numerics.in_bands``)."""
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    return int(budget // (_BYTES_PER_REFINED_PIXEL if refine else _BYTES_PER_PATCH_PIXEL))


def patches_at_once(patch: int, max_memory: int | None, refine: int = 0) -> int:
    """How many patches to push through the transforms together within ``max_memory`` bytes
    (at least one)."""
    return int(max(1, min(16, pass_pixels(max_memory, refine) // (patch * patch))))


def _gb(n: float) -> str:
    return f"{n / 2 ** 30:.2f} GB"


def check(height: int, width: int, max_memory: int | None, refine: int = 0, decoding: bool = False) -> None:
    """BudgetError unless the entropy path of one patch (or whole image) of ``height`` x
    ``width`` padded pixels fits ``max_memory`` (256 MiB by default); with refinement, its
    transforms too (refinement keeps their activations for the backward pass)."""
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    per_pixel = _BYTES_PER_REFINED_PIXEL if refine else _BYTES_PER_CODED_PIXEL
    need = per_pixel * height * width
    if need > budget:
        fitting = max(64, min(DEFAULT_PATCH, int((budget / per_pixel) ** 0.5) // 64 * 64))
        more = f"--max-memory {-(-need // 2 ** 20)}M"
        fix = (f"decode with a larger max_memory ({more})" if decoding else
               f"code it in smaller patches (--patch {fitting}) or allow more memory ({more})")
        raise BudgetError(f"{'decoding' if decoding else 'coding'} {width}x{height} pixels in one piece"
                          f"{' with refinement' if refine else ''} needs about {_gb(need)} of working memory, "
                          f"over the budget of {_gb(budget)}: {fix}")
