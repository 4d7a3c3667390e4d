"""Bjontegaard delta rate and delta PSNR (VCEG-M33), with piecewise cubic interpolation.

Method: each curve is interpolated by a monotone piecewise cubic Hermite polynomial
(PCHIP, as in the JVET/CTC reference spreadsheets) — log10(rate) as a function of
quality for BD-rate, quality as a function of log10(rate) for BD-PSNR — and the
difference of the integrals is averaged over the interval where both curves overlap.
A negative BD-rate means the test curve needs fewer bits than the anchor for the same
quality.
"""

import math

import numpy as np
from scipy.interpolate import PchipInterpolator

METHOD = "Bjontegaard, piecewise cubic (PCHIP) interpolation over the overlapping interval"


def _prepare(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    order = np.argsort(x)
    x, y = x[order], y[order]
    unique = np.concatenate([[True], np.diff(x) > 0])
    return x[unique], y[unique]


def _average_gap(x_a, y_a, x_b, y_b) -> float | None:
    """Mean of (y_b - y_a) over the common x interval, both interpolated with PCHIP."""
    x_a, y_a = _prepare(x_a, y_a)
    x_b, y_b = _prepare(x_b, y_b)
    if len(x_a) < 2 or len(x_b) < 2:
        return None
    lo, hi = max(x_a[0], x_b[0]), min(x_a[-1], x_b[-1])
    if not hi > lo:
        return None
    fa, fb = PchipInterpolator(x_a, y_a), PchipInterpolator(x_b, y_b)
    area = fb.integrate(lo, hi) - fa.integrate(lo, hi)
    return float(area / (hi - lo))


def bd_rate(rate_anchor, quality_anchor, rate_test, quality_test) -> float | None:
    """Percent rate change of the test curve at equal quality; None without overlap."""
    gap = _average_gap(quality_anchor, np.log10(rate_anchor), quality_test, np.log10(rate_test))
    return None if gap is None else (10.0**gap - 1.0) * 100.0


def bd_quality(rate_anchor, quality_anchor, rate_test, quality_test) -> float | None:
    """Mean quality gain (e.g. dB of PSNR) of the test curve at equal rate; None without overlap."""
    gap = _average_gap(np.log10(rate_anchor), quality_anchor, np.log10(rate_test), quality_test)
    return None if gap is None or math.isnan(gap) else gap
