"""Durations written the way people write them: '90s', '1h30m', '2d 4h', '1.5h'."""
from __future__ import annotations

import re

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> int:
    """Seconds in a duration such as '1h30m', '2d 4h' or '1.5h' (whitespace between parts is fine).

    Units: d, h, m, s (lowercase or uppercase). A result that is not a whole number of seconds
    is rounded to the nearest second.
    """
    s = re.sub(r"\s+", "", text).lower()
    if not s:
        raise DurationError("empty duration")
    pos = 0
    total = 0.0
    seen = set()
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        unit = m.group(2)
        if unit in seen:
            raise DurationError(f"unit {unit!r} given twice in {text!r}")
        seen.add(unit)
        total += float(m.group(1)) * UNITS[unit]
        pos = m.end()
    if pos != len(s):
        raise DurationError(f"cannot read {text!r} at {s[pos:]!r}: use numbers with d, h, m or s")
    return round(total)


def format_duration(seconds: int) -> str:
    """'1h 30m', '2d', '45s', '0s': largest units first, zero parts left out."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    parts = []
    for unit, size in UNITS.items():
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return " ".join(parts) or "0s"
