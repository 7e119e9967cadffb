"""Worlds for the contract tests: a deployed factory, one owner's manager, tokens, targets and a
`make_session` factory fixture that opens sessions with sensible defaults.

Ape reverts the chain to a snapshot around every test, so module- and session-scoped deployments are
shared safely. Time moves with the chain (`chain.pending_timestamp`, `chain.mine`), never with sleep.
"""

from __future__ import annotations

import os

import pytest

from scripts._ports import free_port
from tests.helpers import Clock

NATIVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
ANY_SELECTOR = "0xffffffff"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DAY = 86_400
ETHER = 10**18

# Status enum of ISessionTypes
NONE, DRAFT, ACTIVE, PAUSED, COMPLETED, REVOKED, EXPIRED = range(7)


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_finish(session):
    """`ape test` runs on an Anvil of its own, on a port the system picks just before Ape starts it.

    ape-foundry's default host is 127.0.0.1:8545, and when something already listens there it simply connects: the
    tests would then run on someone else's node (`make node`, another checkout's tests), deploying into its state
    and reverting it to their snapshots. APE_FOUNDRY_HOST set here (ape-foundry reads it when it connects, right
    after this hook's first half) moves the node to a free port, whatever the caller's environment says; once Ape
    is connected, a node it did not start itself (the port was taken in between) stops the run before any test
    touches it."""
    os.environ["APE_FOUNDRY_HOST"] = f"http://127.0.0.1:{free_port()}"
    yield
    from ape import networks  # here, not at import: it loads web3 (and its deprecation warnings) while collecting

    provider = networks.active_provider
    if provider is not None and provider.name == "foundry" and getattr(provider, "process", None) is None:
        pytest.exit(f"ape test connected to an Anvil it did not start ({provider.uri}): refusing to run on it",
                    returncode=3)


@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def agent(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def sub_agent(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def other(accounts):
    """A second person (new holder of a transferred token, a new agent key...)."""
    return accounts[4]


@pytest.fixture(scope="session")
def extension(project, owner):
    return project.SessionManagerExtension.deploy(project.SessionSignatures.deploy(sender=owner), sender=owner)


@pytest.fixture(scope="session")
def factory(project, owner, extension):
    return project.SessionFactory.deploy(extension, sender=owner)


@pytest.fixture(scope="session")
def manager(project, factory, owner):
    """The owner's manager bound to the full IAgentSessions ABI."""
    receipt = factory.deployManager(owner, b"\x00" * 32, sender=owner)
    address = receipt.events[-1].manager
    return project.IAgentSessions.at(address)


@pytest.fixture(scope="session")
def token(project, owner, manager):
    """An 18-decimals ERC-20; the owner holds plenty and approved the manager."""
    t = project.TestToken.deploy("Test USD", "TUSD", 18, sender=owner)
    t.mint(owner, 10**30, sender=owner)
    t.approve(manager, 2**256 - 1, sender=owner)
    return t


@pytest.fixture(scope="session")
def token_b(project, owner, manager):
    t = project.TestToken.deploy("Other", "OTH", 18, sender=owner)
    t.mint(owner, 10**30, sender=owner)
    t.approve(manager, 2**256 - 1, sender=owner)
    return t


@pytest.fixture(scope="session")
def target(project, owner):
    return project.Target.deploy(sender=owner)


@pytest.fixture(scope="session")
def dex(project, owner, token, token_b):
    d = project.MockDex.deploy(sender=owner)
    token.mint(d, 10**27, sender=owner)
    token_b.mint(d, 10**27, sender=owner)
    owner.transfer(d, 100 * ETHER)
    return d


@pytest.fixture(scope="session")
def guard(project, owner):
    return project.DenylistGuard.deploy(owner, sender=owner)


def session_params(
    agent,
    *,
    expiry: int,
    budgets=(),
    permissions=(),
    guards=(),
    any_target: bool = True,
    draft: bool = False,
    max_idle: int = 0,
    period: int = 0,
    max_calls: int = 0,
    label: bytes = b"",
):
    """A SessionParams tuple. `budgets` holds (token, amount[, perCallCap[, periodAllowance]]) tuples,
    `permissions` (target, selector) tuples."""
    full_budgets = []
    for b in budgets:
        token, amount, *rest = b
        cap = rest[0] if len(rest) > 0 else 0
        allowance = rest[1] if len(rest) > 1 else 0
        full_budgets.append((str(token), amount, cap, allowance))
    return (
        str(agent),
        expiry,
        max_idle,
        period,
        max_calls,
        draft,
        any_target,
        label.ljust(32, b"\x00"),
        full_budgets,
        [(str(t), s) for t, s in permissions],
        [str(g) for g in guards],
    )


@pytest.fixture
def params(request, chain):
    """`params(agent, eth=..., ...)`: SessionParams with an expiry a day ahead unless given. A test module that
    sets `FIXED_DEFAULT_EXPIRY = True` gets one default expiry per test (a day from its start), so a child
    opened later in the same test never outlives its parent by the seconds that passed in between."""
    fixed_expiry = chain.pending_timestamp + DAY if getattr(request.module, "FIXED_DEFAULT_EXPIRY", False) else None

    def build(agent, *, eth: int = 0, expiry: int | None = None, budgets=None, **kwargs):
        if expiry is None:
            expiry = fixed_expiry or chain.pending_timestamp + DAY
        if budgets is None:
            budgets = [(NATIVE, eth)] if eth else []
        return session_params(agent, expiry=expiry, budgets=budgets, **kwargs)

    return build


@pytest.fixture
def make_session(manager, owner, agent, params):
    """Opens a root session (as the owner) and returns its id; ETH budget sent as value."""

    def make(*, agent=agent, eth: int = ETHER, sender=owner, **kwargs):
        p = params(agent, eth=eth, **kwargs)
        value = sum(b[1] for b in p[8] if b[0] == NATIVE)
        receipt = manager.createSession(p, value=value, sender=sender)
        return receipt.events.filter(manager.SessionCreated)[0].id

    return make


@pytest.fixture
def escrow(manager, owner, params):
    """`escrow(token, amount=1)`: the owner opens a separate root session (its own agent, never acting) holding
    `amount` of ERC-20 `token`, so the manager escrows that token: a swap may output only ETH or a token the
    manager already escrows. Returns that session's id."""

    def make(token, amount: int = 1, *, sender=owner):
        receipt = manager.createSession(params(sender, budgets=[(token, amount)]), sender=sender)
        return receipt.events.filter(manager.SessionCreated)[0].id

    return make


@pytest.fixture
def make_child(manager, agent, params):
    """Spawns a child of `parent` (by default sent by the parent's agent) and returns its id."""

    def make(parent: int, *, child_agent, eth: int = 0, sender=None, expiry: int | None = None, **kwargs):
        # a child may not outlive its parent: default to the parent's expiry
        if expiry is None:
            expiry = manager.getSession(parent).expiry
        p = params(child_agent, eth=eth, expiry=expiry, **kwargs)
        receipt = manager.spawnChild(parent, p, sender=sender or agent)
        return receipt.events.filter(manager.SessionCreated)[0].id

    return make


@pytest.fixture
def clock(chain):
    """Pins chain time (see tests.helpers.Clock)."""
    return Clock(chain)


@pytest.fixture
def open_at(clock, make_session):
    """`open_at(**session kwargs)` -> (id, T0): a root opened at a pinned second T0, expiring 30 days later
    unless given."""

    def open_(**kwargs):
        t0 = clock.fresh()
        kwargs.setdefault("expiry", t0 + 30 * DAY)
        clock.at(t0)
        return make_session(**kwargs), t0

    return open_
