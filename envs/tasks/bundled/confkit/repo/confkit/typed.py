"""Reading typed values out of configuration strings."""
from __future__ import annotations

import re

from .ini import ConfigError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}

# Decimal units are powers of 1000, binary (KiB...) powers of 1024; a bare number is bytes.
SIZE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
    "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4,
}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]*)$")


def get_bool(value: str) -> bool:
    """'yes'/'no', 'on'/'off', 'true'/'false', '1'/'0', in any case."""
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ConfigError(f"not a boolean: {value!r} (use yes/no, on/off, true/false or 1/0)")


def get_list(value: str, sep: str = ",") -> list[str]:
    """'a, b ,c' -> ['a', 'b', 'c']; empty items are dropped."""
    return [item.strip() for item in value.split(sep) if item.strip()]


def get_size(value: str) -> int:
    """'512', '10MB', '1.5 GiB', '64kib' -> bytes (units in any case)."""
    m = _SIZE.match(value.strip().lower())
    if not m or m.group(2) not in SIZE_UNITS and m.group(2) != "":
        raise ConfigError(f"not a size: {value!r} (e.g. 512, 10MB, 1.5GiB)")
    number, unit = m.groups()
    return int(float(number) * SIZE_UNITS[unit or "b"])
