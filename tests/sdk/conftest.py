"""Worlds for the SDK tests: the system deployed through the SDK alone (no Ape contract objects), on the Anvil
that ``ape test`` starts (``chain.provider.uri``), with the well-known development keys.

Ape snapshots the chain around every test and reverts it afterwards, which rewinds nonces too. So the
deployment lives in a session-scoped fixture, and every test gets a fresh ``AgentSessions`` (its senders read
their nonces from the chain on first use). Time moves with the chain (``evm_increaseTime`` + ``evm_mine``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from agent_sessions import NATIVE, AgentSessions, Contract, Factory, Manager, Session, SessionParams
from agent_sessions.chain.transport import TXN_KWARGS
from agent_sessions.fleet.throughput import dev_keys

ETHER = 10**18
DAY = 86_400
TOKEN_SUPPLY = 10**30


@pytest.fixture(scope="session")
def rpc_url(chain) -> str:
    uri = getattr(chain.provider, "uri", None) or os.environ.get("APE_FOUNDRY_HOST")
    assert uri, "no RPC URL: run through `ape test` with APE_FOUNDRY_HOST set"
    return uri


@pytest.fixture(scope="session")
def keys(accounts) -> list[Any]:
    """Ten funded LocalAccounts: the same keys as Ape's test accounts (mnemonic 'test ... junk')."""
    derived = dev_keys(10)
    assert [k.address for k in derived] == [a.address for a in list(accounts)[:10]]
    return derived


@pytest.fixture(scope="session")
def owner_key(keys):
    return keys[0]


@pytest.fixture(scope="session")
def agent_key(keys):
    return keys[1]


@pytest.fixture(scope="session")
def sub_key(keys):
    return keys[2]


@pytest.fixture(scope="session")
def stranger_key(keys):
    return keys[3]


@pytest.fixture(scope="session")
def other_key(keys):
    return keys[4]


@dataclass(frozen=True)
class Deployment:
    factory: str
    manager: str
    token: str
    token_b: str
    target: str
    dex: str
    guard: str


@pytest.fixture(scope="session")
def deployment(rpc_url, owner_key) -> Deployment:
    """The whole system and its test contracts, deployed once through the SDK."""
    client = AgentSessions(rpc_url)
    factory = client.deploy_factory(owner_key)
    manager = factory.deploy_manager(owner_key.address, salt=0, sender=owner_key)
    token = client.deploy("testing/TestToken", "Test USD", "TUSD", 18, sender=owner_key)
    token_b = client.deploy("testing/TestToken", "Other", "OTH", 18, sender=owner_key)
    for t in (token, token_b):
        t.transact("mint", owner_key.address, TOKEN_SUPPLY, sender=owner_key)
        t.transact("approve", manager.address, 2**256 - 1, sender=owner_key)
    target = client.deploy("testing/Target", sender=owner_key)
    dex = client.deploy("testing/MockDex", sender=owner_key)
    for t in (token, token_b):
        t.transact("mint", dex.address, 10**27, sender=owner_key)
    client.transfer(owner_key, dex.address, 100 * ETHER)
    guard = client.deploy("DenylistGuard", owner_key.address, sender=owner_key)
    return Deployment(factory.address, manager.address, token.address, token_b.address, target.address,
                      dex.address, guard.address)


@pytest.fixture
def client(rpc_url, deployment) -> AgentSessions:
    """A fresh client per test: no cached nonces survive Ape's snapshot revert."""
    return AgentSessions(rpc_url, chain_id=31337)


@pytest.fixture
def factory(client, deployment) -> Factory:
    return client.factory(deployment.factory)


@pytest.fixture
def manager(client, deployment) -> Manager:
    return client.manager(deployment.manager)


@pytest.fixture
def token(client, deployment) -> Contract:
    return client.contract("testing/TestToken", deployment.token)


@pytest.fixture
def token_b(client, deployment) -> Contract:
    return client.contract("testing/TestToken", deployment.token_b)


@pytest.fixture
def target(client, deployment) -> Contract:
    return client.contract("testing/Target", deployment.target)


@pytest.fixture
def dex(client, deployment) -> Contract:
    return client.contract("testing/MockDex", deployment.dex)


@pytest.fixture
def guard(client, deployment) -> Contract:
    return client.contract("DenylistGuard", deployment.guard)


@pytest.fixture
def advance(client) -> Callable[[int], int]:
    """Move the chain's clock forward by ``seconds`` (mines a block); returns the new time."""

    def move(seconds: int) -> int:
        client.rpc.request("evm_increaseTime", [seconds])
        client.rpc.request("evm_mine")
        return client.now()

    return move


@pytest.fixture
def params(agent_key) -> Callable[..., SessionParams]:
    """``params(agent=..., eth=..., **fields)``: SessionParams for a day, any target unless told."""

    def build(agent: Any = None, *, eth: int = ETHER, budgets: Any = None, **fields: Any) -> SessionParams:
        fields.setdefault("expiry", "1d")
        fields.setdefault("any_target", True)
        if budgets is None:
            budgets = {NATIVE: eth} if eth else {}
        return SessionParams(agent=(agent or agent_key).address, budgets=budgets, **fields)

    return build


@pytest.fixture
def make_session(manager, owner_key, params) -> Callable[..., Session]:
    """Opens a root session as the owner (ETH budget sent as value) and returns it."""

    def make(agent: Any = None, *, sender: Any = None, **kwargs: Any) -> Session:
        txn = {k: kwargs.pop(k) for k in list(kwargs) if k in TXN_KWARGS}
        return manager.create_session(params(agent, **kwargs), sender or owner_key, **txn)

    return make


@pytest.fixture
def make_child(manager, agent_key, params) -> Callable[..., Session]:
    """Spawns a child of ``parent`` (sent by the parent's agent unless told) and returns it."""

    def make(parent: Session | int, agent: Any, *, sender: Any = None, eth: int = 0, **kwargs: Any) -> Session:
        # a child may not outlive its parent: default to the parent's expiry
        kwargs.setdefault("expiry", manager.state(parent).expiry)
        txn = {k: kwargs.pop(k) for k in list(kwargs) if k in TXN_KWARGS}
        return manager.spawn_child(parent, params(agent, eth=eth, **kwargs), sender=sender or agent_key, **txn)

    return make
