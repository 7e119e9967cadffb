"""Worlds for the fault tests: an Anvil of our own (on a free port), a fault-injection proxy in front of it, an SDK
client through the proxy (``flaky``: short timeouts, 3 retries) and one straight to the node (``direct``: the judge).

Every test gets a fresh manager (its own escrow, so the audit at teardown covers exactly what the test did) and
fresh clients (no cached nonces). The system is deployed once per session, straight to the node.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from eth_account import Account

from agent_sessions import NATIVE, AgentSessions, Manager, SessionParams
from agent_sessions.domain.audit import audit
from agent_sessions.fleet.throughput import dev_keys

from ._anvil import fresh_anvil, rpc
from ._proxy import FaultProxy

#: The SDK client through the proxy: what a fault costs is bounded by these.
TIMEOUT = 0.5
RETRIES = 3
RECEIPT_TIMEOUT = 3.0


@pytest.fixture(scope="session")
def keys() -> list[Any]:
    """The dev mnemonic's keys (Anvil funds the first ten)."""
    return dev_keys(10)


@pytest.fixture(scope="session")
def owner_key(keys):
    return keys[0]


@pytest.fixture(scope="session")
def agent_key(keys):
    return keys[1]


@pytest.fixture(scope="session")
def chain_url() -> Any:
    anvil = fresh_anvil()
    yield anvil.url
    anvil.stop()


_factories: dict[str, str] = {}


@pytest.fixture
def factory_address(chain_url, owner_key) -> str:
    """The system on ``chain_url``, deployed once per node (a module may bring its own node)."""
    if chain_url not in _factories:
        _factories[chain_url] = AgentSessions(chain_url).deploy_factory(owner_key).address
    return _factories[chain_url]


@pytest.fixture
def direct(chain_url) -> AgentSessions:
    """The SDK straight to the node (no faults)."""
    return AgentSessions(chain_url, chain_id=31337)


@pytest.fixture
def proxy(chain_url) -> Any:
    with FaultProxy(chain_url) as p:
        yield p


def flaky_client(url: str, **options: Any) -> AgentSessions:
    options = {"timeout": TIMEOUT, "retries": RETRIES, "receipt_timeout": RECEIPT_TIMEOUT, **options}
    return AgentSessions(url, **options)


@pytest.fixture
def flaky(proxy) -> AgentSessions:
    """The SDK through the fault proxy."""
    return flaky_client(proxy.url)


_salts = itertools.count(1)


def assert_audit_clean(manager: Manager) -> None:
    report = audit(manager)
    assert report.ok, f"audit of {manager.address} not clean: {report.problems()}"


@pytest.fixture
def manager(direct, factory_address, owner_key) -> Any:
    """A fresh manager of the owner; audited (escrow == sum of available, executor empty) after the test."""
    m = direct.factory(factory_address).deploy_manager(owner_key.address, salt=f"faults-{next(_salts)}",
                                                        sender=owner_key)
    yield m
    assert_audit_clean(AgentSessions(direct.rpc.endpoint).manager(m.address))


@pytest.fixture
def recipient() -> str:
    """A fresh address with no history: its balance counts exactly what was paid to it."""
    return Account.create().address


def nonce_of(url: str, address: str, block: str = "latest") -> int:
    return int(rpc(url, "eth_getTransactionCount", [address, block]), 16)


def balance_of(url: str, address: str) -> int:
    return int(rpc(url, "eth_getBalance", [address, "latest"]), 16)


@dataclass
class Books:
    """Nonces and balances before an operation, to check it happened exactly once."""

    url: str
    addresses: dict[str, str]
    nonces: dict[str, int]
    balances: dict[str, int]

    @classmethod
    def take(cls, url: str, **addresses: str) -> Books:
        return cls(url, addresses, {k: nonce_of(url, a) for k, a in addresses.items()},
                   {k: balance_of(url, a) for k, a in addresses.items()})

    def sent(self, name: str) -> int:
        """Transactions ``name`` got mined since the snapshot."""
        return nonce_of(self.url, self.addresses[name]) - self.nonces[name]

    def received(self, name: str) -> int:
        return balance_of(self.url, self.addresses[name]) - self.balances[name]


@pytest.fixture
def params(agent_key) -> Callable[..., SessionParams]:
    def build(label: str, *, agent: Any = None, eth: int = 10**15) -> SessionParams:
        return SessionParams(agent=(agent or agent_key).address, expiry="1d", budgets={NATIVE: eth},
                             any_target=True, label=label)

    return build
