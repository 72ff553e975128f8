"""cronlite: cron expressions, durations and time intervals for small schedulers."""
from .cron import CronError, CronExpr
from .durations import DurationError, format_duration, parse_duration
from .intervals import free_slots, merge, total_length

__all__ = ["CronError", "CronExpr", "DurationError", "format_duration", "parse_duration", "free_slots", "merge", "total_length"]
