"""The memory budget of the transforms: how many patches go through them together, and what
does not fit at all.

``max_memory`` (bytes; 1 GiB by default) bounds the transforms' working memory, estimated
from the pixels of the patches in flight. Work whose single patch (or whole image) would
exceed it is refused up front with ``BudgetError``, naming the option that fixes it.
"""

from .errors import BudgetError
from .tiling import DEFAULT_PATCH

DEFAULT_MAX_MEMORY = 1 << 30
_BYTES_PER_PATCH_PIXEL = 400  # measured peak activation memory per pixel of a patch, with margin
# latent refinement keeps the activations for its backward pass: one 1024-px patch of
# ckbd-mse peaked at 2.2 GB RSS against 1.5 GB plain (benchmarks/results/refine_cost.md)
_BYTES_PER_REFINED_PIXEL = 2000


def patches_at_once(patch: int, max_memory: int | None, refine: int = 0) -> int:
    """How many patches to push through the transforms together within ``max_memory`` bytes
    (at least one)."""
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    per_pixel = _BYTES_PER_REFINED_PIXEL if refine else _BYTES_PER_PATCH_PIXEL
    return int(max(1, min(16, budget // (per_pixel * patch * patch))))


def _gb(n: float) -> str:
    return f"{n / 2 ** 30:.2f} GB"


def check(height: int, width: int, max_memory: int | None, refine: int = 0, decoding: bool = False) -> None:
    """BudgetError unless one patch (or whole image) of ``height`` x ``width`` padded pixels
    fits the transforms' working-memory budget ``max_memory`` (1 GB by default)."""
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    need = (_BYTES_PER_REFINED_PIXEL if refine else _BYTES_PER_PATCH_PIXEL) * height * width
    if need > budget:
        fix = (f"decode with a larger max_memory (--max-memory {-(-need // 2 ** 30)}G)" if decoding else
               f"code it in patches (--patch {DEFAULT_PATCH if not refine else 512}) or allow more memory "
               f"(--max-memory {-(-need // 2 ** 30)}G)")
        raise BudgetError(f"{'decoding' if decoding else 'coding'} {width}x{height} pixels in one piece"
                          f"{' with refinement' if refine else ''} needs about {_gb(need)} of working memory, "
                          f"over the budget of {_gb(budget)}: {fix}")
