"""Small statistics for benchmark results: percentiles and medians.

Kept free of numpy on purpose: the bench must run wherever chatkit runs, and these are a few
lines each. Percentiles interpolate linearly between the two nearest ranks (numpy's default),
so ``percentile([1, 2, 3, 4], 50)`` is ``2.5``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["median", "percentile"]


def percentile(values: Sequence[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) of ``values``; ``nan`` for no values.

    ``values`` need not be sorted. Linear interpolation between closest ranks, as
    ``numpy.percentile(values, q)`` does by default.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def median(values: Sequence[float]) -> float:
    """The middle value (mean of the two middle ones for an even count); ``nan`` if empty.

    ``nan`` values (a metric a run could not measure) are ignored rather than poisoning the
    result, so one failed run out of three still gives a median of the other two.
    """
    present = [value for value in values if not math.isnan(value)]
    return percentile(present, 50)
