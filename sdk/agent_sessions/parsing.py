"""One reading of what people write for amounts, durations and expiries, for the command line, the MCP server and
the fleet spec alike.

- **Amounts**: ``"0.5 ether"``, ``"0.5ether"``, ``"10 gwei"``, ``"1 wei"``, ``"100 USDC"`` (a token's own symbol,
  up to its decimals). A bare number (``"0.5"``) is in the token's units (ETH for ETH). An ``int`` is base units.
- **Durations**: ``"10s"``, ``"30m"``, ``"72h"``, ``"1d"``, ``"1w"``, combined (``"1h30m"``); bare digits are
  seconds.
- **Expiries**: a duration from now (``"72h"``; bare digits are seconds from now), an ISO-8601 date-time *with a
  zone* (``"2030-01-31T12:00:00Z"``, ``"...+02:00"``; a date alone or a time without a zone is refused, since it
  would be read differently in different places), or an explicit unix timestamp: ``"unix:1900000000"`` or a
  ``UnixTime`` in Python.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .units import format_amount, parse_amount, parse_duration

__all__ = ["UnixTime", "expiry_seconds", "format_amount", "parse_amount", "parse_duration", "parse_expiry"]

_UNIX = re.compile(r"^\s*(?:unix:|@)\s*(\d+)\s*$", re.IGNORECASE)


class UnixTime(int):
    """An explicit point in time in unix seconds (a plain ``int`` expiry is ambiguous: seconds from now, or since
    1970?)."""

    def __repr__(self) -> str:
        return f"UnixTime({int(self)})"


def parse_expiry(value: Any, now: int | None = None) -> datetime | timedelta:
    """An aware ``datetime`` (a point in time) or a ``timedelta`` (from now) from what people write (see the
    module docstring). ``ValueError`` says what was expected."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an expiry")
    if isinstance(value, UnixTime):
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    if isinstance(value, timedelta):
        if value.total_seconds() <= 0:
            raise ValueError("an expiry duration must be positive")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"expiry {value.isoformat()} has no timezone: add one, e.g. '{value.isoformat()}Z'")
        return value
    if isinstance(value, int):
        return _positive(timedelta(seconds=parse_duration(value)))
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an expiry: expected a duration ('72h') or an ISO date-time with a zone")
    text = value.strip()
    unix = _UNIX.match(text)
    if unix is not None:
        return datetime.fromtimestamp(int(unix.group(1)), tz=timezone.utc)
    try:
        return _positive(timedelta(seconds=parse_duration(text)))
    except ValueError as exc:
        if "positive" in str(exc):
            raise
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read {value!r} as an expiry: expected a duration ('72h', '1d', '1h30m'), an ISO "
                         "date-time with a zone ('2030-01-31T12:00:00Z') or unix:SECONDS") from None
    if moment.tzinfo is None:
        raise ValueError(f"expiry {text!r} has no timezone: add one, e.g. '{moment.isoformat()}Z', or use a "
                         "duration ('72h')")
    return moment


def expiry_seconds(value: Any, now: int) -> int:
    """Unix seconds of an expiry (see ``parse_expiry``), durations counted from ``now`` (the chain's time)."""
    parsed = parse_expiry(value)
    if isinstance(parsed, timedelta):
        return now + int(parsed.total_seconds())
    return int(parsed.timestamp())


def _positive(delta: timedelta) -> timedelta:
    if delta.total_seconds() <= 0:
        raise ValueError("an expiry duration must be positive")
    return delta
