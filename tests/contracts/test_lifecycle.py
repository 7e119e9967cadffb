"""Lifecycle of a session: pause/resume, revoke, complete, close (single and many), revokeAll, pauseAll, draft
editing, live updates (limits, expiry, agent) and control moving with the session token.

Every revert asserts the exact custom error with all of its arguments (`reverts` below is stricter than
`ape.reverts`: it fails on a different error type and on any argument left unasserted). Events are compared
with all of their arguments.
"""

from __future__ import annotations

import contextlib

import ape
import pytest

from tests.conftest import (
    ACTIVE,
    ANY_SELECTOR,
    COMPLETED,
    DAY,
    DRAFT,
    ETHER,
    EXPIRED,
    NATIVE,
    PAUSED,
    REVOKED,
    ZERO_ADDRESS,
)
from tests.helpers import assert_events, eth_spent_by_events, reverts

# conftest's `params`: one default expiry per test, so a child opened later never outlives its parent
FIXED_DEFAULT_EXPIRY = True

# Solady ERC721 `TokenDoesNotExist()`: not in the IAgentSessions ABI, so matched by selector.
TOKEN_DOES_NOT_EXIST = "0xceea21b6"

# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def reverts_with_selector(selector: str):
    """For errors outside the ABI (Solady's ERC721 ones): ape reports them as 'custom error 0x<selector>'."""
    with ape.reverts() as info:
        yield info
    assert str(info.value).strip().lower().startswith(f"custom error {selector}"), repr(info.value)


def manager_event_names(receipt, manager) -> list[str]:
    return [log.event_name for log in receipt.events if log.contract_address == manager.address]


def warp(chain, seconds: int):
    """Mines a block `seconds` after the head, so views see the new time too."""
    chain.mine(timestamp=chain.blocks.head.timestamp + seconds)


def ping_data(target) -> bytes:
    return bytes(target.ping.encode_input())


# ----------------------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def sid(make_session):
    """A live root session of the default agent with 1 ETH, any target."""
    return make_session(eth=ETHER)


@pytest.fixture
def draft_sid(make_session):
    return make_session(eth=ETHER, draft=True, any_target=False)


@pytest.fixture
def new_agent(accounts):
    return accounts[5]


# ----------------------------------------------------------------------------------------------------------
# pause / resume
# ----------------------------------------------------------------------------------------------------------


def test_pause_stores_paused_and_emits_event(manager, sid, owner, agent, stranger):
    receipt = manager.pause(sid, sender=owner)
    assert_events(receipt, manager.SessionPaused, {"id": sid, "by": owner})
    assert manager.statusOf(sid) == PAUSED
    assert manager.getSession(sid).status == PAUSED
    assert manager.userOf(sid) == ZERO_ADDRESS
    with reverts(manager.SessionNotActive, id=sid, status=PAUSED):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_paused_session_cannot_pay_spawn_or_checkpoint(manager, sid, owner, agent, stranger, params):
    manager.pause(sid, sender=owner)
    with reverts(manager.SessionNotActive, id=sid, status=PAUSED):
        manager.transferToken(sid, NATIVE, stranger, 1, sender=agent)
    with reverts(manager.SessionNotActive, id=sid, status=PAUSED):
        manager.spawnChild(sid, params(stranger), sender=agent)
    with reverts(manager.SessionNotActive, id=sid, status=PAUSED):
        manager.checkpoint(sid, b"\x01" * 32, 1, sender=agent)


def test_pause_keeps_escrow(manager, sid, owner):
    before = manager.balance
    manager.pause(sid, sender=owner)
    assert manager.remaining(sid, NATIVE) == ETHER
    assert manager.balance == before
    assert manager.ownerOf(sid) == owner


def test_resume_restores_active_and_emits_event(manager, sid, owner, agent, stranger):
    manager.pause(sid, sender=owner)
    receipt = manager.resume(sid, sender=owner)
    assert_events(receipt, manager.SessionResumed, {"id": sid, "by": owner})
    assert manager.statusOf(sid) == ACTIVE
    assert manager.userOf(sid) == agent
    before = stranger.balance
    manager.execute(sid, stranger, 123, b"", sender=agent)
    assert stranger.balance - before == 123


def test_pause_reverts_when_already_paused(manager, sid, owner):
    manager.pause(sid, sender=owner)
    with reverts(manager.SessionNotActive, id=sid, status=PAUSED):
        manager.pause(sid, sender=owner)


def test_pause_reverts_for_draft(manager, draft_sid, owner):
    with reverts(manager.SessionNotActive, id=draft_sid, status=DRAFT):
        manager.pause(draft_sid, sender=owner)


def test_resume_reverts_when_active(manager, sid, owner):
    with reverts(manager.SessionNotPaused, id=sid, status=ACTIVE):
        manager.resume(sid, sender=owner)


def test_resume_reverts_for_draft(manager, draft_sid, owner):
    with reverts(manager.SessionNotPaused, id=draft_sid, status=DRAFT):
        manager.resume(draft_sid, sender=owner)


@pytest.mark.parametrize("who", ["agent", "stranger"])
def test_pause_and_resume_revert_for_non_controller(manager, sid, owner, agent, stranger, who):
    caller = {"agent": agent, "stranger": stranger}[who]
    with reverts(manager.NotController, id=sid, caller=caller):
        manager.pause(sid, sender=caller)
    manager.pause(sid, sender=owner)
    with reverts(manager.NotController, id=sid, caller=caller):
        manager.resume(sid, sender=caller)


def test_pause_and_resume_revert_when_revoked(manager, sid, owner):
    manager.revoke(sid, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.pause(sid, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.resume(sid, sender=owner)


def test_resume_reverts_when_paused_session_revoked(manager, sid, owner):
    manager.pause(sid, sender=owner)
    manager.revoke(sid, sender=owner)
    assert manager.statusOf(sid) == REVOKED
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.resume(sid, sender=owner)


def test_pause_reverts_when_expired(manager, make_session, owner, chain):
    sid = make_session(expiry=chain.blocks.head.timestamp + 100)
    warp(chain, 100)
    assert manager.statusOf(sid) == EXPIRED
    with reverts(manager.SessionEnded, id=sid, status=EXPIRED):
        manager.pause(sid, sender=owner)


# ----------------------------------------------------------------------------------------------------------
# revoke
# ----------------------------------------------------------------------------------------------------------


def test_revoke_emits_event_and_stores_revoked(manager, sid, owner, agent, stranger):
    receipt = manager.revoke(sid, sender=owner)
    assert_events(receipt, manager.SessionRevoked, {"id": sid, "by": owner})
    assert manager.statusOf(sid) == REVOKED
    info = manager.getSession(sid)
    assert info.status == REVOKED
    assert not info.closed
    assert manager.userOf(sid) == ZERO_ADDRESS
    with reverts(manager.SessionNotActive, id=sid, status=REVOKED):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_revoke_keeps_escrow_and_token_until_close(manager, make_session, token, owner, agent, stranger):
    sid = make_session(budgets=[(NATIVE, ETHER), (token, 500)])
    eth_before, tok_before = manager.balance, token.balanceOf(manager)
    owner_tokens = manager.balanceOf(owner)
    manager.revoke(sid, sender=owner)
    assert manager.balance == eth_before
    assert token.balanceOf(manager) == tok_before
    assert manager.remaining(sid, NATIVE) == ETHER
    assert manager.remaining(sid, token) == 500
    assert manager.ownerOf(sid) == owner
    assert manager.balanceOf(owner) == owner_tokens
    assert manager.getSession(sid).holder == owner

    manager.close(sid, sender=stranger)
    assert manager.balance == eth_before - ETHER
    assert token.balanceOf(manager) == tok_before - 500
    assert manager.balanceOf(owner) == owner_tokens - 1


def test_revoke_twice_reverts_session_ended(manager, sid, owner):
    manager.revoke(sid, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.revoke(sid, sender=owner)


def test_revoke_reverts_when_completed(manager, sid, make_child, owner, agent, sub_agent):
    child = make_child(sid, child_agent=sub_agent, eth=10**17)
    manager.complete(child, sender=sub_agent)
    # the root holder still controls the (closed) child through the root
    with reverts(manager.SessionEnded, id=child, status=COMPLETED):
        manager.revoke(child, sender=owner)
    manager.complete(sid, sender=agent)
    # a completed root's token is burned: nobody controls it any more
    with reverts(manager.NotController, id=sid, caller=owner):
        manager.revoke(sid, sender=owner)


def test_revoke_reverts_when_expired(manager, make_session, owner, chain):
    """An ended session stays as it ended: an expired session is not turned into a revoked one."""
    sid = make_session(expiry=chain.blocks.head.timestamp + 100)
    warp(chain, 100)
    assert manager.statusOf(sid) == EXPIRED
    with reverts(manager.SessionEnded, id=sid, status=EXPIRED):
        manager.revoke(sid, sender=owner)


@pytest.mark.parametrize("who", ["agent", "stranger"])
def test_revoke_reverts_for_non_controller(manager, sid, agent, stranger, who):
    caller = {"agent": agent, "stranger": stranger}[who]
    with reverts(manager.NotController, id=sid, caller=caller):
        manager.revoke(sid, sender=caller)
    assert manager.statusOf(sid) == ACTIVE


def test_revoke_of_paused_and_draft_sessions(manager, sid, draft_sid, owner):
    manager.pause(sid, sender=owner)
    manager.revoke(sid, sender=owner)
    manager.revoke(draft_sid, sender=owner)
    assert manager.statusOf(sid) == REVOKED
    assert manager.statusOf(draft_sid) == REVOKED


def test_revoke_reverts_for_unknown_id(manager, owner):
    unknown = manager.sessionCount() + 1
    with reverts(manager.SessionNotFound, id=unknown):
        manager.revoke(unknown, sender=owner)


def test_live_updates_revert_when_revoked(manager, sid, owner, new_agent, chain):
    manager.revoke(sid, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.updateLimits(sid, NATIVE, 1, 0, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.updateExpiry(sid, chain.blocks.head.timestamp + 2 * DAY, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.rotateAgent(sid, new_agent, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.fund(sid, NATIVE, 1, value=1, sender=owner)


# ----------------------------------------------------------------------------------------------------------
# complete
# ----------------------------------------------------------------------------------------------------------


def test_complete_by_agent_refunds_eth_to_root_holder_exactly(manager, sid, owner, agent, stranger):
    manager.execute(sid, stranger, 3 * 10**17, b"", sender=agent)
    owner_before, manager_before = owner.balance, manager.balance
    owner_tokens = manager.balanceOf(owner)

    receipt = manager.complete(sid, sender=agent)

    refund = ETHER - 3 * 10**17
    assert owner.balance - owner_before == refund
    assert manager_before - manager.balance == refund
    assert manager.remaining(sid, NATIVE) == 0
    assert manager.statusOf(sid) == COMPLETED
    info = manager.getSession(sid)
    assert info.closed
    assert info.holder == ZERO_ADDRESS
    assert info.budgets[0].spent == 0  # layout v2: ETH spent is in the events
    assert eth_spent_by_events(manager, sid) == 3 * 10**17
    assert manager.balanceOf(owner) == owner_tokens - 1
    with reverts_with_selector(TOKEN_DOES_NOT_EXIST):
        manager.ownerOf(sid)

    assert manager_event_names(receipt, manager) == [
        "SessionCompleted",
        "Transfer",
        "UpdateUser",
        "EscrowReturned",
        "SessionClosed",
    ]
    assert_events(receipt, manager.SessionCompleted, {"id": sid, "by": agent})
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": owner, "amount": refund},
    )
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": agent, "status": COMPLETED})


def test_complete_by_controller_refunds_eth_and_erc20(manager, make_session, token, owner, agent, stranger):
    sid = make_session(budgets=[(NATIVE, ETHER), (token, 1_000)])
    manager.transferToken(sid, token, stranger, 250, sender=agent)
    manager.execute(sid, stranger, 10**17, b"", sender=agent)
    eth_before, tok_before = owner.balance, token.balanceOf(owner)

    receipt = manager.complete(sid, sender=owner)

    assert owner.balance - eth_before == 9 * 10**17 - receipt.total_fees_paid
    assert token.balanceOf(owner) - tok_before == 750
    assert manager.remaining(sid, NATIVE) == 0
    assert manager.remaining(sid, token) == 0
    assert manager.statusOf(sid) == COMPLETED
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": owner, "amount": 9 * 10**17},
        {"id": sid, "token": token, "toSession": 0, "to": owner, "amount": 750},
    )
    assert_events(receipt, manager.SessionCompleted, {"id": sid, "by": owner})
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": owner, "status": COMPLETED})


def test_complete_refunds_current_holder_after_token_transfer(manager, sid, owner, agent, other):
    manager.transferFrom(owner, other, sid, sender=owner)
    before = other.balance
    receipt = manager.complete(sid, sender=agent)
    assert other.balance - before == ETHER
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": other, "amount": ETHER},
    )


def test_complete_child_returns_unspent_to_parent_available(
    manager, sid, make_child, sub_agent, stranger
):
    child = make_child(sid, child_agent=sub_agent, eth=4 * 10**17)
    assert manager.remaining(sid, NATIVE) == 6 * 10**17
    manager.execute(child, stranger, 10**17, b"", sender=sub_agent)
    manager_before = manager.balance

    receipt = manager.complete(child, sender=sub_agent)

    assert manager.remaining(sid, NATIVE) == 9 * 10**17
    assert manager.remaining(child, NATIVE) == 0
    assert manager.balance == manager_before  # nothing left the manager
    assert manager.statusOf(child) == COMPLETED
    assert manager.statusOf(sid) == ACTIVE
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": child, "token": NATIVE, "toSession": sid, "to": ZERO_ADDRESS, "amount": 3 * 10**17},
    )
    assert_events(receipt, manager.SessionClosed, {"id": child, "by": sub_agent, "status": COMPLETED})


def test_complete_with_nothing_left_returns_nothing(manager, make_session, agent):
    sid = make_session(eth=0)
    receipt = manager.complete(sid, sender=agent)
    assert_events(receipt, manager.EscrowReturned)
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": agent, "status": COMPLETED})


def test_complete_of_paused_and_draft_sessions(manager, sid, draft_sid, owner, agent):
    manager.pause(sid, sender=owner)
    manager.complete(sid, sender=agent)
    manager.complete(draft_sid, sender=owner)
    assert manager.statusOf(sid) == COMPLETED
    assert manager.statusOf(draft_sid) == COMPLETED


def test_complete_twice_reverts_session_ended(manager, sid, agent):
    manager.complete(sid, sender=agent)
    with reverts(manager.SessionEnded, id=sid, status=COMPLETED):
        manager.complete(sid, sender=agent)


def test_complete_reverts_when_revoked(manager, sid, owner, agent):
    manager.revoke(sid, sender=owner)
    with reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.complete(sid, sender=agent)


def test_complete_reverts_for_stranger(manager, sid, stranger):
    with reverts(manager.NotAgentOrController, id=sid, caller=stranger):
        manager.complete(sid, sender=stranger)


# ----------------------------------------------------------------------------------------------------------
# close
# ----------------------------------------------------------------------------------------------------------


def test_close_by_stranger_pays_root_holder(manager, make_session, token, owner, agent, stranger):
    sid = make_session(budgets=[(NATIVE, ETHER), (token, 1_000)])
    manager.execute(sid, stranger, 2 * 10**17, b"", sender=agent)
    manager.revoke(sid, sender=owner)
    eth_before, tok_before = owner.balance, token.balanceOf(owner)
    stranger_tok = token.balanceOf(stranger)

    receipt = manager.close(sid, sender=stranger)

    assert owner.balance - eth_before == 8 * 10**17
    assert token.balanceOf(owner) - tok_before == 1_000
    assert token.balanceOf(stranger) == stranger_tok
    assert manager.getSession(sid).closed
    assert manager.statusOf(sid) == REVOKED
    assert manager_event_names(receipt, manager) == [
        "Transfer",
        "UpdateUser",
        "EscrowReturned",
        "EscrowReturned",
        "SessionClosed",
    ]
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": owner, "amount": 8 * 10**17},
        {"id": sid, "token": token, "toSession": 0, "to": owner, "amount": 1_000},
    )
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": stranger, "status": REVOKED})
    with reverts_with_selector(TOKEN_DOES_NOT_EXIST):
        manager.ownerOf(sid)


@pytest.mark.parametrize("state", ["active", "paused", "draft"])
def test_close_reverts_for_live_session(manager, make_session, owner, stranger, state):
    sid = make_session(draft=state == "draft")
    if state == "paused":
        manager.pause(sid, sender=owner)
    status = {"active": ACTIVE, "paused": PAUSED, "draft": DRAFT}[state]
    with reverts(manager.SessionNotEnded, id=sid, status=status):
        manager.close(sid, sender=stranger)
    with reverts(manager.SessionNotEnded, id=sid, status=status):
        manager.close(sid, sender=owner)


def test_close_reverts_when_only_paused_all(manager, sid, owner):
    manager.pauseAll(sender=owner)
    with reverts(manager.SessionNotEnded, id=sid, status=PAUSED):
        manager.close(sid, sender=owner)


def test_close_twice_reverts_already_closed(manager, sid, owner, stranger):
    manager.revoke(sid, sender=owner)
    manager.close(sid, sender=stranger)
    with reverts(manager.SessionAlreadyClosed, id=sid):
        manager.close(sid, sender=stranger)


def test_close_after_complete_reverts_already_closed(manager, sid, agent, stranger):
    manager.complete(sid, sender=agent)
    with reverts(manager.SessionAlreadyClosed, id=sid):
        manager.close(sid, sender=stranger)


def test_close_reverts_for_unknown_id(manager, stranger):
    unknown = manager.sessionCount() + 7
    with reverts(manager.SessionNotFound, id=unknown):
        manager.close(unknown, sender=stranger)


def test_close_many_skips_closed_ones(manager, make_session, owner, agent, stranger):
    a = make_session(eth=10**17)
    b = make_session(eth=2 * 10**17)
    c = make_session(eth=3 * 10**17)
    manager.complete(a, sender=agent)
    manager.revoke(b, sender=owner)
    manager.revoke(c, sender=owner)
    before = owner.balance

    receipt = manager.closeMany([a, b, c, b], sender=stranger)

    assert owner.balance - before == 5 * 10**17
    assert_events(
        receipt,
        manager.SessionClosed,
        {"id": b, "by": stranger, "status": REVOKED},
        {"id": c, "by": stranger, "status": REVOKED},
    )
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": b, "token": NATIVE, "toSession": 0, "to": owner, "amount": 2 * 10**17},
        {"id": c, "token": NATIVE, "toSession": 0, "to": owner, "amount": 3 * 10**17},
    )
    assert manager.getSession(b).closed and manager.getSession(c).closed


def test_close_many_reverts_whole_batch_on_live_session(manager, make_session, owner, stranger):
    a = make_session(eth=10**17)
    live = make_session(eth=10**17)
    manager.revoke(a, sender=owner)
    with reverts(manager.SessionNotEnded, id=live, status=ACTIVE):
        manager.closeMany([a, live], sender=stranger)
    assert not manager.getSession(a).closed
    assert manager.remaining(a, NATIVE) == 10**17


def test_close_of_expired_session(manager, make_session, owner, agent, stranger, chain):
    sid = make_session(eth=ETHER, expiry=chain.blocks.head.timestamp + 1_000)
    with reverts(manager.SessionNotEnded, id=sid, status=ACTIVE):
        manager.close(sid, sender=stranger)
    warp(chain, 1_000)
    assert manager.statusOf(sid) == EXPIRED
    with reverts(manager.SessionNotActive, id=sid, status=EXPIRED):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    before = owner.balance

    receipt = manager.close(sid, sender=stranger)

    assert owner.balance - before == ETHER
    assert manager.statusOf(sid) == EXPIRED
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": stranger, "status": EXPIRED})
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": owner, "amount": ETHER},
    )


def test_close_of_idle_expired_session(manager, make_session, owner, agent, stranger, chain):
    sid = make_session(eth=ETHER, max_idle=600)
    manager.execute(sid, stranger, 1, b"", sender=agent)  # activity resets the idle clock
    warp(chain, 599)
    assert manager.statusOf(sid) == ACTIVE
    warp(chain, 1)
    assert manager.statusOf(sid) == EXPIRED
    receipt = manager.close(sid, sender=stranger)
    assert_events(receipt, manager.SessionClosed, {"id": sid, "by": stranger, "status": EXPIRED})
    assert manager.statusOf(sid) == EXPIRED


def test_close_after_revoke_all(manager, make_session, owner, stranger):
    a = make_session(eth=10**17)
    b = make_session(eth=2 * 10**17, draft=True)
    manager.revokeAll(sender=owner)
    before = owner.balance
    receipt = manager.closeMany([a, b], sender=stranger)
    assert owner.balance - before == 3 * 10**17
    assert_events(
        receipt,
        manager.SessionClosed,
        {"id": a, "by": stranger, "status": REVOKED},
        {"id": b, "by": stranger, "status": REVOKED},
    )


def test_close_child_of_live_parent_credits_parent(manager, sid, make_child, owner, sub_agent, stranger):
    child = make_child(sid, child_agent=sub_agent, eth=4 * 10**17)
    manager.revoke(child, sender=owner)
    before = manager.balance
    receipt = manager.close(child, sender=stranger)
    assert manager.remaining(sid, NATIVE) == ETHER
    assert manager.balance == before
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": child, "token": NATIVE, "toSession": sid, "to": ZERO_ADDRESS, "amount": 4 * 10**17},
    )
    assert_events(receipt, manager.SessionClosed, {"id": child, "by": stranger, "status": REVOKED})


def test_close_child_with_closed_parent_pays_root_recorded_holder(
    manager, sid, make_child, owner, agent, sub_agent, other, stranger
):
    child = make_child(sid, child_agent=sub_agent, eth=4 * 10**17)  # child token held by `agent`
    manager.transferFrom(owner, other, sid, sender=owner)  # root now held by `other`
    manager.revoke(sid, sender=other)
    root_receipt = manager.close(sid, sender=stranger)
    assert_events(
        root_receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": other, "amount": 6 * 10**17},
    )
    assert manager.statusOf(child) == REVOKED
    other_before, owner_before, agent_before = other.balance, owner.balance, agent.balance

    receipt = manager.close(child, sender=stranger)

    assert other.balance - other_before == 4 * 10**17
    assert owner.balance == owner_before
    assert agent.balance == agent_before  # not the child's own holder
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": child, "token": NATIVE, "toSession": 0, "to": other, "amount": 4 * 10**17},
    )
    assert_events(receipt, manager.SessionClosed, {"id": child, "by": stranger, "status": REVOKED})


def test_close_root_then_child_erc20_goes_to_recorded_holder(
    manager, make_session, make_child, token, owner, sub_agent, other, stranger
):
    sid = make_session(budgets=[(token, 1_000)])
    child = make_child(sid, child_agent=sub_agent, budgets=[(token, 400)])
    manager.transferFrom(owner, other, sid, sender=owner)
    manager.complete(sid, sender=other)  # settles the root at once: 600 to `other`
    before = token.balanceOf(other)
    manager.close(child, sender=stranger)
    assert token.balanceOf(other) - before == 400


# ----------------------------------------------------------------------------------------------------------
# revokeAll
# ----------------------------------------------------------------------------------------------------------


def test_revoke_all_bumps_epoch_and_revokes_every_session(
    manager, make_session, make_child, owner, agent, sub_agent, stranger
):
    active = make_session(eth=ETHER)
    paused = make_session(eth=10**17)
    draft = make_session(eth=10**17, draft=True)
    child = make_child(active, child_agent=sub_agent, eth=10**17)
    manager.pause(paused, sender=owner)
    assert manager.globalState() == (0, False)

    receipt = manager.revokeAll(sender=owner)

    assert_events(receipt, manager.AllRevoked, {"by": owner, "epoch": 1})
    assert manager.globalState() == (1, False)
    for sid in (active, paused, draft, child):
        assert manager.statusOf(sid) == REVOKED, sid
        assert manager.getSession(sid).epoch == 0
    with reverts(manager.SessionNotActive, id=active, status=REVOKED):
        manager.execute(active, stranger, 1, b"", sender=agent)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)
    with reverts(manager.SessionEnded, id=paused, status=REVOKED):
        manager.resume(paused, sender=owner)
    with reverts(manager.SessionEnded, id=draft, status=REVOKED):
        manager.activate(draft, sender=owner)
    # the escrow stays until close
    assert manager.remaining(active, NATIVE) == ETHER - 10**17


def test_sessions_created_after_revoke_all_work(manager, make_session, make_child, owner, agent, sub_agent, stranger):
    old = make_session(eth=ETHER)
    manager.revokeAll(sender=owner)
    manager.revokeAll(sender=owner)
    assert manager.globalState() == (2, False)
    new = make_session(eth=ETHER)
    assert manager.getSession(new).epoch == 2
    assert manager.statusOf(new) == ACTIVE
    before = stranger.balance
    manager.execute(new, stranger, 100, b"", sender=agent)
    assert stranger.balance - before == 100
    child = make_child(new, child_agent=sub_agent, eth=10**17)
    assert manager.getSession(child).epoch == 2
    manager.execute(child, stranger, 100, b"", sender=sub_agent)
    assert manager.statusOf(old) == REVOKED


# ----------------------------------------------------------------------------------------------------------
# pauseAll / unpauseAll
# ----------------------------------------------------------------------------------------------------------


def test_pause_all_pauses_everything_then_unpause_all_restores(
    manager, make_session, make_child, owner, agent, sub_agent, stranger, params
):
    root = make_session(eth=ETHER)
    child = make_child(root, child_agent=sub_agent, eth=10**17)
    draft = make_session(eth=0, draft=True)
    paused_alone = make_session(eth=0)
    manager.pause(paused_alone, sender=owner)

    receipt = manager.pauseAll(sender=owner)
    assert_events(receipt, manager.AllPaused, {"by": owner})
    assert manager.globalState() == (0, True)
    assert manager.statusOf(root) == PAUSED
    assert manager.statusOf(child) == PAUSED
    assert manager.statusOf(draft) == DRAFT
    with reverts(manager.SessionNotActive, id=root, status=PAUSED):
        manager.execute(root, stranger, 1, b"", sender=agent)
    with reverts(manager.SessionNotActive, id=child, status=PAUSED):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)
    with reverts(manager.SessionNotActive, id=root, status=PAUSED):
        manager.spawnChild(root, params(stranger), sender=agent)
    # sessions opened during the stop are stopped too
    late = make_session(eth=0)
    assert manager.statusOf(late) == PAUSED

    receipt = manager.unpauseAll(sender=owner)
    assert_events(receipt, manager.AllUnpaused, {"by": owner})
    assert manager.globalState() == (0, False)
    assert manager.statusOf(root) == ACTIVE
    assert manager.statusOf(child) == ACTIVE
    assert manager.statusOf(late) == ACTIVE
    assert manager.statusOf(paused_alone) == PAUSED  # its own pause is not lifted
    before = stranger.balance
    manager.execute(root, stranger, 5, b"", sender=agent)
    manager.execute(child, stranger, 7, b"", sender=sub_agent)
    assert stranger.balance - before == 12


# ----------------------------------------------------------------------------------------------------------
# draft editing
# ----------------------------------------------------------------------------------------------------------


def test_draft_session_cannot_act(manager, draft_sid, agent, stranger, params):
    assert manager.statusOf(draft_sid) == DRAFT
    assert manager.userOf(draft_sid) == ZERO_ADDRESS
    with reverts(manager.SessionNotActive, id=draft_sid, status=DRAFT):
        manager.execute(draft_sid, stranger, 1, b"", sender=agent)
    with reverts(manager.SessionNotActive, id=draft_sid, status=DRAFT):
        manager.spawnChild(draft_sid, params(stranger), sender=agent)


def test_activate_emits_event_and_allows_execution(manager, make_session, owner, agent, target):
    sid = make_session(eth=ETHER, draft=True)
    receipt = manager.activate(sid, sender=owner)
    assert_events(receipt, manager.SessionActivated, {"id": sid, "by": owner})
    assert manager.statusOf(sid) == ACTIVE
    assert manager.userOf(sid) == agent
    manager.execute(sid, target, 0, ping_data(target), sender=agent)
    assert target.pings() == 1


def test_set_permissions_on_draft_defines_allowlist(manager, draft_sid, owner, agent, target, stranger):
    ping_sel = "0x" + bytes(target.ping.encode_input())[:4].hex()
    other_sel = "0x" + bytes(target.other.encode_input())[:4].hex()
    receipt = manager.setPermissions(
        draft_sid, [(target.address, ping_sel), (stranger.address, "0x00000000")], True, sender=owner
    )
    assert_events(
        receipt,
        manager.PermissionSet,
        {"id": draft_sid, "target": target, "selector": ping_sel, "allowed": True},
        {"id": draft_sid, "target": stranger, "selector": "0x00000000", "allowed": True},
    )
    assert manager.isAllowed(draft_sid, target, ping_sel)
    assert not manager.isAllowed(draft_sid, target, other_sel)
    receipt = manager.setPermissions(draft_sid, [(stranger.address, "0x00000000")], False, sender=owner)
    assert_events(
        receipt,
        manager.PermissionSet,
        {"id": draft_sid, "target": stranger, "selector": "0x00000000", "allowed": False},
    )
    assert not manager.isAllowed(draft_sid, stranger, "0x00000000")

    manager.activate(draft_sid, sender=owner)
    manager.execute(draft_sid, target, 0, ping_data(target), sender=agent)
    with reverts(manager.TargetNotAllowed, id=draft_sid, target=target, selector=other_sel):
        manager.execute(draft_sid, target, 0, bytes(target.other.encode_input()), sender=agent)
    with reverts(manager.TargetNotAllowed, id=draft_sid, target=stranger, selector="0x00000000"):
        manager.execute(draft_sid, stranger, 1, b"", sender=agent)


def test_set_any_target_on_draft(manager, draft_sid, owner, agent, stranger):
    receipt = manager.setAnyTarget(draft_sid, True, sender=owner)
    assert_events(receipt, manager.AnyTargetSet, {"id": draft_sid, "allowed": True})
    assert manager.getSession(draft_sid).anyTarget
    manager.activate(draft_sid, sender=owner)
    before = stranger.balance
    manager.execute(draft_sid, stranger, 9, b"", sender=agent)
    assert stranger.balance - before == 9


def test_add_guard_on_draft(manager, draft_sid, owner, guard):
    receipt = manager.addGuard(draft_sid, guard, sender=owner)
    assert_events(receipt, manager.GuardAdded, {"id": draft_sid, "guard": guard})
    assert [g.lower() for g in manager.guardsOf(draft_sid)] == [guard.address.lower()]


def test_update_timing_on_draft(manager, draft_sid, owner):
    receipt = manager.updateTiming(draft_sid, 3_600, 86_400, 10, sender=owner)
    assert_events(
        receipt,
        manager.TimingUpdated,
        {"id": draft_sid, "maxIdle": 3_600, "period": 86_400, "maxCallsPerPeriod": 10},
    )
    info = manager.getSession(draft_sid)
    assert (info.maxIdle, info.period, info.maxCallsPerPeriod) == (3_600, 86_400, 10)


def _draft_edit(name, manager, sid, owner, target, guard):
    return {
        "activate": lambda: manager.activate(sid, sender=owner),
        "setPermissions": lambda: manager.setPermissions(sid, [(target.address, ANY_SELECTOR)], True, sender=owner),
        "setAnyTarget": lambda: manager.setAnyTarget(sid, True, sender=owner),
        "addGuard": lambda: manager.addGuard(sid, guard, sender=owner),
        "updateTiming": lambda: manager.updateTiming(sid, 0, 3_600, 0, sender=owner),
    }[name]


DRAFT_EDITS = ["activate", "setPermissions", "setAnyTarget", "addGuard", "updateTiming"]


@pytest.mark.parametrize("edit", DRAFT_EDITS)
def test_draft_edit_reverts_once_active(manager, make_session, owner, target, guard, edit):
    sid = make_session(eth=0, any_target=False)
    with reverts(manager.SessionNotDraft, id=sid, status=ACTIVE):
        _draft_edit(edit, manager, sid, owner, target, guard)()


@pytest.mark.parametrize("edit", DRAFT_EDITS)
def test_draft_edit_reverts_after_activation(manager, draft_sid, owner, target, guard, edit):
    manager.activate(draft_sid, sender=owner)
    with reverts(manager.SessionNotDraft, id=draft_sid, status=ACTIVE):
        _draft_edit(edit, manager, draft_sid, owner, target, guard)()


@pytest.mark.parametrize("edit", DRAFT_EDITS)
def test_draft_edit_reverts_when_paused(manager, make_session, owner, target, guard, edit):
    sid = make_session(eth=0, any_target=False)
    manager.pause(sid, sender=owner)
    with reverts(manager.SessionNotDraft, id=sid, status=PAUSED):
        _draft_edit(edit, manager, sid, owner, target, guard)()


@pytest.mark.parametrize("edit", DRAFT_EDITS)
def test_draft_edit_reverts_when_revoked(manager, draft_sid, owner, target, guard, edit):
    manager.revoke(draft_sid, sender=owner)
    with reverts(manager.SessionEnded, id=draft_sid, status=REVOKED):
        _draft_edit(edit, manager, draft_sid, owner, target, guard)()


def test_activation_starts_the_idle_clock(manager, make_session, owner, agent, stranger, chain):
    sid = make_session(eth=ETHER, draft=True)
    manager.updateTiming(sid, 1_000, 0, 0, sender=owner)
    warp(chain, 900)
    manager.activate(sid, sender=owner)
    warp(chain, 900)
    assert manager.statusOf(sid) == ACTIVE  # 1,800 s since the draft was written, 900 s since activation
    manager.execute(sid, stranger, 1, b"", sender=agent)


# ----------------------------------------------------------------------------------------------------------
# updateLimits / updateExpiry / rotateAgent
# ----------------------------------------------------------------------------------------------------------


def test_update_limits_sets_per_call_cap(manager, sid, owner, agent, stranger):
    receipt = manager.updateLimits(sid, NATIVE, 10**17, 0, sender=owner)
    assert_events(
        receipt,
        manager.LimitsUpdated,
        {"id": sid, "token": NATIVE, "perCallCap": 10**17, "periodAllowance": 0},
    )
    assert manager.getBudget(sid, NATIVE).perCallCap == 10**17
    manager.execute(sid, stranger, 10**17, b"", sender=agent)
    with reverts(manager.PerCallCapExceeded, id=sid, token=NATIVE, requested=10**17 + 1, cap=10**17):
        manager.execute(sid, stranger, 10**17 + 1, b"", sender=agent)
    # lifting the cap again
    manager.updateLimits(sid, NATIVE, 0, 0, sender=owner)
    manager.execute(sid, stranger, 5 * 10**17, b"", sender=agent)


def test_update_limits_period_allowance(manager, make_session, owner, agent, stranger, chain):
    sid = make_session(eth=ETHER, period=DAY)
    manager.updateLimits(sid, NATIVE, 0, 3 * 10**17, sender=owner)
    manager.execute(sid, stranger, 2 * 10**17, b"", sender=agent)
    with reverts(
        manager.PeriodAllowanceExceeded, id=sid, token=NATIVE, requested=2 * 10**17, remaining=10**17
    ):
        manager.execute(sid, stranger, 2 * 10**17, b"", sender=agent)


def test_update_limits_allowance_requires_period(manager, sid, owner):
    with reverts(manager.PeriodRequired):
        manager.updateLimits(sid, NATIVE, 0, 10**17, sender=owner)


def test_update_limits_on_paused_session(manager, sid, owner):
    manager.pause(sid, sender=owner)
    manager.updateLimits(sid, NATIVE, 5, 0, sender=owner)
    assert manager.getBudget(sid, NATIVE).perCallCap == 5


def test_update_expiry_moves_expiry(manager, sid, owner, agent, stranger, chain):
    new_expiry = chain.blocks.head.timestamp + 500
    receipt = manager.updateExpiry(sid, new_expiry, sender=owner)
    assert_events(receipt, manager.ExpiryUpdated, {"id": sid, "expiry": new_expiry})
    assert_events(receipt, manager.UpdateUser, {"tokenId": sid, "user": agent, "expires": new_expiry})
    assert manager.getSession(sid).expiry == new_expiry
    assert manager.userExpires(sid) == new_expiry
    warp(chain, 500)
    assert manager.statusOf(sid) == EXPIRED
    with reverts(manager.SessionNotActive, id=sid, status=EXPIRED):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_update_expiry_extends_life(manager, make_session, owner, agent, stranger, chain):
    start = chain.blocks.head.timestamp
    sid = make_session(expiry=start + 1_000)
    manager.updateExpiry(sid, start + 5_000, sender=owner)
    warp(chain, 2_000)
    assert manager.statusOf(sid) == ACTIVE
    manager.execute(sid, stranger, 1, b"", sender=agent)


def test_update_expiry_in_past_reverts(manager, sid, owner, chain):
    chain.pending_timestamp = chain.blocks.head.timestamp + 10
    now = chain.pending_timestamp
    with reverts(manager.ExpiryInPast, expiry=now, nowTs=now):
        manager.updateExpiry(sid, now, sender=owner)


def test_update_expiry_past_32_bits_reverts_expiry_too_late(manager, sid, owner):
    with reverts(manager.ExpiryTooLate, expiry=2**32, latest=2**32 - 1):
        manager.updateExpiry(sid, 2**32, sender=owner)
    manager.updateExpiry(sid, 2**32 - 1, sender=owner)
    assert manager.getSession(sid).expiry == 2**32 - 1


def test_rotate_agent_swaps_the_key(manager, sid, owner, agent, new_agent, stranger):
    receipt = manager.rotateAgent(sid, new_agent, sender=owner)
    assert_events(
        receipt, manager.AgentRotated, {"id": sid, "previousAgent": agent, "newAgent": new_agent}
    )
    expiry = manager.getSession(sid).expiry
    assert_events(receipt, manager.UpdateUser, {"tokenId": sid, "user": new_agent, "expires": expiry})
    assert manager.getSession(sid).agent == new_agent
    assert manager.userOf(sid) == new_agent
    # the old key fails in the very next transaction
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.checkpoint(sid, b"\x02" * 32, 1, sender=agent)
    before = stranger.balance
    manager.execute(sid, stranger, 11, b"", sender=new_agent)
    assert stranger.balance - before == 11


def test_rotate_agent_to_zero_reverts(manager, sid, owner):
    with reverts(manager.ZeroAgent):
        manager.rotateAgent(sid, ZERO_ADDRESS, sender=owner)


def test_rotate_agent_on_paused_session(manager, sid, owner, new_agent, stranger):
    manager.pause(sid, sender=owner)
    manager.rotateAgent(sid, new_agent, sender=owner)
    manager.resume(sid, sender=owner)
    manager.execute(sid, stranger, 1, b"", sender=new_agent)


# ----------------------------------------------------------------------------------------------------------
# control follows the session token
# ----------------------------------------------------------------------------------------------------------


def test_transferred_session_token_moves_control(manager, sid, owner, other, agent, stranger):
    manager.transferFrom(owner, other, sid, sender=owner)
    assert manager.isController(sid, other)
    assert not manager.isController(sid, owner)
    assert manager.getSession(sid).holder == other

    with reverts(manager.NotController, id=sid, caller=owner):
        manager.pause(sid, sender=owner)
    receipt = manager.pause(sid, sender=other)
    assert_events(receipt, manager.SessionPaused, {"id": sid, "by": other})
    with reverts(manager.NotController, id=sid, caller=owner):
        manager.resume(sid, sender=owner)
    with reverts(manager.NotController, id=sid, caller=owner):
        manager.revoke(sid, sender=owner)
    manager.resume(sid, sender=other)
    # the agent keeps acting; the new holder is paid on completion
    manager.execute(sid, stranger, 1, b"", sender=agent)
    before = other.balance
    manager.complete(sid, sender=agent)
    assert other.balance - before == ETHER - 1


def test_transferred_token_moves_control_of_children(manager, sid, make_child, owner, other, sub_agent):
    child = make_child(sid, child_agent=sub_agent, eth=10**17, sender=owner)
    manager.transferFrom(owner, other, sid, sender=owner)
    # `owner` still holds the child token itself, so it still controls the child; `other` does via the root
    assert manager.isController(child, owner)
    assert manager.isController(child, other)
    manager.pause(child, sender=other)
    assert manager.statusOf(child) == PAUSED


def test_close_pays_a_holder_that_rejects_eth(manager, sid, owner, token, stranger):
    """No stranded funds: a root held by a contract without receive() is still paid (forced transfer)."""
    manager.transferFrom(owner, token, sid, sender=owner)  # an ERC-20 contract: it rejects plain ETH
    assert not manager.isController(sid, owner)
    # the holder (a contract) cannot revoke, but the session can still end by expiry or revokeAll
    manager.revokeAll(sender=owner)
    before = token.balance
    receipt = manager.close(sid, sender=stranger)
    assert token.balance - before == ETHER
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": sid, "token": NATIVE, "toSession": 0, "to": token, "amount": ETHER},
    )
