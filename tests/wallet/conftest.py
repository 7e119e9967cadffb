"""Worlds for the wallet door: signed grants, spawns and executes against the real contracts.

Chain A is the Anvil that `ape test` starts (Ape snapshots it around every test, so each test starts from the
world below); chain B is a second Anvil with another chain id (31338) started here on a free port, carrying the
same deterministic deployment: the canonical factory (CREATE2, same address on every chain) and the owner's
managers at the same addresses. A signature for chain A replayed on chain B is the cross-chain attack.

The people are development accounts 13-17, outside the keys the other suites use (0-11); account 0 funds them.
Agents are fresh keys with no ETH at all: they only sign.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from eth_account import Account

from agent_sessions import NATIVE, AgentSessions, Manager, SessionParams
from agent_sessions.fleet.throughput import dev_keys
from agent_sessions.wallet import deposit

ETHER = 10**18
FUNDING = 1_000 * ETHER


@dataclass(frozen=True)
class People:
    owner: Any
    submitter: Any
    relayer: Any
    stranger: Any
    funder: Any


@dataclass(frozen=True)
class World:
    url: str
    chain_id: int
    factory: str
    manager: str
    other_manager: str
    token: str


@pytest.fixture(scope="session")
def people() -> People:
    owner, submitter, relayer, stranger = dev_keys(4, start=13)
    return People(owner=owner, submitter=submitter, relayer=relayer, stranger=stranger, funder=dev_keys(1)[0])


def build_world(url: str, people: People) -> World:
    """Fund the people, deploy the canonical system, the owner's two managers and a test token (approved)."""
    client = AgentSessions(url)
    for person in (people.owner, people.submitter, people.relayer, people.stranger):
        if client.balance(person.address) < FUNDING // 2:
            client.transfer(people.funder, person.address, FUNDING)
    factory = client.ensure_factory(people.funder)
    managers = []
    for salt in ("wallet", "wallet-2"):
        predicted = factory.predict_manager(people.owner.address, salt)
        if factory.is_manager(predicted):
            managers.append(client.manager(predicted))
        else:
            managers.append(factory.deploy_manager(people.owner.address, salt=salt, sender=people.owner))
    token = client.deploy("testing/TestToken", "Wallet USD", "WUSD", 18, sender=people.owner)
    token.transact("mint", people.owner.address, 10**30, sender=people.owner)
    token.transact("approve", managers[0].address, 2**256 - 1, sender=people.owner)
    return World(url, client.chain_id, factory.address, managers[0].address, managers[1].address, token.address)


@pytest.fixture(scope="session")
def rpc_url(chain) -> str:
    uri = getattr(chain.provider, "uri", None) or os.environ.get("APE_FOUNDRY_HOST")
    assert uri, "no RPC URL: run through `ape test` with APE_FOUNDRY_HOST set"
    return uri


@pytest.fixture(scope="session")
def world(rpc_url, people) -> World:
    return build_world(rpc_url, people)


@pytest.fixture(scope="session")
def world_b(people, world) -> Any:
    """Chain B (id 31338) with the same deployment as chain A."""
    from scripts._ports import open_fresh_anvil

    anvil = open_fresh_anvil(chain_id=31338)
    try:
        yield build_world(anvil.url, people)
    finally:
        anvil.stop()


@pytest.fixture
def client(world) -> AgentSessions:
    """A fresh client per test: no cached nonces survive Ape's snapshot revert."""
    return AgentSessions(world.url, chain_id=31337)


@pytest.fixture
def manager(client, world) -> Manager:
    return client.manager(world.manager)


@pytest.fixture
def other_manager(client, world) -> Manager:
    return client.manager(world.other_manager)


@pytest.fixture
def agent() -> Any:
    """A fresh agent key with no ETH."""
    return Account.create()


@pytest.fixture
def params(agent) -> Callable[..., SessionParams]:
    def build(agent_key: Any = None, *, eth: int | str = "0.5 ether", **fields: Any) -> SessionParams:
        fields.setdefault("expiry", "1d")
        fields.setdefault("any_target", True)
        fields.setdefault("budgets", {NATIVE: eth} if eth else {})
        return SessionParams(agent=(agent_key or agent).address, **fields)

    return build


@pytest.fixture
def funded_owner(manager, people) -> Callable[[int], None]:
    """``funded_owner(wei)``: the owner deposits ``wei`` at the manager."""

    def fund(wei: int = ETHER) -> None:
        deposit(manager, wei, people.owner)

    return fund


class Balances:
    """Every balance an attack could move: ETH of the people and the manager, the owner's deposit, the session
    count. ``snapshot()`` before, ``assert_unchanged()`` after."""

    def __init__(self, client: AgentSessions, manager: Manager, people: People, extra: tuple[str, ...] = ()) -> None:
        self.client, self.manager = client, manager
        self.accounts = [people.owner.address, people.submitter.address, people.relayer.address, manager.address,
                         *extra]
        self.owner = people.owner.address

    def read(self) -> dict[str, int]:
        from agent_sessions.wallet import deposit_of

        out = {a: self.client.balance(a) for a in self.accounts}
        out["deposit"] = deposit_of(self.manager, self.owner)
        out["sessions"] = self.manager.count()
        return out


@pytest.fixture
def balances(client, manager, people) -> Callable[..., Balances]:
    return lambda *extra: Balances(client, manager, people, extra)
