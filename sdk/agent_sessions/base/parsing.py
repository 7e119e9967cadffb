"""One reading of what people write for amounts, durations and expiries, for the command line, the MCP server and
the fleet spec alike.

- **Amounts**: ``"0.5 ether"``, ``"0.5ether"``, ``"10 gwei"``, ``"1 wei"``, ``"100 USDC"`` (a token's own symbol,
  up to its decimals). A bare number (``"0.5"``) is in the token's units (ETH for ETH). An ``int`` is base units.
- **Durations**: ``"10s"``, ``"30m"``, ``"72h"``, ``"1d"``, ``"1w"``, combined (``"1h30m"``); bare digits are
  seconds.
- **Expiries**: a duration from now (``"72h"``, ``timedelta``; a bare number, text or ``int``, is seconds from
  now), an ISO-8601 date-time *with a zone* (``"2030-01-31T12:00:00Z"``, ``"...+02:00"``, an aware ``datetime``; a
  date alone or a time without a zone is refused, since it would be read differently in different places), or an
  explicit unix timestamp: ``"unix:1900000000"`` or ``UnixTime(1900000000)``. A bare number of a billion or more
  is refused: it looks like a unix time, and reading it as a duration would be a silent 30-year mistake.

The SDK (``SessionParams``, ``Manager.update_expiry``, ``admin.update_session``), the fleet spec and the command
line all read through this module, so the same text means the same thing everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .units import format_amount, parse_amount, parse_duration

__all__ = ["LOOKS_LIKE_UNIX_TIME", "UnixTime", "expiry_seconds", "format_amount", "parse_amount", "parse_duration", "parse_expiry"]

_UNIX = re.compile(r"^\s*(?:unix:|@)\s*(\d+)\s*$", re.IGNORECASE)

#: A bare-number expiry counts seconds from now; one this large (over 31 years, about the unix time of 2001-09-09)
#: was almost surely meant as a unix time, so it is refused rather than misread.
LOOKS_LIKE_UNIX_TIME = 1_000_000_000


class UnixTime(int):
    """An explicit point in time in unix seconds (a plain ``int`` expiry is ambiguous: seconds from now, or since
    1970?)."""

    def __repr__(self) -> str:
        return f"UnixTime({int(self)})"


def parse_expiry(value: Any) -> datetime | timedelta:
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
        if value >= LOOKS_LIKE_UNIX_TIME:
            raise ValueError(f"expiry {value} looks like a unix time, but a bare number counts seconds from now: "
                             f"pass UnixTime({value}), 'unix:{value}' or a datetime")
        return _positive(timedelta(seconds=parse_duration(value)))
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an expiry: expected a duration ('72h') or an ISO date-time with a zone")
    text = value.strip()
    unix = _UNIX.match(text)
    if unix is not None:
        return datetime.fromtimestamp(int(unix.group(1)), tz=timezone.utc)
    if text.isdigit():
        return parse_expiry(int(text))
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
