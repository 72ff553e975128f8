"""Money amounts held exactly, as an integer count of minor units (cents) and a currency."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Digits after the decimal point, per ISO 4217 currency code.
CURRENCY_DIGITS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0, "KWD": 3}


class MoneyError(ValueError):
    """An amount that cannot be parsed, or arithmetic across currencies."""


def _digits(currency: str) -> int:
    try:
        return CURRENCY_DIGITS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str = "USD"

    @classmethod
    def parse(cls, text: str, currency: str = "USD") -> "Money":
        """Parses '12.34', '-5', '1,234.50' or '(7.00)' (the accounting way to write -7.00).

        Amounts with more digits than the currency has are rounded half to even.
        """
        digits = _digits(currency)
        s = text.strip().replace(",", "")
        negative = False
        if s.startswith("(") and s.endswith(")"):
            negative = True
            s = s[1:-1].strip()
        if s.startswith("-"):
            negative = not negative
            s = s[1:]
        if not s or s.startswith(("-", "+")):
            raise MoneyError(f"not an amount: {text!r}")
        try:
            value = Decimal(s)
        except InvalidOperation:
            raise MoneyError(f"not an amount: {text!r}") from None
        minor = int((value * (10 ** digits)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return cls(-minor if negative else minor, currency)

    @classmethod
    def zero(cls, currency: str = "USD") -> "Money":
        return cls(0, currency)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.minor, self.currency)

    def __bool__(self) -> bool:
        return self.minor != 0

    def allocate(self, ratios: list[int]) -> list["Money"]:
        """Splits the amount in proportion to `ratios`, losing nothing.

        Each part is rounded down; the cents left over go one each to the first parts, so
        the parts always add up to the whole amount.
        """
        if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
            raise MoneyError(f"cannot allocate by ratios {ratios!r}")
        total = sum(ratios)
        parts = [self.minor * r // total for r in ratios]
        remainder = self.minor - sum(parts)
        for i in range(remainder):
            parts[i % len(parts)] += 1
        return [Money(p, self.currency) for p in parts]

    def format(self) -> str:
        """'1,234.05 USD', '-3.10 EUR', '500 JPY'."""
        digits = _digits(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10 ** digits)
        text = f"{whole:,}"
        if digits:
            text += "." + str(frac).zfill(digits)
        return f"{sign}{text} {self.currency}"

    def __str__(self) -> str:
        return self.format()
