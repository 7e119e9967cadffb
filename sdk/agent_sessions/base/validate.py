"""Argument validation at the edge, shared by the models and every ``Manager`` method.

Each helper turns one user-supplied argument into what the ABI takes, or raises ONE ``ValueError`` whose
message starts with the field it is about (``"target: '0x1234' is not an address ..."``), before anything is
signed or sent. eth-abi never sees a value it cannot encode, so its ``ValueOutOfBounds`` / ``EncodingError``
never reach a caller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from .units import parse_amount, parse_duration

__all__ = [
    "UINT16_MAX",
    "UINT32_MAX",
    "UINT40_MAX",
    "UINT64_MAX",
    "UINT128_MAX",
    "UINT256_MAX",
    "address",
    "amount",
    "fixed_bytes",
    "hex_bytes",
    "named",
    "session_id",
    "timestamp",
    "uint",
]

UINT16_MAX = 2**16 - 1
UINT32_MAX = 2**32 - 1
UINT40_MAX = 2**40 - 1
UINT64_MAX = 2**64 - 1
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1

NATIVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"


def named(field: str | None, message: str) -> str:
    """``message`` prefixed with ``field`` (unless it already starts with it)."""
    if not field or message.startswith(f"{field}:") or message.startswith(f"{field} "):
        return message
    return f"{field}: {message}"


def address(value: Any, field: str | None = None) -> str:
    """A checksummed address from a hex string, 20 raw bytes or anything with an ``.address``.

    All-lowercase and all-uppercase hex are accepted as they are; mixed case must be a valid EIP-55 checksum
    (a wrong one is a typo, and eth-utils 5 ``is_address`` no longer catches it)."""
    raw = value
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 20:
            raise ValueError(named(field, f"{bytes(value)!r} is {len(value)} bytes, an address is 20"))
        return to_checksum_address("0x" + bytes(value).hex())
    if hasattr(value, "address") and not isinstance(value, str):  # LocalAccount, Sender, Contract, Session owners
        value = value.address
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(named(field, f"{raw!r} is not an address (20 bytes, 0x-prefixed hex)"))
    body = value[2:] if value[:2] in ("0x", "0X") else value
    value = "0x" + body
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise ValueError(
            named(field, f"{value!r} fails its EIP-55 checksum (mixed case): probably a typo; check the address "
                         "(all-lowercase hex skips the check)")
        )
    return to_checksum_address(value)


def uint(value: Any, field: str, bits: int = 256) -> int:
    """A non-negative integer that fits in ``uint<bits>``: an ``int`` (or anything with ``__index__``, e.g. a
    ``Session``) or a string of decimal digits. Bools and floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(named(field, f"must be a whole number, not {type(value).__name__} ({value!r})"))
    if isinstance(value, str):
        text = value.strip()
        if not text.isdecimal():
            raise ValueError(named(field, f"{value!r} is not a whole number"))
        number = int(text)
    elif isinstance(value, int):
        number = value
    elif hasattr(value, "__index__"):
        number = value.__index__()
    else:
        raise ValueError(named(field, f"must be a whole number, not {type(value).__name__}"))
    if number < 0:
        raise ValueError(named(field, f"must not be negative, got {number}"))
    if number > 2**bits - 1:
        raise ValueError(named(field, f"{number} does not fit in uint{bits} (at most {2**bits - 1})"))
    return number


def session_id(value: Any, field: str = "session") -> int:
    """A session id (uint256) from an int, a ``Session`` or a decimal string."""
    return uint(value, field, 256)


def amount(value: Any, field: str, *, bits: int = 256, decimals: int = 18, symbol: str | None = None) -> int:
    """Base units of ``value`` (see ``parse_amount``; ``symbol="ETH"`` allows ETH units only), in
    ``uint<bits>``."""
    try:
        number = parse_amount(value, decimals, symbol=symbol)
    except ValueError as exc:
        raise ValueError(named(field, str(exc))) from None
    if number > 2**bits - 1:
        raise ValueError(named(field, f"amount {value!r} = {number} base units does not fit in uint{bits}"))
    return number


def symbol_of(token: Any) -> str | None:
    """``"ETH"`` when ``token`` is NATIVE, else None (an ERC-20 whose symbol is not known here)."""
    try:
        return "ETH" if address(token) == NATIVE else None
    except ValueError:
        return None


def hex_bytes(value: Any, field: str) -> bytes:
    """Bytes from ``bytes`` / ``bytearray`` / ``memoryview`` or a (``0x``-prefixed) hex string."""
    if isinstance(value, str):
        body = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(body)
        except ValueError:
            raise ValueError(named(field, f"{value!r} is not hex (expected 0x-prefixed bytes, e.g. '0xa9059cbb...')"))\
                from None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ValueError(named(field, f"must be bytes or a hex string, not {type(value).__name__}"))


def fixed_bytes(value: Any, field: str, length: int) -> bytes:
    """Exactly ``length`` bytes (``bytes32`` and the like)."""
    raw = hex_bytes(value, field)
    if len(raw) != length:
        raise ValueError(named(field, f"must be exactly {length} bytes, got {len(raw)}"))
    return raw


def timestamp(value: Any, field: str, now: int | None = None) -> int:
    """Unix seconds (uint40) from an aware ``datetime``, unix seconds, or a ``timedelta`` / duration string
    counted from ``now`` (the chain's time)."""
    if isinstance(value, str):
        try:
            value = timedelta(seconds=parse_duration(value))
        except ValueError as exc:
            raise ValueError(named(field, str(exc))) from None
    if isinstance(value, timedelta):
        if now is None:
            raise ValueError(named(field, "a relative time needs the current chain time: pass now="))
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ValueError(named(field, f"{value} is not a whole number of seconds"))
        return uint(now + int(seconds), field, 40)  # a negative duration is a past time: the contract says so
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(named(field, f"{value} has no timezone: use an aware datetime (tzinfo=timezone.utc)"))
        return uint(int(value.timestamp()), field, 40)  # whole seconds, as the contract counts them
    return uint(value, field, 40)
