"""Numbers formatted for people: 18.2K, $76.1M, 43 years, 38.5%."""
from __future__ import annotations

import math

CURRENCY = "$"
_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
MISSING = "–"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def compact(value: float | None, digits: int = 1) -> str:
    """18,240 -> 18.2K; below a thousand the number itself, without needless decimals."""
    if _missing(value):
        return MISSING
    for size, suffix in _SUFFIXES:
        if abs(value) >= size * (1 - 0.5 * 10 ** -(digits + 3)):
            return f"{value / size:.{digits}f}{suffix}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.{digits}f}"


def money(value: float | None, digits: int = 1) -> str:
    """$76.1M; small amounts keep their cents ($42.50)."""
    if _missing(value):
        return MISSING
    sign = "-" if value < 0 else ""
    amount = abs(value)
    text = compact(amount, digits) if amount >= 1000 else f"{amount:,.2f}"
    return f"{sign}{CURRENCY}{text}"


def percent(fraction: float | None, digits: int = 1) -> str:
    return MISSING if _missing(fraction) else f"{100 * fraction:,.{digits}f}%"


def years(value: float | None) -> str:
    return MISSING if _missing(value) else f"{value:.0f} years"


def score(value: float | None) -> str:
    """A signed score such as NPS: +12, -3, 0."""
    if _missing(value):
        return MISSING
    rounded = round(value)
    return f"{rounded:+d}" if rounded else "0"


def change(fraction: float | None, digits: int = 1) -> str:
    """A relative change with its sign: +12.3%, -4.0%."""
    return MISSING if _missing(fraction) else f"{100 * fraction:+.{digits}f}%"
