"""Layered configuration: defaults, then a file, then the command line, each overriding the last."""
from __future__ import annotations

from typing import Any


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new dict: `override` on top of `base`.

    Nested dicts merge key by key; any other value (lists included) in `override` replaces the
    one in `base`. A value of None in `override` removes the key. Neither input is changed.
    """
    result = dict(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def merge_all(*layers: dict[str, Any]) -> dict[str, Any]:
    """deep_merge over any number of layers, the last one winning."""
    result: dict[str, Any] = {}
    for layer in layers:
        result = deep_merge(result, layer)
    return result
