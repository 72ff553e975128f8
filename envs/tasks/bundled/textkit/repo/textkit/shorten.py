"""Shortening and wrapping text."""


def truncate(text, width, ellipsis="..."):
    """Return ``text`` cut to at most ``width`` characters.

    When the text is cut, the result ends with ``ellipsis`` and its total
    length, ellipsis included, is exactly ``width``.
    """
    if width < 0:
        raise ValueError("width must be >= 0")
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return ellipsis[:width]
    return text[: width - len(ellipsis)] + ellipsis


def wrap(text, width):
    """Wrap ``text`` into lines of at most ``width`` characters.

    Words are never split unless a single word is longer than ``width``,
    in which case it is broken into chunks of ``width`` characters.
    Existing blank-line paragraph breaks are kept.
    """
    if width < 1:
        raise ValueError("width must be >= 1")
    paragraphs = text.split("\n\n")
    out = []
    for para in paragraphs:
        lines = []
        line = ""
        for word in para.split():
            while len(word) > width:
                if line:
                    lines.append(line)
                    line = ""
                lines.append(word[:width])
                word = word[width:]
            if not word:
                continue
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line = line + " " + word
            else:
                lines.append(line)
                line = word
        if line:
            lines.append(line)
        out.append("\n".join(lines))
    return "\n\n".join(out)
