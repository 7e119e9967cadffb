"""What the chain returns and what the SDK sends, as validated pydantic models.

Models validate at the edge: an address is checksummed, a label fits in 31 bytes, an amount is an exact
integer, a period allowance comes with a period, before anything is signed. Views come back as
``SessionState`` / ``Budget`` with ``datetime`` and ``timedelta`` where the contract has unix seconds.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import Annotated, Any, Iterable, Mapping, Sequence

from eth_utils import keccak, to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from . import validate as _validate
from .units import parse_duration

__all__ = [
    "ANY_SELECTOR",
    "NATIVE",
    "ZERO_ADDRESS",
    "Address",
    "Budget",
    "BudgetParams",
    "Call",
    "GlobalState",
    "Permission",
    "SessionParams",
    "SessionState",
    "Status",
    "decode_label",
    "encode_label",
    "selector_of",
]

#: ETH as a token (ERC-7528), the key of every native budget.
NATIVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
#: Allowlist wildcard: every selector of a target.
ANY_SELECTOR = "0xffffffff"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

_UINT128 = 2**128 - 1


class Status(IntEnum):
    """Lifecycle status, numbered as ``ISessionTypes.Status``."""

    NONE = 0
    DRAFT = 1
    ACTIVE = 2
    PAUSED = 3
    COMPLETED = 4
    REVOKED = 5
    EXPIRED = 6

    @property
    def is_live(self) -> bool:
        """Not ended: draft, active or paused (can still be resumed, edited or revoked)."""
        return self in (Status.DRAFT, Status.ACTIVE, Status.PAUSED)

    @property
    def is_ended(self) -> bool:
        """Completed, revoked or expired: only ``close`` remains."""
        return self in (Status.COMPLETED, Status.REVOKED, Status.EXPIRED)

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: Status | int | str) -> Status:
        """``Status.ACTIVE`` from ``2``, ``"active"`` or ``"ACTIVE"``."""
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                names = ", ".join(s.name.lower() for s in cls)
                raise ValueError(f"unknown status {value!r}: expected one of {names}") from None
        return cls(value)


def _checksum(value: Any, field: str | None = None) -> str:
    """A checksummed address (see ``_validate.address``); ``field`` names the argument in the error."""
    return _validate.address(value, field)


@functools.lru_cache(maxsize=65_536)
def checksum_cached(raw: bytes) -> str:
    """Checksummed address of 20 raw bytes (cached: listings repeat the same agents, holders and tokens)."""
    return to_checksum_address(raw)


#: A checksummed address; accepts hex strings, 20 bytes, or anything with an ``.address``.
Address = Annotated[str, BeforeValidator(_checksum)]


def encode_label(label: str | bytes) -> bytes:
    """A label as the contract's ``bytes32``: UTF-8, at most 31 bytes (Solady's small-string form), zero-padded."""
    raw = label.encode() if isinstance(label, str) else bytes(label)
    if len(raw) > 31:
        raise ValueError(f"label {label!r} is {len(raw)} bytes long; at most 31 bytes fit in a bytes32 label")
    if b"\x00" in raw:
        raise ValueError(f"label {label!r} contains a NUL byte")
    return raw.ljust(32, b"\x00")


def decode_label(raw: bytes | str) -> str:
    """The text of a ``bytes32`` label (trailing zeros dropped; undecodable bytes replaced)."""
    if isinstance(raw, str):
        raw = bytes.fromhex(raw.removeprefix("0x"))
    return bytes(raw).rstrip(b"\x00").decode("utf-8", errors="replace")


def selector_of(value: str | bytes) -> str:
    """A 4-byte selector as ``0x`` hex from hex, raw bytes, a function signature (``"transfer(address,uint256)"``),
    or ``"*"`` / ``"any"`` for ANY_SELECTOR."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 4:
            raise ValueError(f"a selector is 4 bytes, got {len(value)}")
        return "0x" + bytes(value).hex()
    text = value.strip()
    if text in ("*", "any", "ANY"):
        return ANY_SELECTOR
    if "(" in text:
        return "0x" + keccak(text=text.replace(" ", ""))[:4].hex()
    body = text.removeprefix("0x")
    if len(body) != 8:
        raise ValueError(f"selector {value!r} is not 4 bytes of hex (e.g. 0xa9059cbb) nor a signature")
    try:
        bytes.fromhex(body)
    except ValueError:
        raise ValueError(f"selector {value!r} is not hex") from None
    return "0x" + body.lower()


def _uint128(value: Any, field: str = "amount") -> int:
    return _validate.amount(value, field, bits=128)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------------


class BudgetParams(_Frozen):
    """One token budget of a new session (``ISessionTypes.BudgetParams``)."""

    token: Address = Field(default=NATIVE, description="ERC-20 address, or NATIVE for ETH")
    amount: int = Field(description="Escrowed amount in base units (funded by the caller / reserved from the parent)")
    per_call_cap: int = Field(default=0, description="Largest amount one call may spend; 0 = no cap")
    period_allowance: int = Field(default=0, description="Largest amount spent per period window; 0 = none")
    decimals: int = Field(default=18, exclude=True, description="Decimals used to read amount strings ('100 USDC')")
    symbol: str | None = Field(default=None, exclude=True,
                               description="The token's symbol, when known: the only unit its amounts may name "
                                           "(ETH units for NATIVE)")

    @model_validator(mode="before")
    @classmethod
    def _amounts(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            decimals = data.get("decimals", 18)
            symbol = data.get("symbol") or _validate.symbol_of(data.get("token", NATIVE))
            for key in ("amount", "per_call_cap", "period_allowance"):
                if key in data and not isinstance(data[key], int):
                    data[key] = _validate.amount(data[key], key, bits=128, decimals=decimals, symbol=symbol)
        return data

    @field_validator("amount", "per_call_cap", "period_allowance")
    @classmethod
    def _fits(cls, value: int, info: Any) -> int:
        return _uint128(value, info.field_name)

    def to_tuple(self) -> tuple[str, int, int, int]:
        return (self.token, self.amount, self.per_call_cap, self.period_allowance)


class Permission(_Frozen):
    """One allowlist entry: ``target`` may be called with ``selector`` (ANY_SELECTOR = every selector,
    ``0x00000000`` = plain ETH transfers and token payments to ``target``)."""

    target: Address
    selector: Annotated[str, BeforeValidator(selector_of)] = Field(default=ANY_SELECTOR)

    def to_tuple(self) -> tuple[str, bytes]:
        return (self.target, bytes.fromhex(self.selector[2:]))


def _permission(value: Any) -> Any:
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return {"target": value[0], "selector": value[1]}
    if isinstance(value, str) or hasattr(value, "address"):
        return {"target": value}
    return value


def _budgets(value: Any) -> Any:
    """``{token: amount}`` or a list of BudgetParams-likes; bare ``int``/``str`` means an ETH budget."""
    if isinstance(value, Mapping):
        return [
            {"token": token, **amount} if isinstance(amount, Mapping) else {"token": token, "amount": amount}
            for token, amount in value.items()
        ]
    if isinstance(value, (int, str)):
        return [{"token": NATIVE, "amount": value}]
    return value


class SessionParams(_Frozen):
    """Everything needed to open a session (``ISessionTypes.SessionParams``).

    ``expiry`` is read by ``parsing.parse_expiry``, as everywhere: a duration from the chain's current time when the
    session is sent (``"1d"``, ``"3600"``, ``3600``, a ``timedelta``), an aware ``datetime`` or ISO date-time with a
    zone, or an explicit unix time (``UnixTime(1900000000)``, ``"unix:1900000000"``).
    """

    agent: Address = Field(description="The key allowed to act for the session")
    expiry: datetime | timedelta = Field(description="Expiry (exclusive): a point in time, or a duration from now")
    budgets: Annotated[list[BudgetParams], BeforeValidator(_budgets)] = Field(default_factory=list)
    permissions: list[Annotated[Permission, BeforeValidator(_permission)]] = Field(default_factory=list)
    guards: list[Address] = Field(default_factory=list, description="Guard contracts asked before every call")
    label: str = Field(default="", description="Free-form label, at most 31 UTF-8 bytes")
    draft: bool = Field(default=False, description="Open in Draft (editable, cannot act until activate)")
    any_target: bool = Field(default=False, description="Allow every target (never the forbidden ones)")
    max_idle: int = Field(default=0, description="Seconds without activity before the session expires; 0 = never")
    period: int = Field(default=0, description="Length of a period window in seconds; 0 = no periods")
    max_calls_per_period: int = Field(default=0, ge=0, le=2**16 - 1, description="Calls per window; 0 = unlimited")

    @field_validator("expiry", mode="before")
    @classmethod
    def _expiry(cls, value: Any) -> Any:
        from .parsing import parse_expiry  # the reading the SDK and the command line share

        parsed = parse_expiry(value)
        if isinstance(parsed, datetime):
            _validate.timestamp(parsed, "expiry")  # not before 1970, fits in uint40
        return parsed

    @field_validator("max_idle", "period", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> int:
        seconds = parse_duration(value)
        if seconds > 2**32 - 1:
            raise ValueError(f"{seconds} s does not fit in uint32")
        return seconds

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        encode_label(value)
        return value

    @model_validator(mode="after")
    def _rules(self) -> SessionParams:
        tokens = [b.token for b in self.budgets]
        duplicates = {t for t in tokens if tokens.count(t) > 1}
        if duplicates:
            raise ValueError(f"one budget per token: {', '.join(sorted(duplicates))} appears twice")
        if self.period == 0 and (self.max_calls_per_period or any(b.period_allowance for b in self.budgets)):
            raise ValueError("a periodic allowance or a call limit needs a period (e.g. period='1d')")
        return self

    @property
    def eth_value(self) -> int:
        """The ETH a root session must be sent with (its NATIVE budget)."""
        return sum(b.amount for b in self.budgets if b.token == NATIVE)

    def expiry_timestamp(self, now: int | None = None) -> int:
        """Expiry in unix seconds; a relative expiry needs ``now`` (the chain's time)."""
        return _validate.timestamp(self.expiry, "expiry", now)

    def to_tuple(self, now: int | None = None) -> tuple[Any, ...]:
        """The ABI tuple of ``SessionParams`` (field order of the struct)."""
        return (
            self.agent,
            self.expiry_timestamp(now),
            self.max_idle,
            self.period,
            self.max_calls_per_period,
            self.draft,
            self.any_target,
            encode_label(self.label),
            [b.to_tuple() for b in self.budgets],
            [p.to_tuple() for p in self.permissions],
            list(self.guards),
        )


class Call(_Frozen):
    """One call of ``execute_batch``."""

    target: Address
    value: int = 0
    data: bytes = b""

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, value: Any) -> int:
        return _validate.amount(value, "value", symbol="ETH")

    @field_validator("data", mode="before")
    @classmethod
    def _data(cls, value: Any) -> bytes:
        return _validate.hex_bytes(value, "data")

    def to_tuple(self) -> tuple[str, int, bytes]:
        return (self.target, self.value, self.data)


# ----------------------------------------------------------------------------------------------------------------
# Views
# ----------------------------------------------------------------------------------------------------------------


class Budget(_Frozen):
    """A session's budget in one token, as ``getBudget`` / ``getSession`` report it (base units)."""

    token: Address
    available: int = Field(description="Unspent escrow held for the session itself (children's excluded)")
    spent: int = Field(description="Spent by the session's own calls (only grows); for ETH, summed by the SDK "
                                   "from the manager's spend events (the chain keeps no ETH counter)")
    per_call_cap: int = Field(description="Largest amount per call; 0 = no cap")
    period_allowance: int = Field(description="Largest amount per period window; 0 = none")
    spent_in_period: int = Field(description="Spent in the current period window")

    @classmethod
    def from_chain(cls, raw: Sequence[Any]) -> Budget:
        token, available, spent, cap, allowance, in_period = raw
        return cls(
            token=token,
            available=available,
            spent=spent,
            per_call_cap=cap,
            period_allowance=allowance,
            spent_in_period=in_period,
        )

    @property
    def is_native(self) -> bool:
        return self.token == NATIVE

    @property
    def remaining_in_period(self) -> int | None:
        """What the periodic allowance still lets through this window (None without an allowance)."""
        return self.period_allowance - self.spent_in_period if self.period_allowance else None

    @property
    def spendable_now(self) -> int:
        """The largest single spend that passes budget, per-call cap and periodic allowance right now."""
        limits = [self.available]
        if self.per_call_cap:
            limits.append(self.per_call_cap)
        if self.remaining_in_period is not None:
            limits.append(self.remaining_in_period)
        return max(0, min(limits))


class GlobalState(_Frozen):
    """Manager-wide switches."""

    epoch: int = Field(description="Revoke-all generation; sessions from older epochs are revoked")
    paused_all: bool = Field(description="Emergency stop: no session can act")


class SessionState(_Frozen):
    """One session as ``getSession`` returns it, with times as ``datetime``/``timedelta`` and the label as text."""

    id: int
    parent_id: int = Field(description="0 for a root session")
    agent: Address
    holder: Address = Field(description="Holder of the session token; the zero address once closed")
    status: Status = Field(description="Effective status (time, ancestors, pause-all and revoke-all included)")
    depth: int
    any_target: bool
    closed: bool
    expiry: datetime = Field(description="Expiry (exclusive), UTC")
    last_active: datetime | None = Field(description="Last call (only tracked with timing rules), UTC")
    max_idle: timedelta | None = Field(description="Idle timeout; None = never")
    period: timedelta | None = Field(description="Period window length; None = no periods")
    max_calls_per_period: int
    calls_in_period: int
    epoch: int
    label: str
    checkpoint_root: str = Field(description="Last anchored off-chain state root (0x hex, bytes32)")
    task_count: int
    budgets: dict[str, Budget] = Field(description="Budgets by token address (NATIVE always present)")

    @classmethod
    def from_chain(cls, raw: Sequence[Any]) -> SessionState:
        """From the ``SessionInfo`` tuple (field order of the struct)."""
        (
            sid,
            parent_id,
            agent,
            holder,
            status,
            depth,
            any_target,
            closed,
            expiry,
            last_active,
            max_idle,
            period,
            max_calls,
            calls,
            epoch,
            label,
            root,
            task_count,
            budgets,
        ) = raw
        parsed = [Budget.from_chain(b) for b in budgets]
        return cls(
            id=sid,
            parent_id=parent_id,
            agent=agent,
            holder=holder,
            status=Status(status),
            depth=depth,
            any_target=any_target,
            closed=closed,
            expiry=_utc(expiry),
            last_active=_utc(last_active) if last_active else None,
            max_idle=timedelta(seconds=max_idle) if max_idle else None,
            period=timedelta(seconds=period) if period else None,
            max_calls_per_period=max_calls,
            calls_in_period=calls,
            epoch=epoch,
            label=decode_label(label),
            checkpoint_root=root if isinstance(root, str) else "0x" + bytes(root).hex(),
            task_count=task_count,
            budgets={b.token: b for b in parsed},
        )

    @classmethod
    def from_chain_trusted(cls, raw: Sequence[Any]) -> SessionState:
        """``from_chain`` without validation, for tuples decoded from the contract (addresses checksummed
        already): listing thousands of sessions spends its time here otherwise."""
        (sid, parent_id, agent, holder, status, depth, any_target, closed, expiry, last_active, max_idle, period,
         max_calls, calls, epoch, label, root, task_count, budgets) = raw
        parsed = {
            b[0]: Budget.model_construct(token=b[0], available=b[1], spent=b[2], per_call_cap=b[3],
                                         period_allowance=b[4], spent_in_period=b[5])
            for b in budgets
        }
        return cls.model_construct(
            id=sid, parent_id=parent_id, agent=agent, holder=holder, status=Status(status), depth=depth,
            any_target=any_target, closed=closed, expiry=_utc(expiry),
            last_active=_utc(last_active) if last_active else None,
            max_idle=timedelta(seconds=max_idle) if max_idle else None,
            period=timedelta(seconds=period) if period else None,
            max_calls_per_period=max_calls, calls_in_period=calls, epoch=epoch, label=decode_label(label),
            checkpoint_root=root if isinstance(root, str) else "0x" + bytes(root).hex(), task_count=task_count,
            budgets=parsed,
        )

    @property
    def is_root(self) -> bool:
        return self.parent_id == 0

    @property
    def expiry_timestamp(self) -> int:
        return int(self.expiry.timestamp())

    def budget(self, token: str = NATIVE) -> Budget:
        """The budget of ``token`` (an all-zero one when the session holds none)."""
        key = _checksum(token)
        return self.budgets.get(key) or Budget(
            token=key, available=0, spent=0, per_call_cap=0, period_allowance=0, spent_in_period=0
        )

    def remaining(self, token: str = NATIVE) -> int:
        return self.budget(token).available


def addresses(values: Iterable[Any]) -> list[str]:
    """Checksummed addresses from address-likes."""
    return [_checksum(v) for v in values]


checksum = _checksum
