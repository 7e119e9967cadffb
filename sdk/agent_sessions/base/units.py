"""Amounts and durations as people write them ("0.5 ether", "100 USDC", "72h"), turned into the integers the
contracts take (wei / token base units, seconds).

Floats are refused on purpose: ``0.1 + 0.2`` is not ``0.3``, and an amount of money must be exact. Pass a
``str``, a ``Decimal`` or an ``int`` (already in base units).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["ETHER_UNITS", "format_amount", "parse_amount", "parse_duration"]

#: Named denominations of ETH and their decimals.
ETHER_UNITS: dict[str, int] = {
    "wei": 0,
    "kwei": 3,
    "mwei": 6,
    "gwei": 9,
    "szabo": 12,
    "finney": 15,
    "ether": 18,
    "eth": 18,
}

_AMOUNT = re.compile(r"^\s*(?P<number>[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z][\w.-]*)?\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_amount(value: int | str | Decimal, decimals: int = 18, *, symbol: str | None = None) -> int:
    """Base units (wei for ETH) from an int, a Decimal or a string such as ``"0.5 ether"``, ``"10 gwei"``,
    ``"100 USDC"`` or ``"1.25"``.

    A named ETH unit (wei, gwei, ether, eth, ...) sets its own scale; the token's symbol and a bare number use
    ``decimals`` (the token's). ``symbol`` says which token the amount is of, when known: ``"ETH"`` accepts
    ETH units only, any other symbol only itself (case-insensitive), so ``"100 FOO"`` is refused instead of
    being read with 18 decimals. Without ``symbol`` any unit other than an ETH unit is taken as the token's.
    An ``int`` is taken as base units already. The result must be a whole, non-negative number of base
    units, else ``ValueError`` says why.
    """
    if isinstance(value, bool):
        raise ValueError(f"amount must be an int, str or Decimal, not bool ({value!r})")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"amount must not be negative, got {value}")
        return value
    if isinstance(value, float):
        raise ValueError(
            f"amount {value!r} is a float, which cannot hold money exactly: pass a str such as '{value} ether' "
            "or a Decimal"
        )
    if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 77:
        raise ValueError(f"decimals must be an int between 0 and 77, got {decimals!r}")
    if isinstance(value, Decimal):
        number, scale, text = value, decimals, str(value)
    elif isinstance(value, str):
        match = _AMOUNT.match(value)
        if match is None:
            raise ValueError(
                f"cannot read {value!r} as an amount: expected a number and an optional unit, "
                "e.g. '0.5 ether', '10 gwei', '100 USDC' or '1500'"
            )
        unit = match.group("unit") or ""
        scale = _scale_of(unit, decimals, symbol)
        number, text = Decimal(match.group("number")), value
    else:
        raise ValueError(f"amount must be an int, str or Decimal, not {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"amount {text!r} is not a finite number")
    if number < 0:
        raise ValueError(f"amount must not be negative, got {text!r}")
    try:
        scaled = number.scaleb(scale)
    except InvalidOperation as exc:  # pragma: no cover - Decimal context overflow
        raise ValueError(f"amount {text!r} is out of range") from exc
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {text!r} has more than {scale} decimals, so it is not a whole number of base units")
    return int(scaled)


def _scale_of(unit: str, decimals: int, symbol: str | None) -> int:
    """Decimals that ``unit`` stands for, for an amount of ``symbol`` (None: not known)."""
    if not unit:
        return decimals
    key = unit.lower()
    if symbol is not None and symbol.upper() in ("ETH", "NATIVE"):
        if key not in ETHER_UNITS:
            raise ValueError(
                f"unit {unit!r} is not an ETH unit ({', '.join(ETHER_UNITS)}): an ETH amount is e.g. '0.5 ether'"
            )
        return ETHER_UNITS[key]
    if symbol is not None:
        if key != symbol.lower():
            raise ValueError(f"unit {unit!r} does not match token {symbol}: write e.g. '1 {symbol}'")
        return decimals
    return ETHER_UNITS.get(key, decimals)


def parse_duration(value: int | str | timedelta) -> int:
    """Seconds from an int (seconds), a ``timedelta`` or a string such as ``"1d"``, ``"72h"``, ``"30m"``,
    ``"45s"``, ``"1w"`` or a combination (``"1h30m"``). A bare number string counts seconds."""
    if isinstance(value, bool):
        raise ValueError(f"duration must be an int, str or timedelta, not bool ({value!r})")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        if seconds != int(seconds):
            raise ValueError(f"duration {value} is not a whole number of seconds")
        return int(seconds)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"duration must be an int, str or timedelta, not {type(value).__name__}")
    text = value.strip()
    if text.isdigit():
        return int(text)
    compact = text.replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not text or "".join(n + u for n, u in parts).lower() != compact.lower():
        raise ValueError(
            f"cannot read {value!r} as a duration: expected e.g. '1d', '72h', '30m', '45s', '1w' or '1h30m'"
        )
    total = sum((Decimal(number) * _DURATION_SECONDS[unit.lower()] for number, unit in parts), Decimal(0))
    if total != total.to_integral_value():
        raise ValueError(f"duration {value!r} is not a whole number of seconds")
    return int(total)


def format_amount(amount: int, decimals: int = 18, symbol: str = "ETH") -> str:
    """``1500000000000000000`` -> ``"1.5 ETH"`` (no rounding, trailing zeros dropped)."""
    text = str(Decimal(amount).scaleb(-decimals).normalize()) if amount else "0"
    if "E" in text:
        text = f"{Decimal(amount).scaleb(-decimals):f}".rstrip("0").rstrip(".")
    return f"{text} {symbol}".strip()
