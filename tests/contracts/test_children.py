"""Child sessions: budget reservation, expiry cap, allowlist subset, depth cap, who may spawn, cascading
revocation / pause / expiry through ancestors, funds flowing back up the tree, ancestors' guards, batches.

Every revert asserts the exact custom error with all of its arguments (`reverts` below fails on a different
error type and on any argument left unasserted).
"""

from __future__ import annotations


import pytest
from eth_abi import encode
from eth_utils import keccak

from tests.conftest import (
    ACTIVE,
    ANY_SELECTOR,
    DRAFT,
    ETHER,
    NATIVE,
    PAUSED,
    REVOKED,
    ZERO_ADDRESS,
)
from tests.helpers import assert_events, eth_spent_by_events, events, norm as _norm, reverts

# conftest's `params`: one default expiry per test, so a child opened later never outlives its parent
FIXED_DEFAULT_EXPIRY = True

MAX_DEPTH = 8
EMPTY_SELECTOR = "0x00000000"

# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


def error_data(signature: str, *args) -> bytes:
    """ABI-encoded custom error, e.g. error_data("Denied(address)", addr)."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return keccak(text=signature)[:4] + encode(types, [_norm(a) if hasattr(a, "address") else a for a in args])


def warp(chain, seconds: int):
    """Mines a block `seconds` after the head, so views see the new time too."""
    chain.mine(timestamp=chain.blocks.head.timestamp + seconds)


def selector(method) -> str:
    return "0x" + bytes(method.encode_input())[:4].hex()


def created_id(receipt, manager) -> int:
    return receipt.events.filter(manager.SessionCreated)[0].id


# ----------------------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def grand_agent(accounts):
    return accounts[5]


@pytest.fixture
def root(make_session, token):
    """Root (token held by the owner, agent `agent`) with 1 ETH and 1,000 TUSD, any target."""
    return make_session(budgets=[(NATIVE, ETHER), (token, 1_000)])


@pytest.fixture
def tree(manager, root, make_child, sub_agent, grand_agent):
    """root -> child (agent sub_agent, token held by `agent`) -> grandchild (agent grand_agent, token held by
    sub_agent). Budgets: root 1 ETH, child 0.4 ETH reserved out of it, grandchild 0.1 ETH out of the child."""
    child = make_child(root, child_agent=sub_agent, eth=4 * 10**17)
    grandchild = make_child(child, child_agent=grand_agent, eth=10**17, sender=sub_agent)
    return root, child, grandchild


# ----------------------------------------------------------------------------------------------------------
# budget reservation
# ----------------------------------------------------------------------------------------------------------


def test_spawn_reserves_budget_out_of_parent(manager, root, token, agent, sub_agent, params):
    eth_before, tok_before = manager.balance, token.balanceOf(manager)
    p = params(sub_agent, budgets=[(NATIVE, 3 * 10**17), (token, 400)], label=b"worker")
    receipt = manager.spawnChild(root, p, sender=agent)
    child = created_id(receipt, manager)

    assert manager.remaining(root, NATIVE) == 7 * 10**17
    assert manager.remaining(root, token) == 600
    assert manager.remaining(child, NATIVE) == 3 * 10**17
    assert manager.remaining(child, token) == 400
    # a reservation moves nothing in or out of the manager
    assert manager.balance == eth_before
    assert token.balanceOf(manager) == tok_before
    info = manager.getSession(child)
    assert (info.parentId, info.depth, info.agent, info.holder) == (root, 1, sub_agent.address, agent.address)
    assert_events(
        receipt,
        manager.SessionCreated,
        {
            "id": child,
            "parentId": root,
            "agent": sub_agent,
            "holder": agent,
            "expiry": p[1],
            "label": b"worker".ljust(32, b"\x00"),
            "status": ACTIVE,
        },
    )
    assert_events(
        receipt,
        manager.SessionFunded,
        {"id": child, "token": NATIVE, "from": ZERO_ADDRESS, "amount": 3 * 10**17},
        {"id": child, "token": token, "from": ZERO_ADDRESS, "amount": 400},
    )


def test_spawn_reverts_when_eth_exceeds_parent_available(manager, root, make_child, agent, sub_agent, params):
    make_child(root, child_agent=sub_agent, eth=7 * 10**17)
    with reverts(manager.BudgetExceeded, id=root, token=NATIVE, requested=3 * 10**17 + 1, remaining=3 * 10**17):
        manager.spawnChild(root, params(sub_agent, eth=3 * 10**17 + 1), sender=agent)
    # exactly what is left is fine
    make_child(root, child_agent=sub_agent, eth=3 * 10**17)
    assert manager.remaining(root, NATIVE) == 0


def test_spawn_reverts_when_erc20_exceeds_parent_available(manager, root, token, agent, sub_agent, params):
    with reverts(manager.BudgetExceeded, id=root, token=token, requested=1_001, remaining=1_000):
        manager.spawnChild(root, params(sub_agent, budgets=[(token, 1_001)]), sender=agent)


def test_spawn_reverts_for_token_parent_lacks(manager, root, token_b, agent, sub_agent, params):
    with reverts(manager.NoBudgetRow, id=root, token=token_b):
        manager.spawnChild(root, params(sub_agent, budgets=[(token_b, 1)]), sender=agent)
    # an empty row counts too: a child's rows are a subset of its parent's
    with reverts(manager.NoBudgetRow, id=root, token=token_b):
        manager.spawnChild(root, params(sub_agent, budgets=[(token_b, 0)]), sender=agent)


def test_parent_cannot_spend_what_child_reserved(manager, root, make_child, agent, sub_agent, stranger):
    make_child(root, child_agent=sub_agent, eth=9 * 10**17)
    with reverts(manager.BudgetExceeded, id=root, token=NATIVE, requested=2 * 10**17, remaining=10**17):
        manager.execute(root, stranger, 2 * 10**17, b"", sender=agent)


def test_child_spends_its_own_reservation_only(manager, root, make_child, sub_agent, stranger):
    child = make_child(root, child_agent=sub_agent, eth=10**17)
    before = stranger.balance
    manager.execute(child, stranger, 10**17, b"", sender=sub_agent)
    assert stranger.balance - before == 10**17
    with reverts(manager.BudgetExceeded, id=child, token=NATIVE, requested=1, remaining=0):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)
    assert manager.remaining(root, NATIVE) == 9 * 10**17
    assert eth_spent_by_events(manager, child) == 10**17
    assert eth_spent_by_events(manager, root) == 0


def test_fund_child_moves_parent_available(manager, root, make_child, agent, sub_agent):
    child = make_child(root, child_agent=sub_agent, eth=10**17)
    receipt = manager.fund(child, NATIVE, 2 * 10**17, sender=agent)
    assert manager.remaining(root, NATIVE) == 7 * 10**17
    assert manager.remaining(child, NATIVE) == 3 * 10**17
    assert_events(
        receipt,
        manager.SessionFunded,
        {"id": child, "token": NATIVE, "from": ZERO_ADDRESS, "amount": 2 * 10**17},
    )
    with reverts(manager.BudgetExceeded, id=root, token=NATIVE, requested=8 * 10**17, remaining=7 * 10**17):
        manager.fund(child, NATIVE, 8 * 10**17, sender=agent)
    with reverts(manager.NoValueExpected, value=1):
        manager.fund(child, NATIVE, 1, value=1, sender=agent)


# ----------------------------------------------------------------------------------------------------------
# expiry cap
# ----------------------------------------------------------------------------------------------------------


def test_child_expiry_may_equal_parent(manager, root, make_child, sub_agent):
    parent_expiry = manager.getSession(root).expiry
    child = make_child(root, child_agent=sub_agent, expiry=parent_expiry)
    assert manager.getSession(child).expiry == parent_expiry


def test_child_expiry_beyond_parent_reverts(manager, root, agent, sub_agent, params):
    parent_expiry = manager.getSession(root).expiry
    with reverts(manager.ExpiryExceedsParent, parentId=root, expiry=parent_expiry + 1, parentExpiry=parent_expiry):
        manager.spawnChild(root, params(sub_agent, expiry=parent_expiry + 1), sender=agent)


def test_child_update_expiry_beyond_parent_reverts(manager, tree, agent):
    root, child, _ = tree
    parent_expiry = manager.getSession(root).expiry
    with reverts(manager.ExpiryExceedsParent, parentId=root, expiry=parent_expiry + 1, parentExpiry=parent_expiry):
        manager.updateExpiry(child, parent_expiry + 1, sender=agent)
    manager.updateExpiry(child, parent_expiry, sender=agent)


# ----------------------------------------------------------------------------------------------------------
# allowlist subset
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def narrow_root(make_session, target, stranger):
    """A root allowed only target.ping and plain payments to `stranger`."""
    return make_session(
        eth=ETHER,
        any_target=False,
        permissions=[(target, selector(target.ping)), (stranger, EMPTY_SELECTOR)],
    )


def test_child_may_take_a_subset_of_parent_permissions(manager, narrow_root, target, agent, sub_agent, params, stranger):
    p = params(sub_agent, eth=10**17, any_target=False, permissions=[(target, selector(target.ping))])
    child = created_id(manager.spawnChild(narrow_root, p, sender=agent), manager)
    manager.execute(child, target, 0, bytes(target.ping.encode_input()), sender=sub_agent)
    # the parent's other permission was not inherited
    with reverts(manager.TargetNotAllowed, id=child, target=stranger, selector=EMPTY_SELECTOR):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)


def test_child_selector_parent_lacks_reverts(manager, narrow_root, target, agent, sub_agent, params):
    other = selector(target.other)
    p = params(sub_agent, any_target=False, permissions=[(target, other)])
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=target, selector=other):
        manager.spawnChild(narrow_root, p, sender=agent)


def test_child_target_parent_lacks_reverts(manager, narrow_root, agent, sub_agent, other, params):
    p = params(sub_agent, any_target=False, permissions=[(other, EMPTY_SELECTOR)])
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=other, selector=EMPTY_SELECTOR):
        manager.spawnChild(narrow_root, p, sender=agent)


def test_child_any_target_under_narrow_parent_reverts(manager, narrow_root, agent, sub_agent, params):
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=ZERO_ADDRESS, selector=ANY_SELECTOR):
        manager.spawnChild(narrow_root, params(sub_agent, any_target=True), sender=agent)


def test_child_any_selector_under_exact_selector_parent_reverts(manager, narrow_root, target, agent, sub_agent, params):
    p = params(sub_agent, any_target=False, permissions=[(target, ANY_SELECTOR)])
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=target, selector=ANY_SELECTOR):
        manager.spawnChild(narrow_root, p, sender=agent)


def test_child_under_any_selector_parent_may_take_any_or_exact(manager, make_session, target, agent, sub_agent, params):
    parent = make_session(eth=ETHER, any_target=False, permissions=[(target, ANY_SELECTOR)])
    for perm in [(target, ANY_SELECTOR), (target, selector(target.other))]:
        p = params(sub_agent, any_target=False, permissions=[perm])
        child = created_id(manager.spawnChild(parent, p, sender=agent), manager)
        assert manager.isAllowed(child, perm[0], perm[1])


def test_child_under_any_target_parent_may_take_anything(manager, root, target, other, agent, sub_agent, params):
    p = params(sub_agent, any_target=True)
    child = created_id(manager.spawnChild(root, p, sender=agent), manager)
    assert manager.getSession(child).anyTarget
    p = params(sub_agent, any_target=False, permissions=[(other, EMPTY_SELECTOR), (target, ANY_SELECTOR)])
    manager.spawnChild(root, p, sender=agent)


def test_draft_child_edits_stay_within_parent(manager, narrow_root, target, agent, sub_agent, params):
    p = params(sub_agent, any_target=False, draft=True)
    child = created_id(manager.spawnChild(narrow_root, p, sender=agent), manager)
    assert manager.statusOf(child) == DRAFT
    other = selector(target.other)
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=target, selector=other):
        manager.setPermissions(child, [(target.address, other)], True, sender=agent)
    with reverts(manager.PermissionNotInParent, parentId=narrow_root, target=ZERO_ADDRESS, selector=ANY_SELECTOR):
        manager.setAnyTarget(child, True, sender=agent)
    manager.setPermissions(child, [(target.address, selector(target.ping))], True, sender=agent)
    manager.activate(child, sender=agent)
    manager.execute(child, target, 0, bytes(target.ping.encode_input()), sender=sub_agent)


# ----------------------------------------------------------------------------------------------------------
# depth cap
# ----------------------------------------------------------------------------------------------------------


def test_spawn_eight_levels_deep_then_ninth_reverts(manager, root, make_child, sub_agent, params, stranger):
    ids = [root]
    sender = None  # the root's agent spawns level 1, then sub_agent (each level's agent) the next
    for level in range(1, MAX_DEPTH + 1):
        ids.append(make_child(ids[-1], child_agent=sub_agent, eth=10**16, sender=sender))
        sender = sub_agent
        assert manager.getSession(ids[-1]).depth == level
    deepest = ids[-1]
    assert manager.getSession(deepest).parentId == ids[-2]
    manager.execute(deepest, stranger, 10**16, b"", sender=sub_agent)
    with reverts(manager.DepthExceeded, parentId=deepest, maxDepth=MAX_DEPTH):
        manager.spawnChild(deepest, params(sub_agent), sender=sub_agent)


# ----------------------------------------------------------------------------------------------------------
# who may spawn; who gets the token
# ----------------------------------------------------------------------------------------------------------


def test_parent_agent_spawns_and_holds_the_child(manager, root, agent, sub_agent, params):
    child = created_id(manager.spawnChild(root, params(sub_agent), sender=agent), manager)
    assert manager.ownerOf(child) == agent
    assert manager.isController(child, agent)
    assert not manager.isController(root, agent)


def test_root_holder_spawns_and_holds_the_child(manager, root, owner, sub_agent, params):
    child = created_id(manager.spawnChild(root, params(sub_agent), sender=owner), manager)
    assert manager.ownerOf(child) == owner


def test_ancestor_holder_spawns_grandchild(manager, tree, owner, stranger, params):
    _, child, _ = tree
    gc = created_id(manager.spawnChild(child, params(stranger), sender=owner), manager)
    assert manager.ownerOf(gc) == owner
    assert manager.getSession(gc).depth == 2


def test_stranger_cannot_spawn(manager, root, stranger, params):
    with reverts(manager.NotAgentOrController, id=root, caller=stranger):
        manager.spawnChild(root, params(stranger), sender=stranger)


def test_child_agent_cannot_spawn_under_parent(manager, tree, sub_agent, params):
    root, _, _ = tree
    with reverts(manager.NotAgentOrController, id=root, caller=sub_agent):
        manager.spawnChild(root, params(sub_agent), sender=sub_agent)


def test_spawn_with_zero_agent_reverts(manager, root, agent, params):
    with reverts(manager.ZeroAgent):
        manager.spawnChild(root, params(ZERO_ADDRESS), sender=agent)


# ----------------------------------------------------------------------------------------------------------
# cascade through ancestors
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ended", ["root", "child"])
def test_revoking_an_ancestor_stops_grandchild(manager, tree, owner, grand_agent, stranger, params, ended):
    root, child, gc = tree
    manager.revoke(root if ended == "root" else child, sender=owner)
    assert manager.statusOf(gc) == REVOKED
    assert manager.userOf(gc) == ZERO_ADDRESS
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.transferToken(gc, NATIVE, stranger, 1, sender=grand_agent)
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.spawnChild(gc, params(stranger), sender=grand_agent)
    if ended == "child":
        assert manager.statusOf(root) == ACTIVE


@pytest.mark.parametrize("paused", ["root", "child"])
def test_pausing_an_ancestor_pauses_grandchild_until_resumed(
    manager, tree, owner, grand_agent, stranger, params, paused
):
    root, child, gc = tree
    ancestor = root if paused == "root" else child
    manager.pause(ancestor, sender=owner)
    assert manager.statusOf(gc) == PAUSED
    with reverts(manager.SessionNotActive, id=gc, status=PAUSED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)
    with reverts(manager.SessionNotActive, id=gc, status=PAUSED):
        manager.spawnChild(gc, params(stranger), sender=grand_agent)

    manager.resume(ancestor, sender=owner)
    assert manager.statusOf(gc) == ACTIVE
    before = stranger.balance
    manager.execute(gc, stranger, 3, b"", sender=grand_agent)
    assert stranger.balance - before == 3


def test_revoked_ancestor_dominates_paused_one(manager, tree, owner, grand_agent, stranger):
    root, child, gc = tree
    manager.pause(child, sender=owner)
    manager.revoke(root, sender=owner)
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)


@pytest.mark.parametrize("expired", ["root", "child"])
def test_ancestor_expiring_by_time_stops_grandchild(manager, tree, owner, grand_agent, stranger, chain, expired):
    root, child, gc = tree
    ancestor = root if expired == "root" else child
    manager.updateExpiry(ancestor, chain.blocks.head.timestamp + 100, sender=owner)
    manager.execute(gc, stranger, 1, b"", sender=grand_agent)
    warp(chain, 100)
    assert manager.statusOf(gc) == REVOKED
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)


def test_ancestor_idle_timeout_stops_grandchild(manager, make_session, make_child, sub_agent, grand_agent, stranger, chain):
    root = make_session(eth=ETHER, max_idle=1_000)
    child = make_child(root, child_agent=sub_agent, eth=10**17)
    gc = make_child(child, child_agent=grand_agent, eth=10**16, sender=sub_agent)
    manager.execute(gc, stranger, 1, b"", sender=grand_agent)
    warp(chain, 1_000)
    assert manager.statusOf(root) == 6  # Expired (idle)
    assert manager.statusOf(gc) == REVOKED
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)


def test_completing_an_ancestor_stops_grandchild(manager, tree, agent, grand_agent, stranger):
    root, child, gc = tree
    manager.complete(child, sender=agent)
    with reverts(manager.SessionNotActive, id=gc, status=REVOKED):
        manager.execute(gc, stranger, 1, b"", sender=grand_agent)


# ----------------------------------------------------------------------------------------------------------
# funds flow back up on close
# ----------------------------------------------------------------------------------------------------------


def test_closing_child_returns_unspent_to_parent(manager, tree, owner, sub_agent, stranger):
    root, child, gc = tree
    manager.execute(child, stranger, 5 * 10**16, b"", sender=sub_agent)
    manager.revoke(child, sender=owner)
    before = manager.balance
    receipt = manager.close(child, sender=stranger)
    # child had 0.4 - 0.1 (grandchild) - 0.05 (spent) = 0.25 of its own
    assert manager.remaining(root, NATIVE) == 6 * 10**17 + 25 * 10**16
    assert manager.remaining(child, NATIVE) == 0
    assert manager.balance == before
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": child, "token": NATIVE, "toSession": root, "to": ZERO_ADDRESS, "amount": 25 * 10**16},
    )


def test_grandchild_with_closed_parent_returns_to_grandparent(manager, tree, owner, stranger):
    root, child, gc = tree
    manager.revoke(child, sender=owner)
    manager.close(child, sender=stranger)
    assert manager.remaining(root, NATIVE) == 9 * 10**17
    receipt = manager.close(gc, sender=stranger)
    assert manager.remaining(root, NATIVE) == ETHER
    assert_events(
        receipt,
        manager.EscrowReturned,
        {"id": gc, "token": NATIVE, "toSession": root, "to": ZERO_ADDRESS, "amount": 10**17},
    )
    assert_events(receipt, manager.SessionClosed, {"id": gc, "by": stranger, "status": REVOKED})


@pytest.mark.parametrize("order", ["leaves_first", "root_first"])
def test_closing_a_whole_tree_pays_root_holder_everything_unspent(
    manager, tree, owner, grand_agent, stranger, order
):
    root, child, gc = tree
    manager.execute(gc, stranger, 10**16, b"", sender=grand_agent)
    manager.revoke(root, sender=owner)
    before = owner.balance
    ids = [gc, child, root] if order == "leaves_first" else [root, child, gc]
    manager.closeMany(ids, sender=stranger)
    assert owner.balance - before == ETHER - 10**16
    for sid in (root, child, gc):
        assert manager.getSession(sid).closed
        assert manager.remaining(sid, NATIVE) == 0


def test_child_erc20_returns_to_parent(manager, root, make_child, token, owner, sub_agent, stranger):
    child = make_child(root, child_agent=sub_agent, budgets=[(token, 300)])
    manager.transferToken(child, token, stranger, 100, sender=sub_agent)
    manager.revoke(child, sender=owner)
    manager.close(child, sender=stranger)
    assert manager.remaining(root, token) == 900


# ----------------------------------------------------------------------------------------------------------
# guards of ancestors
# ----------------------------------------------------------------------------------------------------------


def test_ancestor_guard_applies_to_descendants(manager, make_session, make_child, guard, owner, sub_agent, grand_agent, other, stranger):
    guard.setDenied([other.address], True, sender=owner)
    root = make_session(eth=ETHER, guards=[guard])
    child = make_child(root, child_agent=sub_agent, eth=2 * 10**17)
    gc = make_child(child, child_agent=grand_agent, eth=10**17, sender=sub_agent)
    denied = error_data("Denied(address)", other.address)
    with reverts(manager.GuardRejected, id=child, guard=guard, reason=denied):
        manager.execute(child, other, 1, b"", sender=sub_agent)
    with reverts(manager.GuardRejected, id=gc, guard=guard, reason=denied):
        manager.execute(gc, other, 1, b"", sender=grand_agent)
    with reverts(manager.GuardRejected, id=gc, guard=guard, reason=denied):
        manager.transferToken(gc, NATIVE, other, 1, sender=grand_agent)
    # everyone else is still reachable
    manager.execute(gc, stranger, 1, b"", sender=grand_agent)
    assert manager.guardsOf(gc) == []


def test_child_guard_does_not_bind_parent(manager, root, agent, sub_agent, guard, owner, other, params):
    guard.setDenied([other.address], True, sender=owner)
    p = params(sub_agent, eth=10**17, guards=[guard])
    child = created_id(manager.spawnChild(root, p, sender=agent), manager)
    with reverts(manager.GuardRejected, id=child, guard=guard, reason=error_data("Denied(address)", other.address)):
        manager.execute(child, other, 1, b"", sender=sub_agent)
    before = other.balance
    manager.execute(root, other, 1, b"", sender=agent)
    assert other.balance - before == 1


# ----------------------------------------------------------------------------------------------------------
# spawnChildren
# ----------------------------------------------------------------------------------------------------------


def test_spawn_children_batch(manager, root, token, agent, sub_agent, grand_agent, params):
    batch = [
        params(sub_agent, eth=10**17),
        params(grand_agent, budgets=[(NATIVE, 2 * 10**17), (token, 50)]),
        params(sub_agent, eth=0, draft=True),
    ]
    first = manager.sessionCount() + 1
    receipt = manager.spawnChildren(root, batch, sender=agent)
    created = events(receipt, manager.SessionCreated)
    assert [e["id"] for e in created] == [first, first + 1, first + 2]
    assert [e["parentId"] for e in created] == [root] * 3
    assert [e["status"] for e in created] == [ACTIVE, ACTIVE, DRAFT]
    assert all(manager.ownerOf(i) == agent for i in range(first, first + 3))
    assert manager.remaining(root, NATIVE) == 7 * 10**17
    assert manager.remaining(root, token) == 950
    assert manager.remaining(first + 1, token) == 50


def test_spawn_children_over_budget_reverts_whole_batch(manager, root, agent, sub_agent, params):
    count = manager.sessionCount()
    batch = [params(sub_agent, eth=4 * 10**17), params(sub_agent, eth=4 * 10**17), params(sub_agent, eth=4 * 10**17)]
    with reverts(manager.BudgetExceeded, id=root, token=NATIVE, requested=4 * 10**17, remaining=2 * 10**17):
        manager.spawnChildren(root, batch, sender=agent)
    assert manager.sessionCount() == count
    assert manager.remaining(root, NATIVE) == ETHER


def test_spawn_children_by_stranger_reverts(manager, root, stranger, params):
    with reverts(manager.NotAgentOrController, id=root, caller=stranger):
        manager.spawnChildren(root, [params(stranger)], sender=stranger)


def test_guard_added_to_a_draft_child_binds_its_later_children(
    manager, root, guard, owner, agent, sub_agent, grand_agent, other, params
):
    guard.setDenied([other.address], True, sender=owner)
    child = created_id(manager.spawnChild(root, params(sub_agent, eth=2 * 10**17, draft=True), sender=agent), manager)
    manager.addGuard(child, guard, sender=agent)
    manager.activate(child, sender=agent)
    gc = created_id(manager.spawnChild(child, params(grand_agent, eth=10**17), sender=sub_agent), manager)
    with reverts(manager.GuardRejected, id=gc, guard=guard, reason=error_data("Denied(address)", other.address)):
        manager.execute(gc, other, 1, b"", sender=grand_agent)
    # the root, above the guard, is not bound by it
    manager.execute(root, other, 1, b"", sender=agent)


def test_child_idle_timeout_does_not_touch_parent(manager, root, make_child, agent, sub_agent, stranger, chain):
    child = make_child(root, child_agent=sub_agent, eth=10**17, max_idle=500)
    warp(chain, 500)
    assert manager.statusOf(child) == 6  # Expired
    assert manager.statusOf(root) == ACTIVE
    with reverts(manager.SessionNotActive, id=child, status=6):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)
    manager.execute(root, stranger, 1, b"", sender=agent)
