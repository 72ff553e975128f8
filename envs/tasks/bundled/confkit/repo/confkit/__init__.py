"""confkit: INI-style configuration files, typed values, deep merging and version checks."""
from .ini import ConfigError, parse_ini
from .merge import deep_merge
from .semver import Version, VersionError
from .typed import get_bool, get_list, get_size

__all__ = ["ConfigError", "parse_ini", "deep_merge", "Version", "VersionError", "get_bool", "get_list", "get_size"]
