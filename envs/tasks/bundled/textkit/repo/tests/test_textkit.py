import pytest

from textkit import format_kv, parse_kv, slugify, top_words, truncate, word_freq, wrap
from textkit.kv import KVError


def test_slugify_basic():
    assert slugify("Hello World") == "hello-world"


def test_slugify_accents():
    assert slugify("Crème Brûlée") == "creme-brulee"


def test_slugify_separator():
    assert slugify("a b c", separator="_") == "a_b_c"


def test_truncate_short_text_unchanged():
    assert truncate("short", 10) == "short"


def test_truncate_tiny_width():
    assert truncate("abcdef", 2) == ".."


def test_wrap_basic():
    assert wrap("the quick brown fox", 10) == "the quick\nbrown fox"


def test_wrap_keeps_paragraphs():
    assert wrap("a b\n\nc d", 10) == "a b\n\nc d"


def test_parse_kv_basic():
    assert parse_kv("a=1; b=two") == {"a": "1", "b": "two"}


def test_parse_kv_missing_equals():
    with pytest.raises(KVError):
        parse_kv("a=1; b")


def test_format_kv_roundtrip():
    assert parse_kv(format_kv({"x": "1", "y": "2"})) == {"x": "1", "y": "2"}


def test_word_freq_counts():
    assert word_freq("a b a")["a"] == 2


def test_top_words_ties():
    assert top_words("b a c a b", 2) == [("a", 2), ("b", 2)]
