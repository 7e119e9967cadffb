"""Opening sessions: createSession / createSessions, fund() for roots and children, and the factory
(deployManager, predictManager, managersOf, isManager, initialize)."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from tests.conftest import (
    ACTIVE,
    DAY,
    DRAFT,
    ETHER,
    NATIVE,
    REVOKED,
    ZERO_ADDRESS,
)
from tests.helpers import event_args, expect

ZERO_BYTES32 = b"\x00" * 32
FEE_BPS = 100  # the fee token burns 1% of every transfer

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def created_ids(manager, receipt) -> list[int]:
    return [log.id for log in receipt.events.filter(manager.SessionCreated)]


def label32(text: bytes) -> bytes:
    return text.ljust(32, b"\x00")


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fee_token(project, owner, manager):
    """A token that burns 1% of every transfer (configurable: setFeeBps, setBonus)."""
    t = project.FeeToken.deploy(sender=owner)
    t.mint(owner, 10**30, sender=owner)
    t.approve(manager, 2**256 - 1, sender=owner)
    t.setFeeBps(FEE_BPS, sender=owner)
    return t


@pytest.fixture(scope="session")
def guards(project, owner):
    """Five distinct guard contracts (the cap is four)."""
    return [project.DenylistGuard.deploy(owner, sender=owner) for _ in range(5)]


@pytest.fixture
def future(chain):
    """An expiry a day ahead."""
    return chain.pending_timestamp + DAY


@pytest.fixture
def spawn(manager, make_child):
    """`make_child` with the child's expiry equal to its parent's unless given (the conftest default, a
    day from the moment the child's params are built, can land a second after the parent's expiry)."""

    def make(parent, **kwargs):
        kwargs.setdefault("expiry", manager.getSession(parent).expiry)
        return make_child(parent, **kwargs)

    return make


def _create(manager, owner, p, value=None):
    if value is None:
        value = sum(b[1] for b in p[8] if b[0] == NATIVE)
    receipt = manager.createSession(p, value=value, sender=owner)
    return receipt, created_ids(manager, receipt)[0]


# --------------------------------------------------------------------------------------------------
# createSession: happy paths
# --------------------------------------------------------------------------------------------------


def test_create_session_escrows_exactly_the_eth_budget(manager, owner, agent, params):
    before = manager.balance
    _create(manager, owner, params(agent, eth=3 * ETHER))
    assert manager.balance - before == 3 * ETHER


def test_create_session_takes_exactly_the_eth_budget_plus_gas_from_the_owner(manager, owner, agent, params):
    before = owner.balance
    receipt, _ = _create(manager, owner, params(agent, eth=3 * ETHER))
    assert before - owner.balance == 3 * ETHER + receipt.total_fees_paid


def test_create_session_emits_created_funded_mint_and_user_events(manager, owner, agent, params, future):
    p = params(agent, eth=ETHER, expiry=future, label=b"worker")
    receipt, sid = _create(manager, owner, p)
    assert event_args(receipt, manager.SessionCreated) == [
        expect(sid, 0, agent, owner, future, label32(b"worker"), ACTIVE)
    ]
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, NATIVE, owner, ETHER)]
    assert event_args(receipt, manager.Transfer) == [expect(ZERO_ADDRESS, owner, sid)]
    assert event_args(receipt, manager.UpdateUser) == [expect(sid, agent, future)]


def test_create_session_mints_the_token_to_the_owner(manager, owner, agent, params):
    _, sid = _create(manager, owner, params(agent, eth=ETHER))
    assert manager.ownerOf(sid) == owner
    assert manager.balanceOf(owner) == 1


def test_create_session_returns_the_new_id(manager, owner, agent, params):
    p = params(agent, eth=ETHER)
    assert manager.createSession.call(p, value=ETHER, sender=owner) == 1
    receipt = manager.createSession(p, value=ETHER, sender=owner)
    assert receipt.return_value == 1
    assert manager.createSession(p, value=ETHER, sender=owner).return_value == 2


def test_create_session_increments_session_count(manager, owner, agent, params):
    assert manager.sessionCount() == 0
    _create(manager, owner, params(agent, eth=ETHER))
    _create(manager, owner, params(agent, eth=ETHER))
    assert manager.sessionCount() == 2


def test_create_session_eth_budget_is_readable(manager, owner, agent, params):
    p = params(agent, budgets=[(NATIVE, 5 * ETHER, ETHER, 2 * ETHER)], period=DAY)
    _, sid = _create(manager, owner, p)
    assert manager.getBudget(sid, NATIVE) == (NATIVE, 5 * ETHER, 0, ETHER, 2 * ETHER, 0)
    assert manager.remaining(sid, NATIVE) == 5 * ETHER
    assert manager.getSession(sid).budgets == [(NATIVE, 5 * ETHER, 0, ETHER, 2 * ETHER, 0)]


def test_create_session_pulls_exactly_the_erc20_budget(manager, owner, agent, params, token):
    manager_before, owner_before = token.balanceOf(manager), token.balanceOf(owner)
    _create(manager, owner, params(agent, budgets=[(token, 1_000)]))
    assert token.balanceOf(manager) - manager_before == 1_000
    assert owner_before - token.balanceOf(owner) == 1_000


def test_create_session_erc20_budget_is_readable(manager, owner, agent, params, token):
    p = params(agent, budgets=[(token, 1_000, 100, 500)], period=DAY)
    _, sid = _create(manager, owner, p)
    assert manager.getBudget(sid, token) == (token.address, 1_000, 0, 100, 500, 0)
    assert manager.remaining(sid, token) == 1_000
    info = manager.getSession(sid)
    assert [b.token for b in info.budgets] == [NATIVE, token.address]
    assert info.budgets[0] == (NATIVE, 0, 0, 0, 0, 0)
    assert info.budgets[1] == (token.address, 1_000, 0, 100, 500, 0)


def test_create_session_erc20_budget_emits_funded_and_token_transfer(manager, owner, agent, params, token):
    receipt, sid = _create(manager, owner, params(agent, budgets=[(token, 1_000)]))
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, token, owner, 1_000)]
    assert event_args(receipt, token.Transfer) == [expect(owner, manager, 1_000)]
    assert event_args(receipt, manager.Transfer) == [expect(ZERO_ADDRESS, owner, sid)]


def test_create_session_marks_erc20_as_escrow_token(manager, owner, agent, params, token):
    assert not manager.isEscrowToken(token)
    _create(manager, owner, params(agent, budgets=[(token, 1_000)]))
    assert manager.isEscrowToken(token)


def test_create_session_with_eth_and_erc20_budgets_escrows_both(manager, owner, agent, params, token):
    eth_before, token_before = manager.balance, token.balanceOf(manager)
    receipt, sid = _create(manager, owner, params(agent, budgets=[(NATIVE, ETHER), (token, 1_000)]))
    assert manager.balance - eth_before == ETHER
    assert token.balanceOf(manager) - token_before == 1_000
    assert manager.remaining(sid, NATIVE) == ETHER
    assert manager.remaining(sid, token) == 1_000
    assert event_args(receipt, manager.SessionFunded) == [
        expect(sid, NATIVE, owner, ETHER),
        expect(sid, token, owner, 1_000),
    ]


def test_create_session_with_two_erc20_budgets_lists_native_first_then_tokens_in_order(
    manager, owner, agent, params, token, token_b
):
    _, sid = _create(manager, owner, params(agent, budgets=[(token_b, 7), (token, 9)]))
    budgets = manager.getSession(sid).budgets
    assert [(b.token, b.available) for b in budgets] == [(NATIVE, 0), (token_b.address, 7), (token.address, 9)]


def test_create_session_without_budgets_needs_no_value(manager, owner, agent, params):
    receipt, sid = _create(manager, owner, params(agent, eth=0), value=0)
    assert event_args(receipt, manager.SessionFunded) == []
    assert manager.getSession(sid).budgets == [(NATIVE, 0, 0, 0, 0, 0)]


def test_create_session_with_zero_eth_budget_emits_funded_zero(manager, owner, agent, params):
    receipt, sid = _create(manager, owner, params(agent, budgets=[(NATIVE, 0)]), value=0)
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, NATIVE, owner, 0)]


def test_create_session_expiring_one_second_after_now_succeeds(manager, owner, agent, params, chain):
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    _, sid = _create(manager, owner, params(agent, eth=ETHER, expiry=now + 1))
    assert manager.statusOf(sid) == ACTIVE
    assert manager.getSession(sid).expiry == now + 1


def test_create_session_stores_timing(manager, owner, agent, params, chain):
    now = chain.pending_timestamp + 10
    chain.pending_timestamp = now
    _, sid = _create(manager, owner, params(agent, eth=ETHER, max_idle=600, period=3_600, max_calls=5))
    info = manager.getSession(sid)
    assert (info.maxIdle, info.period, info.maxCallsPerPeriod, info.callsInPeriod) == (600, 3_600, 5, 0)
    assert info.lastActive == now


def test_create_session_sets_permissions(manager, owner, agent, params, target):
    ping = target.ping.encode_input()[:4]
    p = params(agent, eth=ETHER, any_target=False, permissions=[(target, ping)])
    receipt, sid = _create(manager, owner, p)
    assert event_args(receipt, manager.PermissionSet) == [expect(sid, target, ping, True)]
    assert manager.isAllowed(sid, target, ping)
    assert not manager.isAllowed(sid, target, target.other.encode_input()[:4])
    assert not manager.getSession(sid).anyTarget


def test_create_session_attaches_four_guards(manager, owner, agent, params, guards):
    receipt, sid = _create(manager, owner, params(agent, eth=ETHER, guards=guards[:4]))
    assert manager.guardsOf(sid) == [g.address for g in guards[:4]]
    assert event_args(receipt, manager.GuardAdded) == [expect(sid, g) for g in guards[:4]]


def test_create_draft_session_starts_in_draft(manager, owner, agent, params):
    receipt, sid = _create(manager, owner, params(agent, eth=ETHER, draft=True))
    assert manager.statusOf(sid) == DRAFT
    assert manager.getSession(sid).status == DRAFT
    assert receipt.events.filter(manager.SessionCreated)[0].status == DRAFT


def test_create_draft_session_escrows_its_budget(manager, owner, agent, params):
    before = manager.balance
    _, sid = _create(manager, owner, params(agent, eth=ETHER, draft=True))
    assert manager.balance - before == ETHER
    assert manager.remaining(sid, NATIVE) == ETHER


def test_create_draft_session_cannot_execute_until_activated(manager, owner, agent, stranger, params):
    _, sid = _create(manager, owner, params(agent, eth=ETHER, draft=True))
    with ape.reverts(manager.SessionNotActive, id=sid, status=DRAFT):
        manager.execute(sid, stranger, 1, b"", sender=agent)


# --------------------------------------------------------------------------------------------------
# createSession: reverts
# --------------------------------------------------------------------------------------------------


def test_create_session_reverts_for_non_owner(manager, agent, stranger, params):
    with ape.reverts(manager.NotManagerOwner, caller=stranger):
        manager.createSession(params(agent, eth=ETHER), value=ETHER, sender=stranger)


def test_create_session_reverts_for_the_agent(manager, agent, params):
    with ape.reverts(manager.NotManagerOwner, caller=agent):
        manager.createSession(params(agent), sender=agent)


def test_create_session_reverts_with_zero_agent(manager, owner, params):
    with ape.reverts(manager.ZeroAgent):
        manager.createSession(params(ZERO_ADDRESS, eth=ETHER), value=ETHER, sender=owner)


@pytest.mark.parametrize("offset", [0, -1, -3_600], ids=["expiry_equals_now", "one_second_ago", "an_hour_ago"])
def test_create_session_reverts_with_expiry_in_the_past(manager, owner, agent, params, chain, offset):
    now = chain.pending_timestamp + 100
    chain.pending_timestamp = now
    with ape.reverts(manager.ExpiryInPast, expiry=now + offset, nowTs=now):
        manager.createSession(params(agent, eth=ETHER, expiry=now + offset), value=ETHER, sender=owner)


def test_create_session_reverts_with_zero_expiry(manager, owner, agent, params, chain):
    now = chain.pending_timestamp + 100
    chain.pending_timestamp = now
    with ape.reverts(manager.ExpiryInPast, expiry=0, nowTs=now):
        manager.createSession(params(agent, eth=ETHER, expiry=0), value=ETHER, sender=owner)


def test_create_session_expiry_fits_32_bits_and_one_second_more_reverts_expiry_too_late(manager, owner, agent,
                                                                                         params):
    """A session's expiry lives in 32 bits of its core word (layout v2): 2^32 - 1 (2106-02-07) is the latest."""
    with ape.reverts(manager.ExpiryTooLate, expiry=2**32, latest=2**32 - 1):
        manager.createSession(params(agent, eth=ETHER, expiry=2**32), value=ETHER, sender=owner)
    with ape.reverts(manager.ExpiryTooLate, expiry=2**40 - 1, latest=2**32 - 1):
        manager.createSession(params(agent, eth=ETHER, expiry=2**40 - 1), value=ETHER, sender=owner)
    manager.createSession(params(agent, eth=ETHER, expiry=2**32 - 1), value=ETHER, sender=owner)
    assert manager.getSession(1).expiry == 2**32 - 1


def test_create_session_reverts_when_call_limit_has_no_period(manager, owner, agent, params):
    with ape.reverts(manager.PeriodRequired):
        manager.createSession(params(agent, eth=ETHER, max_calls=3), value=ETHER, sender=owner)


def test_create_session_reverts_when_eth_period_allowance_has_no_period(manager, owner, agent, params):
    p = params(agent, budgets=[(NATIVE, ETHER, 0, ETHER // 2)])
    with ape.reverts(manager.PeriodRequired):
        manager.createSession(p, value=ETHER, sender=owner)


def test_create_session_reverts_when_erc20_period_allowance_has_no_period(manager, owner, agent, params, token):
    p = params(agent, budgets=[(token, 1_000, 0, 100)])
    with ape.reverts(manager.PeriodRequired):
        manager.createSession(p, sender=owner)


def test_create_session_accepts_per_call_cap_without_period(manager, owner, agent, params):
    _, sid = _create(manager, owner, params(agent, budgets=[(NATIVE, ETHER, 10)]))
    assert manager.getBudget(sid, NATIVE).perCallCap == 10


def test_create_session_reverts_on_duplicate_native_budget(manager, owner, agent, params):
    p = params(agent, budgets=[(NATIVE, 1), (NATIVE, 2)])
    with ape.reverts(manager.DuplicateToken, token=NATIVE):
        manager.createSession(p, value=3, sender=owner)


def test_create_session_reverts_on_duplicate_erc20_budget(manager, owner, agent, params, token, token_b):
    p = params(agent, budgets=[(token, 1), (token_b, 1), (token, 2)])
    with ape.reverts(manager.DuplicateToken, token=token):
        manager.createSession(p, sender=owner)


@pytest.mark.parametrize(
    "sent", [ETHER + 1, ETHER - 1, 0, 2 * ETHER], ids=["one_wei_too_much", "one_wei_short", "nothing", "double"]
)
def test_create_session_reverts_when_value_differs_from_eth_budget(manager, owner, agent, params, sent):
    with ape.reverts(manager.ValueMismatch, expected=ETHER, received=sent):
        manager.createSession(params(agent, eth=ETHER), value=sent, sender=owner)


def test_create_session_reverts_when_value_sent_without_eth_budget(manager, owner, agent, params):
    with ape.reverts(manager.ValueMismatch, expected=0, received=5):
        manager.createSession(params(agent, eth=0), value=5, sender=owner)


def test_create_session_reverts_when_value_sent_with_only_erc20_budget(manager, owner, agent, params, token):
    # no ETH budget: the total check expects 0 wei
    with ape.reverts(manager.ValueMismatch, expected=0, received=5):
        manager.createSession(params(agent, budgets=[(token, 1_000)]), value=5, sender=owner)


def test_create_session_reverts_with_guard_without_code(manager, owner, agent, stranger, params):
    with ape.reverts(manager.InvalidGuard, guard=stranger):
        manager.createSession(params(agent, eth=ETHER, guards=[stranger]), value=ETHER, sender=owner)


def test_create_session_reverts_with_zero_guard(manager, owner, agent, params):
    with ape.reverts(manager.InvalidGuard, guard=ZERO_ADDRESS):
        manager.createSession(params(agent, eth=ETHER, guards=[ZERO_ADDRESS]), value=ETHER, sender=owner)


def test_create_session_reverts_with_five_guards(manager, owner, agent, params, guards):
    with ape.reverts(manager.TooManyGuards, max=4):
        manager.createSession(params(agent, eth=ETHER, guards=guards), value=ETHER, sender=owner)


def test_create_session_reverts_without_erc20_allowance(manager, owner, agent, params, token):
    """Without an allowance the pull fails (Solady SafeTransferLib.TransferFromFailed) and nothing is created."""
    p = params(agent, budgets=[(token, 1_000)])
    token.approve(manager, 0, sender=owner)
    selector = keccak(text="TransferFromFailed()")[:4].hex()
    with ape.reverts(f"0x{selector}"):
        manager.createSession(p, sender=owner)
    assert manager.sessionCount() == 0


def test_failed_create_session_leaves_no_trace(manager, owner, agent, params):
    balance = manager.balance
    with ape.reverts(manager.ValueMismatch):
        manager.createSession(params(agent, eth=ETHER), value=1, sender=owner)
    assert manager.sessionCount() == 0
    assert manager.balance == balance


# --------------------------------------------------------------------------------------------------
# fee-on-transfer and misreporting tokens (credit = what arrived)
# --------------------------------------------------------------------------------------------------


def test_create_session_with_fee_token_credits_what_arrived(manager, owner, agent, params, fee_token):
    before = fee_token.balanceOf(manager)
    receipt, sid = _create(manager, owner, params(agent, budgets=[(fee_token, 10_000)]))
    arrived = 10_000 - 10_000 * FEE_BPS // 10_000
    assert fee_token.balanceOf(manager) - before == arrived
    assert manager.remaining(sid, fee_token) == arrived
    assert manager.getBudget(sid, fee_token).available == arrived
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, fee_token, owner, arrived)]


def test_create_session_reverts_when_nothing_arrives(manager, owner, agent, params, fee_token):
    fee_token.setFeeBps(10_000, sender=owner)
    with ape.reverts(manager.BalanceMismatch, token=fee_token, expected=10_000, actual=0):
        manager.createSession(params(agent, budgets=[(fee_token, 10_000)]), sender=owner)


def test_create_session_reverts_when_more_arrives_than_was_sent(manager, owner, agent, params, fee_token):
    fee_token.setFeeBps(0, sender=owner)
    fee_token.setBonus(5, sender=owner)
    with ape.reverts(manager.BalanceMismatch, token=fee_token, expected=10_000, actual=10_005):
        manager.createSession(params(agent, budgets=[(fee_token, 10_000)]), sender=owner)


def test_fund_root_with_fee_token_credits_what_arrived(manager, owner, agent, params, fee_token):
    _, sid = _create(manager, owner, params(agent, budgets=[(fee_token, 10_000)]))
    receipt = manager.fund(sid, fee_token, 20_000, sender=owner)
    assert manager.remaining(sid, fee_token) == 9_900 + 19_800
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, fee_token, owner, 19_800)]


def test_fund_root_reverts_when_nothing_arrives(manager, owner, agent, params, fee_token):
    _, sid = _create(manager, owner, params(agent, budgets=[(fee_token, 10_000)]))
    fee_token.setFeeBps(10_000, sender=owner)
    with ape.reverts(manager.BalanceMismatch, token=fee_token, expected=500, actual=0):
        manager.fund(sid, fee_token, 500, sender=owner)


def test_fee_token_escrow_covers_the_credited_budget(manager, owner, agent, params, fee_token):
    """Escrow invariant: the manager holds at least what it credited, across create and fund."""
    _, a = _create(manager, owner, params(agent, budgets=[(fee_token, 10_000)]))
    _, b = _create(manager, owner, params(agent, budgets=[(fee_token, 3_333)]))
    manager.fund(a, fee_token, 777, sender=owner)
    credited = manager.remaining(a, fee_token) + manager.remaining(b, fee_token)
    assert fee_token.balanceOf(manager) == credited


# --------------------------------------------------------------------------------------------------
# createSessions
# --------------------------------------------------------------------------------------------------


def test_create_sessions_assigns_consecutive_ids_and_returns_the_first(manager, owner, agent, params, make_session):
    make_session()
    make_session()
    batch = [params(agent, eth=1), params(agent, eth=2), params(agent, eth=3)]
    assert manager.createSessions.call(batch, value=6, sender=owner) == 3
    receipt = manager.createSessions(batch, value=6, sender=owner)
    assert receipt.return_value == 3
    assert created_ids(manager, receipt) == [3, 4, 5]
    assert manager.sessionCount() == 5
    assert [manager.remaining(i, NATIVE) for i in (3, 4, 5)] == [1, 2, 3]


def test_create_sessions_escrows_the_sum_of_eth_budgets(manager, owner, agent, params):
    before = manager.balance
    manager.createSessions([params(agent, eth=ETHER), params(agent, eth=2 * ETHER)], value=3 * ETHER, sender=owner)
    assert manager.balance - before == 3 * ETHER


def test_create_sessions_emits_events_for_every_session(manager, owner, agent, sub_agent, params, future):
    batch = [params(agent, eth=1, expiry=future), params(sub_agent, eth=2, expiry=future, draft=True)]
    receipt = manager.createSessions(batch, value=3, sender=owner)
    assert event_args(receipt, manager.SessionCreated) == [
        expect(1, 0, agent, owner, future, ZERO_BYTES32, ACTIVE),
        expect(2, 0, sub_agent, owner, future, ZERO_BYTES32, DRAFT),
    ]
    assert event_args(receipt, manager.SessionFunded) == [expect(1, NATIVE, owner, 1), expect(2, NATIVE, owner, 2)]
    assert event_args(receipt, manager.Transfer) == [expect(ZERO_ADDRESS, owner, 1), expect(ZERO_ADDRESS, owner, 2)]
    assert event_args(receipt, manager.UpdateUser) == [expect(1, agent, future), expect(2, sub_agent, future)]


def test_create_sessions_with_erc20_budgets_pulls_each(manager, owner, agent, params, token, token_b):
    before = token.balanceOf(manager), token_b.balanceOf(manager)
    batch = [params(agent, budgets=[(token, 100)]), params(agent, budgets=[(token, 200), (token_b, 5)])]
    manager.createSessions(batch, sender=owner)
    assert (token.balanceOf(manager) - before[0], token_b.balanceOf(manager) - before[1]) == (300, 5)
    assert manager.remaining(2, token) == 200
    assert manager.remaining(2, token_b) == 5


def test_create_sessions_mixing_eth_and_erc20_sessions(manager, owner, agent, params, token):
    batch = [params(agent, eth=ETHER), params(agent, budgets=[(token, 100)])]
    manager.createSessions(batch, value=ETHER, sender=owner)
    assert manager.remaining(1, NATIVE) == ETHER
    assert manager.remaining(2, token) == 100


@pytest.mark.parametrize("sent", [5, 7, 0], ids=["short", "too_much", "nothing"])
def test_create_sessions_reverts_when_value_differs_from_the_sum(manager, owner, agent, params, sent):
    batch = [params(agent, eth=2), params(agent, eth=4)]
    with ape.reverts(manager.ValueMismatch, expected=6, received=sent):
        manager.createSessions(batch, value=sent, sender=owner)


def test_create_sessions_reverts_for_non_owner(manager, agent, stranger, params):
    with ape.reverts(manager.NotManagerOwner, caller=stranger):
        manager.createSessions([params(agent, eth=1)], value=1, sender=stranger)


def test_create_sessions_is_all_or_nothing(manager, owner, agent, params):
    batch = [params(agent, eth=1), params(ZERO_ADDRESS, eth=1)]
    with ape.reverts(manager.ZeroAgent):
        manager.createSessions(batch, value=2, sender=owner)
    assert manager.sessionCount() == 0
    assert manager.balanceOf(owner) == 0


@pytest.mark.parametrize("bad", ["expiry_in_past", "duplicate_token", "period_required", "too_many_guards"])
def test_create_sessions_validates_every_session(manager, owner, agent, params, chain, guards, bad):
    now = chain.pending_timestamp + 100
    chain.pending_timestamp = now
    good = params(agent, eth=1, expiry=now + DAY)
    bad_params, error, kwargs = {
        "expiry_in_past": (params(agent, eth=1, expiry=now), manager.ExpiryInPast, {"expiry": now, "nowTs": now}),
        "duplicate_token": (
            params(agent, expiry=now + DAY, budgets=[(NATIVE, 1), (NATIVE, 0)]),
            manager.DuplicateToken,
            {"token": NATIVE},
        ),
        "period_required": (params(agent, eth=1, expiry=now + DAY, max_calls=1), manager.PeriodRequired, {}),
        "too_many_guards": (params(agent, eth=1, expiry=now + DAY, guards=guards), manager.TooManyGuards, {"max": 4}),
    }[bad]
    with ape.reverts(error, **kwargs):
        manager.createSessions([good, bad_params], value=2, sender=owner)


# --------------------------------------------------------------------------------------------------
# fund: roots
# --------------------------------------------------------------------------------------------------


def test_fund_root_with_eth_adds_to_available_and_escrow(manager, owner, make_session):
    sid = make_session(eth=ETHER)
    before = manager.balance
    receipt = manager.fund(sid, NATIVE, 2 * ETHER, value=2 * ETHER, sender=owner)
    assert manager.balance - before == 2 * ETHER
    assert manager.remaining(sid, NATIVE) == 3 * ETHER
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, NATIVE, owner, 2 * ETHER)]


def test_fund_root_with_erc20_adds_to_available_and_escrow(manager, owner, make_session, token):
    sid = make_session(eth=0, budgets=[(token, 100)])
    before = token.balanceOf(manager)
    receipt = manager.fund(sid, token, 50, sender=owner)
    assert token.balanceOf(manager) - before == 50
    assert manager.remaining(sid, token) == 150
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, token, owner, 50)]


def test_fund_root_with_new_erc20_adds_a_budget(manager, owner, make_session, token):
    sid = make_session(eth=ETHER)
    assert not manager.isEscrowToken(token)
    manager.fund(sid, token, 70, sender=owner)
    assert [(b.token, b.available) for b in manager.getSession(sid).budgets] == [(NATIVE, ETHER), (token.address, 70)]
    assert manager.isEscrowToken(token)


def test_fund_root_eth_budget_from_zero(manager, owner, make_session):
    sid = make_session(eth=0)
    manager.fund(sid, NATIVE, 10, value=10, sender=owner)
    assert manager.getBudget(sid, NATIVE).available == 10


def test_fund_draft_root_is_allowed(manager, owner, make_session):
    sid = make_session(eth=1, draft=True)
    manager.fund(sid, NATIVE, 10, value=10, sender=owner)
    assert manager.remaining(sid, NATIVE) == 11


def test_fund_root_by_new_holder(manager, owner, other, make_session, token, escrow):
    escrow(token)  # the owner brought TUSD into the escrow: any holder may top up with it
    sid = make_session(eth=ETHER)
    manager.transferFrom(owner, other, sid, sender=owner)
    token.transfer(other, 100, sender=owner)
    token.approve(manager, 100, sender=other)
    receipt = manager.fund(sid, token, 100, sender=other)
    manager.fund(sid, NATIVE, 5, value=5, sender=other)
    assert manager.remaining(sid, token) == 100
    assert manager.remaining(sid, NATIVE) == ETHER + 5
    assert event_args(receipt, manager.SessionFunded) == [expect(sid, token, other, 100)]


def test_fund_root_by_a_holder_with_a_token_nobody_escrows_reverts(manager, project, owner, other, make_session):
    """Only the manager owner brings a new token into the escrowed set (it becomes a forbidden target for every
    session of the manager)."""
    sid = make_session(eth=ETHER)
    manager.transferFrom(owner, other, sid, sender=owner)
    fresh = project.TestToken.deploy("Fresh", "FRSH", 18, sender=other)
    fresh.mint(other, 100, sender=other)
    fresh.approve(manager, 100, sender=other)
    with ape.reverts(manager.TokenNotEscrowed, id=sid, token=fresh):
        manager.fund(sid, fresh, 100, sender=other)
    assert not manager.isEscrowToken(fresh)


def test_fund_root_reverts_for_stranger(manager, stranger, make_session):
    sid = make_session(eth=ETHER)
    with ape.reverts(manager.NotController, id=sid, caller=stranger):
        manager.fund(sid, NATIVE, 1, value=1, sender=stranger)


def test_fund_root_reverts_for_its_agent(manager, agent, make_session):
    sid = make_session(eth=ETHER)
    with ape.reverts(manager.NotController, id=sid, caller=agent):
        manager.fund(sid, NATIVE, 1, value=1, sender=agent)


def test_fund_root_reverts_for_previous_holder(manager, owner, other, make_session):
    sid = make_session(eth=ETHER)
    manager.transferFrom(owner, other, sid, sender=owner)
    with ape.reverts(manager.NotController, id=sid, caller=owner):
        manager.fund(sid, NATIVE, 1, value=1, sender=owner)


@pytest.mark.parametrize("sent", [0, 99, 101], ids=["nothing", "short", "too_much"])
def test_fund_root_reverts_when_value_differs_from_amount(manager, owner, make_session, sent):
    sid = make_session(eth=ETHER)
    with ape.reverts(manager.ValueMismatch, expected=100, received=sent):
        manager.fund(sid, NATIVE, 100, value=sent, sender=owner)


def test_fund_root_erc20_reverts_with_value(manager, owner, make_session, token):
    sid = make_session(eth=0, budgets=[(token, 1)])
    with ape.reverts(manager.NoValueExpected, value=3):
        manager.fund(sid, token, 10, value=3, sender=owner)


def test_fund_revoked_root_reverts(manager, owner, make_session):
    sid = make_session(eth=ETHER)
    manager.revoke(sid, sender=owner)
    with ape.reverts(manager.SessionEnded, id=sid, status=REVOKED):
        manager.fund(sid, NATIVE, 1, value=1, sender=owner)


def test_fund_root_reverts_when_amount_exceeds_uint128(manager, owner, make_session, token):
    sid = make_session(eth=0, budgets=[(token, 1)])
    token.mint(owner, 2**129, sender=owner)
    # the check is on the budget it would reach: 1 already held + 2^128
    with ape.reverts(manager.AmountTooLarge, amount=2**128 + 1):
        manager.fund(sid, token, 2**128, sender=owner)


def test_fund_root_reverts_when_available_would_exceed_uint128(manager, owner, make_session, token):
    token.mint(owner, 2**129, sender=owner)
    sid = make_session(eth=0, budgets=[(token, 2**127)])
    manager.fund(sid, token, 2**127 - 1, sender=owner)
    assert manager.remaining(sid, token) == 2**128 - 1
    with ape.reverts(manager.AmountTooLarge, amount=2**128):
        manager.fund(sid, token, 1, sender=owner)


def test_fund_unknown_session_reverts(manager, owner):
    with ape.reverts(manager.SessionNotFound, id=42):
        manager.fund(42, NATIVE, 1, value=1, sender=owner)


# --------------------------------------------------------------------------------------------------
# fund: children (out of the parent's available)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def family(make_session, spawn, sub_agent, token):
    """A root (agent: `agent`, 1 ETH + 1000 TUSD) with a child (agent: `sub_agent`, 0.1 ETH + 100 TUSD)."""
    root = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 1_000)])
    child = spawn(root, child_agent=sub_agent, budgets=[(NATIVE, ETHER // 10), (token, 100)])
    return root, child


def test_fund_child_by_parent_agent_moves_eth_from_parent(manager, agent, family):
    root, child = family
    before = manager.balance
    receipt = manager.fund(child, NATIVE, 10**17, sender=agent)
    assert manager.remaining(root, NATIVE) == ETHER - 2 * 10**17
    assert manager.remaining(child, NATIVE) == 2 * 10**17
    assert manager.balance == before
    assert event_args(receipt, manager.SessionFunded) == [expect(child, NATIVE, ZERO_ADDRESS, 10**17)]


def test_fund_child_by_root_owner_moves_erc20_from_parent(manager, owner, family, token):
    root, child = family
    before = token.balanceOf(manager)
    receipt = manager.fund(child, token, 300, sender=owner)
    assert manager.remaining(root, token) == 600
    assert manager.remaining(child, token) == 400
    assert token.balanceOf(manager) == before
    assert event_args(receipt, manager.SessionFunded) == [expect(child, token, ZERO_ADDRESS, 300)]


def test_fund_child_with_parent_token_it_did_not_hold(manager, agent, make_session, spawn, sub_agent, token):
    root = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 1_000)])
    child = spawn(root, child_agent=sub_agent, eth=1)
    manager.fund(child, token, 10, sender=agent)
    assert [(b.token, b.available) for b in manager.getSession(child).budgets] == [(NATIVE, 1), (token.address, 10)]


def test_fund_child_up_to_parent_available_exactly(manager, agent, family):
    root, child = family
    manager.fund(child, NATIVE, ETHER - ETHER // 10, sender=agent)
    assert manager.remaining(root, NATIVE) == 0
    assert manager.remaining(child, NATIVE) == ETHER


def test_fund_child_beyond_parent_available_reverts(manager, agent, family):
    root, child = family
    left = ETHER - ETHER // 10
    with ape.reverts(manager.BudgetExceeded, id=root, token=NATIVE, requested=left + 1, remaining=left):
        manager.fund(child, NATIVE, left + 1, sender=agent)


def test_fund_child_with_token_parent_lacks_reverts(manager, agent, family, token_b):
    root, child = family
    with ape.reverts(manager.NoBudgetRow, id=root, token=token_b):
        manager.fund(child, token_b, 1, sender=agent)


def test_fund_child_with_eth_value_reverts(manager, agent, family):
    _, child = family
    with ape.reverts(manager.NoValueExpected, value=5):
        manager.fund(child, NATIVE, 5, value=5, sender=agent)


def test_fund_child_by_stranger_reverts(manager, stranger, family):
    """Refused in the name of the parent: it is the parent's escrow that would move."""
    parent, child = family
    with ape.reverts(manager.NotAgentOrController, id=parent, caller=stranger):
        manager.fund(child, NATIVE, 1, sender=stranger)


def test_fund_child_by_its_own_agent_reverts(manager, sub_agent, family):
    """The child's agent is neither the parent's agent nor a controller of the parent."""
    parent, child = family
    with ape.reverts(manager.NotAgentOrController, id=parent, caller=sub_agent):
        manager.fund(child, NATIVE, 1, sender=sub_agent)


# --------------------------------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------------------------------

SALT = b"\x01" * 32


def test_deploy_manager_emits_manager_deployed(factory, stranger):
    receipt = factory.deployManager(stranger, SALT, sender=stranger)
    manager = receipt.return_value
    assert event_args(receipt, factory.ManagerDeployed) == [expect(stranger, manager, SALT)]


def test_predict_manager_matches_deployed_address(factory, stranger):
    predicted = factory.predictManager(stranger, SALT)
    receipt = factory.deployManager(stranger, SALT, sender=stranger)
    assert receipt.events.filter(factory.ManagerDeployed)[0].manager == predicted
    assert receipt.return_value == predicted


def test_predict_manager_differs_by_owner_and_salt(factory, owner, stranger):
    a = factory.predictManager(stranger, SALT)
    assert factory.predictManager(owner, SALT) != a
    assert factory.predictManager(stranger, b"\x02" * 32) != a


def test_deployed_manager_is_a_full_copy_of_the_implementation(factory, stranger, chain):
    address = factory.deployManager(stranger, SALT, sender=stranger).return_value
    code = bytes(chain.provider.get_code(address))
    # not a proxy: the implementation's own runtime code, so no call pays a delegatecall
    assert code == bytes(chain.provider.get_code(factory.implementation()))
    assert len(code) > 20_000


def test_managers_of_lists_managers_in_order_in_pages(factory, stranger):
    assert factory.managersOf(stranger, 0, 10) == []
    assert factory.managerCount(stranger) == 0
    first = factory.deployManager(stranger, SALT, sender=stranger).return_value
    second = factory.deployManager(stranger, b"\x02" * 32, sender=stranger).return_value
    assert factory.managersOf(stranger, 0, 10) == [first, second]
    assert factory.managersOf(stranger, 1, 10) == [second]
    assert factory.managersOf(stranger, 0, 1) == [first]
    assert factory.managersOf(stranger, 2, 10) == []
    assert factory.managerCount(stranger) == 2


def test_is_manager_true_only_for_deployed_managers(factory, manager, stranger):
    address = factory.deployManager(stranger, SALT, sender=stranger).return_value
    assert factory.isManager(address)
    assert factory.isManager(manager)
    assert not factory.isManager(stranger)
    assert not factory.isManager(factory.implementation())


def test_deploy_manager_twice_reverts_manager_exists(factory, stranger, other):
    address = factory.deployManager(stranger, SALT, sender=stranger).return_value
    with ape.reverts(factory.ManagerExists, manager=address):
        factory.deployManager(stranger, SALT, sender=stranger)


def test_deploy_manager_for_another_owner_is_refused(project, factory, stranger, other):
    """Only the owner deploys its managers: a front-runner can neither take its address nor reorder its list."""
    predicted = factory.predictManager(other, SALT)
    with ape.reverts(factory.DeployerNotOwner, owner=other, caller=stranger):
        factory.deployManager(other, SALT, sender=stranger)
    assert factory.managerCount(other) == 0
    receipt = factory.deployManager(other, SALT, sender=other)
    assert receipt.return_value == predicted
    m = project.IAgentSessions.at(predicted)
    assert m.owner() == other
    assert factory.managersOf(other, 0, 10) == [m.address]
    assert event_args(receipt, m.OwnershipTransferred) == [expect(ZERO_ADDRESS, other)]


def test_new_manager_starts_empty(project, factory, stranger):
    m = project.IAgentSessions.at(factory.deployManager(stranger, SALT, sender=stranger).return_value)
    assert m.sessionCount() == 0
    assert m.globalState() == (0, False)


def test_managers_keep_separate_sessions(project, factory, manager, owner, stranger, agent, params):
    m = project.IAgentSessions.at(factory.deployManager(stranger, SALT, sender=stranger).return_value)
    manager.createSession(params(agent, eth=1), value=1, sender=owner)
    assert m.sessionCount() == 0
    with ape.reverts(m.SessionNotFound, id=1):
        m.getSession(1)


def test_initialize_by_stranger_reverts_not_factory(manager, stranger):
    with ape.reverts(manager.NotFactory, caller=stranger):
        manager.initialize(stranger, sender=stranger)


def test_initialize_by_owner_reverts_not_factory(manager, owner):
    with ape.reverts(manager.NotFactory, caller=owner):
        manager.initialize(owner, sender=owner)


def test_initialize_again_by_factory_reverts_already_initialized(manager, factory, stranger, accounts, chain):
    chain.set_balance(factory.address, ETHER)
    as_factory = accounts[factory.address]
    with ape.reverts(manager.AlreadyInitialized):
        manager.initialize(stranger, sender=as_factory)


def test_implementation_cannot_be_initialized_by_stranger(project, factory, stranger):
    impl = project.SessionManager.at(factory.implementation())
    with ape.reverts(impl.NotFactory, caller=stranger):
        impl.initialize(stranger, sender=stranger)
    assert impl.owner() == ZERO_ADDRESS


def test_manager_owner_is_the_fixture_owner(manager, owner):
    assert manager.owner() == owner
