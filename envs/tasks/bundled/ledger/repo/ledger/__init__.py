"""ledger: a small double-entry-free bookkeeping library (amounts, entries, CSV)."""
from .money import Money, MoneyError
from .book import Entry, Ledger, LedgerError
from .csvio import read_csv, write_csv

__all__ = ["Money", "MoneyError", "Entry", "Ledger", "LedgerError", "read_csv", "write_csv"]
