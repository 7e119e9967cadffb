"""Attacks on a manager. Each test names the defence it checks and is built so that it fails if that defence
is removed: where a reentry or a call is refused, the same payload is shown to pass when it is not a reentry
(see the *_payload_is_valid_* controls), so only the defence stands between the attacker and success.

Test-only contracts: ReentrantAttacker (given), ReentrantToken, AttackGuard, AttackAgent (contracts/test/).
"""

from __future__ import annotations

import contextlib

import ape
from ape.exceptions import CustomError
import pytest
from eth_abi import encode
from eth_utils import keccak

from tests.conftest import (
    ANY_SELECTOR,
    DAY,
    ETHER,
    NATIVE,
    REVOKED,
    ZERO_ADDRESS,
)
from tests.helpers import assert_events, eth_spent_by_events, reverts

# conftest's `params`: one default expiry per test, so a child opened later never outlives its parent
FIXED_DEFAULT_EXPIRY = True

REENTRANCY = bytes.fromhex("ab143c06")  # Solady ReentrancyGuard `Reentrancy()`
MAX_UINT = 2**256 - 1

# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def reverts_with_data(data: bytes):
    """For reverts bubbled through a contract whose ABI may lack the error: compare the raw revert data (when Ape
    did find the error in some contract of the project and decoded it, its encoding again)."""
    with ape.reverts() as info:
        yield info
    error = info.value
    if isinstance(error, CustomError):
        abi = error.abi
        types = [i.canonical_type for i in abi.inputs]
        raw = keccak(text=abi.selector)[:4] + encode(types, [error.inputs[i.name] for i in abi.inputs])
        message = "0x" + raw.hex()
    else:
        message = str(error.revert_message or "").lower().removeprefix("custom error ").strip()
    assert message == "0x" + data.hex(), f"expected revert data 0x{data.hex()}, got {message!r}"


def error_data(signature: str, *args) -> bytes:
    """ABI-encoded custom error, e.g. error_data("Denied(address)", addr)."""
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return keccak(text=signature)[:4] + encode(types, [a.address if hasattr(a, "address") else a for a in args])


def calldata(method, *args) -> bytes:
    return bytes(method.encode_input(*args))


def created_id(receipt, manager) -> int:
    return receipt.events.filter(manager.SessionCreated)[0].id


# ----------------------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def attacker(project, owner):
    return project.ReentrantAttacker.deploy(sender=owner)


@pytest.fixture
def rtoken(project, owner, manager):
    t = project.ReentrantToken.deploy(sender=owner)
    t.mint(owner, 10**30, sender=owner)
    t.approve(manager, MAX_UINT, sender=owner)
    return t


@pytest.fixture
def attack_guard(project, owner):
    return project.AttackGuard.deploy(sender=owner)


@pytest.fixture
def attack_agent(project, owner):
    return project.AttackAgent.deploy(sender=owner)


@pytest.fixture
def executor(project, manager):
    """The account a session's calls with calldata (and swaps) are made from."""
    return project.SessionExecutor.at(manager.executor())


@pytest.fixture
def sid(make_session):
    """The honest session the attacks go through: agent `agent`, 1 ETH, any target."""
    return make_session(eth=ETHER)


def snapshot(manager, sessions, *accounts, tokens=()):
    """Everything a successful reentry would change."""
    state = {
        "manager_eth": manager.balance,
        "count": manager.sessionCount(),
        "owner": manager.owner(),
        "global": tuple(manager.globalState()),
    }
    for s in sessions:
        info = manager.getSession(s)
        state[f"session {s}"] = (info.status, info.agent, info.closed, info.taskCount, [tuple(b) for b in info.budgets])
    for a in accounts:
        state[f"eth {a.address}"] = a.balance
    for t in tokens:
        state[f"{t.address} of manager"] = t.balanceOf(manager)
        for a in accounts:
            state[f"{t.address} of {a.address}"] = t.balanceOf(a)
    return state


# ----------------------------------------------------------------------------------------------------------
# reentrancy through execute (ReentrantAttacker as the target or payee)
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def reentry(manager, make_session, attacker, owner, agent, stranger, dex, token, params, escrow):
    """Builds, for a payload name, a call into the manager that the attacker contract IS authorised to make
    (it is agent and holder of session `x`, which has an empty TUSD row for the swap's output, `y` is revoked so
    anyone may close it, and for the creation payloads it owns the manager). Returns (payload, sessions to
    watch)."""
    x = make_session(agent=attacker, budgets=[(NATIVE, ETHER), (token, 0)])
    manager.transferFrom(owner, attacker, x, sender=owner)
    y = make_session(eth=5 * 10**17)
    manager.revoke(y, sender=owner)

    def build(name):
        payloads = {
            "execute": lambda: calldata(manager.execute, x, stranger, 10**17, b""),
            "executeBatch": lambda: calldata(manager.executeBatch, x, [(stranger.address, 10**17, b"")]),
            "transferToken": lambda: calldata(manager.transferToken, x, NATIVE, stranger, 10**17),
            "swap": lambda: calldata(
                manager.swap, x, NATIVE, 10**17, token, 0, dex, calldata(dex.swap, NATIVE, 10**17, token, manager)
            ),
            "checkpoint": lambda: calldata(manager.checkpoint, x, b"\x07" * 32, 7),
            "spawnChild": lambda: calldata(manager.spawnChild, x, params(stranger, eth=10**17)),
            "spawnChildren": lambda: calldata(manager.spawnChildren, x, [params(stranger, eth=10**17)]),
            "revoke": lambda: calldata(manager.revoke, x),
            "complete": lambda: calldata(manager.complete, x),
            "close": lambda: calldata(manager.close, y),
            "closeMany": lambda: calldata(manager.closeMany, [y]),
            "fund": lambda: calldata(manager.fund, x, NATIVE, 0),
            "pause": lambda: calldata(manager.pause, x),
            "rotateAgent": lambda: calldata(manager.rotateAgent, x, stranger),
            "createSession": lambda: calldata(manager.createSession, params(stranger)),
            "createSessions": lambda: calldata(manager.createSessions, [params(stranger)]),
        }
        if name in ("createSession", "createSessions"):
            manager.transferOwnership(attacker, sender=owner)
        return payloads[name](), [x, y]

    return build


REENTRY_PAYLOADS = [
    "execute",
    "executeBatch",
    "transferToken",
    "swap",
    "checkpoint",
    "spawnChild",
    "spawnChildren",
    "revoke",
    "complete",
    "close",
    "closeMany",
    "fund",
    "pause",
    "rotateAgent",
    "createSession",
    "createSessions",
]


def parent_of(manager, sid: int) -> int:
    return manager.getSession(sid).parentId


@pytest.mark.parametrize("payload_name", REENTRY_PAYLOADS)
def test_reentry_payload_is_valid_outside_a_call(manager, attacker, reentry, stranger, payload_name):
    """Control: sent on its own (no lock held), every payload below succeeds for the attacker."""
    payload, _ = reentry(payload_name)
    attacker.arm(manager, payload, sender=stranger)
    attacker.hit(sender=stranger)
    assert attacker.attempted()
    assert attacker.reentered(), f"payload {payload_name} should be valid: {attacker.lastError().hex()}"


@pytest.mark.parametrize("entry", ["execute", "executeBatch", "transferToken"])
@pytest.mark.parametrize("payload_name", REENTRY_PAYLOADS)
def test_reentry_from_a_call_target_hits_the_lock(
    manager, attacker, reentry, sid, agent, stranger, token, entry, payload_name
):
    payload, watched = reentry(payload_name)
    attacker.arm(manager, payload, sender=stranger)
    before = snapshot(manager, watched, stranger, attacker, tokens=[token])

    if entry == "execute":
        manager.execute(sid, attacker, 0, calldata(attacker.hit), sender=agent)
    elif entry == "executeBatch":
        manager.executeBatch(sid, [(attacker.address, 0, calldata(attacker.hit))], sender=agent)
    else:  # an ETH payment triggers the attacker's receive()
        manager.transferToken(sid, NATIVE, attacker, 1, sender=agent)

    assert attacker.attempted()
    assert not attacker.reentered()
    assert bytes(attacker.lastError()) == REENTRANCY
    after = snapshot(manager, watched, stranger, attacker, tokens=[token])
    if entry == "transferToken":  # the one wei paid to the attacker is the only change
        assert after.pop(f"eth {attacker.address}") - before.pop(f"eth {attacker.address}") == 1
        assert before.pop("manager_eth") - after.pop("manager_eth") == 1
    assert after == before


# ----------------------------------------------------------------------------------------------------------
# reentrancy through a malicious ERC-20 (ReentrantToken)
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def token_reentry(manager, make_session, rtoken, owner, stranger):
    """Session `x` whose agent and holder is the token contract itself (so the reentry is authorised) and a
    revoked session `y` anyone may close."""
    x = make_session(agent=rtoken, eth=ETHER)
    manager.transferFrom(owner, rtoken, x, sender=owner)
    y = make_session(eth=5 * 10**17)
    manager.revoke(y, sender=owner)

    def build(name):
        return {
            "execute": calldata(manager.execute, x, stranger, 10**17, b""),
            "transferToken": calldata(manager.transferToken, x, NATIVE, stranger, 10**17),
            "complete": calldata(manager.complete, x),
            "close": calldata(manager.close, y),
            "fund": calldata(manager.fund, x, NATIVE, 0),
            "pause": calldata(manager.pause, x),
        }[name], [x, y]

    return build


TOKEN_PAYLOADS = ["execute", "transferToken", "complete", "close", "fund", "pause"]
ON_TRANSFER_FROM, ON_TRANSFER = 1, 2


@pytest.mark.parametrize("payload_name", TOKEN_PAYLOADS)
def test_token_reentry_payload_is_valid_outside_a_call(manager, rtoken, token_reentry, owner, stranger, payload_name):
    """Control: a plain token transfer (no manager call on the stack) lets the payload through."""
    payload, _ = token_reentry(payload_name)
    rtoken.arm(manager, payload, ON_TRANSFER, sender=stranger)
    rtoken.transfer(stranger, 1, sender=owner)
    assert rtoken.reentered(), bytes(rtoken.lastError()).hex()


@pytest.mark.parametrize("payload_name", TOKEN_PAYLOADS)
def test_token_reentry_during_create_session_funding_hits_the_lock(
    manager, rtoken, token_reentry, owner, agent, stranger, params, payload_name
):
    payload, watched = token_reentry(payload_name)
    rtoken.arm(manager, payload, ON_TRANSFER_FROM, sender=stranger)
    before = snapshot(manager, watched, stranger)

    receipt = manager.createSession(params(agent, budgets=[(rtoken, 500)]), sender=owner)

    sid = created_id(receipt, manager)
    assert manager.remaining(sid, rtoken) == 500
    assert rtoken.attempted() and not rtoken.reentered()
    assert bytes(rtoken.lastError()) == REENTRANCY
    after = snapshot(manager, watched, stranger)
    after["count"] -= 1  # the session just created
    assert after == before


@pytest.mark.parametrize("payload_name", TOKEN_PAYLOADS)
def test_token_reentry_during_fund_hits_the_lock(
    manager, rtoken, token_reentry, make_session, owner, stranger, payload_name
):
    payload, watched = token_reentry(payload_name)
    sid = make_session(eth=0, budgets=[(rtoken, 100)])
    rtoken.arm(manager, payload, ON_TRANSFER_FROM, sender=stranger)
    before = snapshot(manager, watched, stranger)
    manager.fund(sid, rtoken, 200, sender=owner)
    assert manager.remaining(sid, rtoken) == 300
    assert rtoken.attempted() and not rtoken.reentered()
    assert bytes(rtoken.lastError()) == REENTRANCY
    assert snapshot(manager, watched, stranger) == before


@pytest.mark.parametrize("payload_name", TOKEN_PAYLOADS)
def test_token_reentry_during_transfer_token_hits_the_lock(
    manager, rtoken, token_reentry, make_session, agent, stranger, payload_name
):
    payload, watched = token_reentry(payload_name)
    sid = make_session(eth=0, budgets=[(rtoken, 1_000)])
    rtoken.arm(manager, payload, ON_TRANSFER, sender=stranger)
    before = snapshot(manager, watched, stranger)

    manager.transferToken(sid, rtoken, stranger, 250, sender=agent)

    assert rtoken.balanceOf(stranger) == 250
    assert manager.remaining(sid, rtoken) == 750
    assert rtoken.attempted() and not rtoken.reentered()
    assert bytes(rtoken.lastError()) == REENTRANCY
    assert snapshot(manager, watched, stranger) == before


@pytest.mark.parametrize("payload_name", TOKEN_PAYLOADS)
def test_token_reentry_during_close_payout_hits_the_lock(
    manager, rtoken, token_reentry, make_session, owner, other, stranger, payload_name
):
    payload, watched = token_reentry(payload_name)
    sid = make_session(eth=0, budgets=[(rtoken, 1_000)])
    manager.revoke(sid, sender=owner)
    rtoken.arm(manager, payload, ON_TRANSFER, sender=stranger)
    before = snapshot(manager, watched, stranger)
    holder_before = rtoken.balanceOf(owner)

    manager.close(sid, sender=other)

    assert rtoken.balanceOf(owner) - holder_before == 1_000
    assert rtoken.attempted() and not rtoken.reentered()
    assert bytes(rtoken.lastError()) == REENTRANCY
    assert snapshot(manager, watched, stranger) == before


# ----------------------------------------------------------------------------------------------------------
# reentrancy from a swap callback into the unguarded spawnChild
# ----------------------------------------------------------------------------------------------------------


def _swap_attack(manager, attack_agent, token, token_b, params, make_session, stranger, *, reserve: int):
    """Session x (agent = AttackAgent, 1,000 TUSD, 1 OTH so that OTH may be the swap's output). The agent swaps
    100 TUSD with itself as the target; in the callback it tries to reserve `reserve` TUSD of x for a child and
    pulls the 100 it was approved for (by the executor, which holds the swap's input during the call)."""
    x = make_session(agent=attack_agent, eth=0, budgets=[(token, 1_000), (token_b, 1)])
    expiry = manager.getSession(x).expiry
    steps_targets, steps_data = [], []
    if reserve:
        steps_targets.append(manager.address)
        steps_data.append(calldata(manager.spawnChild, x, params(stranger, expiry=expiry, budgets=[(token, reserve)])))
    steps_targets.append(token.address)
    steps_data.append(calldata(token.transferFrom, manager.executor(), attack_agent, 100))
    attack_agent.arm(steps_targets, steps_data, sender=stranger)
    swap = calldata(manager.swap, x, token, 100, token_b, 0, attack_agent, b"\xde\xad\xbe\xef")
    return x, swap


def test_swap_payload_is_valid_without_a_reservation(
    manager, attack_agent, token, token_b, params, make_session, stranger
):
    """Control: the same swap, with no reservation in the callback, goes through and charges 100."""
    x, swap = _swap_attack(manager, attack_agent, token, token_b, params, make_session, stranger, reserve=0)
    attack_agent.act(manager, 0, swap, sender=stranger)
    assert manager.remaining(x, token) == 900
    assert token.balanceOf(attack_agent) == 100


def test_spawn_payload_is_valid_outside_a_swap(manager, attack_agent, token, token_b, params, make_session, stranger):
    """Control: the agent may reserve 950 of its 1,000 for a child when nothing else is in flight."""
    x = make_session(agent=attack_agent, eth=0, budgets=[(token, 1_000)])
    spawn = calldata(manager.spawnChild, x, params(stranger, budgets=[(token, 950)]))
    attack_agent.act(manager, 0, spawn, sender=stranger)
    assert manager.remaining(x, token) == 50


def test_swap_callback_cannot_reserve_the_budget_it_is_spending(
    manager, attack_agent, token, token_b, params, make_session, stranger
):
    """While the swap's approved tokens are out, the agent (also the swap target) tries to reserve the same
    budget for a child: spawnChild is locked, so the same tokens cannot count twice."""
    x, swap = _swap_attack(manager, attack_agent, token, token_b, params, make_session, stranger, reserve=950)
    count = manager.sessionCount()
    with reverts_with_data(error_data("CallFailed(uint256,address,bytes)", x, attack_agent, REENTRANCY)):
        attack_agent.act(manager, 0, swap, sender=stranger)
    assert manager.sessionCount() == count
    assert manager.remaining(x, token) == 1_000
    assert token.balanceOf(attack_agent) == 0


# ----------------------------------------------------------------------------------------------------------
# forbidden targets
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def token_session(make_session, token):
    """Agent `agent`, 1 ETH and 1,000 TUSD, any target."""
    return make_session(budgets=[(NATIVE, ETHER), (token, 1_000)])


def test_execute_cannot_target_the_manager(manager, sid, agent, owner):
    data = calldata(manager.revokeAll)
    with reverts(manager.ForbiddenTarget, id=sid, target=manager):
        manager.execute(sid, manager, 0, data, sender=agent)


def test_execute_cannot_target_the_manager_even_if_allowlisted(manager, make_session, agent, other):
    sid = make_session(eth=ETHER, any_target=False, permissions=[(manager, ANY_SELECTOR)])
    assert manager.isAllowed(sid, manager, ANY_SELECTOR)
    data = calldata(manager.rotateAgent, sid, other)
    with reverts(manager.ForbiddenTarget, id=sid, target=manager):
        manager.execute(sid, manager, 0, data, sender=agent)


def test_execute_cannot_move_session_tokens_through_the_manager_erc721(manager, sid, make_session, owner, agent):
    """The manager is its own ERC-721: an agent must not reach transferFrom/approve of session tokens."""
    another = make_session(eth=0)
    for data in (
        calldata(manager.transferFrom, owner, agent, another),
        calldata(manager.approve, agent, sid),
        calldata(manager.setApprovalForAll, agent, True),
    ):
        with reverts(manager.ForbiddenTarget, id=sid, target=manager):
            manager.execute(sid, manager, 0, data, sender=agent)
    assert manager.ownerOf(sid) == owner


def test_execute_cannot_target_the_factory(manager, factory, sid, agent, stranger):
    assert factory.isManager(manager)
    data = calldata(factory.deployManager, stranger, b"\x01" * 32)
    with reverts(manager.ForbiddenTarget, id=sid, target=factory):
        manager.execute(sid, factory, 0, data, sender=agent)


def test_execute_cannot_transfer_an_escrowed_token(manager, token_session, token, agent, stranger):
    before = token.balanceOf(manager)
    with reverts(manager.ForbiddenTarget, id=token_session, target=token):
        manager.execute(token_session, token, 0, calldata(token.transfer, stranger, 1_000), sender=agent)
    assert token.balanceOf(manager) == before


def test_agent_cannot_approve_a_spender_on_an_escrowed_token(manager, make_session, token, agent, stranger):
    """Even with the token's approve explicitly on the allowlist: a standing allowance would bypass metering."""
    approve = "0x" + calldata(token.approve, stranger, 1)[:4].hex()
    sid = make_session(eth=0, budgets=[(token, 1_000)], any_target=False, permissions=[(token, approve)])
    assert manager.isAllowed(sid, token, approve)
    with reverts(manager.ForbiddenTarget, id=sid, target=token):
        manager.execute(sid, token, 0, calldata(token.approve, stranger, MAX_UINT), sender=agent)
    assert token.allowance(manager, stranger) == 0


def test_token_escrowed_by_another_session_is_forbidden_too(manager, sid, token_session, token, agent, stranger):
    assert manager.isEscrowToken(token)
    assert manager.remaining(sid, token) == 0
    with reverts(manager.ForbiddenTarget, id=sid, target=token):
        manager.execute(sid, token, 0, calldata(token.approve, stranger, MAX_UINT), sender=agent)


def test_token_received_from_a_swap_is_forbidden(manager, make_session, token_b, dex, agent, stranger):
    """A swap's output is a token the session has a row for, hence escrowed, so whatever a session receives from a
    swap is already a forbidden target: it can only leave through the metered transferToken / swap."""
    sid = make_session(budgets=[(NATIVE, ETHER), (token_b, 0)])
    assert manager.isEscrowToken(token_b)
    swap = calldata(dex.swap, NATIVE, 10**17, token_b, manager)
    manager.swap(sid, NATIVE, 10**17, token_b, 10**17, dex, swap, sender=agent)
    assert manager.remaining(sid, token_b) == 10**17
    with reverts(manager.ForbiddenTarget, id=sid, target=token_b):
        manager.execute(sid, token_b, 0, calldata(token_b.transfer, stranger, 10**17), sender=agent)


def test_swap_cannot_bring_a_token_of_the_agents_choosing_into_the_escrow(manager, project, sid, dex, agent, stranger):
    """An agent deploys a token it controls, stocks a DEX with it and tries to swap 1 wei into it: the token would
    join its session's escrow (and on settlement its ancestors'), where it could block or bloat their close.
    Refused before anything moves; the token never becomes an escrow token."""
    own = project.TestToken.deploy("Agent Token", "AGT", 18, sender=agent)
    own.mint(dex, 10**18, sender=agent)
    before = snapshot(manager, [sid], stranger, tokens=[own])
    with reverts(manager.NoBudgetRow, id=sid, token=own):
        manager.swap(sid, NATIVE, 1, own, 0, dex, calldata(dex.swap, NATIVE, 1, own, manager), sender=agent)
    assert snapshot(manager, [sid], stranger, tokens=[own]) == before
    assert not manager.isEscrowToken(own)


def test_batch_with_a_forbidden_call_reverts_whole(manager, token_session, token, target, agent, stranger):
    calls = [
        (target.address, 0, calldata(target.ping)),
        (token.address, 0, calldata(token.transfer, stranger, 1)),
    ]
    with reverts(manager.ForbiddenTarget, id=token_session, target=token):
        manager.executeBatch(token_session, calls, sender=agent)
    assert target.pings() == 0


@pytest.mark.parametrize("payee", ["manager", "executor"])
def test_transfer_token_cannot_pay_a_forbidden_address(manager, executor, token_session, token, agent, payee):
    to = manager if payee == "manager" else executor
    with reverts(manager.ForbiddenTarget, id=token_session, target=to):
        manager.transferToken(token_session, token, to, 1, sender=agent)


def test_transfer_token_cannot_send_eth_to_an_escrowed_token(manager, token_session, token, agent):
    """ETH sent to an escrowed token could credit the manager with a balance nobody accounts for (a WETH-like
    deposit); an ERC-20 payout never calls its payee, so only ETH is refused."""
    with reverts(manager.ForbiddenTarget, id=token_session, target=token):
        manager.transferToken(token_session, NATIVE, token, 1, sender=agent)


@pytest.mark.parametrize("swap_target", ["manager", "executor", "token", "factory"])
def test_swap_cannot_target_a_forbidden_address(
    manager, executor, factory, token_session, token, token_b, agent, swap_target
):
    """OTH is not escrowed either: the forbidden target is reported first."""
    assert not manager.isEscrowToken(token_b)
    to = {"manager": manager, "executor": executor, "token": token, "factory": factory}[swap_target]
    with reverts(manager.ForbiddenTarget, id=token_session, target=to):
        manager.swap(token_session, token, 100, token_b, 0, to, calldata(token.transfer, agent, 100), sender=agent)


def test_executor_is_never_a_target_session_cannot_drive_it(manager, executor, sid, agent, target):
    """The executor and the manager are never targets: a call aimed at the executor, or a plain transfer to it,
    is refused before anything moves."""
    run = calldata(executor.run, target, calldata(target.ping))
    with reverts(manager.ForbiddenTarget, id=sid, target=executor):
        manager.execute(sid, executor, 0, run, sender=agent)
    with reverts(manager.ForbiddenTarget, id=sid, target=executor):
        manager.execute(sid, executor, 1, b"", sender=agent)
    ok, reason = manager.check(sid, agent, executor, 0, run)
    assert not ok
    assert bytes(reason) == error_data("ForbiddenTarget(uint256,address)", sid, executor)
    assert target.pings() == 0


def test_executor_is_never_a_payee(manager, executor, token_session, token, agent):
    """transferToken to the executor is refused: whatever sat there would be swept into the next swap's session."""
    with reverts(manager.ForbiddenTarget, id=token_session, target=executor):
        manager.transferToken(token_session, token, executor, 1, sender=agent)
    with reverts(manager.ForbiddenTarget, id=token_session, target=executor):
        manager.transferToken(token_session, NATIVE, executor, 1, sender=agent)
    assert token.balanceOf(executor) == 0


def test_executor_donation_is_neither_swept_into_a_session_nor_breaks_a_swap(
    manager, executor, token_session, token, dex, agent, owner
):
    """Anyone may send tokens to the executor; a stash larger than what a swap pulls stays there, inert: the swap
    charges and credits exactly what it moved."""
    token.mint(executor, 5_000, sender=owner)
    tx = manager.swap(token_session, token, 100, NATIVE, 100, dex, calldata(dex.swap, token, 100, NATIVE, executor),
                      sender=agent)
    assert tx.return_value == [100, 100] or tx.return_value == (100, 100)
    assert manager.remaining(token_session, token) == 900
    assert manager.remaining(token_session, NATIVE) == ETHER + 100
    assert token.balanceOf(executor) == 5_000
    assert token.balanceOf(manager) == 900


def test_executor_obeys_only_its_manager(executor, token, dex, target, stranger):
    with reverts(executor.NotManager, caller=stranger):
        executor.run(target, calldata(target.ping), sender=stranger)
    with reverts(executor.NotManager, caller=stranger):
        executor.swap(token, 1, NATIVE, dex, calldata(dex.swap, token, 1, NATIVE, stranger), sender=stranger)


def test_approval_made_by_a_session_binds_the_empty_executor(
    manager, executor, sid, make_session, token_b, agent, stranger
):
    """A call with calldata leaves from the executor: whatever it authorises, it authorises on an account that
    holds nothing, never on the escrow. The classic move - approve a spender on a token nobody escrows yet,
    wait for the token to be escrowed, then drain it - finds no allowance on the manager."""
    assert not manager.isEscrowToken(token_b)
    manager.execute(sid, token_b, 0, calldata(token_b.approve, stranger, MAX_UINT), sender=agent)
    assert token_b.allowance(manager, stranger) == 0
    assert token_b.allowance(executor, stranger) == MAX_UINT
    victim = make_session(eth=0, budgets=[(token_b, 1_000)])  # the token is escrowed afterwards
    with reverts(token_b.ERC20InsufficientAllowance, spender=stranger, allowance=0, needed=1):
        token_b.transferFrom(manager, stranger, 1, sender=stranger)
    assert token_b.balanceOf(manager) == 1_000
    assert manager.remaining(victim, token_b) == 1_000


def test_check_view_reports_forbidden_target(manager, token_session, token, agent, stranger):
    ok, reason = manager.check(token_session, agent, token, 0, calldata(token.transfer, stranger, 1))
    assert not ok
    assert bytes(reason) == error_data("ForbiddenTarget(uint256,address)", token_session, token)


# ----------------------------------------------------------------------------------------------------------
# swap leaves no allowance behind
# ----------------------------------------------------------------------------------------------------------


def test_swap_leaves_no_allowance_when_the_target_takes_less(
    manager, executor, make_session, token, token_b, dex, agent
):
    token_session = make_session(budgets=[(NATIVE, ETHER), (token, 1_000), (token_b, 0)])
    data = calldata(dex.swapHalf, token, 100, token_b, manager)
    receipt = manager.swap(token_session, token, 100, token_b, 0, dex, data, sender=agent)
    assert token.allowance(manager, dex) == 0
    assert token.allowance(executor, dex) == 0
    # the executor keeps nothing: the untaken half went back to the escrow
    assert token.balanceOf(executor) == 0
    assert token_b.balanceOf(executor) == 0
    budget = manager.getBudget(token_session, token)
    assert (budget.available, budget.spent) == (950, 50)  # charged what left, not what was approved
    assert manager.remaining(token_session, token_b) == 50
    assert_events(
        receipt,
        manager.Swapped,
        {"id": token_session, "target": dex, "tokenIn": token, "amountIn": 50, "tokenOut": token_b, "amountOut": 50},
    )


def test_swap_target_cannot_take_more_than_approved(
    manager, executor, make_session, token, token_b, dex, agent
):
    token_session = make_session(budgets=[(NATIVE, ETHER), (token, 1_000), (token_b, 0)])
    dex.setPullExtra(1, sender=agent)
    data = calldata(dex.swap, token, 100, token_b, manager)
    reason = error_data("ERC20InsufficientAllowance(address,uint256,uint256)", dex, 100, 101)
    with reverts(manager.CallFailed, id=token_session, target=dex, reason=reason):
        manager.swap(token_session, token, 100, token_b, 0, dex, data, sender=agent)
    assert token.allowance(manager, dex) == 0
    assert token.allowance(executor, dex) == 0


# ----------------------------------------------------------------------------------------------------------
# keys and tokens changing hands
# ----------------------------------------------------------------------------------------------------------


def test_rotated_out_key_is_refused_everywhere(manager, sid, owner, agent, stranger, other, params, dex, token):
    manager.rotateAgent(sid, other, sender=owner)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.executeBatch(sid, [(stranger.address, 1, b"")], sender=agent)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.transferToken(sid, NATIVE, stranger, 1, sender=agent)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.swap(sid, NATIVE, 1, token, 0, dex, calldata(dex.swap, NATIVE, 1, token, manager), sender=agent)
    with reverts(manager.NotAgent, id=sid, caller=agent):
        manager.checkpoint(sid, b"\x01" * 32, 1, sender=agent)
    with reverts(manager.NotAgentOrController, id=sid, caller=agent):
        manager.spawnChild(sid, params(stranger), sender=agent)
    with reverts(manager.NotAgentOrController, id=sid, caller=agent):
        manager.complete(sid, sender=agent)
    ok, reason = manager.check(sid, agent, stranger, 1, b"")
    assert not ok and bytes(reason) == error_data("NotAgent(uint256,address)", sid, agent)


def test_old_holder_loses_control_when_token_moves_mid_session(manager, sid, make_child, owner, agent, sub_agent, other, stranger, params):
    child = make_child(sid, child_agent=sub_agent, eth=10**17)  # held by `agent`
    manager.execute(sid, stranger, 10**17, b"", sender=agent)
    manager.transferFrom(owner, other, sid, sender=owner)

    for fn, args in [
        (manager.pause, (sid,)),
        (manager.revoke, (sid,)),
        (manager.rotateAgent, (sid, owner)),
        (manager.updateLimits, (sid, NATIVE, 1, 0)),
        (manager.updateExpiry, (sid, manager.getSession(sid).expiry - 1)),
        (manager.pause, (child,)),
    ]:
        with reverts(manager.NotController, id=args[0], caller=owner):
            fn(*args, sender=owner)
    with reverts(manager.NotController, id=sid, caller=owner):
        manager.fund(sid, NATIVE, 1, value=1, sender=owner)
    with reverts(manager.NotAgentOrController, id=sid, caller=owner):
        manager.spawnChild(sid, params(owner), sender=owner)
    with reverts(manager.NotAgentOrController, id=sid, caller=owner):
        manager.complete(sid, sender=owner)

    # the new holder controls the session and its subtree, and is the one paid at the end
    manager.pause(child, sender=other)
    manager.revoke(sid, sender=other)
    before_other, before_owner = other.balance, owner.balance
    manager.closeMany([child, sid], sender=stranger)
    assert other.balance - before_other == 8 * 10**17 + 10**17
    assert owner.balance == before_owner


def test_revoked_parent_child_cannot_execute_nor_spawn(manager, sid, make_child, owner, agent, sub_agent, stranger, params, token, dex):
    child = make_child(sid, child_agent=sub_agent, eth=2 * 10**17)
    manager.revoke(sid, sender=owner)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.execute(child, stranger, 1, b"", sender=sub_agent)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.executeBatch(child, [(stranger.address, 1, b"")], sender=sub_agent)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.transferToken(child, NATIVE, stranger, 1, sender=sub_agent)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.swap(child, NATIVE, 1, token, 0, dex, calldata(dex.swap, NATIVE, 1, token, manager), sender=sub_agent)
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.spawnChild(child, params(stranger), sender=sub_agent)
    # its holder (the parent's agent) cannot spawn under it, nor under the revoked parent
    with reverts(manager.SessionNotActive, id=child, status=REVOKED):
        manager.spawnChild(child, params(stranger), sender=agent)
    with reverts(manager.SessionNotActive, id=sid, status=REVOKED):
        manager.spawnChild(sid, params(stranger), sender=agent)
    # nor resume its way out
    with reverts(manager.SessionEnded, id=child, status=REVOKED):
        manager.resume(child, sender=agent)


def test_child_holder_cannot_pull_parent_budget_with_fund(manager, sid, make_child, agent, sub_agent, other):
    """A sub-agent's holder controls its own subtree only: holding a child's token must not let it move the
    parent's unspent budget into the child. (The parent's agent and the parent's controllers may.)"""
    child = make_child(sid, child_agent=sub_agent, eth=10**17)  # held by the parent's agent
    manager.transferFrom(agent, other, child, sender=agent)  # handed over to the sub-agent's operator
    assert manager.isController(child, other)
    assert not manager.isController(sid, other)
    # refused in the name of the parent, whose escrow it would move
    with reverts(manager.NotAgentOrController, id=parent_of(manager, child), caller=other):
        manager.fund(child, NATIVE, 9 * 10**17, sender=other)
    assert manager.remaining(sid, NATIVE) == 9 * 10**17


def test_session_token_cannot_be_sent_to_its_manager(manager, sid, owner):
    """The manager would become its own refund address (its receive() refuses ETH)."""
    with reverts(manager.InvalidHolder, holder=manager):
        manager.transferFrom(owner, manager, sid, sender=owner)
    assert manager.ownerOf(sid) == owner


def test_session_token_cannot_be_sent_to_the_executor(manager, sid, owner):
    """The executor holds nothing between transactions: refunds paid to it as a holder would sit there."""
    executor = manager.executor()
    for send in (manager.transferFrom, manager.safeTransferFrom):
        with reverts(manager.InvalidHolder, holder=executor):
            send(owner, executor, sid, sender=owner)
    assert manager.ownerOf(sid) == owner


def test_swap_with_the_same_token_in_and_out_is_refused(manager, token_session, token, dex, agent):
    """Overlapping balance deltas would let a swap be charged nothing and credited its own input."""
    data = calldata(dex.swap, token, 100, token, manager)
    with reverts(manager.SameToken, token=token):
        manager.swap(token_session, token, 100, token, 0, dex, data, sender=agent)


def test_swap_of_nothing_cannot_make_the_manager_call_an_arbitrary_token(manager, token_session, project, token,
                                                                          dex, agent):
    """amountIn 0 passes every budget check, so without a guard the manager would call `transfer(executor, 0)`
    on any address the agent names as tokenIn (transferToken refuses the same with ZeroAmount)."""
    own = project.TestToken.deploy("Agent's", "AGT", 18, sender=agent)
    data = calldata(dex.swap, own, 0, token, manager)
    with reverts(manager.ZeroAmount):
        manager.swap(token_session, own, 0, token, 0, dex, data, sender=agent)


def test_session_cannot_spend_another_sessions_escrow(manager, make_session, token, agent, stranger):
    small = make_session(eth=10**17)
    make_session(budgets=[(NATIVE, 5 * ETHER), (token, 1_000)])
    assert manager.balance >= 5 * ETHER
    with reverts(manager.BudgetExceeded, id=small, token=NATIVE, requested=ETHER, remaining=10**17):
        manager.execute(small, stranger, ETHER, b"", sender=agent)
    with reverts(manager.BudgetExceeded, id=small, token=token, requested=1, remaining=0):
        manager.transferToken(small, token, stranger, 1, sender=agent)


# ----------------------------------------------------------------------------------------------------------
# ETH, batches
# ----------------------------------------------------------------------------------------------------------


def test_direct_eth_to_manager_reverts(manager, sid, owner, stranger):
    before = manager.balance
    with reverts(manager.UnexpectedETH, **{"from": stranger}):
        stranger.transfer(manager, 10**17)
    with reverts(manager.UnexpectedETH, **{"from": owner}):
        owner.transfer(manager, 1)
    assert manager.balance == before


def test_replayed_batch_spends_twice_but_never_past_the_budget(manager, sid, agent, stranger, target):
    batch = [(stranger.address, 3 * 10**17, b""), (target.address, 10**17, calldata(target.ping))]
    before = stranger.balance
    manager.executeBatch(sid, batch, sender=agent)
    manager.executeBatch(sid, batch, sender=agent)
    assert stranger.balance - before == 6 * 10**17
    assert target.received() == 2 * 10**17
    assert manager.remaining(sid, NATIVE) == 2 * 10**17
    assert eth_spent_by_events(manager, sid) == 8 * 10**17

    with reverts(manager.BudgetExceeded, id=sid, token=NATIVE, requested=3 * 10**17, remaining=2 * 10**17):
        manager.executeBatch(sid, batch, sender=agent)
    # a batch whose first call fits but second does not reverts as a whole
    partial = [(stranger.address, 15 * 10**16, b""), (target.address, 10**17, calldata(target.ping))]
    with reverts(manager.BudgetExceeded, id=sid, token=NATIVE, requested=10**17, remaining=5 * 10**16):
        manager.executeBatch(sid, partial, sender=agent)
    assert stranger.balance - before == 6 * 10**17
    assert manager.remaining(sid, NATIVE) == 2 * 10**17


# ----------------------------------------------------------------------------------------------------------
# guards
# ----------------------------------------------------------------------------------------------------------


def test_denylist_guard_blocks_a_target(manager, make_session, guard, owner, agent, other, stranger):
    guard.setDenied([other.address], True, sender=owner)
    sid = make_session(eth=ETHER, guards=[guard])
    denied = error_data("Denied(address)", other)
    with reverts(manager.GuardRejected, id=sid, guard=guard, reason=denied):
        manager.execute(sid, other, 1, b"", sender=agent)
    with reverts(manager.GuardRejected, id=sid, guard=guard, reason=denied):
        manager.transferToken(sid, NATIVE, other, 1, sender=agent)
    with reverts(manager.GuardRejected, id=sid, guard=guard, reason=denied):
        manager.executeBatch(sid, [(stranger.address, 1, b""), (other.address, 1, b"")], sender=agent)
    # lifting the entry lets the same call through
    guard.setDenied([other.address], False, sender=owner)
    before = other.balance
    manager.execute(sid, other, 1, b"", sender=agent)
    assert other.balance - before == 1


@pytest.mark.parametrize(
    "mode, answer",
    [("ReturnFalse", (0).to_bytes(32, "big")), ("RevertEmpty", b"")],
    ids=["ReturnFalse", "RevertEmpty"],
)
def test_guard_refusing_without_reason_reports_its_raw_answer(
    manager, make_session, attack_guard, agent, stranger, mode, answer
):
    """A guard's refusal carries exactly what it answered: an encoded `false`, or nothing for a bare revert."""
    sid = make_session(eth=ETHER, guards=[attack_guard])
    manager.execute(sid, stranger, 1, b"", sender=agent)  # allowed while the guard says yes
    attack_guard.setMode({"ReturnFalse": 1, "RevertEmpty": 2}[mode], sender=agent)
    with reverts(manager.GuardRejected, id=sid, guard=attack_guard, reason=answer):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_guard_reason_is_passed_on(manager, make_session, attack_guard, agent, stranger):
    sid = make_session(eth=ETHER, guards=[attack_guard])
    attack_guard.setMode(3, sender=agent)
    reason = error_data("Nope(uint256,address)", sid, stranger)
    with reverts(manager.GuardRejected, id=sid, guard=attack_guard, reason=reason):
        manager.execute(sid, stranger, 1, b"", sender=agent)


def test_guard_returning_no_data_refuses_the_call(manager, make_session, attack_guard, agent, stranger):
    """A guard that answers nothing at all (not even `false`) refuses the call, reported as GuardRejected
    naming the guard (the manager reads the answer itself instead of letting ABI decoding fail)."""
    sid = make_session(eth=ETHER, guards=[attack_guard])
    attack_guard.setMode(4, sender=agent)
    before = stranger.balance
    with reverts(manager.GuardRejected, id=sid, guard=attack_guard, reason=b""):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    assert stranger.balance == before
    assert manager.remaining(sid, NATIVE) == ETHER


def test_guard_reentering_a_locked_function_is_refused(manager, make_session, attack_guard, owner, agent, stranger):
    victim = make_session(eth=10**17)
    manager.revoke(victim, sender=owner)
    sid = make_session(eth=ETHER, guards=[attack_guard])
    attack_guard.arm(manager, calldata(manager.close, victim), sender=agent)
    attack_guard.setMode(5, sender=agent)
    with reverts(manager.GuardRejected, id=sid, guard=attack_guard, reason=REENTRANCY):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    assert not manager.getSession(victim).closed


def test_guard_cannot_change_state(manager, make_session, attack_guard, owner, agent, stranger):
    """Guards are asked with STATICCALL: even an unlocked, authorised call (an ERC-721 approve of a session
    token the guard holds) fails, with no revert data."""
    sid = make_session(eth=ETHER, guards=[attack_guard])
    victim = make_session(eth=0)
    manager.transferFrom(owner, attack_guard, victim, sender=owner)
    attack_guard.arm(manager, calldata(manager.approve, stranger, victim), sender=agent)
    attack_guard.setMode(5, sender=agent)
    with reverts(manager.GuardRejected, id=sid, guard=attack_guard, reason=b""):
        manager.execute(sid, stranger, 1, b"", sender=agent)
    assert manager.getApproved(victim) == ZERO_ADDRESS


# ----------------------------------------------------------------------------------------------------------
# limits an agent must not shed by spawning a child to itself
# ----------------------------------------------------------------------------------------------------------
# The holder set a per-call cap / a periodic allowance on the agent. The agent (which may spawn children out
# of its own budget and holds their tokens) opens a child for its own key without those limits and spends
# through it. The spec does not say where the refusal must happen (at spawn, or at execute as for ancestors'
# guards), so these tests assert the property itself: the money does not leave faster than the parent's limits.


def test_agent_cannot_shed_its_per_call_cap_through_a_child(manager, make_session, agent, stranger, params):
    root = make_session(budgets=[(NATIVE, ETHER, 10**17)])  # 0.1 ETH per call
    with reverts(manager.PerCallCapExceeded, id=root, token=NATIVE, requested=5 * 10**17, cap=10**17):
        manager.execute(root, stranger, 5 * 10**17, b"", sender=agent)
    before = stranger.balance
    with ape.reverts():
        child = created_id(manager.spawnChild(root, params(agent, eth=5 * 10**17), sender=agent), manager)
        manager.execute(child, stranger, 5 * 10**17, b"", sender=agent)
    assert stranger.balance == before


def test_agent_cannot_shed_its_period_allowance_through_a_child(manager, make_session, agent, stranger, params):
    root = make_session(budgets=[(NATIVE, ETHER, 0, 2 * 10**17)], period=DAY)  # 0.2 ETH per day
    manager.execute(root, stranger, 2 * 10**17, b"", sender=agent)
    with reverts(manager.PeriodAllowanceExceeded, id=root, token=NATIVE, requested=1, remaining=0):
        manager.execute(root, stranger, 1, b"", sender=agent)
    before = stranger.balance
    with ape.reverts():
        child = created_id(manager.spawnChild(root, params(agent, eth=6 * 10**17), sender=agent), manager)
        manager.execute(child, stranger, 6 * 10**17, b"", sender=agent)
    assert stranger.balance == before
