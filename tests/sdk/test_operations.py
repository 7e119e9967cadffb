"""Every Manager / Session operation through the SDK, each checked against the chain."""

from datetime import datetime, timedelta, timezone

import pytest
from eth_utils import keccak

from agent_sessions import (
    ANY_SELECTOR,
    NATIVE,
    ZERO_ADDRESS,
    Call,
    GlobalState,
    NotAgent,
    Permission,
    Session,
    SessionNotActive,
    SessionParams,
    Status,
)

from .conftest import DAY, ETHER


def test_create_session_returns_a_session_that_reads_like_the_domain(make_session, client, agent_key, owner_key):
    now = client.now()
    session = make_session(label="swapper", eth=ETHER)
    assert isinstance(session, Session)
    assert session.status is Status.ACTIVE
    assert session.agent == agent_key.address
    assert session.holder == owner_key.address
    assert session.label == "swapper"
    assert session.is_root and session.parent is None and session.depth == 0
    assert session.expires_at.tzinfo is timezone.utc
    assert now + DAY <= session.state.expiry_timestamp <= now + DAY + 5
    assert session.remaining() == ETHER
    assert session.budgets[NATIVE].available == ETHER
    short = f"{agent_key.address[:4].lower()}..{agent_key.address[-2:].lower()}"
    assert repr(session) == f"<Session {session.id} active agent={short}>"


def test_create_session_pulls_erc20_budgets(manager, owner_key, agent_key, token, params, client):
    before = client.balance(manager.address, token.address)
    session = manager.create_session(params(budgets={token.address: "250 TUSD", NATIVE: "0.1 ether"}), owner_key)
    assert client.balance(manager.address, token.address) - before == 250 * ETHER
    assert session.remaining(token.address) == 250 * ETHER
    assert session.remaining(NATIVE) == 10**17
    assert manager.is_escrow_token(token.address)


def test_create_sessions_opens_many_in_chunks(manager, owner_key, params, agent_key, client):
    first = manager.count() + 1
    before = client.balance(manager.address)
    sessions = manager.create_sessions([params(eth=i + 1, label=f"s{i}") for i in range(25)], owner_key, chunk_size=10)
    assert [s.id for s in sessions] == list(range(first, first + 25))
    assert client.balance(manager.address) - before == sum(range(1, 26))
    assert [s.label for s in manager.sessions(sessions)] == [f"s{i}" for i in range(25)]


def test_spawn_child_reserves_budget_out_of_the_parent(make_session, make_child, sub_key, agent_key):
    parent = make_session(eth=ETHER)
    child = make_child(parent, sub_key, eth=3 * 10**17)
    assert child.parent == parent and child.parent_id == parent.id and child.depth == 1
    assert child.holder == agent_key.address  # the parent's agent spawned it
    assert parent.remaining() == 7 * 10**17 and child.remaining() == 3 * 10**17
    assert parent.children == [child]


def test_spawn_children_opens_siblings_in_one_transaction(manager, make_session, params, sub_key, agent_key):
    parent = make_session(eth=ETHER)
    expiry = parent.expires_at
    kids = manager.spawn_children(parent, [params(sub_key, eth=10**17, expiry=expiry) for _ in range(3)],
                                  sender=agent_key)
    assert len(kids) == 3 and all(k.parent_id == parent.id for k in kids)
    assert parent.remaining() == 7 * 10**17


def test_session_spawn_child_method(make_session, params, sub_key, agent_key):
    parent = make_session(eth=ETHER)
    child = parent.spawn_child(params(sub_key, eth=1, expiry=parent.expires_at), sender=agent_key)
    assert child.parent_id == parent.id


def test_execute_calls_a_target_with_calldata(make_session, target, agent_key, manager):
    session = make_session()
    session.execute(target.address, 5, target.encode("ping"), sender=agent_key)
    assert target.call("pings") == 1
    assert target.call("received") == 5
    assert target.call("lastCaller") == manager.call("executor")
    assert session.budget().spent == 5


def test_execute_batch_runs_calls_in_order(make_session, target, agent_key, stranger_key, client):
    session = make_session()
    before = client.balance(stranger_key.address)
    receipt = session.execute_batch(
        [Call(target=target.address, data=target.encode("ping")), (stranger_key.address, 7),
         {"target": target.address, "value": 3, "data": "0x" + target.encode("ping").hex()}],
        sender=agent_key,
    )
    assert receipt.ok and target.call("pings") == 2
    assert client.balance(stranger_key.address) - before == 7
    assert session.remaining() == ETHER - 10
    assert len(session.manager.events(receipt, "Executed")) == 3


def test_transfer_token_pays_from_escrow(manager, params, owner_key, agent_key, stranger_key, token, client):
    session = manager.create_session(params(budgets={token.address: "100 TUSD"}), owner_key)
    session.transfer_token(token.address, stranger_key.address, "40 TUSD", sender=agent_key)
    assert client.balance(stranger_key.address, token.address) == 40 * ETHER
    assert session.remaining(token.address) == 60 * ETHER


def test_swap_charges_what_left_and_credits_the_output(manager, params, owner_key, agent_key, token, token_b, dex):
    # the session also holds 1 unit of the output token: the proceeds add to it
    session = manager.create_session(params(budgets={token.address: 1000, token_b.address: 1}), owner_key)
    data = dex.encode("swap", token.address, 400, token_b.address, manager.address)
    receipt = session.swap(token.address, 400, token_b.address, 400, dex.address, data, sender=agent_key)
    (event,) = manager.events(receipt, "Swapped")
    assert (event.amountIn, event.amountOut) == (400, 400)
    assert session.remaining(token.address) == 600
    assert session.remaining(token_b.address) == 401


def test_fund_tops_up_roots_from_outside_and_children_from_the_parent(make_session, make_child, sub_key,
                                                                      owner_key, agent_key, token):
    root = make_session(eth=ETHER)
    root.fund(NATIVE, "0.5 ether", sender=owner_key)
    assert root.remaining() == 15 * 10**17
    root.fund(token.address, 10, sender=owner_key)
    assert root.remaining(token.address) == 10
    child = make_child(root, sub_key)
    child.fund(NATIVE, 100, sender=agent_key)
    assert child.remaining() == 100 and root.remaining() == 15 * 10**17 - 100


def test_pause_resume_revoke_and_close_settle_the_escrow(make_session, owner_key, agent_key, stranger_key, client):
    session = make_session(eth=ETHER)
    session.pause(sender=owner_key)
    assert session.status is Status.PAUSED
    with pytest.raises(SessionNotActive) as info:
        session.execute(stranger_key.address, 1, sender=agent_key)
    assert info.value.status is Status.PAUSED
    session.resume(sender=owner_key)
    assert session.status is Status.ACTIVE
    session.revoke(sender=owner_key)
    assert session.status is Status.REVOKED and not session.closed
    before = client.balance(owner_key.address)
    receipt = session.close(sender=stranger_key)  # anyone may close an ended session
    assert client.balance(owner_key.address) - before == ETHER
    assert session.closed and session.holder == ZERO_ADDRESS
    assert receipt.ok


def test_complete_settles_at_once(make_session, agent_key, owner_key, client):
    session = make_session(eth=ETHER)
    before = client.balance(owner_key.address)
    session.complete(sender=agent_key)
    assert session.status is Status.COMPLETED and session.closed
    assert client.balance(owner_key.address) - before == ETHER


def test_close_many_skips_closed_ones(manager, make_session, owner_key):
    a, b = make_session(eth=1), make_session(eth=2)
    a.revoke(sender=owner_key)
    b.revoke(sender=owner_key)
    a.close(sender=owner_key)
    manager.close_many([a, b], owner_key)
    assert b.refresh().closed


def test_rotate_agent_switches_keys_in_one_transaction(make_session, owner_key, agent_key, other_key, stranger_key):
    session = make_session()
    session.rotate_agent(other_key.address, sender=owner_key)
    assert session.agent == other_key.address
    with pytest.raises(NotAgent):
        session.execute(stranger_key.address, 1, sender=agent_key)
    session.execute(stranger_key.address, 1, sender=other_key)


def test_update_limits_sets_caps(make_session, owner_key):
    session = make_session(period="1d")
    session.update_limits(NATIVE, per_call_cap=100, period_allowance=1000, sender=owner_key)
    budget = session.budget()
    assert (budget.per_call_cap, budget.period_allowance) == (100, 1000)
    assert budget.spendable_now == 100


def test_update_expiry_accepts_durations_and_datetimes(make_session, owner_key, client):
    session = make_session()
    session.update_expiry("2d", sender=owner_key)
    assert abs(session.state.expiry_timestamp - (client.now() + 2 * DAY)) <= 5
    when = datetime.fromtimestamp(client.now() + 3 * DAY, tz=timezone.utc).replace(microsecond=0)
    session.update_expiry(when, sender=owner_key)
    assert session.expires_at == when


def test_draft_editing_then_activate(make_session, owner_key, agent_key, target, guard, manager):
    session = make_session(draft=True, any_target=False)
    assert session.status is Status.DRAFT
    ping = target.encode("ping")
    session.set_permissions([Permission(target=target.address, selector="ping()")], sender=owner_key)
    assert manager.is_allowed(session, target.address, ping[:4])
    assert not manager.is_allowed(session, target.address, "other()")
    session.set_permissions([(target.address, "ping()")], allowed=False, sender=owner_key)
    assert not manager.is_allowed(session, target.address, "ping()")
    session.set_permissions([target.address], sender=owner_key)  # every selector
    assert manager.is_allowed(session, target.address, ANY_SELECTOR)
    session.set_any_target(True, sender=owner_key)
    assert session.refresh().state.any_target
    session.add_guard(guard.address, sender=owner_key)
    assert session.guards() == [guard.address]
    session.update_timing(max_idle="1h", period="1d", max_calls_per_period=5, sender=owner_key)
    assert session.max_idle == timedelta(hours=1) and session.period == timedelta(days=1)
    assert session.state.max_calls_per_period == 5
    session.activate(sender=owner_key)
    assert session.status is Status.ACTIVE
    session.execute(target.address, 0, ping, sender=agent_key)
    assert session.refresh().state.calls_in_period == 1


def test_checkpoint_anchors_root_and_count(make_session, agent_key):
    session = make_session()
    root = keccak(text="state")
    session.checkpoint(root, 3, sender=agent_key)
    assert session.checkpoint_root == "0x" + root.hex() and session.task_count == 3


def test_owner_wide_pause_unpause_and_revoke_all(manager, make_session, owner_key):
    session = make_session()
    manager.pause_all(owner_key)
    assert manager.global_state() == GlobalState(epoch=0, paused_all=True)
    assert session.status is Status.PAUSED
    manager.unpause_all(owner_key)
    assert session.refresh().status is Status.ACTIVE
    manager.revoke_all(owner_key)
    assert manager.global_state().epoch == 1
    assert session.refresh().status is Status.REVOKED
    fresh = manager.create_session(SessionParams(agent=session.agent, expiry="1d"), owner_key)
    assert fresh.status is Status.ACTIVE


def test_transfer_session_hands_over_control(make_session, owner_key, other_key, manager):
    session = make_session()
    session.transfer(other_key.address, sender=owner_key)
    assert session.holder == other_key.address
    assert manager.is_controller(session, other_key.address)
    assert not manager.is_controller(session, owner_key.address)
    session.pause(sender=other_key)


def test_views_status_remaining_check_token_uri_user(manager, make_session, agent_key, stranger_key, target):
    session = make_session(eth=ETHER, label="viewer")
    assert manager.status(session) is Status.ACTIVE
    assert manager.remaining(session) == ETHER
    assert manager.owner() == manager.state(session).holder
    assert manager.user_of(session) == agent_key.address
    ok = manager.check(session, target.address, 1, target.encode("ping"))
    assert ok.ok and ok.error is None and bool(ok)
    too_much = session.check(stranger_key.address, 2 * ETHER)
    assert not too_much.ok and type(too_much.error).__name__ == "BudgetExceeded"
    assert too_much.error.requested == 2 * ETHER and too_much.error.remaining == ETHER
    wrong_caller = session.check(stranger_key.address, 1, caller=stranger_key.address)
    assert isinstance(wrong_caller.error, NotAgent)
    with pytest.raises(NotAgent):
        wrong_caller.raise_for_error()
    meta = manager.token_uri(session)
    assert meta["name"] == f"Agent Session #{session.id}"
    traits = {t["trait_type"]: t["value"] for t in meta["attributes"]}
    assert traits["label"] == "viewer" and traits["status"] == "active"
    assert manager.count() >= session.id
