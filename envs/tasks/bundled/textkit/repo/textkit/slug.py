"""URL slugs."""
import re
import unicodedata

_SEPARATORS = re.compile(r"[\s_\-]+")
_DROP = re.compile(r"[^a-z0-9\-]")


def slugify(text, separator="-", max_length=None):
    """Turn ``text`` into a lowercase ASCII slug.

    Accents are folded (``é`` -> ``e``), runs of whitespace, underscores and
    dashes become one ``separator``, other punctuation is dropped, and the
    slug never starts or ends with a separator.  With ``max_length`` the slug
    is cut at a separator boundary when possible.
    """
    if not isinstance(text, str):
        raise TypeError("slugify() expects a string")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    lowered = folded.lower().strip()
    dashed = _SEPARATORS.sub("-", lowered)
    cleaned = _DROP.sub("", dashed)
    cleaned = re.sub(r"-{2,}", "-", cleaned).strip("-")
    if max_length is not None and len(cleaned) > max_length:
        cut = cleaned[:max_length]
        if "-" in cut and cleaned[max_length] != "-":
            cut = cut[: cut.rfind("-")]
        cleaned = cut.strip("-")
    return cleaned.replace("-", separator)
