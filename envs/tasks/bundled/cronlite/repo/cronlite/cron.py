"""Five-field cron expressions: minute hour day-of-month month day-of-week.

Each field is `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those.
Day of week runs 0-6 from Sunday; 7 is also Sunday. As in Vixie cron, when both day of month
and day of week are restricted (neither is `*`), a day matches when either of them matches.
"""
from __future__ import annotations

from datetime import datetime, timedelta

FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)]
MONTH_NAMES = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
DAY_NAMES = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}

# A year with no match at all (say, February 30th) ends the search.
_SEARCH_LIMIT = timedelta(days=366 * 5)


class CronError(ValueError):
    """A malformed expression; the message names the field."""


def _value(text: str, name: str, names: dict[str, int]) -> int:
    key = text.lower()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number")
    return int(text)


def parse_field(text: str, name: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    """The set of values a field allows."""
    names = names or {}
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _value(a, name, names), _value(b, name, names)
        else:
            start = end = _value(base, name, names)
            if step_text:
                end = hi
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise CronError(f"{name}: {part!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return values


class CronExpr:
    def __init__(self, text: str) -> None:
        fields = text.split()
        if len(fields) != 5:
            raise CronError(f"expected 5 fields, got {len(fields)}: {text!r}")
        self.text = text
        parsed = []
        for field, (name, lo, hi) in zip(fields, FIELDS):
            names = MONTH_NAMES if name == "month" else DAY_NAMES if name == "day of week" else None
            parsed.append(parse_field(field, name, lo, hi, names))
        self.minutes, self.hours, self.days, self.months, dow = parsed
        self.weekdays = {d % 7 for d in dow}
        self.days_restricted = fields[2] != "*"
        self.weekdays_restricted = fields[4] != "*"

    def _day_matches(self, when: datetime) -> bool:
        dom = when.day in self.days
        dow = (when.weekday() + 1) % 7 in self.weekdays  # Python: Monday 0; cron: Sunday 0
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def matches(self, when: datetime) -> bool:
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and self._day_matches(when)
        )

    def next_after(self, when: datetime) -> datetime:
        """The first matching minute strictly after `when` (seconds dropped)."""
        t = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = when + _SEARCH_LIMIT
        while t <= limit:
            if t.month not in self.months:
                # jump to the first day of the next month
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += timedelta(minutes=1)
                continue
            return t
        raise CronError(f"{self.text!r} never matches")

    def upcoming(self, when: datetime, count: int) -> list[datetime]:
        out = []
        for _ in range(count):
            when = self.next_after(when)
            out.append(when)
        return out

    def __repr__(self) -> str:
        return f"CronExpr({self.text!r})"
