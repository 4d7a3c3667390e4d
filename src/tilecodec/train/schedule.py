"""The learning-rate schedule of the time-boxed trainers (intra predictors, recurrent and
patch codecs): cosine decay to 2% of the peak, over ``steps`` or over ``max_minutes``,
whichever ends first, so that a run stopped by its deadline has annealed."""

import math


def progress(step: int, steps: int, elapsed_s: float, max_minutes: float | None) -> float:
    """How far the run is, in [0, 1]: the larger of the step and time fractions."""
    t = (step - 1) / steps
    if max_minutes:
        t = max(t, elapsed_s / (60 * max_minutes))
    return min(1.0, t)


def cosine(lr: float, t: float, floor: float = 0.02) -> float:
    """The learning rate at progress ``t``."""
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))
