import pytest

from confkit import ConfigError, Version, VersionError, deep_merge, get_bool, get_list, get_size, parse_ini

SAMPLE = """
# global settings
name = demo
[server]
host = example.org   # where it runs
port = 8080
url = http://${server.host}:${server.port}/
[client]
retries = 3 ; default
"""


def test_sections_and_keys():
    cfg = parse_ini(SAMPLE)
    assert cfg[""]["name"] == "demo"
    assert cfg["server"]["port"] == "8080"


def test_inline_comments_removed():
    cfg = parse_ini(SAMPLE)
    assert cfg["server"]["host"] == "example.org"
    assert cfg["client"]["retries"] == "3"


def test_references_resolved():
    assert parse_ini(SAMPLE)["server"]["url"] == "http://example.org:8080/"


def test_bad_line_reports_number():
    with pytest.raises(ConfigError, match="line 3"):
        parse_ini("[a]\nx = 1\nnot a pair\n")


def test_reference_cycle():
    with pytest.raises(ConfigError, match="cycle"):
        parse_ini("[a]\nx = ${a.y}\ny = ${a.x}\n")


def test_deep_merge_nested():
    base = {"db": {"host": "localhost", "port": 5432}, "debug": False}
    assert deep_merge(base, {"db": {"port": 6543}}) == {"db": {"host": "localhost", "port": 6543}, "debug": False}


def test_deep_merge_lists_replace():
    assert deep_merge({"tags": ["a", "b"]}, {"tags": ["c"]}) == {"tags": ["c"]}


def test_version_parse_and_str():
    v = Version.parse("1.2.3-beta.2+build.7")
    assert (v.major, v.minor, v.patch, v.prerelease) == (1, 2, 3, ("beta", "2"))
    assert str(v) == "1.2.3-beta.2+build.7"


def test_version_order_of_releases():
    assert Version.parse("1.10.0") > Version.parse("1.9.9")


def test_version_bad():
    with pytest.raises(VersionError):
        Version.parse("1.2")


def test_version_satisfies_caret():
    assert Version.parse("1.4.0").satisfies("^1.2.0")
    assert not Version.parse("2.0.0").satisfies("^1.2.0")


def test_get_bool():
    assert get_bool("Yes") is True
    assert get_bool("0") is False


def test_get_list():
    assert get_list("a, b ,,c") == ["a", "b", "c"]


def test_get_size():
    assert get_size("512") == 512
    assert get_size("10MB") == 10_000_000
    assert get_size("1.5GiB") == 1610612736
