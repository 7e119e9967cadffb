"""What operations hand back: mined receipts and dry-run answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .abi import ContractABI, Event
    from .errors import SessionError

__all__ = ["CheckResult", "Receipt"]


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value or 0)


@dataclass(frozen=True)
class Receipt:
    """A mined transaction (JSON-RPC receipt, fields parsed)."""

    tx_hash: str
    block_number: int
    status: int
    gas_used: int
    effective_gas_price: int
    sender: str
    to: str | None
    contract_address: str | None
    logs: tuple[dict[str, Any], ...] = field(repr=False)
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> Receipt:
        return cls(
            tx_hash=raw["transactionHash"],
            block_number=_int(raw.get("blockNumber")),
            status=_int(raw.get("status", 1)),
            gas_used=_int(raw.get("gasUsed")),
            effective_gas_price=_int(raw.get("effectiveGasPrice")),
            sender=raw.get("from", ""),
            to=raw.get("to"),
            contract_address=raw.get("contractAddress"),
            logs=tuple(raw.get("logs") or ()),
            raw=raw,
        )

    @property
    def ok(self) -> bool:
        return self.status == 1

    @property
    def fee(self) -> int:
        """Wei paid for gas."""
        return self.gas_used * self.effective_gas_price

    def events(self, abi: ContractABI, name: str | None = None, address: str | None = None) -> list[Event]:
        """Decoded logs of this receipt (optionally one event ``name`` / one emitting ``address``)."""
        return abi.decode_logs(self.logs, address=address, name=name)


@dataclass(frozen=True)
class CheckResult:
    """Answer of ``Manager.check``: would this call pass now, and if not, the typed error it would hit."""

    ok: bool
    error: SessionError | None = None

    def __bool__(self) -> bool:
        return self.ok

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error
