"""Acting: execute / executeBatch / transferToken / swap, the view check() and preflight(), and checkpoint().

Time-sensitive tests open their session at a known second T0 and then pin the timestamp of every later
transaction (`clock.at`) or mine a block at an exact second before reading a view (`clock.mine`)."""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from tests.conftest import (
    ZERO_ADDRESS,
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
)
from tests.helpers import budget_row, error_data, eth_spent_by_events, event_args, expect, plain

NO_SELECTOR = b"\x00" * 4
ANY = bytes.fromhex(ANY_SELECTOR[2:])

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def error_kwargs(error, *args) -> dict:
    return {i.name: plain(a) for i, a in zip(error.abi.inputs, args, strict=True)}


def selector(handler) -> bytes:
    """The 4-byte selector of a contract method handler (e.g. target.ping)."""
    return keccak(text=handler.abis[0].selector)[:4]


def error_data_string(message: str) -> bytes:
    """ABI encoding of a `require(..., message)` failure: Error(string)."""
    return keccak(text="Error(string)")[:4] + abi_encode(["string"], [message])


@pytest.fixture
def spawn(manager, make_child):
    """`make_child` with the child's expiry equal to its parent's unless given (the conftest default, a
    day from the moment the child's params are built, can land a second after the parent's expiry)."""

    def make(parent, **kwargs):
        kwargs.setdefault("expiry", manager.getSession(parent).expiry)
        return make_child(parent, **kwargs)

    return make


@pytest.fixture
def ping_sel(target):
    return selector(target.ping)


@pytest.fixture
def other_sel(target):
    return selector(target.other)


@pytest.fixture
def eth_session(make_session):
    """An anyTarget session with 1 ETH."""
    return make_session(eth=ETHER)


@pytest.fixture
def allowlisted(make_session):
    """`allowlisted(*(target, selector))` -> id of a session (1 ETH) that may call only those."""

    def make(*permissions, **kwargs):
        return make_session(eth=ETHER, any_target=False, permissions=list(permissions), **kwargs)

    return make


# --------------------------------------------------------------------------------------------------
# execute: basics
# --------------------------------------------------------------------------------------------------


def test_execute_sends_exactly_value_to_recipient(manager, agent, stranger, eth_session):
    before = stranger.balance
    manager.execute(eth_session, stranger, 123_456, b"", sender=agent)
    assert stranger.balance - before == 123_456


def test_execute_takes_value_out_of_the_manager_only(manager, agent, stranger, eth_session):
    manager_before, agent_before = manager.balance, agent.balance
    receipt = manager.execute(eth_session, stranger, 10**17, b"", sender=agent)
    assert manager_before - manager.balance == 10**17
    assert agent_before - agent.balance == receipt.total_fees_paid


def test_execute_updates_remaining_and_spent(manager, agent, stranger, eth_session):
    before = stranger.balance
    manager.execute(eth_session, stranger, 10**17, b"", sender=agent)
    manager.execute(eth_session, stranger, 2 * 10**17, b"", sender=agent)
    assert stranger.balance - before == 3 * 10**17
    assert manager.remaining(eth_session, NATIVE) == ETHER - 3 * 10**17
    budget = manager.getBudget(eth_session, NATIVE)
    # layout v2: no lifetime ETH counter on chain (0); the Executed events carry what was spent
    assert (budget.available, budget.spent) == (ETHER - 3 * 10**17, 0)
    assert eth_spent_by_events(manager, eth_session) == 3 * 10**17


def test_execute_emits_executed_with_target_value_and_selector(manager, agent, target, eth_session, ping_sel):
    receipt = manager.execute(eth_session, target, 77, target.ping.encode_input(), sender=agent)
    assert event_args(receipt, manager.Executed) == [expect(eth_session, target, 77, ping_sel)]


def test_execute_emits_zero_selector_for_empty_data(manager, agent, stranger, eth_session):
    receipt = manager.execute(eth_session, stranger, 5, b"", sender=agent)
    assert event_args(receipt, manager.Executed) == [expect(eth_session, stranger, 5, NO_SELECTOR)]


def test_execute_with_calldata_calls_target_from_the_executor_with_value(manager, agent, target, eth_session):
    """Calls with calldata leave the executor, never the escrow-holding manager."""
    executor = manager.executor()
    receipt = manager.execute(eth_session, target, 9, target.ping.encode_input(), sender=agent)
    assert target.lastCaller() == executor
    assert executor != manager.address
    assert target.received() == 9
    assert event_args(receipt, target.Pinged) == [expect(executor, 9)]
    # the executor keeps nothing
    assert manager.provider.get_balance(executor) == 0


def test_plain_transfer_comes_from_the_manager(manager, agent, target, eth_session):
    """Empty calldata is a plain value transfer, sent by the manager itself (the cheap path)."""
    manager.execute(eth_session, target, 5, b"", sender=agent)
    assert target.received() == 5
    assert target.lastCaller() == ZERO_ADDRESS  # receive() does not record a caller


def test_execute_returns_the_target_result(manager, agent, target, eth_session):
    target.ping(sender=agent)
    receipt = manager.execute(eth_session, target, 0, target.ping.encode_input(), sender=agent)
    assert receipt.return_value == abi_encode(["uint256"], [2])


def test_execute_without_value_spends_nothing(manager, agent, target, eth_session):
    manager.execute(eth_session, target, 0, target.ping.encode_input(), sender=agent)
    assert eth_spent_by_events(manager, eth_session) == 0
    assert manager.remaining(eth_session, NATIVE) == ETHER


def test_execute_whole_budget_succeeds(manager, agent, stranger, eth_session):
    manager.execute(eth_session, stranger, ETHER, b"", sender=agent)
    assert manager.remaining(eth_session, NATIVE) == 0


def test_execute_beyond_budget_reverts(manager, agent, stranger, eth_session):
    with ape.reverts(manager.BudgetExceeded, id=eth_session, token=NATIVE, requested=ETHER + 1, remaining=ETHER):
        manager.execute(eth_session, stranger, ETHER + 1, b"", sender=agent)


def test_execute_beyond_what_is_left_reverts(manager, agent, stranger, eth_session):
    manager.execute(eth_session, stranger, ETHER - 10, b"", sender=agent)
    with ape.reverts(manager.BudgetExceeded, id=eth_session, token=NATIVE, requested=11, remaining=10):
        manager.execute(eth_session, stranger, 11, b"", sender=agent)


@pytest.mark.parametrize("who", ["owner", "stranger", "sub_agent"])
def test_execute_reverts_for_non_agent(manager, stranger, eth_session, who, request):
    caller = request.getfixturevalue(who)
    with ape.reverts(manager.NotAgent, id=eth_session, caller=caller):
        manager.execute(eth_session, stranger, 1, b"", sender=caller)


def test_execute_unknown_session_reverts(manager, agent, stranger):
    with ape.reverts(manager.SessionNotFound, id=7):
        manager.execute(7, stranger, 0, b"", sender=agent)


# --------------------------------------------------------------------------------------------------
# execute: allowlist and forbidden targets
# --------------------------------------------------------------------------------------------------


def test_execute_with_exact_selector_allowed(manager, agent, target, allowlisted, ping_sel):
    sid = allowlisted((target, ping_sel))
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    assert target.pings() == 1


def test_execute_other_selector_of_allowed_target_reverts(manager, agent, target, allowlisted, ping_sel, other_sel):
    sid = allowlisted((target, ping_sel))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=target, selector=other_sel):
        manager.execute(sid, target, 0, target.other.encode_input(), sender=agent)


def test_execute_empty_data_to_selector_only_target_reverts(manager, agent, target, allowlisted, ping_sel):
    sid = allowlisted((target, ping_sel))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=target, selector=NO_SELECTOR):
        manager.execute(sid, target, 1, b"", sender=agent)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_selector_zero_means_empty_calldata_stubs_revert_calldata_too_short(
    manager, agent, stranger, allowlisted, eth_session, length
):
    """Calldata of 1-3 bytes is neither a plain transfer nor a call: refused with its length, even when the
    plain transfer (selector 0) or every target is allowed, and check() says the same."""
    sid = allowlisted((stranger, NO_SELECTOR))
    for session in (sid, eth_session):
        with ape.reverts(manager.CalldataTooShort, id=session, length=length):
            manager.execute(session, stranger, 1, b"\x00" * length, sender=agent)
        ok, reason = manager.check(session, agent, stranger, 1, b"\x00" * length)
        assert not ok
        assert bytes(reason) == error_data(manager.CalldataTooShort, session, length)
    with ape.reverts(manager.CalldataTooShort, id=sid, length=length):
        manager.executeBatch(sid, [(stranger, 1, b""), (stranger, 1, b"\x00" * length)], sender=agent)


@pytest.mark.parametrize("data", [b"\x00" * 4, b"\x00" * 4 + b"\xde\xad"], ids=["bare", "with_args"])
def test_selector_zero_means_empty_calldata_zero_selector_with_data_is_not_a_plain_transfer(
    manager, agent, stranger, allowlisted, data
):
    sid = allowlisted((stranger, NO_SELECTOR))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=stranger, selector=NO_SELECTOR):
        manager.execute(sid, stranger, 1, data, sender=agent)
    ok, reason = manager.check(sid, agent, stranger, 1, data)
    assert not ok
    assert bytes(reason) == error_data(manager.TargetNotAllowed, sid, stranger, NO_SELECTOR)


def test_selector_zero_means_empty_calldata_zero_selector_with_data_needs_any_selector(
    manager, agent, stranger, allowlisted, eth_session
):
    for sid in (allowlisted((stranger, ANY)), eth_session):
        assert manager.check(sid, agent, stranger, 1, b"\x00" * 5)[0]
        manager.execute(sid, stranger, 1, b"\x00" * 5, sender=agent)


@pytest.mark.parametrize("call", ["ping", "other", "plain_transfer"])
def test_execute_any_selector_allows_every_call_to_target(manager, agent, target, allowlisted, call):
    sid = allowlisted((target, ANY))
    data = b"" if call == "plain_transfer" else getattr(target, call).encode_input()
    value = 0 if call == "other" else 3
    receipt = manager.execute(sid, target, value, data, sender=agent)
    assert len(receipt.events.filter(manager.Executed)) == 1


def test_execute_any_selector_of_one_target_does_not_allow_another(manager, agent, target, stranger, allowlisted):
    sid = allowlisted((target, ANY))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=stranger, selector=NO_SELECTOR):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_execute_plain_transfer_to_unlisted_recipient_reverts(manager, agent, stranger, allowlisted, target, ping_sel):
    sid = allowlisted((target, ping_sel))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=stranger, selector=NO_SELECTOR):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_execute_plain_transfer_to_zero_selector_recipient(manager, agent, stranger, allowlisted):
    sid = allowlisted((stranger, NO_SELECTOR))
    before = stranger.balance
    manager.execute(sid, stranger, 10, b"", sender=agent)
    assert stranger.balance - before == 10


def test_execute_zero_selector_permission_does_not_allow_calls(manager, agent, target, allowlisted, ping_sel):
    sid = allowlisted((target, NO_SELECTOR))
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=target, selector=ping_sel):
        manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)


def test_execute_any_target_calls_anything(manager, agent, target, stranger, eth_session):
    manager.execute(eth_session, target, 0, target.other.encode_input(), sender=agent)
    manager.execute(eth_session, stranger, 1, b"", sender=agent)
    manager.execute(eth_session, target, 0, target.ping.encode_input(), sender=agent)
    assert target.pings() == 1


@pytest.mark.parametrize("forbidden", ["manager", "factory", "escrowed_token"])
def test_execute_forbidden_target_reverts_even_with_any_target(
    manager, factory, agent, make_session, token, forbidden
):
    sid = make_session(eth=ETHER, budgets=[(NATIVE, ETHER), (token, 10)])
    to = {"manager": manager, "factory": factory, "escrowed_token": token}[forbidden]
    with ape.reverts(manager.ForbiddenTarget, id=sid, target=to):
        manager.execute(sid, to, 0, token.transfer.encode_input(agent.address, 10), sender=agent)


def test_execute_forbidden_target_reverts_even_when_allowlisted(manager, agent, make_session, token):
    sid = make_session(eth=0, budgets=[(token, 10)], any_target=False, permissions=[(token, ANY)])
    with ape.reverts(manager.ForbiddenTarget, id=sid, target=token):
        manager.execute(sid, token, 0, token.transfer.encode_input(agent.address, 10), sender=agent)


def test_execute_token_escrowed_by_another_session_is_forbidden(manager, agent, make_session, token):
    sid = make_session(eth=ETHER)
    make_session(eth=0, budgets=[(token, 10)])
    with ape.reverts(manager.ForbiddenTarget, id=sid, target=token):
        manager.execute(sid, token, 0, token.approve.encode_input(agent.address, 10), sender=agent)


# --------------------------------------------------------------------------------------------------
# execute: per-call cap and periodic allowance
# --------------------------------------------------------------------------------------------------


def test_execute_at_per_call_cap_succeeds(manager, agent, stranger, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, 1_000, 100)])
    manager.execute(sid, stranger, 100, b"", sender=agent)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    assert eth_spent_by_events(manager, sid) == 200
    assert manager.remaining(sid, NATIVE) == 800


def test_execute_above_per_call_cap_reverts(manager, agent, stranger, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, 1_000, 100)])
    with ape.reverts(manager.PerCallCapExceeded, id=sid, token=NATIVE, requested=101, cap=100):
        manager.execute(sid, stranger, 101, b"", sender=agent)


def test_execute_budget_is_checked_before_per_call_cap(manager, agent, stranger, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, 50, 100)])
    with ape.reverts(manager.BudgetExceeded, id=sid, token=NATIVE, requested=101, remaining=50):
        manager.execute(sid, stranger, 101, b"", sender=agent)


@pytest.fixture
def allowance_session(open_at):
    """(id, T0): 1000 wei budget, 100 wei per DAY window, opened at T0."""
    return open_at(eth=0, budgets=[(NATIVE, 1_000, 0, 100)], period=DAY)


def test_execute_up_to_period_allowance_succeeds(manager, agent, stranger, allowance_session, clock):
    sid, t0 = allowance_session
    clock.at(t0 + 10)
    manager.execute(sid, stranger, 60, b"", sender=agent)
    clock.at(t0 + 20)
    manager.execute(sid, stranger, 40, b"", sender=agent)
    assert manager.getBudget(sid, NATIVE).spentInPeriod == 100


def test_execute_beyond_period_allowance_reverts_with_what_is_left(
    manager, agent, stranger, allowance_session, clock
):
    sid, t0 = allowance_session
    clock.at(t0 + 10)
    manager.execute(sid, stranger, 60, b"", sender=agent)
    clock.at(t0 + 20)
    with ape.reverts(manager.PeriodAllowanceExceeded, id=sid, token=NATIVE, requested=50, remaining=40):
        manager.execute(sid, stranger, 50, b"", sender=agent)


def test_execute_period_allowance_holds_until_the_last_second_of_the_window(
    manager, agent, stranger, allowance_session, clock
):
    sid, t0 = allowance_session
    clock.at(t0 + 1)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + DAY - 1)
    with ape.reverts(manager.PeriodAllowanceExceeded, id=sid, token=NATIVE, requested=1, remaining=0):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_execute_period_allowance_resets_at_the_exact_boundary(manager, agent, stranger, allowance_session, clock):
    sid, t0 = allowance_session
    clock.at(t0 + 1)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + DAY)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    _, available, spent, _, _, in_period = budget_row(manager, sid, NATIVE)
    assert (spent, in_period, available) == (200, 100, 800)


def test_spent_in_period_view_resets_at_the_boundary_while_spent_keeps_growing(
    manager, agent, stranger, allowance_session, clock
):
    sid, t0 = allowance_session
    clock.at(t0 + 1)
    manager.execute(sid, stranger, 70, b"", sender=agent)
    clock.mine(t0 + DAY - 1)
    assert manager.getBudget(sid, NATIVE).spentInPeriod == 70
    clock.mine(t0 + DAY)
    _, _, spent, _, _, in_period = budget_row(manager, sid, NATIVE)
    assert (spent, in_period) == (70, 0)


def test_execute_period_windows_are_fixed_not_sliding(manager, agent, stranger, allowance_session, clock):
    """Spending the whole allowance at the last second of a window does not block the next window."""
    sid, t0 = allowance_session
    clock.at(t0 + DAY - 1)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + DAY)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    assert eth_spent_by_events(manager, sid) == 200


def test_execute_period_allowance_full_after_skipped_windows(manager, agent, stranger, allowance_session, clock):
    sid, t0 = allowance_session
    clock.at(t0 + 1)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + 3 * DAY + 5)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + 3 * DAY + 6)
    with ape.reverts(manager.PeriodAllowanceExceeded, id=sid, token=NATIVE, requested=1, remaining=0):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_execute_total_budget_still_binds_across_periods(manager, agent, stranger, open_at, clock):
    sid, t0 = open_at(eth=0, budgets=[(NATIVE, 150, 0, 100)], period=DAY)
    clock.at(t0 + 1)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    clock.at(t0 + DAY)
    with ape.reverts(manager.BudgetExceeded, id=sid, token=NATIVE, requested=100, remaining=50):
        manager.execute(sid, stranger, 100, b"", sender=agent)


# --------------------------------------------------------------------------------------------------
# execute: call-count limit
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def limited_session(open_at):
    """(id, T0): 2 calls per DAY window, opened at T0."""
    return open_at(eth=ETHER, period=DAY, max_calls=2)


def test_execute_beyond_call_limit_reverts(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    data = target.ping.encode_input()
    clock.at(t0 + 1)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + 2)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + 3)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.execute(sid, target, 0, data, sender=agent)


def test_call_limit_holds_until_the_last_second_of_the_window(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    data = target.ping.encode_input()
    clock.at(t0 + 1)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + 2)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + DAY - 1)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.execute(sid, target, 0, data, sender=agent)


def test_call_limit_resets_at_the_exact_boundary(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    data = target.ping.encode_input()
    clock.at(t0 + 1)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + 2)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + DAY)
    manager.execute(sid, target, 0, data, sender=agent)
    clock.at(t0 + DAY + 1)
    manager.execute(sid, target, 0, data, sender=agent)
    assert target.pings() == 4
    clock.at(t0 + DAY + 2)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.execute(sid, target, 0, data, sender=agent)


def test_calls_in_period_view_counts_and_resets(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    clock.at(t0 + 1)
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    assert manager.getSession(sid).callsInPeriod == 1
    clock.mine(t0 + DAY)
    assert manager.getSession(sid).callsInPeriod == 0


def test_call_limit_counts_every_call_of_a_batch(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    call = (target.address, 0, target.ping.encode_input())
    clock.at(t0 + 1)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.executeBatch(sid, [call, call, call], sender=agent)
    clock.at(t0 + 2)
    manager.executeBatch(sid, [call, call], sender=agent)
    clock.at(t0 + 3)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)


def test_call_limit_counts_token_transfers(manager, agent, stranger, limited_session, clock):
    sid, t0 = limited_session
    clock.at(t0 + 1)
    manager.transferToken(sid, NATIVE, stranger, 1, sender=agent)
    clock.at(t0 + 2)
    manager.transferToken(sid, NATIVE, stranger, 1, sender=agent)
    clock.at(t0 + 3)
    with ape.reverts(manager.CallLimitExceeded, id=sid, maxCalls=2):
        manager.transferToken(sid, NATIVE, stranger, 1, sender=agent)


def test_failed_call_does_not_use_up_the_call_limit(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    clock.at(t0 + 1)
    with ape.reverts(manager.CallFailed):
        manager.execute(sid, target, 0, target.fail.encode_input(1), sender=agent)
    clock.at(t0 + 2)
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    clock.at(t0 + 3)
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    assert target.pings() == 2


# --------------------------------------------------------------------------------------------------
# execute: idle timeout and expiry
# --------------------------------------------------------------------------------------------------

MAX_IDLE = 600


@pytest.fixture
def idle_session(open_at):
    """(id, T0): expires after MAX_IDLE seconds without activity."""
    return open_at(eth=ETHER, max_idle=MAX_IDLE)


def test_execute_one_second_before_idle_timeout_succeeds(manager, agent, stranger, idle_session, clock):
    sid, t0 = idle_session
    clock.at(t0 + MAX_IDLE - 1)
    manager.execute(sid, stranger, 1, b"", sender=agent)
    assert manager.getSession(sid).lastActive == t0 + MAX_IDLE - 1


def test_status_is_expired_exactly_at_last_active_plus_max_idle(manager, idle_session, clock):
    sid, t0 = idle_session
    clock.mine(t0 + MAX_IDLE - 1)
    assert manager.statusOf(sid) == ACTIVE
    clock.mine(t0 + MAX_IDLE)
    assert manager.statusOf(sid) == EXPIRED


def test_execute_exactly_at_idle_timeout_reverts_expired(manager, agent, stranger, idle_session, clock):
    sid, t0 = idle_session
    clock.at(t0 + MAX_IDLE)
    with ape.reverts(manager.SessionNotActive, id=sid, status=EXPIRED):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_activity_refreshes_the_idle_timeout(manager, agent, stranger, idle_session, clock):
    sid, t0 = idle_session
    clock.at(t0 + 300)
    manager.execute(sid, stranger, 1, b"", sender=agent)
    clock.mine(t0 + MAX_IDLE)
    assert manager.statusOf(sid) == ACTIVE
    clock.mine(t0 + 300 + MAX_IDLE - 1)
    assert manager.statusOf(sid) == ACTIVE
    clock.mine(t0 + 300 + MAX_IDLE)
    assert manager.statusOf(sid) == EXPIRED


def test_execute_after_refresh_succeeds_past_the_original_deadline(manager, agent, stranger, idle_session, clock):
    sid, t0 = idle_session
    clock.at(t0 + 300)
    manager.execute(sid, stranger, 1, b"", sender=agent)
    clock.at(t0 + 300 + MAX_IDLE - 1)
    manager.execute(sid, stranger, 1, b"", sender=agent)
    assert manager.getSession(sid).lastActive == t0 + 300 + MAX_IDLE - 1


def test_execute_one_second_before_expiry_succeeds(manager, agent, stranger, open_at, clock):
    t = clock.fresh()
    sid, t0 = open_at(eth=ETHER, expiry=t + 1_000)
    clock.at(t + 999)
    manager.execute(sid, stranger, 1, b"", sender=agent)


def test_status_is_expired_exactly_at_expiry(manager, open_at, clock):
    t = clock.fresh()
    sid, _ = open_at(eth=ETHER, expiry=t + 1_000)
    clock.mine(t + 999)
    assert manager.statusOf(sid) == ACTIVE
    clock.mine(t + 1_000)
    assert manager.statusOf(sid) == EXPIRED


def test_execute_exactly_at_expiry_reverts(manager, agent, stranger, open_at, clock):
    t = clock.fresh()
    sid, _ = open_at(eth=ETHER, expiry=t + 1_000)
    clock.at(t + 1_000)
    with ape.reverts(manager.SessionNotActive, id=sid, status=EXPIRED):
        manager.execute(sid, stranger, 1, b"", sender=agent)


# --------------------------------------------------------------------------------------------------
# execute: statuses that cannot act
# --------------------------------------------------------------------------------------------------


def _end(manager, owner, sid, how):
    if how == "paused":
        manager.pause(sid, sender=owner)
    elif how == "paused_all":
        manager.pauseAll(sender=owner)
    elif how == "revoked":
        manager.revoke(sid, sender=owner)
    elif how == "revoked_all":
        manager.revokeAll(sender=owner)
    elif how == "completed":
        manager.complete(sid, sender=owner)


@pytest.mark.parametrize(
    "how, status",
    [
        ("paused", PAUSED),
        ("paused_all", PAUSED),
        ("revoked", REVOKED),
        ("revoked_all", REVOKED),
        ("completed", COMPLETED),
    ],
)
def test_execute_reverts_when_session_cannot_act(manager, owner, agent, stranger, eth_session, how, status):
    _end(manager, owner, eth_session, how)
    with ape.reverts(manager.SessionNotActive, id=eth_session, status=status):
        manager.execute(eth_session, stranger, 1, b"", sender=agent)


def test_execute_reverts_in_draft(manager, agent, stranger, make_session):
    sid = make_session(eth=ETHER, draft=True)
    with ape.reverts(manager.SessionNotActive, id=sid, status=DRAFT):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_execute_works_again_after_resume(manager, owner, agent, stranger, eth_session):
    manager.pause(eth_session, sender=owner)
    manager.resume(eth_session, sender=owner)
    manager.execute(eth_session, stranger, 1, b"", sender=agent)
    assert eth_spent_by_events(manager, eth_session) == 1
    assert manager.remaining(eth_session, NATIVE) == ETHER - 1


@pytest.mark.parametrize("how, status", [("paused", PAUSED), ("revoked", REVOKED)])
def test_execute_of_child_reverts_when_parent_cannot_act(
    manager, owner, agent, sub_agent, stranger, eth_session, spawn, how, status
):
    child = spawn(eth_session, child_agent=sub_agent, eth=100, any_target=True)
    _end(manager, owner, eth_session, how)
    with ape.reverts(manager.SessionNotActive, id=child, status=status):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)


# --------------------------------------------------------------------------------------------------
# execute: failing calls
# --------------------------------------------------------------------------------------------------


def test_execute_failing_call_reverts_with_target_revert_data(manager, agent, target, eth_session):
    reason = error_data(target.Boom, 7)
    with ape.reverts(manager.CallFailed, id=eth_session, target=target, reason=reason):
        manager.execute(eth_session, target, 0, target.fail.encode_input(7), sender=agent)


def test_execute_value_to_non_payable_function_reverts_with_empty_reason(manager, agent, target, eth_session):
    with ape.reverts(manager.CallFailed, id=eth_session, target=target, reason=b""):
        manager.execute(eth_session, target, 1, target.other.encode_input(), sender=agent)


def test_execute_unknown_function_reverts_call_failed(manager, agent, dex, eth_session):
    with ape.reverts(manager.CallFailed, id=eth_session, target=dex, reason=b""):
        manager.execute(eth_session, dex, 0, b"\xde\xad\xbe\xef", sender=agent)


def test_manager_refuses_plain_eth(manager, stranger):
    with ape.reverts(manager.UnexpectedETH, **{"from": stranger}):
        stranger.transfer(manager, 1)


# --------------------------------------------------------------------------------------------------
# executeBatch
# --------------------------------------------------------------------------------------------------


def test_execute_batch_runs_every_call_and_charges_the_sum(manager, agent, target, stranger, eth_session, ping_sel):
    before = stranger.balance
    calls = [(stranger.address, 10, b""), (target.address, 20, target.ping.encode_input())]
    receipt = manager.executeBatch(eth_session, calls, sender=agent)
    assert stranger.balance - before == 10
    assert target.received() == 20
    assert eth_spent_by_events(manager, eth_session) == 30
    assert manager.remaining(eth_session, NATIVE) == ETHER - 30
    assert event_args(receipt, manager.Executed) == [
        expect(eth_session, stranger, 10, NO_SELECTOR),
        expect(eth_session, target, 20, ping_sel),
    ]


def test_execute_batch_returns_every_result(manager, agent, target, eth_session):
    calls = [(target.address, 0, target.ping.encode_input()), (target.address, 0, target.other.encode_input())]
    receipt = manager.executeBatch(eth_session, calls, sender=agent)
    assert [bytes(r) for r in receipt.return_value] == [abi_encode(["uint256"], [1]), abi_encode(["uint256"], [42])]


def test_execute_batch_failing_call_reverts_whole_batch_with_index(manager, agent, target, stranger, eth_session):
    calls = [(target.address, 0, target.ping.encode_input()), (target.address, 0, target.fail.encode_input(3))]
    with ape.reverts(manager.BatchCallFailed, id=eth_session, index=1, reason=error_data(target.Boom, 3)):
        manager.executeBatch(eth_session, calls, sender=agent)
    assert target.pings() == 0


def test_execute_batch_failing_first_call_reports_index_zero(manager, agent, target, eth_session):
    calls = [(target.address, 0, target.fail.encode_input(9)), (target.address, 0, target.ping.encode_input())]
    with ape.reverts(manager.BatchCallFailed, id=eth_session, index=0, reason=error_data(target.Boom, 9)):
        manager.executeBatch(eth_session, calls, sender=agent)


def test_execute_batch_checks_allowlist_per_call(manager, agent, target, allowlisted, ping_sel, other_sel):
    sid = allowlisted((target, ping_sel))
    calls = [(target.address, 0, target.ping.encode_input()), (target.address, 0, target.other.encode_input())]
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=target, selector=other_sel):
        manager.executeBatch(sid, calls, sender=agent)


def test_execute_batch_budget_is_cumulative(manager, agent, stranger, make_session):
    sid = make_session(eth=10)
    calls = [(stranger.address, 6, b""), (stranger.address, 6, b"")]
    with ape.reverts(manager.BudgetExceeded, id=sid, token=NATIVE, requested=6, remaining=4):
        manager.executeBatch(sid, calls, sender=agent)


def test_execute_batch_per_call_cap_applies_to_each_call(manager, agent, stranger, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, 100, 5)])
    manager.executeBatch(sid, [(stranger.address, 5, b""), (stranger.address, 5, b"")], sender=agent)
    with ape.reverts(manager.PerCallCapExceeded, id=sid, token=NATIVE, requested=6, cap=5):
        manager.executeBatch(sid, [(stranger.address, 5, b""), (stranger.address, 6, b"")], sender=agent)


def test_execute_batch_period_allowance_is_cumulative(manager, agent, stranger, open_at, clock):
    sid, t0 = open_at(eth=0, budgets=[(NATIVE, 1_000, 0, 100)], period=DAY)
    clock.at(t0 + 1)
    with ape.reverts(manager.PeriodAllowanceExceeded, id=sid, token=NATIVE, requested=50, remaining=40):
        manager.executeBatch(sid, [(stranger.address, 60, b""), (stranger.address, 50, b"")], sender=agent)


def test_execute_batch_reverts_for_non_agent(manager, stranger, eth_session):
    with ape.reverts(manager.NotAgent, id=eth_session, caller=stranger):
        manager.executeBatch(eth_session, [(stranger.address, 1, b"")], sender=stranger)


def test_execute_batch_reverts_when_paused(manager, owner, agent, stranger, eth_session):
    manager.pause(eth_session, sender=owner)
    with ape.reverts(manager.SessionNotActive, id=eth_session, status=PAUSED):
        manager.executeBatch(eth_session, [(stranger.address, 1, b"")], sender=agent)


# --------------------------------------------------------------------------------------------------
# transferToken
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def token_session(make_session, token):
    """An anyTarget session with 1 ETH and 1000 TUSD."""
    return make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 1_000)])


def test_transfer_token_moves_exact_erc20_amount(manager, agent, stranger, token, token_session):
    recipient_before, manager_before = token.balanceOf(stranger), token.balanceOf(manager)
    manager.transferToken(token_session, token, stranger, 250, sender=agent)
    assert token.balanceOf(stranger) - recipient_before == 250
    assert manager_before - token.balanceOf(manager) == 250


def test_transfer_token_charges_the_erc20_budget(manager, agent, stranger, token, token_session):
    manager.transferToken(token_session, token, stranger, 250, sender=agent)
    budget = manager.getBudget(token_session, token)
    assert (budget.available, budget.spent) == (750, 250)
    assert manager.remaining(token_session, NATIVE) == ETHER


def test_transfer_token_emits_token_transferred(manager, agent, stranger, token, token_session):
    receipt = manager.transferToken(token_session, token, stranger, 250, sender=agent)
    assert event_args(receipt, manager.TokenTransferred) == [expect(token_session, token, stranger, 250)]
    assert event_args(receipt, token.Transfer) == [expect(manager, stranger, 250)]


def test_transfer_token_native_moves_exact_eth(manager, agent, stranger, token_session):
    before = stranger.balance
    receipt = manager.transferToken(token_session, NATIVE, stranger, 10**16, sender=agent)
    assert stranger.balance - before == 10**16
    assert eth_spent_by_events(manager, token_session) == 10**16
    assert event_args(receipt, manager.TokenTransferred) == [expect(token_session, NATIVE, stranger, 10**16)]


def test_transfer_token_beyond_budget_reverts(manager, agent, stranger, token, token_session):
    with ape.reverts(manager.BudgetExceeded, id=token_session, token=token, requested=1_001, remaining=1_000):
        manager.transferToken(token_session, token, stranger, 1_001, sender=agent)


def test_transfer_token_without_budget_reverts(manager, agent, stranger, token_b, token_session):
    with ape.reverts(manager.BudgetExceeded, id=token_session, token=token_b, requested=1, remaining=0):
        manager.transferToken(token_session, token_b, stranger, 1, sender=agent)


def test_transfer_token_native_beyond_budget_reverts(manager, agent, stranger, token_session):
    with ape.reverts(manager.BudgetExceeded, id=token_session, token=NATIVE, requested=ETHER + 1, remaining=ETHER):
        manager.transferToken(token_session, NATIVE, stranger, ETHER + 1, sender=agent)


def test_transfer_token_above_per_call_cap_reverts(manager, agent, stranger, token, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000, 100)])
    manager.transferToken(sid, token, stranger, 100, sender=agent)
    with ape.reverts(manager.PerCallCapExceeded, id=sid, token=token, requested=101, cap=100):
        manager.transferToken(sid, token, stranger, 101, sender=agent)


def test_transfer_token_native_above_per_call_cap_reverts(manager, agent, stranger, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, 1_000, 100)])
    with ape.reverts(manager.PerCallCapExceeded, id=sid, token=NATIVE, requested=101, cap=100):
        manager.transferToken(sid, NATIVE, stranger, 101, sender=agent)


def test_transfer_token_period_allowance_and_reset(manager, agent, stranger, token, open_at, clock):
    sid, t0 = open_at(eth=0, budgets=[(token, 1_000, 0, 300)], period=DAY)
    clock.at(t0 + 1)
    manager.transferToken(sid, token, stranger, 200, sender=agent)
    clock.at(t0 + 2)
    with ape.reverts(manager.PeriodAllowanceExceeded, id=sid, token=token, requested=101, remaining=100):
        manager.transferToken(sid, token, stranger, 101, sender=agent)
    clock.at(t0 + DAY)
    manager.transferToken(sid, token, stranger, 300, sender=agent)
    assert manager.getBudget(sid, token).spent == 500


def test_transfer_token_to_unlisted_recipient_reverts(manager, agent, stranger, token, make_session, target):
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(target, ANY)])
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=stranger, selector=NO_SELECTOR):
        manager.transferToken(sid, token, stranger, 1, sender=agent)


@pytest.mark.parametrize("perm", ["zero_selector", "any_selector"])
def test_transfer_token_to_allowlisted_recipient(manager, agent, stranger, token, make_session, perm):
    sel = NO_SELECTOR if perm == "zero_selector" else ANY
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(stranger, sel)])
    manager.transferToken(sid, token, stranger, 5, sender=agent)
    assert manager.getBudget(sid, token).spent == 5


def test_transfer_token_recipient_with_only_a_function_permission_reverts(
    manager, agent, token, make_session, target, ping_sel
):
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(target, ping_sel)])
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=target, selector=NO_SELECTOR):
        manager.transferToken(sid, token, target, 1, sender=agent)


@pytest.mark.parametrize("to", ["manager", "factory"])
def test_transfer_token_to_forbidden_recipient_reverts(manager, factory, agent, token, token_session, to):
    recipient = {"manager": manager, "factory": factory}[to]
    with ape.reverts(manager.ForbiddenTarget, id=token_session, target=recipient):
        manager.transferToken(token_session, token, recipient, 1, sender=agent)


def test_transfer_token_erc20_to_an_escrowed_token_is_a_plain_payout(manager, agent, token, token_session):
    """An ERC-20 payout never calls its payee: an escrowed token may receive one (ETH to it stays refused)."""
    before = token.balanceOf(token)
    manager.transferToken(token_session, token, token, 1, sender=agent)
    assert token.balanceOf(token) - before == 1
    with ape.reverts(manager.ForbiddenTarget, id=token_session, target=token):
        manager.transferToken(token_session, NATIVE, token, 1, sender=agent)


def test_transfer_token_reverts_for_non_agent(manager, owner, token, token_session):
    with ape.reverts(manager.NotAgent, id=token_session, caller=owner):
        manager.transferToken(token_session, token, owner, 1, sender=owner)


def test_transfer_token_reverts_when_paused(manager, owner, agent, stranger, token, token_session):
    manager.pause(token_session, sender=owner)
    with ape.reverts(manager.SessionNotActive, id=token_session, status=PAUSED):
        manager.transferToken(token_session, token, stranger, 1, sender=agent)


def test_transfer_token_is_refused_by_guard(manager, owner, agent, stranger, token, guard, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000)], guards=[guard])
    guard.setDenied([stranger], True, sender=owner)
    reason = error_data(guard.Denied, stranger)
    with ape.reverts(manager.GuardRejected, id=sid, guard=guard, reason=reason):
        manager.transferToken(sid, token, stranger, 1, sender=agent)


# --------------------------------------------------------------------------------------------------
# swap (approve -> call -> reset, metered on balance deltas)
# --------------------------------------------------------------------------------------------------


def swap_data(dex, manager, token_in, amount, token_out, half=False):
    fn = dex.swapHalf if half else dex.swap
    return fn.encode_input(plain(token_in), amount, plain(token_out), manager.address)


@pytest.fixture
def swap_session(make_session, escrow, token, token_b):
    """An anyTarget session with 1 ETH, 1000 TUSD and an empty OTH row (a swap's output must be a token the session
    has a row for)."""
    return make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 1_000), (token_b, 0)])


def test_swap_erc20_to_erc20_charges_and_credits(manager, agent, dex, token, token_b, swap_session):
    in_before, out_before = token.balanceOf(manager), token_b.balanceOf(manager)
    data = swap_data(dex, manager, token, 400, token_b)
    receipt = manager.swap(swap_session, token, 400, token_b, 400, dex, data, sender=agent)
    assert receipt.return_value == (400, 400)
    assert in_before - token.balanceOf(manager) == 400
    assert token_b.balanceOf(manager) - out_before == 400
    assert manager.getBudget(swap_session, token) == (token.address, 600, 400, 0, 0, 0)
    assert manager.getBudget(swap_session, token_b) == (token_b.address, 400, 0, 0, 0, 0)


def test_swap_leaves_no_allowance_to_the_dex(manager, agent, dex, token, token_b, swap_session):
    manager.swap(swap_session, token, 400, token_b, 0, dex, swap_data(dex, manager, token, 400, token_b), sender=agent)
    assert token.allowance(manager, dex) == 0


def test_swap_emits_swapped(manager, agent, dex, token, token_b, swap_session):
    receipt = manager.swap(
        swap_session, token, 400, token_b, 0, dex, swap_data(dex, manager, token, 400, token_b), sender=agent
    )
    assert event_args(receipt, manager.Swapped) == [expect(swap_session, dex, token, 400, token_b, 400)]


def test_swap_credits_the_actual_output(manager, owner, agent, dex, token, token_b, swap_session):
    dex.setRate(3 * 10**18, sender=owner)
    receipt = manager.swap(
        swap_session, token, 100, token_b, 300, dex, swap_data(dex, manager, token, 100, token_b), sender=agent
    )
    assert receipt.return_value == (100, 300)
    assert manager.remaining(swap_session, token_b) == 300


def test_swap_output_is_credited_to_the_sessions_row(manager, agent, dex, token, token_b, swap_session):
    """The empty OTH row declared at creation receives the output; no row is added."""
    assert [b.token for b in manager.getSession(swap_session).budgets] == [NATIVE, token.address, token_b.address]
    assert manager.isEscrowToken(token_b)
    manager.swap(swap_session, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=agent)
    assert [b.token for b in manager.getSession(swap_session).budgets] == [NATIVE, token.address, token_b.address]
    assert manager.remaining(swap_session, token_b) == 10


def test_swap_erc20_to_eth_credits_eth(manager, agent, dex, token, swap_session):
    eth_before = manager.balance
    receipt = manager.swap(
        swap_session, token, 300, NATIVE, 300, dex, swap_data(dex, manager, token, 300, NATIVE), sender=agent
    )
    assert receipt.return_value == (300, 300)
    assert manager.balance - eth_before == 300
    assert manager.getBudget(swap_session, NATIVE).available == ETHER + 300
    assert manager.getBudget(swap_session, token).spent == 300
    assert token.allowance(manager, dex) == 0


def test_swap_eth_to_erc20_spends_eth_and_credits_token(manager, agent, dex, token, swap_session):
    eth_before, token_before = manager.balance, token.balanceOf(manager)
    data = swap_data(dex, manager, NATIVE, 10**17, token)
    receipt = manager.swap(swap_session, NATIVE, 10**17, token, 10**17, dex, data, sender=agent)
    assert receipt.return_value == (10**17, 10**17)
    assert eth_before - manager.balance == 10**17
    assert token.balanceOf(manager) - token_before == 10**17
    assert eth_spent_by_events(manager, swap_session) == 10**17
    assert manager.remaining(swap_session, token) == 1_000 + 10**17


def test_swap_charges_only_what_the_dex_took(manager, agent, dex, token, token_b, swap_session):
    data = swap_data(dex, manager, token, 400, token_b, half=True)
    receipt = manager.swap(swap_session, token, 400, token_b, 0, dex, data, sender=agent)
    assert receipt.return_value == (200, 200)
    budget = manager.getBudget(swap_session, token)
    assert (budget.available, budget.spent) == (800, 200)
    assert token.allowance(manager, dex) == 0
    assert event_args(receipt, manager.Swapped) == [expect(swap_session, dex, token, 200, token_b, 200)]


def test_swap_reverts_when_dex_pulls_more_than_approved(manager, owner, agent, dex, token, token_b, swap_session):
    dex.setPullExtra(1, sender=owner)
    reason = error_data(token.ERC20InsufficientAllowance, dex, 400, 401)
    with ape.reverts(manager.CallFailed, id=swap_session, target=dex, reason=reason):
        manager.swap(
            swap_session, token, 400, token_b, 0, dex, swap_data(dex, manager, token, 400, token_b), sender=agent
        )


def test_swap_reverts_on_insufficient_output(manager, agent, dex, token, token_b, swap_session):
    with ape.reverts(manager.InsufficientOutput, id=swap_session, token=token_b, received=400, minReceived=401):
        manager.swap(
            swap_session, token, 400, token_b, 401, dex, swap_data(dex, manager, token, 400, token_b), sender=agent
        )


def test_swap_reverts_beyond_budget_before_anything_moves(manager, agent, dex, token, token_b, swap_session):
    with ape.reverts(manager.BudgetExceeded, id=swap_session, token=token, requested=1_001, remaining=1_000):
        manager.swap(
            swap_session, token, 1_001, token_b, 0, dex, swap_data(dex, manager, token, 1, token_b), sender=agent
        )


def test_swap_reverts_above_per_call_cap(manager, agent, dex, token, token_b, make_session, escrow):
    sid = make_session(eth=0, budgets=[(token, 1_000, 100), (token_b, 0)])
    with ape.reverts(manager.PerCallCapExceeded, id=sid, token=token, requested=101, cap=100):
        manager.swap(sid, token, 101, token_b, 0, dex, swap_data(dex, manager, token, 101, token_b), sender=agent)


def test_swap_needs_the_dex_on_the_allowlist(manager, agent, dex, token, token_b, make_session):
    swap_sel = selector(dex.swap)
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(dex, selector(dex.setRate))])
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=dex, selector=swap_sel):
        manager.swap(sid, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=agent)


def test_swap_through_allowlisted_selector(manager, agent, dex, token, token_b, make_session, escrow):
    sid = make_session(eth=0, budgets=[(token, 1_000), (token_b, 0)], any_target=False,
                       permissions=[(dex, selector(dex.swap))])
    manager.swap(sid, token, 10, token_b, 10, dex, swap_data(dex, manager, token, 10, token_b), sender=agent)
    assert manager.remaining(sid, token_b) == 10


def test_swap_reverts_with_escrowed_token_as_target(manager, agent, token, token_b, swap_session):
    with ape.reverts(manager.ForbiddenTarget, id=swap_session, target=token):
        manager.swap(
            swap_session, token, 10, token_b, 0, token, token.transfer.encode_input(agent.address, 10), sender=agent
        )


def test_swap_reverts_for_same_token_in_and_out(manager, agent, dex, token, swap_session):
    with ape.reverts(manager.SameToken, token=token):
        manager.swap(swap_session, token, 10, token, 0, dex, swap_data(dex, manager, token, 10, token), sender=agent)


def test_swap_reverts_for_non_agent(manager, owner, dex, token, token_b, swap_session):
    with ape.reverts(manager.NotAgent, id=swap_session, caller=owner):
        manager.swap(
            swap_session, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=owner
        )


def test_swap_failing_dex_call_reverts_call_failed(manager, agent, dex, token, token_b, swap_session):
    """The calldata asks the DEX for an ETH-in swap but no ETH is sent (tokenIn is TUSD): its
    `require(msg.value == amountIn, "value")` fails and the reason is passed on."""
    data = swap_data(dex, manager, NATIVE, 10**17, token_b)
    reason = error_data_string("value")
    with ape.reverts(manager.CallFailed, id=swap_session, target=dex, reason=reason):
        manager.swap(swap_session, token, 10, token_b, 0, dex, data, sender=agent)


# --------------------------------------------------------------------------------------------------
# swap outputs: only a token the session has a budget row for (ETH included)
# --------------------------------------------------------------------------------------------------


def _state(manager, sid, *tokens):
    """What a refused swap must leave untouched: the session's budgets, the escrow flags and every balance of
    the manager and its executor."""
    executor = manager.executor()
    return (
        [tuple(b) for b in manager.getSession(sid).budgets],
        [manager.isEscrowToken(t) for t in tokens],
        manager.balance,
        [(t.balanceOf(manager), t.balanceOf(executor)) for t in tokens],
    )


def test_swap_into_a_token_nobody_escrows_reverts_and_moves_nothing(manager, agent, dex, token, token_b, make_session):
    sid = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 1_000)])
    assert not manager.isEscrowToken(token_b)
    before = _state(manager, sid, token, token_b)
    dex_before = (token.balanceOf(dex), token_b.balanceOf(dex))
    with ape.reverts(manager.NoBudgetRow, id=sid, token=token_b):
        manager.swap(sid, token, 400, token_b, 0, dex, swap_data(dex, manager, token, 400, token_b), sender=agent)
    assert _state(manager, sid, token, token_b) == before
    assert (token.balanceOf(dex), token_b.balanceOf(dex)) == dex_before
    assert token.allowance(manager.executor(), dex) == 0


def test_swap_from_eth_into_a_token_nobody_escrows_reverts(manager, agent, dex, token_b, make_session):
    sid = make_session(eth=ETHER)
    before = _state(manager, sid, token_b)
    with ape.reverts(manager.NoBudgetRow, id=sid, token=token_b):
        manager.swap(sid, NATIVE, 10**17, token_b, 0, dex, swap_data(dex, manager, NATIVE, 10**17, token_b),
                     sender=agent)
    assert _state(manager, sid, token_b) == before


def test_swap_into_eth_needs_an_eth_row(manager, agent, dex, token, make_session):
    """ETH is an output only for a session with an ETH row (an empty one is enough)."""
    no_row = make_session(eth=0, budgets=[(token, 1_000)])
    with ape.reverts(manager.NoBudgetRow, id=no_row, token=NATIVE):
        manager.swap(no_row, token, 300, NATIVE, 0, dex, swap_data(dex, manager, token, 300, NATIVE), sender=agent)
    sid = make_session(eth=0, budgets=[(token, 1_000), (NATIVE, 0)])
    eth_before = manager.balance
    receipt = manager.swap(sid, token, 300, NATIVE, 300, dex, swap_data(dex, manager, token, 300, NATIVE),
                           sender=agent)
    assert receipt.return_value == (300, 300)
    assert manager.balance - eth_before == 300
    assert manager.getBudget(sid, NATIVE).available == 300
    assert manager.getBudget(sid, token)[1:3] == (700, 300)


def test_swap_into_a_token_escrowed_by_another_session(manager, agent, dex, token, token_b, make_session, escrow):
    """Escrowed by another session of the manager is not enough: the swapping session needs a row of its own."""
    other = escrow(token_b, 5)
    no_row = make_session(eth=0, budgets=[(token, 1_000)])
    with ape.reverts(manager.NoBudgetRow, id=no_row, token=token_b):
        manager.swap(no_row, token, 100, token_b, 0, dex, swap_data(dex, manager, token, 100, token_b), sender=agent)
    sid = make_session(eth=0, budgets=[(token, 1_000), (token_b, 0)])
    out_before = token_b.balanceOf(manager)
    receipt = manager.swap(sid, token, 100, token_b, 100, dex, swap_data(dex, manager, token, 100, token_b),
                           sender=agent)
    assert receipt.return_value == (100, 100)
    assert token_b.balanceOf(manager) - out_before == 100
    assert manager.remaining(sid, token_b) == 100
    assert manager.remaining(other, token_b) == 5


def test_swap_into_a_token_the_session_itself_holds(manager, agent, dex, token, token_b, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000), (token_b, 7)])
    manager.swap(sid, token, 100, token_b, 100, dex, swap_data(dex, manager, token, 100, token_b), sender=agent)
    assert manager.remaining(sid, token_b) == 107


def test_swap_into_a_token_whose_only_funding_session_was_closed(
    manager, owner, agent, stranger, dex, token, token_b, make_session, escrow
):
    """A token stays escrowed for good once funded (it also stays a forbidden target), even after the session
    that brought it was settled and the manager holds none of it."""
    other = escrow(token_b)
    manager.revoke(other, sender=owner)
    manager.close(other, sender=stranger)
    assert token_b.balanceOf(manager) == 0
    assert manager.isEscrowToken(token_b)
    sid = make_session(eth=0, budgets=[(token, 1_000), (token_b, 0)])
    manager.swap(sid, token, 100, token_b, 100, dex, swap_data(dex, manager, token, 100, token_b), sender=agent)
    assert manager.remaining(sid, token_b) == 100


def test_swap_non_agent_is_refused_before_the_output_check(manager, owner, dex, token, token_b, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000)])
    with ape.reverts(manager.NotAgent, id=sid, caller=owner):
        manager.swap(sid, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=owner)


def test_swap_of_a_session_that_cannot_act_is_refused_before_the_output_check(
    manager, owner, agent, dex, token, token_b, make_session
):
    sid = make_session(eth=0, budgets=[(token, 1_000)])
    manager.revoke(sid, sender=owner)
    with ape.reverts(manager.SessionNotActive, id=sid, status=REVOKED):
        manager.swap(sid, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=agent)


def test_swap_forbidden_target_is_refused_before_the_output_check(manager, agent, token, token_b, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000)])
    with ape.reverts(manager.ForbiddenTarget, id=sid, target=token):
        manager.swap(sid, token, 10, token_b, 0, token, token.transfer.encode_input(agent.address, 10), sender=agent)


def test_swap_target_not_allowed_is_refused_before_the_output_check(manager, agent, dex, token, token_b,
                                                                    make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(dex, selector(dex.setRate))])
    with ape.reverts(manager.TargetNotAllowed, id=sid, target=dex, selector=selector(dex.swap)):
        manager.swap(sid, token, 10, token_b, 0, dex, swap_data(dex, manager, token, 10, token_b), sender=agent)


def test_swap_output_check_comes_before_the_budget_check(manager, agent, dex, token, token_b, make_session):
    sid = make_session(eth=0, budgets=[(token, 1_000)])
    with ape.reverts(manager.NoBudgetRow, id=sid, token=token_b):
        manager.swap(sid, token, 1_001, token_b, 0, dex, swap_data(dex, manager, token, 1, token_b), sender=agent)


# --------------------------------------------------------------------------------------------------
# check() and preflight()
# --------------------------------------------------------------------------------------------------


def test_check_passes_for_a_valid_call(manager, agent, target, eth_session):
    assert manager.check(eth_session, agent, target, 10, target.ping.encode_input()) == (True, b"")


def test_check_passes_for_a_plain_transfer(manager, agent, stranger, eth_session):
    assert manager.check(eth_session, agent, stranger, ETHER, b"") == (True, b"")


def test_preflight_passes_for_a_valid_call(manager, agent, target, eth_session):
    manager.preflight(eth_session, agent, target, 10, target.ping.encode_input())


def test_check_does_not_use_up_the_call_limit(manager, agent, target, limited_session, clock):
    sid, t0 = limited_session
    for _ in range(3):
        assert manager.check(sid, agent, target, 0, b"")[0]
    clock.at(t0 + 1)
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    assert manager.getSession(sid).callsInPeriod == 1


@pytest.fixture
def failing_case(manager, owner, agent, stranger, target, factory, guard, make_session, open_at, clock):
    """`failing_case(name)` sets up a session that fails one check and returns
    (id, caller, target, value, data, error, error args)."""
    ping = target.ping.encode_input()

    def build(name):
        if name == "not_found":
            return 99, agent, target, 0, ping, manager.SessionNotFound, (99,)
        if name == "not_agent":
            sid = make_session(eth=ETHER)
            return sid, stranger, target, 0, ping, manager.NotAgent, (sid, stranger)
        if name == "paused":
            sid = make_session(eth=ETHER)
            manager.pause(sid, sender=owner)
            return sid, agent, target, 0, ping, manager.SessionNotActive, (sid, PAUSED)
        if name == "draft":
            sid = make_session(eth=ETHER, draft=True)
            return sid, agent, target, 0, ping, manager.SessionNotActive, (sid, DRAFT)
        if name == "revoked":
            sid = make_session(eth=ETHER)
            manager.revoke(sid, sender=owner)
            return sid, agent, target, 0, ping, manager.SessionNotActive, (sid, REVOKED)
        if name == "expired":
            t = clock.fresh()
            sid, _ = open_at(eth=ETHER, expiry=t + 1_000)
            clock.mine(t + 1_000)
            return sid, agent, target, 0, ping, manager.SessionNotActive, (sid, EXPIRED)
        if name == "idle":
            sid, t0 = open_at(eth=ETHER, max_idle=60)
            clock.mine(t0 + 60)
            return sid, agent, target, 0, ping, manager.SessionNotActive, (sid, EXPIRED)
        if name == "target_not_allowed":
            sid = make_session(eth=ETHER, any_target=False, permissions=[(target, selector(target.other))])
            return sid, agent, target, 0, ping, manager.TargetNotAllowed, (sid, target, selector(target.ping))
        if name == "forbidden_target":
            sid = make_session(eth=ETHER)
            return sid, agent, factory, 0, b"", manager.ForbiddenTarget, (sid, factory)
        if name == "guard_rejected":
            sid = make_session(eth=ETHER, guards=[guard])
            guard.setDenied([stranger], True, sender=owner)
            reason = error_data(guard.Denied, stranger)
            return sid, agent, stranger, 1, b"", manager.GuardRejected, (sid, guard, reason)
        if name == "budget_exceeded":
            sid = make_session(eth=ETHER)
            return sid, agent, stranger, ETHER + 1, b"", manager.BudgetExceeded, (sid, NATIVE, ETHER + 1, ETHER)
        if name == "per_call_cap":
            sid = make_session(eth=0, budgets=[(NATIVE, 1_000, 10)])
            return sid, agent, stranger, 11, b"", manager.PerCallCapExceeded, (sid, NATIVE, 11, 10)
        if name == "period_allowance":
            sid, t0 = open_at(eth=0, budgets=[(NATIVE, 1_000, 0, 100)], period=DAY)
            clock.at(t0 + 1)
            manager.execute(sid, stranger, 70, b"", sender=agent)
            return sid, agent, stranger, 31, b"", manager.PeriodAllowanceExceeded, (sid, NATIVE, 31, 30)
        if name == "call_limit":
            sid, t0 = open_at(eth=ETHER, period=DAY, max_calls=1)
            clock.at(t0 + 1)
            manager.execute(sid, target, 0, ping, sender=agent)
            return sid, agent, target, 0, ping, manager.CallLimitExceeded, (sid, 1)
        raise ValueError(name)

    return build


FAILING = [
    "not_found",
    "not_agent",
    "paused",
    "draft",
    "revoked",
    "expired",
    "idle",
    "target_not_allowed",
    "forbidden_target",
    "guard_rejected",
    "budget_exceeded",
    "per_call_cap",
    "period_allowance",
    "call_limit",
]


@pytest.mark.parametrize("name", FAILING)
def test_check_returns_the_encoded_error(manager, failing_case, name):
    sid, caller, to, value, data, error, args = failing_case(name)
    ok, reason = manager.check(sid, caller, to, value, data)
    assert not ok
    assert bytes(reason) == error_data(error, *args)


@pytest.mark.parametrize("name", FAILING)
def test_preflight_reverts_with_the_same_error(manager, failing_case, name):
    sid, caller, to, value, data, error, args = failing_case(name)
    with ape.reverts(error, **error_kwargs(error, *args)):
        manager.preflight(sid, caller, to, value, data)


@pytest.mark.parametrize("name", ["not_agent", "paused", "target_not_allowed", "budget_exceeded", "call_limit"])
def test_execute_fails_exactly_as_check_predicted(manager, failing_case, name):
    sid, caller, to, value, data, error, args = failing_case(name)
    with ape.reverts(error, **error_kwargs(error, *args)):
        manager.execute(sid, to, value, data, sender=caller)


# --------------------------------------------------------------------------------------------------
# checkpoint
# --------------------------------------------------------------------------------------------------

ROOT_A = keccak(text="state a")
ROOT_B = keccak(text="state b")


def test_checkpoint_stores_root_and_task_count(manager, agent, eth_session):
    manager.checkpoint(eth_session, ROOT_A, 3, sender=agent)
    info = manager.getSession(eth_session)
    assert (info.checkpointRoot, info.taskCount) == (ROOT_A, 3)


def test_checkpoint_emits_checkpointed(manager, agent, eth_session):
    receipt = manager.checkpoint(eth_session, ROOT_A, 3, sender=agent)
    assert event_args(receipt, manager.Checkpointed) == [expect(eth_session, ROOT_A, 3)]


def test_checkpoint_overwrites_with_a_higher_count(manager, agent, eth_session):
    manager.checkpoint(eth_session, ROOT_A, 3, sender=agent)
    manager.checkpoint(eth_session, ROOT_B, 4, sender=agent)
    info = manager.getSession(eth_session)
    assert (info.checkpointRoot, info.taskCount) == (ROOT_B, 4)


def test_checkpoint_with_the_same_count_is_allowed(manager, agent, eth_session):
    manager.checkpoint(eth_session, ROOT_A, 3, sender=agent)
    manager.checkpoint(eth_session, ROOT_B, 3, sender=agent)
    assert manager.getSession(eth_session).checkpointRoot == ROOT_B


def test_checkpoint_with_a_lower_count_reverts(manager, agent, eth_session):
    manager.checkpoint(eth_session, ROOT_A, 5, sender=agent)
    with ape.reverts(manager.TaskCountDecreased, id=eth_session, previous=5, given=4):
        manager.checkpoint(eth_session, ROOT_B, 4, sender=agent)


@pytest.mark.parametrize("who", ["owner", "stranger", "sub_agent"])
def test_checkpoint_reverts_for_non_agent(manager, eth_session, who, request):
    caller = request.getfixturevalue(who)
    with ape.reverts(manager.NotAgent, id=eth_session, caller=caller):
        manager.checkpoint(eth_session, ROOT_A, 1, sender=caller)


def test_checkpoint_reverts_when_paused(manager, owner, agent, eth_session):
    manager.pause(eth_session, sender=owner)
    with ape.reverts(manager.SessionNotActive, id=eth_session, status=PAUSED):
        manager.checkpoint(eth_session, ROOT_A, 1, sender=agent)


def test_checkpoint_refreshes_the_idle_timeout(manager, agent, idle_session, clock):
    sid, t0 = idle_session
    clock.at(t0 + 500)
    manager.checkpoint(sid, ROOT_A, 1, sender=agent)
    clock.mine(t0 + MAX_IDLE)
    assert manager.statusOf(sid) == ACTIVE
    assert manager.getSession(sid).lastActive == t0 + 500


def test_checkpoint_does_not_use_up_the_call_limit(manager, agent, target, open_at, clock):
    sid, t0 = open_at(eth=ETHER, period=DAY, max_calls=1)
    clock.at(t0 + 1)
    manager.checkpoint(sid, ROOT_A, 1, sender=agent)
    clock.at(t0 + 2)
    manager.checkpoint(sid, ROOT_B, 2, sender=agent)
    clock.at(t0 + 3)
    manager.execute(sid, target, 0, target.ping.encode_input(), sender=agent)
    assert target.pings() == 1


# --------------------------------------------------------------------------------------------------
# escrow safety of plain calls
# --------------------------------------------------------------------------------------------------


def test_allowance_granted_before_a_token_is_escrowed_cannot_drain_its_escrow(
    manager, owner, agent, stranger, token_b, make_session
):
    """`execute` forbids only tokens the manager has *already* escrowed. An agent may therefore approve a
    token nobody escrows yet; once another session escrows that token, the standing allowance must not let
    the spender take the escrow (DESIGN: the manager's balance always covers the unspent escrow, and no
    standing allowance survives). Either the approve is refused or the escrow stays covered."""
    attacker_session = make_session(eth=ETHER)
    try:
        manager.execute(
            attacker_session, token_b, 0, token_b.approve.encode_input(stranger.address, 2**256 - 1), sender=agent
        )
    except ape.exceptions.ContractLogicError:
        pass  # refusing the approve is one valid fix
    victim = make_session(eth=0, budgets=[(token_b, 1_000)])
    try:
        token_b.transferFrom(manager, stranger, 1_000, sender=stranger)
    except ape.exceptions.ContractLogicError:
        pass
    assert token_b.balanceOf(manager) >= manager.remaining(victim, token_b)
