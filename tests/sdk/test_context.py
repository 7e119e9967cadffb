"""Off-chain session memory anchored on-chain: anchor, verify, and tampering detected."""

import sqlite3

import pytest
from eth_utils import keccak

from agent_sessions import SessionContext, TaskCountDecreased
from agent_sessions.domain.context import merkle_root


@pytest.fixture
def db(tmp_path):
    return tmp_path / "context.sqlite"


def test_anchor_then_verify_matches_the_chain(make_session, agent_key, db):
    session = make_session()
    ctx = SessionContext(session, db)
    ctx.put("goal", {"buy": "ETH", "max": 3})
    ctx.put("notes", ["a", "b"])
    assert ctx.add_task({"step": "quote"}) == 1
    assert ctx.add_task({"step": "swap"}) == 2
    assert not ctx.verify()  # nothing anchored yet
    ctx.anchor(sender=agent_key)
    assert ctx.verify()
    assert session.refresh().checkpoint_root == "0x" + ctx.state_root().hex()
    assert session.task_count == 2


def test_memory_survives_a_restart_and_still_verifies(make_session, agent_key, db, manager):
    session = make_session()
    first = SessionContext(session, db)
    first.put("k", 1)
    first.add_task("t")
    first.anchor(sender=agent_key)
    first.close()
    again = SessionContext(manager.session(session.id), db)
    assert again.get("k") == 1 and again.tasks() == ["t"] and again.items() == {"k": 1}
    assert again.verify()


def test_tampering_with_a_stored_record_breaks_verification(make_session, agent_key, db):
    session = make_session()
    ctx = SessionContext(session, db)
    ctx.put("balance", 100)
    ctx.add_task({"paid": 5})
    ctx.anchor(sender=agent_key)
    assert ctx.verify()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE context_records SET value = '1000000' WHERE key = 'balance'")
    assert ctx.get("balance") == 1000000
    assert not ctx.verify()


def test_tampering_with_the_task_log_breaks_verification(make_session, agent_key, db):
    session = make_session()
    ctx = SessionContext(session, db)
    ctx.add_task("a")
    ctx.add_task("b")
    ctx.anchor(sender=agent_key)
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM context_tasks WHERE seq = 2")
    assert not ctx.verify()


def test_contexts_are_kept_apart_by_session(make_session, agent_key, db):
    one, two = SessionContext(make_session(), db), SessionContext(make_session(), db)
    one.put("x", 1)
    assert two.get("x") is None and two.state_root() == b"\x00" * 32
    one.delete("x")
    assert one.items() == {}


def test_task_counter_cannot_go_back_on_chain(make_session, agent_key, db):
    session = make_session()
    ctx = SessionContext(session, db)
    for i in range(3):
        ctx.add_task(i)
    ctx.anchor(sender=agent_key)
    fresh = SessionContext(session, ":memory:")
    fresh.add_task(0)
    with pytest.raises(TaskCountDecreased) as info:
        fresh.anchor(sender=agent_key)
    assert (info.value.previous, info.value.given) == (3, 1)


def test_state_root_is_deterministic_and_order_independent(make_session):
    session = make_session()
    a, b = SessionContext(session, ":memory:"), SessionContext(session, ":memory:")
    a.put("x", {"b": 1, "a": 2})
    a.put("y", 2)
    b.put("y", 2)
    b.put("x", {"a": 2, "b": 1})
    assert a.state_root() == b.state_root() != b"\x00" * 32
    leaves = [keccak(text=str(i)) for i in range(3)]
    assert merkle_root(leaves) == keccak(keccak(leaves[0] + leaves[1]) + leaves[2])


class _Client:
    def __init__(self, chain_id):
        self.chain_id = chain_id


class _Manager:
    def __init__(self, chain_id, address="0x1a472e37ca6Aacf6808D00DEdaB5838A5ae2c1D8"):
        self.client = _Client(chain_id)
        self.address = address


class _Session:
    """What a context needs of a session before it anchors: its manager (address, chain) and id."""

    def __init__(self, chain_id, session_id=1, manager="0x1a472e37ca6Aacf6808D00DEdaB5838A5ae2c1D8"):
        self.manager = _Manager(chain_id, manager)
        self.id = session_id


def test_the_same_manager_and_session_on_two_chains_are_two_memories(db):
    mainnet, testnet = SessionContext(_Session(1), db), SessionContext(_Session(11155111), db)
    mainnet.put("goal", "mainnet")
    mainnet.add_task("a")
    testnet.put("goal", "testnet")
    assert mainnet.get("goal") == "mainnet" and testnet.get("goal") == "testnet"
    assert mainnet.task_count == 1 and testnet.task_count == 0
    assert mainnet.state_root() != testnet.state_root()


def test_each_manager_of_each_chain_gets_its_own_default_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_SESSIONS_HOME", str(tmp_path))
    other = "0x0000000000000000000000000000000000000B0B"
    contexts = [SessionContext(_Session(1)), SessionContext(_Session(5)), SessionContext(_Session(1, manager=other)),
                SessionContext(_Session(1, session_id=2))]
    paths = [c.path for c in contexts]
    assert paths[0] == str(tmp_path / "contexts" / "1" / "0x1a472e37ca6Aacf6808D00DEdaB5838A5ae2c1D8.sqlite")
    assert paths[1] == str(tmp_path / "contexts" / "5" / "0x1a472e37ca6Aacf6808D00DEdaB5838A5ae2c1D8.sqlite")
    assert paths[2] == str(tmp_path / "contexts" / "1" / f"{other}.sqlite")
    assert paths[3] == paths[0]  # the sessions of one manager share its file, keyed apart
    contexts[0].put("k", "first")
    assert contexts[3].get("k") is None and contexts[1].get("k") is None
