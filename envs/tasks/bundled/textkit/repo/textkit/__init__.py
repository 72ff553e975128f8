"""textkit: small text utilities."""
from .slug import slugify
from .shorten import truncate, wrap
from .kv import parse_kv, format_kv
from .stats import word_freq, top_words

__all__ = ["slugify", "truncate", "wrap", "parse_kv", "format_kv", "word_freq", "top_words"]
