from datetime import date

import pytest

from ledger import Ledger, LedgerError, Money, MoneyError, read_csv, write_csv


def usd(text):
    return Money.parse(text, "USD")


def test_parse_plain_amounts():
    assert usd("12.34") == Money(1234, "USD")
    assert usd("-5") == Money(-500, "USD")


def test_parse_rounds_half_even():
    assert usd("0.125") == Money(12, "USD")
    assert usd("0.135") == Money(14, "USD")


def test_parse_rejects_garbage():
    with pytest.raises(MoneyError):
        usd("twelve")


def test_add_and_subtract():
    assert usd("1.50") + usd("2.25") == usd("3.75")
    assert usd("1.00") - usd("2.50") == usd("-1.50")


def test_currencies_do_not_mix():
    with pytest.raises(MoneyError):
        usd("1") + Money.parse("1", "EUR")


def test_format_whole_amounts():
    assert Money(123456, "USD").format() == "1,234.56 USD"
    assert Money(500, "JPY").format() == "500 JPY"


def test_allocate_evenly():
    assert [p.minor for p in usd("1.00").allocate([1, 1, 1])] == [34, 33, 33]


def test_allocate_bad_ratios():
    with pytest.raises(MoneyError):
        usd("1").allocate([0, 0])


def make_ledger():
    book = Ledger()
    book.add(date(2024, 3, 1), "assets:bank", usd("1000"))
    book.add(date(2024, 3, 2), "expenses:food", usd("25.50"))
    book.add(date(2024, 3, 15), "expenses:rent", usd("700"))
    book.add(date(2024, 4, 1), "expenses:food", usd("30"))
    return book


def test_balance_of_parent_account():
    assert make_ledger().balance("expenses") == usd("755.50")


def test_balance_of_leaf_account():
    assert make_ledger().balance("expenses:food") == usd("55.50")


def test_accounts_with_parents():
    assert make_ledger().accounts() == ["assets", "assets:bank", "expenses", "expenses:food", "expenses:rent"]


def test_between_is_half_open():
    entries = make_ledger().between(date(2024, 3, 2), date(2024, 4, 1))
    assert [e.account for e in entries] == ["expenses:food", "expenses:rent"]


def test_bad_account_name():
    with pytest.raises(LedgerError):
        Ledger().add(date(2024, 1, 1), "expenses::food", usd("1"))


def test_monthly_totals():
    totals = make_ledger().monthly_totals("expenses")
    assert list(totals) == ["2024-03", "2024-04"]
    assert totals["2024-03"] == usd("725.50")


def test_csv_round_trip():
    entries = make_ledger().entries
    assert read_csv(write_csv(entries)) == entries


def test_csv_needs_header():
    with pytest.raises(LedgerError):
        read_csv("2024-01-01,assets,1\n")
