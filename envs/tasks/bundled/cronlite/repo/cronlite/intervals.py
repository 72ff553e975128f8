"""Half-open time intervals [start, end): merging, total length and free slots in a window."""
from __future__ import annotations

Interval = tuple[float, float]


def _check(iv: Interval) -> Interval:
    start, end = iv
    if end < start:
        raise ValueError(f"interval ends before it starts: {iv!r}")
    return start, end


def merge(intervals: list[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, sorted by start; empty intervals dropped."""
    out: list[Interval] = []
    for start, end in sorted(_check(iv) for iv in intervals):
        if start == end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def total_length(intervals: list[Interval]) -> float:
    """Time covered by at least one interval."""
    return sum(end - start for start, end in merge(intervals))


def free_slots(busy: list[Interval], window: Interval, min_length: float = 0) -> list[Interval]:
    """The gaps in `window` not covered by `busy`, at least `min_length` long."""
    w_start, w_end = _check(window)
    slots = []
    cursor = w_start
    for start, end in merge(busy):
        if end <= w_start or start >= w_end:
            continue
        if start > cursor:
            slots.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < w_end:
        slots.append((cursor, w_end))
    return [s for s in slots if s[1] - s[0] >= min_length]
