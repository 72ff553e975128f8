"""Word statistics."""
import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z0-9']+")


def word_freq(text, ignore_case=True, stopwords=()):
    """Count the words of ``text``.

    Words are runs of letters, digits and apostrophes.  With ``ignore_case``
    (the default) ``The`` and ``the`` are the same word, reported in lower
    case.  Words in ``stopwords`` are not counted (compared the same way).
    """
    words = _WORD.findall(text)
    if ignore_case:
        words = [w.lower() for w in words]
        stop = {s.lower() for s in stopwords}
    else:
        stop = set(stopwords)
    return Counter(w for w in words if w not in stop)


def top_words(text, n, **kwargs):
    """The ``n`` most frequent words as ``(word, count)``, ties broken alphabetically."""
    if n < 0:
        raise ValueError("n must be >= 0")
    counts = word_freq(text, **kwargs)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
