"""A small INI dialect.

    # comment            ; also a comment
    [server]
    host = example.org   # an inline comment needs whitespace before '#' or ';'
    color = #ff0000      (so this value keeps its '#')
    url = http://${server.host}:8080/   references another key as ${section.key}

Keys before any section go into the section "". Keys are case-insensitive (stored lowercase);
a later key with the same name replaces the earlier one.
"""
from __future__ import annotations

import re

_SECTION = re.compile(r"^\[([^\]]+)\]$")
_REF = re.compile(r"\$\{([^}]+)\}")
_INLINE_COMMENT = re.compile(r"\s[#;].*$")


class ConfigError(ValueError):
    """A malformed file or a bad reference; the message gives the line when there is one."""


def _strip_comment(value: str) -> str:
    return _INLINE_COMMENT.sub("", value.strip()).strip()


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """Sections of keys to values, with ${section.key} references resolved."""
    sections: dict[str, dict[str, str]] = {"": {}}
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            current = m.group(1).strip().lower()
            sections.setdefault(current, {})
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"line {number}: expected 'key = value' or '[section]', got {raw!r}")
        sections[current][key.strip().lower()] = _strip_comment(value)
    return _resolve(sections)


def _resolve(sections: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    done: dict[tuple[str, str], str] = {}

    def value(section: str, key: str, chain: tuple[str, ...]) -> str:
        name = f"{section}.{key}" if section else key
        if name in chain:
            raise ConfigError(f"reference cycle: {' -> '.join(chain + (name,))}")
        if (section, key) in done:
            return done[(section, key)]
        try:
            raw = sections[section][key]
        except KeyError:
            raise ConfigError(f"unknown reference ${{{name}}}" + (f" (in {chain[-1]})" if chain else "")) from None

        def sub(m: re.Match[str]) -> str:
            ref = m.group(1).strip().lower()
            sec, _, k = ref.rpartition(".")
            return value(sec, k, chain + (name,))

        done[(section, key)] = _REF.sub(sub, raw)
        return done[(section, key)]

    return {s: {k: value(s, k, ()) for k in keys} for s, keys in sections.items()}
