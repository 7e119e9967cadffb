"""Owner-side chores the scripts (and anyone else) need: make sure the system is deployed, find an owner's
manager, read user input for expiries and tokens, apply a partial update to a session.

    deployment = ensure_manager(client, owner_key)            # canonical factory + the owner's manager
    manager = find_manager(client, owner=owner_key.address)   # the owner's first manager
    update_session(manager, 7, sender=owner_key, expiry="72h", token="ETH", per_call="0.1")
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..base.errors import SessionError
from ..base.models import NATIVE, checksum
from ..base.results import Receipt
from .tokens import TokenBook

if TYPE_CHECKING:
    from .client import AgentSessions, Factory
    from .manager import Manager

__all__ = [
    "Deployment",
    "NotDeployed",
    "ensure_manager",
    "find_manager",
    "find_managers",
    "parse_expiry",
    "parse_token",
    "update_session",
]


class NotDeployed(SessionError, LookupError):
    """The factory or manager an operation needs is not on this chain (yet)."""


@dataclass(frozen=True)
class Deployment:
    """The canonical factory of a chain and one owner's manager on it."""

    chain_id: int
    owner: str
    factory: Factory
    manager: Manager
    executor: str
    #: True when this call deployed the factory / the manager (False: it was there already).
    factory_created: bool
    manager_created: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "owner": self.owner,
            "factory": self.factory.address,
            "manager": self.manager.address,
            "executor": self.executor,
            "factory_created": self.factory_created,
            "manager_created": self.manager_created,
        }


def ensure_manager(client: AgentSessions, owner: Any, *, sender: Any = None,
                   salt: int | str | bytes | None = None, **txn_kwargs: Any) -> Deployment:
    """The chain's canonical factory (deployed if missing, see ``chains.ensure_deployment``) and ``owner``'s
    manager (deployed if missing).

    Without ``salt`` the owner's first existing manager is reused, else one is deployed with salt 0; with
    ``salt`` that very manager is ensured. ``sender`` pays (default: ``owner``, which must then be a key)."""
    from .deployment import canonical_factory_address, ensure_deployment, has_code

    sender = owner if sender is None else sender
    owner_address = checksum(owner)
    factory_created = not has_code(client, canonical_factory_address())
    factory = ensure_deployment(client, sender, **txn_kwargs)
    manager: Manager | None = None
    if salt is None:
        existing = factory.managers_of(owner_address)
        manager = existing[0] if existing else None
        salt = 0
    if manager is None:
        predicted = factory.predict_manager(owner_address, salt)
        if has_code(client, predicted):
            manager = client.manager(predicted)
    manager_created = manager is None
    if manager is None:
        manager = factory.deploy_manager(owner_address, salt, sender=sender, **txn_kwargs)
    executor = checksum(manager.call("executor"))
    return Deployment(chain_id=client.chain_id, owner=owner_address, factory=factory, manager=manager,
                      executor=executor, factory_created=factory_created, manager_created=manager_created)


def find_manager(client: AgentSessions, owner: Any = None, manager: Any = None) -> Manager:
    """``manager`` when given (checked to be a contract), else ``owner``'s first manager under the chain's
    canonical factory. ``NotDeployed`` says what to run when there is none."""
    from .deployment import has_code

    if manager is not None:
        address = checksum(manager)
        if not has_code(client, address):
            raise NotDeployed(f"no contract at {address} on chain {client.chain_id}")
        return client.manager(address)
    if owner is None:
        raise NotDeployed("no manager given and no owner to look one up for")
    return find_managers(client, owner)[0]


def find_managers(client: AgentSessions, owner: Any) -> list[Manager]:
    """Every manager of ``owner`` under the chain's canonical factory, oldest first (``NotDeployed`` if none)."""
    from .deployment import canonical_factory_address, has_code

    factory = client.factory(canonical_factory_address())
    if not has_code(client, factory.address):
        raise NotDeployed(f"no SessionFactory at the canonical address {factory.address} on chain "
                          f"{client.chain_id}: deploy one first (agent-sessions deploy, or ape run deploy)")
    found = factory.managers_of(owner)
    if not found:
        raise NotDeployed(f"{checksum(owner)} has no manager under the factory {factory.address}: deploy one "
                          f"first (agent-sessions deploy, or ape run deploy) or pass the manager's address")
    return found


def parse_expiry(value: str | int | datetime | timedelta) -> datetime | timedelta:
    """An expiry as people write it, read by ``parsing.parse_expiry`` (the one reading the SDK, the fleet spec and
    the command line share): a duration from now (``"72h"``, ``"1d12h"``, bare seconds, a ``timedelta``), an ISO
    date-time with a zone (``"2030-01-31T12:00:00Z"``, an aware ``datetime``) or an explicit unix time
    (``"unix:1900000000"``, ``UnixTime``)."""
    from ..base.parsing import parse_expiry as parse

    return parse(value)


def parse_token(value: Any) -> str:
    """``NATIVE`` from ``"ETH"`` / ``"NATIVE"`` (any case), else the checksummed ERC-20 address."""
    if isinstance(value, str) and value.strip().upper() in ("ETH", "NATIVE"):
        return NATIVE
    try:
        return checksum(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise ValueError(f"{value!r} is not a token: pass ETH or an ERC-20 address") from None


def update_session(manager: Manager, session: int, *, sender: Any, expiry: Any = None, token: Any = None,
                   per_call: int | str | None = None, per_period: int | str | None = None,
                   book: TokenBook | None = None, **txn_kwargs: Any) -> list[Receipt]:
    """Apply the given changes to a live session, one transaction each: ``expiry`` (see ``parse_expiry``),
    then the limits of ``token`` (``per_call`` cap and/or ``per_period`` allowance, amounts in the token's
    units: ``"0.1"`` is 0.1 ETH; ``0`` removes a limit). A limit not given keeps its current value."""
    if token is None and (per_call is not None or per_period is not None):
        raise ValueError("a per-call cap or per-period allowance needs the token it applies to")
    if token is not None and per_call is None and per_period is None:
        raise ValueError("a token was given without a per-call cap or per-period allowance to set on it")
    if expiry is None and token is None:
        raise ValueError("nothing to update: give an expiry and/or a token with new limits")
    receipts: list[Receipt] = []
    limits: tuple[str, int, int] | None = None
    if token is not None:
        address = parse_token(token)
        info = (book or TokenBook(manager.client)).get(address)
        current = manager.state(session).budget(address)
        cap = info.parse(per_call) if per_call is not None else current.per_call_cap
        allowance = info.parse(per_period) if per_period is not None else current.period_allowance
        limits = (address, cap, allowance)
    if expiry is not None:
        receipts.append(manager.update_expiry(session, parse_expiry(expiry), sender=sender, **txn_kwargs))
    if limits is not None:
        address, cap, allowance = limits
        receipts.append(manager.update_limits(session, address, cap, allowance, sender=sender, **txn_kwargs))
    return receipts
