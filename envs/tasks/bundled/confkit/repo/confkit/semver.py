"""Semantic versions (semver.org 2.0): MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].

Precedence: numbers compare numerically; a pre-release sorts before its release
(1.0.0-rc.1 < 1.0.0); pre-release identifiers compare one by one, numeric ones numerically and
below alphanumeric ones, and a shorter list sorts first when all before are equal; build
metadata is ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


class VersionError(ValueError):
    pass


def _identifier_key(ident: str) -> tuple[int, int, str]:
    # numeric identifiers sort below alphanumeric ones
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, text: str) -> "Version":
        m = _VERSION.match(text.strip())
        if not m:
            raise VersionError(f"not a semantic version: {text!r}")
        major, minor, patch, pre, build = m.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), tuple(build.split(".")) if build else ())

    def _key(self) -> tuple:
        release = (self.major, self.minor, self.patch)
        if not self.prerelease:
            return release + (1, ())
        return release + (0, tuple(_identifier_key(i) for i in self.prerelease))

    def __lt__(self, other: "Version") -> bool:
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, part: str) -> "Version":
        """The next 'major', 'minor' or 'patch' release (pre-release and build dropped)."""
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise VersionError(f"cannot bump {part!r}: use major, minor or patch")

    def satisfies(self, spec: str) -> bool:
        """Checks one comparison such as '>=1.2.0', '<2.0.0', '==1.4.1' or '^1.2.0' (same major, not lower)."""
        spec = spec.strip()
        for op in (">=", "<=", "==", "!=", ">", "<", "^"):
            if spec.startswith(op):
                other = Version.parse(spec[len(op):])
                break
        else:
            raise VersionError(f"bad version spec {spec!r}")
        if op == "^":
            return self.major == other.major and self >= other
        return {">=": self >= other, "<=": self <= other, "==": self == other, "!=": self != other, ">": self > other, "<": self < other}[op]

    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            s += "-" + ".".join(self.prerelease)
        if self.build:
            s += "+" + ".".join(self.build)
        return s
