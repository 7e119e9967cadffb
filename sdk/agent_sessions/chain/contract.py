"""A minimal contract binding: read with ``call``, write with ``transact``, decode ``events``.

It is the base of ``Factory`` and ``Manager`` and binds any other ABI the SDK ships (the guard, and the
test-only token, DEX and target used by demos). Reverts come back as typed exceptions (``errors``).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..base.abi import ContractABI, Event, Function
from ..base.errors import RPCError, typed_error
from ..base.models import checksum
from ..base.results import Receipt
from .rpc import Rpc
from .transport import Sender

__all__ = ["ChainClient", "Contract"]


class ChainClient(Protocol):
    """What a binding needs of its client (``AgentSessions`` is one): the node, and a sender per signing key."""

    @property
    def rpc(self) -> Rpc: ...

    def sender(self, key: Any) -> Sender: ...


class Contract:
    """``address`` bound to ``abi`` on ``client``'s chain."""

    def __init__(self, client: ChainClient, address: str, abi: ContractABI, name: str = "Contract") -> None:
        self.client = client
        self.address: str = checksum(address)
        self.abi = abi
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} {self.address}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Contract) and other.address == self.address and other.client is self.client

    def __hash__(self) -> int:
        return hash(self.address)

    def __str__(self) -> str:
        return self.address

    # ------------------------------------------------------------------------------------------------------------

    def fn(self, name: str) -> Function:
        return self.abi.fn(name)

    def encode(self, name: str, *args: Any) -> bytes:
        """Calldata for ``name(args)`` (e.g. to hand to ``Session.execute``)."""
        return self.abi.fn(name).encode(*args)

    def call(self, name: str, *args: Any, block: int | str = "latest", caller: str | None = None) -> Any:
        """Run a view (``eth_call``); one output comes back bare, several as a tuple. Reverts raise typed."""
        fn = self.abi.fn(name)
        try:
            out = self.client.rpc.call(self.address, fn.encode(*args), sender=caller, block=block)
        except RPCError as exc:
            raise typed_error(exc) from None
        values = fn.decode_output(out)
        return values[0] if len(values) == 1 else values

    def transact(self, name: str, *args: Any, sender: Any, value: int = 0, **txn_kwargs: Any) -> Receipt:
        """Send ``name(args)`` from ``sender`` (a Sender, LocalAccount or private key). ``txn_kwargs``: gas,
        nonce, max_fee_per_gas, max_priority_fee_per_gas, gas_price, timeout."""
        data = self.abi.fn(name).encode(*args)
        result = self.client.sender(sender).transact(self.address, data, value, **txn_kwargs)
        if isinstance(result, str):
            raise TypeError("wait=False is not supported here: use client.sender(...).transact for fire-and-forget")
        return result

    def events(self, receipt: Receipt, name: str | None = None) -> list[Event]:
        """Events this contract emitted in ``receipt``."""
        return receipt.events(self.abi, name=name, address=self.address)
