"""What a token is called and how many decimals it has, read once from the chain and cached.

Amounts on-chain are base units; people read ``1.5 ETH`` and ``250 TUSD``. ``TokenBook`` answers
``symbol()`` / ``decimals()`` for each ERC-20 (NATIVE is ETH with 18 decimals) and formats amounts, so tables,
dashboards, audits and error messages show the same thing.

A token that does not answer (no code, a non-standard ``symbol`` returning ``bytes32``, a revert) still gets a
name: its short address, with 18 decimals assumed and ``known=False`` so a caller can tell.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import eth_abi
from eth_utils import keccak

from ..base.errors import RPCError
from ..base.models import NATIVE, checksum
from ..base.units import format_amount, parse_amount

if TYPE_CHECKING:
    from .client import AgentSessions

__all__ = ["TokenBook", "TokenInfo", "short_address"]

_SYMBOL = keccak(text="symbol()")[:4]
_DECIMALS = keccak(text="decimals()")[:4]


def short_address(address: str) -> str:
    """``0x1234…abcd`` (``ETH`` for NATIVE, ``—`` for the zero address)."""
    text = str(address)
    if text.lower() == NATIVE.lower():
        return "ETH"
    if int(text, 16) == 0:
        return "—"
    return f"{text[:6]}…{text[-4:]}"


@dataclass(frozen=True)
class TokenInfo:
    """A token's address, symbol and decimals."""

    address: str
    symbol: str
    decimals: int
    #: False when the token did not answer ``symbol()``/``decimals()`` (symbol is then its short address).
    known: bool = True

    @property
    def is_native(self) -> bool:
        return self.address == NATIVE

    def format(self, amount: int) -> str:
        """``1500000000000000000`` -> ``"1.5 ETH"`` (exact, trailing zeros dropped)."""
        return format_amount(int(amount), self.decimals, self.symbol)

    def parse(self, amount: int | str) -> int:
        """Base units from ``"1.5"`` / ``"1.5 TUSD"`` (this token's decimals) or an int (base units already).
        ETH takes ETH units only; a token whose symbol is known takes only that symbol as a unit."""
        symbol = "ETH" if self.is_native else (self.symbol if self.known else None)
        return parse_amount(amount, self.decimals, symbol=symbol)


ETH = TokenInfo(NATIVE, "ETH", 18)


class TokenBook:
    """Token metadata for one chain, cached per address (thread-safe). Without a client it knows only ETH and
    what was ``add``-ed, and names other tokens by their short address."""

    def __init__(self, client: AgentSessions | None = None) -> None:
        self.client = client
        self._infos: dict[str, TokenInfo] = {NATIVE: ETH}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<TokenBook {', '.join(i.symbol for i in self._infos.values())}>"

    def add(self, info: TokenInfo) -> None:
        with self._lock:
            self._infos[checksum(info.address)] = info

    def get(self, token: Any) -> TokenInfo:
        """The ``TokenInfo`` of ``token`` (an address, NATIVE, or ``"ETH"``)."""
        address = NATIVE if isinstance(token, str) and token.upper() in ("ETH", "NATIVE") else checksum(token)
        with self._lock:
            known = self._infos.get(address)
        if known is not None:
            return known
        info = self._fetch(address)
        with self._lock:
            self._infos[address] = info
        return info

    __getitem__ = get

    def prefetch(self, tokens: Iterable[Any]) -> None:
        """Read the metadata of every unknown token in ``tokens`` in one JSON-RPC batch."""
        missing = sorted({checksum(t) for t in tokens} - set(self._infos))
        if not missing or self.client is None:
            return
        calls = []
        for address in missing:
            calls.append(("eth_call", [{"to": address, "data": "0x" + _SYMBOL.hex()}, "latest"]))
            calls.append(("eth_call", [{"to": address, "data": "0x" + _DECIMALS.hex()}, "latest"]))
        try:
            results = self.client.rpc.batch(calls)
        except RPCError:
            return
        for i, address in enumerate(missing):
            self.add(_info(address, results[2 * i], results[2 * i + 1]))

    def format(self, token: Any, amount: int) -> str:
        return self.get(token).format(amount)

    def symbol(self, token: Any) -> str:
        return self.get(token).symbol

    def _fetch(self, address: str) -> TokenInfo:
        if self.client is None:
            return TokenInfo(address, short_address(address), 18, known=False)
        results = []
        for selector in (_SYMBOL, _DECIMALS):
            try:
                results.append("0x" + self.client.rpc.call(address, selector).hex())
            except RPCError as exc:
                results.append(exc)
        return _info(address, results[0], results[1])


def _info(address: str, symbol_result: Any, decimals_result: Any) -> TokenInfo:
    symbol = _decode_symbol(symbol_result)
    decimals = _decode_decimals(decimals_result)
    if symbol is None or decimals is None:
        return TokenInfo(address, symbol or short_address(address), 18 if decimals is None else decimals, known=False)
    return TokenInfo(address, symbol, decimals)


def _raw(result: Any) -> bytes | None:
    if not isinstance(result, str) or not result.startswith("0x") or len(result) <= 2:
        return None
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        return None


def _decode_symbol(result: Any) -> str | None:
    raw = _raw(result)
    if raw is None:
        return None
    try:
        (text,) = eth_abi.decode(["string"], raw)
    except Exception:
        if len(raw) == 32:  # old tokens (MKR) return bytes32
            text = raw.rstrip(b"\x00").decode("utf-8", errors="replace")
        else:
            return None
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:16] or None


def _decode_decimals(result: Any) -> int | None:
    raw = _raw(result)
    if raw is None or len(raw) < 32:
        return None
    value = int.from_bytes(raw[:32], "big")
    return value if value <= 77 else None
