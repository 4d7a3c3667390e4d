"""One search for the setting of a codec that hits a target: the API's ``bpp=``, the
benchmark's matched points and the demo's JPEG comparison all use it."""

import math


def search(evaluate, lo: float, hi: float, target: float, distance, tolerance: float,
           integer: bool = False, log: bool = False, known: dict | None = None,
           max_steps: int = 30) -> dict:
    """Search ``[lo, hi]`` for a setting whose ``evaluate(setting)`` lies within
    ``tolerance`` of ``target`` by ``distance(value, target)``; ``evaluate`` must not
    decrease with the setting. Returns every trial, ``{setting: value}`` (``known`` trials
    included and reused), so that callers pick by their own rule (``closest``).

    Bisection; with ``log``, regula falsi on the logarithm of the values (for sizes, which
    grow about exponentially with quality), safeguarded by a midpoint every third step.
    ``integer``: settings are integers, and both neighbours of the crossing are tried."""
    trials = dict(known or {})

    def at(setting):
        if setting not in trials:
            trials[setting] = evaluate(setting)
        return trials[setting]

    def done():
        return any(distance(v, target) <= tolerance for v in trials.values())

    for setting, value in trials.items():  # narrow the bracket with what is already measured
        if lo <= setting <= hi:
            if value < target:
                lo = max(lo, setting)
            else:
                hi = min(hi, setting)
    for step in range(max_steps):
        if done():
            break
        if integer and hi - lo <= 1:
            at(lo), at(hi)
            break
        if log and lo in trials and hi in trials and 0 < trials[lo] < trials[hi] and step % 3 < 2:
            t = (math.log(target) - math.log(trials[lo])) / (math.log(trials[hi]) - math.log(trials[lo]))
            mid = lo + (hi - lo) * min(max(t, 0.05), 0.95)
        else:
            mid = (lo + hi) / 2
        mid = int(round(mid)) if integer else mid
        if at(mid) < target:
            lo = mid
        else:
            hi = mid
        if not integer and hi - lo < 1e-4:
            break
    return trials


def closest(trials: dict, target: float, distance):
    """The (setting, value) of ``trials`` nearest to ``target`` by ``distance``."""
    return min(trials.items(), key=lambda kv: distance(kv[1], target))


def relative(value: float, target: float) -> float:
    return abs(value / target - 1)


def absolute(value: float, target: float) -> float:
    return abs(value - target)
