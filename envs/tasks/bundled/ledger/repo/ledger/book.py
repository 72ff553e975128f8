"""The ledger: dated entries against hierarchical accounts such as 'expenses:food:groceries'."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from .money import Money


class LedgerError(ValueError):
    """A bad entry or a bad query."""


@dataclass(frozen=True)
class Entry:
    day: date
    account: str
    amount: Money
    memo: str = ""


def _check_account(name: str) -> str:
    parts = name.split(":")
    if not name or any(not p or p != p.strip() for p in parts):
        raise LedgerError(f"bad account name {name!r}: use 'parent:child' with non-empty parts")
    return name


def is_under(account: str, parent: str) -> bool:
    """True when `account` is `parent` itself or one of its sub-accounts."""
    return account == parent or account.startswith(parent + ":")


class Ledger:
    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency
        self.entries: list[Entry] = []

    def add(self, day: date, account: str, amount: Money, memo: str = "") -> Entry:
        if amount.currency != self.currency:
            raise LedgerError(f"entry in {amount.currency} in a {self.currency} ledger")
        entry = Entry(day, _check_account(account), amount, memo)
        self.entries.append(entry)
        return entry

    def balance(self, account: str, until: date | None = None) -> Money:
        """The sum of the account's entries and its sub-accounts' entries.

        With `until`, only entries dated on or before that day count.
        """
        total = Money.zero(self.currency)
        for e in self.entries:
            if until is not None and e.day > until:
                continue
            if is_under(e.account, account):
                total += e.amount
        return total

    def between(self, start: date, end: date) -> list[Entry]:
        """Entries with start <= day < end, oldest first (entries of one day keep their order)."""
        if end < start:
            raise LedgerError(f"empty range: {start} .. {end}")
        return sorted((e for e in self.entries if start <= e.day < end), key=lambda e: e.day)

    def accounts(self) -> list[str]:
        """Every account used, with all of its parents, sorted."""
        names: set[str] = set()
        for e in self.entries:
            parts = e.account.split(":")
            for i in range(1, len(parts) + 1):
                names.add(":".join(parts[:i]))
        return sorted(names)

    def monthly_totals(self, account: str) -> dict[str, Money]:
        """Totals per month ('2024-03') for the account and its sub-accounts, in month order."""
        totals: dict[str, Money] = defaultdict(lambda: Money.zero(self.currency))
        for e in self.entries:
            if is_under(e.account, account):
                key = f"{e.day.year:04d}-{e.day.month:02d}"
                totals[key] += e.amount
        return dict(sorted(totals.items()))
