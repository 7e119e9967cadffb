"""Listing from the chain alone: pages, filters, and an owner's inventory rebuilt by a fresh client."""

import pytest

from agent_sessions import NATIVE, AgentSessions, Inventory, Status

from .conftest import ETHER


@pytest.fixture
def population(manager, make_session, make_child, owner_key, agent_key, sub_key, other_key):
    """Seven sessions: a, b (paused), c (revoked, closed), d (other agent), a's children x, y, and x's child z."""
    a = make_session(label="alpha", eth=ETHER)
    b = make_session(label="beta", eth=2)
    b.pause(sender=owner_key)
    c = make_session(label="gamma", eth=3)
    c.revoke(sender=owner_key)
    c.close(sender=owner_key)
    d = make_session(other_key, label="delta", eth=4)
    x = make_child(a, sub_key, eth=10, label="x")
    y = make_child(a, sub_key, eth=20, label="y")
    z = make_child(x, other_key, eth=5, label="z", sender=sub_key)
    return dict(a=a, b=b, c=c, d=d, x=x, y=y, z=z)


@pytest.mark.parametrize("page_size", [1, 2, 3, 200])
def test_list_sessions_pages_through_every_session(manager, population, page_size):
    listed = manager.list_sessions(page_size=page_size)
    assert [s.id for s in listed] == list(range(1, manager.count() + 1))
    mine = {s.id: s for s in listed}
    assert mine[population["b"].id].state.status is Status.PAUSED
    assert mine[population["z"].id].state.depth == 2


def test_list_sessions_filters(manager, population, agent_key, sub_key, other_key):
    p = population
    ids = lambda sessions: {s.id for s in sessions}  # noqa: E731
    assert ids(manager.list_sessions(status=Status.PAUSED)) >= {p["b"].id}
    assert p["a"].id not in ids(manager.list_sessions(status="paused"))
    assert ids(manager.list_sessions(status=["revoked", Status.PAUSED])) >= {p["b"].id, p["c"].id}
    assert ids(manager.list_sessions(label="delta")) == {p["d"].id}
    assert ids(manager.list_sessions(agent=sub_key.address)) >= {p["x"].id, p["y"].id}
    assert ids(manager.list_sessions(parent=p["a"].id)) == {p["x"].id, p["y"].id}
    assert ids(manager.list_sessions(holder=sub_key.address)) == {p["z"].id}
    assert ids(manager.list_sessions(closed=True)) >= {p["c"].id}
    assert ids(manager.list_sessions(parent=p["a"].id, label="y")) == {p["y"].id}
    assert p["a"].children == [p["x"], p["y"]]
    assert p["z"].parent == p["x"]


def test_list_sessions_refuses_a_bad_status_filter(manager, population):
    with pytest.raises(ValueError, match="unknown status 'asleep'"):
        manager.list_sessions(status="asleep")


def test_sessions_reads_many_ids_in_batches(manager, population):
    wanted = [population[k].id for k in ("d", "a", "z")]
    got = manager.sessions(wanted, chunk_size=2)
    assert [s.id for s in got] == wanted
    assert [s.label for s in got] == ["delta", "alpha", "z"]


def test_inventory_is_rebuilt_by_a_fresh_client_from_the_chain_alone(rpc_url, deployment, population, owner_key,
                                                                     factory, manager):
    second = factory.deploy_manager(owner_key.address, salt="second", sender=owner_key)
    second.create_session(
        {"agent": owner_key.address, "expiry": "1d", "label": "elsewhere", "budgets": {NATIVE: 9}}, owner_key
    )
    restarted = AgentSessions(rpc_url)  # nothing carried over: new client, new objects
    inventory = restarted.inventory(deployment.factory, owner_key.address)
    assert isinstance(inventory, Inventory)
    assert [m.address for m in inventory.managers] == [manager.address, second.address]
    assert len(inventory) == manager.count() + 1
    assert [s.label for s in inventory.sessions_by_manager[second.address]] == ["elsewhere"]
    assert {s.id for s in inventory.find(label="alpha")} == {population["a"].id}
    tree = inventory.children(manager)
    assert {s.id for s in tree[population["a"].id]} == {population["x"].id, population["y"].id}
    by_status = inventory.by_status()
    assert population["b"].id in {s.id for s in by_status[Status.PAUSED]}
    assert all(s.state.status.is_live for s in inventory.live())
    escrow = inventory.escrow()
    assert escrow[NATIVE] == sum(
        s.state.budgets[NATIVE].available for s in inventory.sessions if not s.state.closed
    )
    assert restarted.balance(manager.address) >= sum(
        s.state.budgets[NATIVE].available for s in inventory.sessions_by_manager[manager.address]
        if not s.state.closed
    )
