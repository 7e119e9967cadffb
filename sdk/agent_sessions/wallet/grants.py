"""Sessions opened by a signature: a grant signed by the manager's owner, a spawn signed by a parent's agent,
submitted by anyone, who pays the gas.

    signed = sign_grant(manager, SessionParams(...), owner_wallet)        # offline: no transaction, no gas
    Path("grant.json").write_text(signed.to_json())                      # hand it over as JSON
    (session,) = submit_grant(SignedGrant.load("grant.json"), relayer_key, client=client)

A grant's ETH budgets come out of the owner's **deposit** (``deposit`` below: ETH the manager keeps for the owner,
unallocated), its ERC-20 budgets by ``transferFrom`` on the owner's allowance to the manager. The session token is
minted to the owner. A spawn's budgets are reserved from the parent, as with ``spawnChild``; the child's token goes
to the parent's agent. The owner may be a contract (a Safe): the manager then asks it (ERC-1271) whether the
signature is good; ``typed_data.safe_signer`` signs as a Safe with its owners' keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from pydantic import ValidationError

from ..base import validate as v
from ..base.models import SessionParams, encode_label
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
    signer_address,
    typed_data,
)

if TYPE_CHECKING:
    from ..domain.client import AgentSessions
    from ..domain.manager import Manager
    from ..base.results import Receipt

__all__ = [
    "SignedGrant",
    "SignedSpawn",
    "deposit",
    "deposit_of",
    "grant_typed_data",
    "session_params_message",
    "sign_grant",
    "sign_spawn",
    "submit_grant",
    "submit_spawn",
    "withdraw",
]

ParamsLike = SessionParams | Mapping[str, Any]


# ================================================================================================================
# SessionParams <-> EIP-712 message
# ================================================================================================================


def session_params_message(params: ParamsLike, now: int | None = None) -> dict[str, Any]:
    """``SessionParams`` as the EIP-712 message value (a relative expiry counted from ``now``)."""
    p = params if isinstance(params, SessionParams) else SessionParams.model_validate(params)
    (agent, expiry, max_idle, period, max_calls, draft, any_target, label, budgets, permissions,
     guards) = p.to_tuple(now)
    return {
        "agent": agent,
        "expiry": str(expiry),
        "maxIdle": str(max_idle),
        "period": str(period),
        "maxCallsPerPeriod": str(max_calls),
        "draft": bool(draft),
        "anyTarget": bool(any_target),
        "label": "0x" + encode_label(p.label).hex(),
        "budgets": [{"token": token, "amount": str(amount), "perCallCap": str(cap), "periodAllowance": str(allowance)}
                    for token, amount, cap, allowance in budgets],
        "permissions": [{"target": target, "selector": "0x" + selector.hex()} for target, selector in permissions],
        "guards": list(guards),
    }


def _bool(message: Mapping[str, Any], name: str, where: str) -> bool:
    value = message.get(name)
    if not isinstance(value, bool):
        raise ValueError(f"{where}.{name}: expected true or false, got {value!r}")
    return value


def session_params_tuple(message: Mapping[str, Any], where: str) -> tuple[Any, ...]:
    """The ABI tuple of ``SessionParams`` from its EIP-712 message value (every field checked, named)."""
    if not isinstance(message, Mapping):
        raise ValueError(f"{where}: expected an object")
    budgets = []
    for i, budget in enumerate(_list(message, "budgets", where)):
        at = f"{where}.budgets[{i}]"
        budgets.append((_address(budget, "token", at), _uint(budget, "amount", at, 128),
                        _uint(budget, "perCallCap", at, 128), _uint(budget, "periodAllowance", at, 128)))
    permissions = [(_address(p, "target", f"{where}.permissions[{i}]"),
                    _bytes(p, "selector", f"{where}.permissions[{i}]", 4))
                   for i, p in enumerate(_list(message, "permissions", where))]
    guards = [v.address(g, f"{where}.guards[{i}]") for i, g in enumerate(_list(message, "guards", where))]
    return (
        _address(message, "agent", where),
        _uint(message, "expiry", where, 40),
        _uint(message, "maxIdle", where, 32),
        _uint(message, "period", where, 32),
        _uint(message, "maxCallsPerPeriod", where, 16),
        _bool(message, "draft", where),
        _bool(message, "anyTarget", where),
        _bytes(message, "label", where, 32),
        budgets,
        permissions,
        guards,
    )


# ================================================================================================================
# signed grants and spawns
# ================================================================================================================


@dataclass(frozen=True)
class _SignedSessions(SignedMessage):
    """A signed message opening one or more sessions."""

    def validate(self) -> None:
        super().validate()
        self.sessions  # noqa: B018

    @property
    def sessions(self) -> list[tuple[Any, ...]]:
        """The ABI tuples of the sessions to open, in order."""
        items = _list(self.message, "sessions", "message")
        if not items:
            raise ValueError("message.sessions: empty; a signature opens at least one session")
        return [session_params_tuple(item, f"message.sessions[{i}]") for i, item in enumerate(items)]

    @property
    def eth_budget(self) -> int:
        """ETH the sessions' budgets take (from the owner's deposit for a grant, from the parent for a spawn)."""
        from ..base.models import NATIVE

        return sum(amount for s in self.sessions for token, amount, _, _ in s[8] if token == NATIVE)


@dataclass(frozen=True)
class SignedGrant(_SignedSessions):
    """Root sessions signed by the manager's owner: ``createSession(s)WithSig``."""

    primary = "Grant"

    @property
    def owner(self) -> str:
        return _address(self.message, "owner", "message")

    def validate(self) -> None:
        super().validate()
        self.owner  # noqa: B018

    def function(self) -> str:
        return "createSessionWithSig" if len(self.sessions) == 1 else "createSessionsWithSig"

    def arguments(self) -> tuple[Any, ...]:
        sessions = self.sessions
        params: Any = sessions[0] if len(sessions) == 1 else sessions
        return (params, self.owner, self.nonce, self.deadline, self.signature)


@dataclass(frozen=True)
class SignedSpawn(_SignedSessions):
    """A child of a session signed by the parent's current agent: ``spawnChildWithSig``."""

    primary = "Spawn"

    @property
    def parent_id(self) -> int:
        return _uint(self.message, "parentId", "message")

    def validate(self) -> None:
        super().validate()
        self.parent_id  # noqa: B018

    def function(self) -> str:
        return "spawnChildWithSig"

    def arguments(self) -> tuple[Any, ...]:
        sessions = self.sessions
        if len(sessions) != 1:
            raise ValueError(f"message.sessions: {len(sessions)} children; spawnChildWithSig takes one per signature")
        return (self.parent_id, sessions[0], self.nonce, self.deadline, self.signature)


def _many(params: ParamsLike | Sequence[ParamsLike]) -> list[ParamsLike]:
    items = [params] if isinstance(params, (SessionParams, Mapping)) else list(params)
    if not items:
        raise ValueError("params: give at least one SessionParams")
    return items


def sign_grant(manager: Manager | tuple[int, str], params: ParamsLike | Sequence[ParamsLike], owner_signer: Any, *,
               nonce: int | None = None, deadline: Any = DEFAULT_DEADLINE, owner: Any = None) -> SignedGrant:
    """The owner's signature opening ``params`` (one ``SessionParams`` or several) on ``manager``.

    ``manager`` is a ``Manager`` (relative expiries and deadlines count from the chain's clock) or a
    ``(chain_id, address)`` pair to sign with no node at all (they count from this machine's clock). ``owner`` is
    the manager owner's address when the signer signs for another account (a Safe's owners sign for the Safe);
    by default the signer's own address. Nothing is sent."""
    owner_address = v.address(owner, "owner") if owner is not None else signer_address(owner_signer)
    typed = grant_typed_data(manager, params, owner_address, nonce=nonce, deadline=deadline)
    return SignedGrant(typed_data=typed, signature=sign_typed(owner_signer, typed))


def grant_typed_data(manager: Manager | tuple[int, str], params: ParamsLike | Sequence[ParamsLike], owner: Any, *,
                     nonce: int | None = None, deadline: Any = DEFAULT_DEADLINE) -> dict[str, Any]:
    """The unsigned EIP-712 Grant of ``params`` on ``manager`` for ``owner`` (an address): what ``sign_grant``
    signs, for a signer elsewhere (a browser wallet's ``eth_signTypedData_v4``). A fresh nonce unless given."""
    chain_id, address = chain_and_address(manager)
    now = now_of(manager)
    owner_address = v.address(owner, "owner")
    message = {
        "owner": owner_address,
        "sessions": [_session_message(p, now, i) for i, p in enumerate(_many(params))],
        "nonce": str(new_nonce(owner_address) if nonce is None else v.uint(nonce, "nonce", 256)),
        "deadline": str(deadline_at(deadline, now)),
    }
    return typed_data("Grant", chain_id, address, message)


def sign_spawn(session: Session | tuple[Manager | tuple[int, str], int], params: ParamsLike | Sequence[ParamsLike],
               agent_signer: Any, *, nonce: int | None = None, deadline: Any = DEFAULT_DEADLINE) -> SignedSpawn:
    """The parent agent's signature opening child ``params`` (one ``SessionParams``) of ``session`` (a ``Session``,
    or ``(manager, parent_id)``). Nothing is sent."""
    manager, parent_id = (session.manager, session.id) if isinstance(session, Session) else session
    children = _many(params)
    if len(children) != 1:
        raise ValueError(f"params: {len(children)} children given; the manager's spawnChildWithSig takes one child "
                         "per signature (sign one Spawn per child)")
    chain_id, address = chain_and_address(manager)
    now = now_of(manager)
    message = {
        "parentId": str(v.session_id(parent_id, "parent")),
        "sessions": [_session_message(children[0], now, 0)],
        "nonce": str(new_nonce(nonce_key(agent_signer)) if nonce is None else v.uint(nonce, "nonce", 256)),
        "deadline": str(deadline_at(deadline, now)),
    }
    typed = typed_data("Spawn", chain_id, address, message)
    return SignedSpawn(typed_data=typed, signature=sign_typed(agent_signer, typed))


def _session_message(params: ParamsLike, now: int | None, index: int) -> dict[str, Any]:
    try:
        return session_params_message(params, now)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                             for e in exc.errors())
        raise ValueError(f"params[{index}].{problems}") from None
    except ValueError as exc:
        raise ValueError(v.named(f"params[{index}]", str(exc))) from None


def _submit(signed: _SignedSessions, sender: Any, client: AgentSessions | Manager, **txn_kwargs: Any) -> list[Session]:
    manager = signed.manager(client)
    receipt = manager.transact(signed.function(), *signed.arguments(), sender=sender, **txn_kwargs)
    return [Session(manager, e.args["id"]) for e in manager.events(receipt, "SessionCreated")]


def submit_grant(signed: SignedGrant, sender: Any, *, client: AgentSessions | Manager,
                 **txn_kwargs: Any) -> list[Session]:
    """Send a signed grant from ``sender`` (anyone: it pays the gas, not the budgets); returns the sessions opened.
    ``client`` is the chain (the manager is the one the grant names) or a ``Manager`` to send it to. A refusal
    (the gas estimate, or the mined transaction) is the contract's typed error: ``InvalidSigner``,
    ``NonceUsed``, ``SignatureExpired``, ``DepositTooLow``..."""
    return _submit(signed, sender, client, **txn_kwargs)


def submit_spawn(signed: SignedSpawn, sender: Any, *, client: AgentSessions | Manager,
                 **txn_kwargs: Any) -> list[Session]:
    """Send a signed spawn from ``sender`` (anyone); returns the child opened, in a list (its token goes to the
    parent's agent, who signed)."""
    return _submit(signed, sender, client, **txn_kwargs)


# ================================================================================================================
# deposits: the ETH grants draw their budgets from
# ================================================================================================================


def deposit(manager: Manager, amount: int | str, sender: Any, **txn_kwargs: Any) -> Receipt:
    """Credit ``amount`` of ETH to ``sender``'s deposit at ``manager`` (sent as value). Signed grants of the owner
    take their ETH budgets from it."""
    wei = v.amount(amount, "amount", symbol="ETH")
    return manager.transact("deposit", sender=sender, value=wei, **txn_kwargs)


def withdraw(manager: Manager, amount: int | str, to: Any, sender: Any, **txn_kwargs: Any) -> Receipt:
    """Send ``amount`` of ``sender``'s deposit to ``to``."""
    return manager.transact("withdraw", v.amount(amount, "amount", symbol="ETH"), v.address(to, "to"), sender=sender,
                            **txn_kwargs)


def deposit_of(manager: Manager, account: Any) -> int:
    """ETH (wei) ``account`` has deposited at ``manager`` and not yet granted or withdrawn."""
    return int(manager.call("depositOf", v.address(account, "account")))
