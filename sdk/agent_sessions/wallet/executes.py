"""Gasless executes: the session's agent signs a call, anyone submits it and pays the gas.

    signed = sign_execute(session, recipient, "0.01 ether", b"", agent_wallet, relay_fee="0.0001 ether")
    receipt = submit_execute(signed, relayer_key, client=client)         # the relayer gets the fee

The agent key needs no ETH at all. The relayer (``msg.sender``) is paid ``relay_fee`` in ETH out of the session's
ETH budget after the call, charged like any spend (budget, per-call cap, period allowance of the session and of
every ancestor). A session pays no relay fee unless a controller allows one: ``set_max_relay_fee`` (0, the
default, allows none); the fee must be at most the cap of the session and of every ancestor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..base import validate as v
from ..base.models import Call
from ..domain.session import Session
from .typed_data import (
    DEFAULT_DEADLINE,
    SignedMessage,
    _address,
    _bytes,
    _list,
    _uint,
    chain_and_address,
    deadline_at,
    new_nonce,
    nonce_key,
    now_of,
    sign_typed,
    typed_data,
)

if TYPE_CHECKING:
    from ..domain.client import AgentSessions
    from ..domain.manager import Manager
    from ..base.results import Receipt

__all__ = [
    "SignedExecute",
    "SignedExecuteBatch",
    "max_relay_fee",
    "set_max_relay_fee",
    "set_max_relay_fees",
    "sign_execute",
    "sign_execute_batch",
    "submit_execute",
]

SessionTarget = Session | tuple[Any, int]


@dataclass(frozen=True)
class _SignedCall(SignedMessage):
    """A signed execute of either form."""

    def validate(self) -> None:
        super().validate()
        self.session_id, self.relay_fee  # noqa: B018

    @property
    def session_id(self) -> int:
        return _uint(self.message, "session", "message")

    @property
    def relay_fee(self) -> int:
        return _uint(self.message, "relayFee", "message")

    @property
    def value(self) -> int:
        """ETH the call(s) send (the relay fee excluded)."""
        raise NotImplementedError


@dataclass(frozen=True)
class SignedExecute(_SignedCall):
    """One call signed by the session's agent: ``executeWithSig``."""

    primary = "Execute"

    def validate(self) -> None:
        super().validate()
        self.target, self.value, self.data  # noqa: B018

    @property
    def target(self) -> str:
        return _address(self.message, "target", "message")

    @property
    def value(self) -> int:
        return _uint(self.message, "value", "message")

    @property
    def data(self) -> bytes:
        return _bytes(self.message, "data", "message")

    def function(self) -> str:
        return "executeWithSig"

    def arguments(self) -> tuple[Any, ...]:
        return (self.session_id, self.target, self.value, self.data, self.nonce, self.deadline, self.relay_fee,
                self.signature)


@dataclass(frozen=True)
class SignedExecuteBatch(_SignedCall):
    """Calls run in order, all or none, signed by the session's agent: ``executeBatchWithSig``."""

    primary = "ExecuteBatch"

    def validate(self) -> None:
        super().validate()
        self.calls  # noqa: B018

    @property
    def calls(self) -> list[tuple[str, int, bytes]]:
        out = []
        for i, call in enumerate(_list(self.message, "calls", "message")):
            at = f"message.calls[{i}]"
            if not isinstance(call, Mapping):
                raise ValueError(f"{at}: expected an object")
            out.append((_address(call, "target", at), _uint(call, "value", at), _bytes(call, "data", at)))
        return out

    @property
    def value(self) -> int:
        return sum(value for _, value, _ in self.calls)

    def function(self) -> str:
        return "executeBatchWithSig"

    def arguments(self) -> tuple[Any, ...]:
        return (self.session_id, self.calls, self.nonce, self.deadline, self.relay_fee, self.signature)


def _where(session: SessionTarget) -> tuple[Any, int]:
    if isinstance(session, Session):
        return session.manager, session.id
    manager, sid = session
    return manager, v.session_id(sid, "session")


def _common(manager: Any, nonce: int | None, deadline: Any, relay_fee: int | str,
            signer: Any) -> tuple[int, str, dict[str, str]]:
    """Chain id, manager address, and the fields every signed execute has (the nonce the next of the signer's)."""
    chain_id, address = chain_and_address(manager)
    fields = {
        "nonce": str(new_nonce(nonce_key(signer)) if nonce is None else v.uint(nonce, "nonce", 256)),
        "deadline": str(deadline_at(deadline, now_of(manager))),
        "relayFee": str(v.amount(relay_fee, "relay_fee", symbol="ETH")),
    }
    return chain_id, address, fields


def sign_execute(session: SessionTarget, target: Any, value: int | str = 0, data: bytes | str = b"",
                 agent_signer: Any = None, *, relay_fee: int | str = 0, nonce: int | None = None,
                 deadline: Any = DEFAULT_DEADLINE) -> SignedExecute:
    """The agent's signature of ``execute(session, target, value, data)``. ``session`` is a ``Session`` or
    ``(manager, id)`` (``manager`` may be a ``(chain_id, address)`` pair: no node needed). Nothing is sent."""
    if agent_signer is None:
        raise TypeError("agent_signer is required: the session's agent signs")
    manager, sid = _where(session)
    chain_id, address, fields = _common(manager, nonce, deadline, relay_fee, agent_signer)
    message = {
        "session": str(sid),
        "target": v.address(target, "target"),
        "value": str(v.amount(value, "value", symbol="ETH")),
        "data": "0x" + v.hex_bytes(data, "data").hex(),
        **{k: fields[k] for k in ("nonce", "deadline", "relayFee")},
    }
    typed = typed_data("Execute", chain_id, address, message)
    return SignedExecute(typed_data=typed, signature=sign_typed(agent_signer, typed))


def sign_execute_batch(session: SessionTarget, calls: Iterable[Call | Mapping[str, Any] | Sequence[Any]],
                       agent_signer: Any, *, relay_fee: int | str = 0, nonce: int | None = None,
                       deadline: Any = DEFAULT_DEADLINE) -> SignedExecuteBatch:
    """The agent's signature of ``executeBatch(session, calls)``: ``calls`` as ``Call``, dicts or
    ``(target, value, data)`` tuples. Nothing is sent."""
    manager, sid = _where(session)
    chain_id, address, fields = _common(manager, nonce, deadline, relay_fee, agent_signer)
    parsed = [_call(c, i) for i, c in enumerate(calls)]
    message = {
        "session": str(sid),
        "calls": [{"target": c.target, "value": str(c.value), "data": "0x" + c.data.hex()} for c in parsed],
        **{k: fields[k] for k in ("nonce", "deadline", "relayFee")},
    }
    typed = typed_data("ExecuteBatch", chain_id, address, message)
    return SignedExecuteBatch(typed_data=typed, signature=sign_typed(agent_signer, typed))


def _call(value: Any, index: int) -> Call:
    try:
        if isinstance(value, Call):
            return value
        if isinstance(value, Mapping):
            return Call.model_validate(dict(value))
        items = list(value) + [0, b""][len(value) - 1:]
        return Call(target=items[0], value=items[1], data=items[2])
    except ValueError as exc:
        raise ValueError(v.named(f"calls[{index}]", str(exc))) from None


def submit_execute(signed: SignedExecute | SignedExecuteBatch, sender: Any, *, client: AgentSessions | Manager,
                   **txn_kwargs: Any) -> Receipt:
    """Send a signed execute (either form) from ``sender``, who pays the gas and receives the relay fee. A refusal
    is the contract's typed error (``InvalidSigner``, ``NonceUsed``, ``RelayFeeAboveCap``, ``BudgetExceeded``...);
    the gas estimate catches it before anything is signed."""
    manager = signed.manager(client)
    return manager.transact(signed.function(), *signed.arguments(), sender=sender, **txn_kwargs)


def set_max_relay_fee(session: SessionTarget, fee: int | str, sender: Any, **txn_kwargs: Any) -> Receipt:
    """Allow relayers a fee of at most ``fee`` (ETH) per signed execute of ``session`` (``sender``: a live
    controller). 0 allows none."""
    manager, sid = _where(session)
    return manager.transact("setMaxRelayFee", sid, v.amount(fee, "fee", symbol="ETH"), sender=sender, **txn_kwargs)


def set_max_relay_fees(manager: Manager, sessions: Iterable[Session | int], fee: int | str, sender: Any,
                       **txn_kwargs: Any) -> list[Receipt]:
    """``set_max_relay_fee`` for many sessions of ``manager`` at once: one gas estimate, the transactions pipelined
    (consecutive nonces, JSON-RPC batches); the first failure is raised after all were confirmed."""
    from ..chain.pipeline import TxRequest, run_pipeline

    wei = v.amount(fee, "fee", symbol="ETH")
    ids = [v.session_id(s.id if isinstance(s, Session) else s, "sessions") for s in sessions]
    if not ids:
        return []
    wallet = manager.client.sender(sender)
    fn = manager.fn("setMaxRelayFee")
    gas = txn_kwargs.pop("gas", None) or wallet.gas_limit(wallet.estimate_gas(manager.address, fn.encode(ids[0], wei)))
    requests = [TxRequest(wallet, manager.address, fn.encode(sid, wei), 0, gas) for sid in ids]
    outcomes = run_pipeline(manager.client.rpc, requests, fee_kwargs=manager.client.fee_kwargs(txn_kwargs),
                            timeout=txn_kwargs.get("timeout") or wallet.receipt_timeout)
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return [o.receipt for o in outcomes if o.receipt is not None]


def max_relay_fee(session: SessionTarget) -> int:
    """The relay fee cap of ``session`` itself (its ancestors' caps bind too)."""
    manager, sid = _where(session)
    return int(manager.call("maxRelayFee", sid))
