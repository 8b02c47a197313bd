"""Percentiles and medians: the numbers every table is built from."""

from __future__ import annotations

import math

import pytest

from chatkit.bench.stats import median, percentile


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1
    assert percentile([4, 1, 3, 2], 100) == 4
    # numpy.percentile(range(1, 101), 99) == 99.01
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_of_one_value_and_of_nothing() -> None:
    assert percentile([7.5], 99) == 7.5
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_rejects_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], q)


def test_median_odd_even_and_missing_values() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 3, 2]) == 2.5
    # A run that could not measure a metric does not poison the median of the others.
    assert median([10, math.nan, 30]) == 20
    assert math.isnan(median([math.nan]))
