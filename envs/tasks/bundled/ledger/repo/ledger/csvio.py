"""Reading and writing ledger entries as CSV with the header date,account,amount,memo."""
from __future__ import annotations

import csv
import io
from datetime import date

from .book import Entry, LedgerError
from .money import Money, MoneyError

HEADER = ["date", "account", "amount", "memo"]


def read_csv(text: str, currency: str = "USD") -> list[Entry]:
    """Parses entries; a bad row raises LedgerError naming its line in the file (header = line 1)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise LedgerError("empty CSV: expected the header date,account,amount,memo") from None
    if [h.strip().lower() for h in header] != HEADER:
        raise LedgerError(f"line 1: expected header {','.join(HEADER)}, got {','.join(header)}")
    entries = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) not in (3, 4):
            raise LedgerError(f"line {line}: expected 3 or 4 fields, got {len(row)}")
        day_text, account, amount_text = (cell.strip() for cell in row[:3])
        memo = row[3] if len(row) == 4 else ""
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise LedgerError(f"line {line}: bad date {day_text!r} (want YYYY-MM-DD)") from None
        try:
            amount = Money.parse(amount_text, currency)
        except MoneyError as e:
            raise LedgerError(f"line {line}: {e}") from None
        entries.append(Entry(day, account, amount, memo))
    return entries


def _plain(m: Money) -> str:
    """The amount as read_csv reads it back: no thousands separators, no currency."""
    return m.format().split(" ")[0].replace(",", "")


def write_csv(entries: list[Entry]) -> str:
    """Writes entries so that read_csv gives them back unchanged (memos may hold commas and quotes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for e in entries:
        writer.writerow([e.day.isoformat(), e.account, _plain(e.amount), e.memo])
    return out.getvalue()
