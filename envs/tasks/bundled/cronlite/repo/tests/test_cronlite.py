from datetime import datetime

import pytest

from cronlite import CronError, CronExpr, format_duration, free_slots, merge, parse_duration, total_length


def test_every_minute():
    assert CronExpr("* * * * *").next_after(datetime(2024, 5, 1, 10, 0, 30)) == datetime(2024, 5, 1, 10, 1)


def test_fixed_time_next_day():
    assert CronExpr("30 9 * * *").next_after(datetime(2024, 5, 1, 10, 0)) == datetime(2024, 5, 2, 9, 30)


def test_list_and_range():
    cron = CronExpr("0 9-11,15 * * *")
    assert sorted(cron.hours) == [9, 10, 11, 15]


def test_star_step():
    assert sorted(CronExpr("*/15 * * * *").minutes) == [0, 15, 30, 45]


def test_month_names():
    assert CronExpr("0 0 1 jan,jul *").months == {1, 7}


def test_weekdays_only():
    cron = CronExpr("0 8 * * mon-fri")
    # 2024-05-04 is a Saturday
    assert cron.next_after(datetime(2024, 5, 4, 12, 0)) == datetime(2024, 5, 6, 8, 0)


def test_bad_field_count():
    with pytest.raises(CronError):
        CronExpr("* * * *")


def test_out_of_range():
    with pytest.raises(CronError, match="hour"):
        CronExpr("0 24 * * *")


def test_upcoming():
    got = CronExpr("0 */6 * * *").upcoming(datetime(2024, 1, 1, 1, 0), 3)
    assert got == [datetime(2024, 1, 1, 6), datetime(2024, 1, 1, 12), datetime(2024, 1, 1, 18)]


def test_parse_duration_simple():
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400


def test_parse_duration_rejects_garbage():
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_format_duration():
    assert format_duration(5400) == "1h 30m"
    assert format_duration(0) == "0s"


def test_merge_overlapping():
    assert merge([(5, 8), (1, 3), (2, 4)]) == [(1, 4), (5, 8)]


def test_total_length():
    assert total_length([(0, 10), (5, 15), (20, 25)]) == 20


def test_free_slots_between_meetings():
    assert free_slots([(10, 11), (13, 14)], (9, 17)) == [(9, 10), (11, 13), (14, 17)]
