"""Durations as fixed log-scale histograms (pure: no AWS, no storage).

A report never keeps the durations themselves, only how many fell into each bucket, so a day's
figures are counters that stream records ADD to, and a range's figures are those counters
summed: histograms of different days, departments or shards merge by adding bucket counts.

Buckets (business seconds):

    bucket 0          [0 s, 1 s)
    bucket i >= 1     [2^((i-1)/8) s, 2^(i/8) s)      eight buckets per doubling
    bucket MAX_BUCKET the last (256) also takes everything longer (from 2^(255/8) s, ~120 years)

A percentile is the nearest-rank one (the ceil(q * n)-th smallest duration); the histogram
answers with the geometric middle of the bucket that holds it. Every duration in bucket i >= 1
lies within a factor 2^(1/16) of that middle, so

    error bound: |reported - exact| <= 4.43% of the exact value (2^(1/16) - 1 = 0.0443),
                 or 0.5 s for durations under one second (bucket 0 answers 0.5 s).

At most MAX_BUCKET + 1 counters exist; a day's real durations (seconds to weeks) touch about
a hundred of them.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

PER_DOUBLING = 8
MAX_BUCKET = 8 * 32  # the last bucket is open-ended
RELATIVE_ERROR = 2 ** (1 / (2 * PER_DOUBLING)) - 1  # 0.0443
ABSOLUTE_ERROR_UNDER_ONE_SECOND = 0.5


def bucket(seconds: float) -> int:
    """The bucket a duration falls into."""
    if not seconds >= 1:  # also NaN and negatives (clock skew): the first bucket
        return 0
    index = math.floor(math.log2(seconds) * PER_DOUBLING) + 1
    # floating point at exact powers: make sure lower <= seconds < upper
    while index > 1 and seconds < lower(index):
        index -= 1
    while index < MAX_BUCKET and seconds >= lower(index + 1):
        index += 1
    return min(index, MAX_BUCKET)


def lower(index: int) -> float:
    return 0.0 if index == 0 else 2 ** ((index - 1) / PER_DOUBLING)


def upper(index: int) -> float:
    return 2 ** (index / PER_DOUBLING)


def middle(index: int) -> float:
    """What the histogram answers for a duration in this bucket."""
    if index == 0:
        return 0.5
    return 2 ** ((index - 0.5) / PER_DOUBLING)


def histogram(durations: Iterable[float]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for seconds in durations:
        index = bucket(seconds)
        counts[index] = counts.get(index, 0) + 1
    return counts


def merge(*histograms: Mapping[int, int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for counts in histograms:
        for index, n in counts.items():
            if n:
                out[int(index)] = out.get(int(index), 0) + int(n)
    return out


def count(counts: Mapping[int, int]) -> int:
    return sum(int(n) for n in counts.values())


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile (0 < q <= 1) from bucket counts; None when empty."""
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    total = count(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += int(counts[index])
        if seen >= rank:
            return middle(index)
    return middle(max(counts))  # unreachable: seen reaches total


def within_bound(reported: float, exact: float) -> bool:
    if exact < 1:
        return abs(reported - exact) <= ABSOLUTE_ERROR_UNDER_ONE_SECOND
    return abs(reported - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9)


def summary(counts: Mapping[int, int], total_seconds: float | None = None) -> dict:
    """count, median, p90 (and mean when the exact sum is known), in seconds and hours."""
    n = count(counts)
    median, p90 = percentile(counts, 0.5), percentile(counts, 0.9)
    out = {"count": n, "median_seconds": _round(median), "p90_seconds": _round(p90),
           "median_hours": _hours(median), "p90_hours": _hours(p90)}
    if total_seconds is not None:
        mean = total_seconds / n if n else None
        out.update(mean_seconds=_round(mean), mean_hours=_hours(mean))
    return out


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)
