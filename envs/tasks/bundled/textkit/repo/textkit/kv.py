"""``key=value`` strings, as found in config lines and query-like settings."""


class KVError(ValueError):
    """A malformed key=value string."""


def parse_kv(text, sep=";"):
    """Parse ``"a=1; b=two"`` into ``{"a": "1", "b": "two"}``.

    Keys and values are stripped of surrounding whitespace.  Values may
    contain ``=``; only the first ``=`` of a pair separates key and value.
    Empty pairs are ignored.  A pair without ``=`` or with an empty key
    raises KVError naming the pair.
    """
    result = {}
    for pair in text.split(sep):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise KVError("missing '=' in %r" % pair.strip())
        key, value = pair.split("=", 1)
        key = key.strip()
        if not key:
            raise KVError("empty key in %r" % pair.strip())
        result[key] = value.strip()
    return result


def format_kv(mapping, sep="; "):
    """Inverse of parse_kv: keys in insertion order."""
    for key in mapping:
        if "=" in key or not key.strip():
            raise KVError("key %r cannot be formatted" % key)
    return sep.join("%s=%s" % (k, v) for k, v in mapping.items())
