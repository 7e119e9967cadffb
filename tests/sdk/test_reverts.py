"""Every custom error the contracts can raise, triggered for real through the SDK and caught as its typed
exception with the contract's arguments. Each scenario runs twice: caught by the gas estimate before signing,
and mined with a fixed gas limit then decoded by replaying the failed transaction."""

from types import SimpleNamespace
from typing import Any, Callable

import pytest
from eth_utils import to_checksum_address

from agent_sessions import (
    NATIVE,
    ZERO_ADDRESS,
    BatchCallFailed,
    BudgetExceeded,
    CalldataTooShort,
    CallFailed,
    CallLimitExceeded,
    ContractError,
    DeployerNotOwner,
    DepthExceeded,
    DuplicateToken,
    ExpiryExceedsParent,
    ExpiryInPast,
    ExpiryTooLate,
    ForbiddenTarget,
    GuardRejected,
    InsufficientOutput,
    InvalidGuard,
    InvalidHolder,
    ManagerExists,
    NoBudgetRow,
    NotAgent,
    NotAgentOrController,
    NotController,
    NotFactory,
    NothingToClaim,
    NotManagerOwner,
    NoValueExpected,
    PerCallCapExceeded,
    PeriodAllowanceExceeded,
    PeriodRequired,
    PermissionNotInParent,
    RotatedOut,
    SameToken,
    SessionAlreadyClosed,
    SessionEnded,
    SessionNotActive,
    SessionNotDraft,
    SessionNotEnded,
    SessionNotFound,
    SessionNotPaused,
    SessionParams,
    Status,
    TargetNotAllowed,
    TaskCountDecreased,
    TokenNotEscrowed,
    TooManyGuards,
    TransactionFailed,
    UnexpectedETH,
    UnixTime,
    UnknownRevert,
    ValueMismatch,
    ZeroAgent,
)
from agent_sessions.base.models import encode_label

from .conftest import ETHER

MINED = {"gas": 1_500_000}  # a fixed gas limit skips the estimate: the revert is mined, then replayed


@pytest.fixture
def w(client, factory, manager, make_session, make_child, params, owner_key, agent_key, sub_key, stranger_key,
      other_key, token, token_b, target, dex, guard, advance):
    return SimpleNamespace(**locals())


def _raw_params(w, **changes: Any) -> tuple:
    p = w.params(eth=0).to_tuple(w.client.now())
    fields = dict(zip(["agent", "expiry", "max_idle", "period", "max_calls", "draft", "any_target", "label",
                       "budgets", "permissions", "guards"], p))
    fields.update(changes)
    return tuple(fields.values())


def _executor(w) -> str:
    return to_checksum_address(w.manager.call("executor"))


# Each scenario: (error class, expected arguments as a function of the scenario's return value, action).
# `setup(w)` returns a context; `act(w, ctx, kw)` sends the failing transaction with txn kwargs `kw`.
SCENARIOS: dict[str, tuple[type, Callable, Callable, Callable]] = {}


def scenario(name: str, error: type, setup: Callable, act: Callable, expect: Callable) -> None:
    SCENARIOS[name] = (error, setup, act, expect)


scenario("NotManagerOwner", NotManagerOwner,
         lambda w: None,
         lambda w, c, kw: w.manager.create_session(w.params(eth=0), w.stranger_key, **kw),
         lambda w, c: {"caller": w.stranger_key.address})
scenario("NotAgent", NotAgent,
         lambda w: w.make_session(),
         lambda w, s, kw: s.execute(w.target.address, 0, b"", sender=w.stranger_key, **kw),
         lambda w, s: {"session": s.id, "caller": w.stranger_key.address})
scenario("NotController", NotController,
         lambda w: w.make_session(),
         lambda w, s, kw: s.pause(sender=w.stranger_key, **kw),
         lambda w, s: {"session": s.id, "caller": w.stranger_key.address})
scenario("NotAgentOrController", NotAgentOrController,
         lambda w: w.make_session(),
         lambda w, s, kw: s.complete(sender=w.stranger_key, **kw),
         lambda w, s: {"session": s.id, "caller": w.stranger_key.address})
scenario("SessionNotActive", SessionNotActive,
         lambda w: (s := w.make_session(), s.pause(sender=w.owner_key))[0],
         lambda w, s, kw: s.execute(w.stranger_key.address, 1, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "status": Status.PAUSED})
scenario("SessionEnded", SessionEnded,
         lambda w: (s := w.make_session(), s.revoke(sender=w.owner_key))[0],
         lambda w, s, kw: s.revoke(sender=w.owner_key, **kw),
         lambda w, s: {"session": s.id, "status": Status.REVOKED})
scenario("SessionNotDraft", SessionNotDraft,
         lambda w: w.make_session(),
         lambda w, s, kw: s.activate(sender=w.owner_key, **kw),
         lambda w, s: {"session": s.id, "status": Status.ACTIVE})
scenario("SessionNotPaused", SessionNotPaused,
         lambda w: w.make_session(),
         lambda w, s, kw: s.resume(sender=w.owner_key, **kw),
         lambda w, s: {"session": s.id, "status": Status.ACTIVE})
scenario("SessionNotEnded", SessionNotEnded,
         lambda w: w.make_session(),
         lambda w, s, kw: s.close(sender=w.stranger_key, **kw),
         lambda w, s: {"session": s.id, "status": Status.ACTIVE})
scenario("SessionAlreadyClosed", SessionAlreadyClosed,
         lambda w: (s := w.make_session(), s.complete(sender=w.agent_key))[0],
         lambda w, s, kw: s.close(sender=w.stranger_key, **kw),
         lambda w, s: {"session": s.id})
scenario("NothingToClaim", NothingToClaim,
         lambda w: None,
         lambda w, c, kw: w.manager.claim(w.token.address, w.stranger_key.address, w.stranger_key, **kw),
         lambda w, c: {"payee": w.stranger_key.address, "token": w.token.address})
scenario("BudgetExceeded", BudgetExceeded,
         lambda w: w.make_session(eth=ETHER),
         lambda w, s, kw: s.execute(w.stranger_key.address, 2 * ETHER, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "token": NATIVE, "requested": 2 * ETHER, "remaining": ETHER})
scenario("BudgetExceeded(child reservation)", BudgetExceeded,
         lambda w: w.make_session(eth=100),
         lambda w, s, kw: w.make_child(s, w.sub_key, eth=101, **kw),
         lambda w, s: {"session": s.id, "token": NATIVE, "requested": 101, "remaining": 100})
scenario("PerCallCapExceeded", PerCallCapExceeded,
         lambda w: w.make_session(budgets=[{"token": NATIVE, "amount": ETHER, "per_call_cap": 10}]),
         lambda w, s, kw: s.execute(w.stranger_key.address, 11, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "token": NATIVE, "requested": 11, "cap": 10})
scenario("PeriodAllowanceExceeded", PeriodAllowanceExceeded,
         lambda w: (s := w.make_session(period="1d", budgets=[{"token": NATIVE, "amount": ETHER,
                                                              "period_allowance": 100}]),
                    s.execute(w.stranger_key.address, 60, sender=w.agent_key))[0],
         lambda w, s, kw: s.execute(w.stranger_key.address, 50, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "token": NATIVE, "requested": 50, "remaining": 40})
scenario("CallLimitExceeded", CallLimitExceeded,
         lambda w: (s := w.make_session(period="1d", max_calls_per_period=1),
                    s.execute(w.stranger_key.address, 1, sender=w.agent_key))[0],
         lambda w, s, kw: s.execute(w.stranger_key.address, 1, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "max_calls": 1})
scenario("TargetNotAllowed", TargetNotAllowed,
         lambda w: w.make_session(any_target=False),
         lambda w, s, kw: s.execute(w.stranger_key.address, 1, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "target": w.stranger_key.address, "selector": "0x00000000"})
scenario("ForbiddenTarget", ForbiddenTarget,
         lambda w: w.make_session(),
         lambda w, s, kw: s.execute(w.manager.address, 0, b"\x12\x34\x56\x78", sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "target": w.manager.address})
scenario("ForbiddenTarget(executor)", ForbiddenTarget,  # the executor is never a payee
         lambda w: w.manager.create_session(w.params(budgets={w.token.address: 1000}), w.owner_key),
         lambda w, s, kw: s.transfer_token(w.token.address, _executor(w), 1, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "target": _executor(w)})
scenario("CalldataTooShort", CalldataTooShort,  # selector 0 means no calldata, and only that
         lambda w: w.make_session(),
         lambda w, s, kw: s.execute(w.stranger_key.address, 1, b"\x00\x00", sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "length": 2})
scenario("SessionNotActive(fund under a paused parent)", SessionNotActive,
         lambda w: (p := w.make_session(eth=ETHER), w.make_child(p, w.sub_key), p.pause(sender=w.owner_key))[:2],
         lambda w, pc, kw: w.manager.transact("fund", pc[1].id, NATIVE, 1, sender=w.agent_key, **kw),
         lambda w, pc: {"session": pc[0].id, "status": Status.PAUSED})
scenario("GuardRejected", GuardRejected,
         lambda w: (w.guard.transact("setDenied", [w.stranger_key.address], True, sender=w.owner_key),
                    w.make_session(guards=[w.guard.address]))[1],
         lambda w, s, kw: s.execute(w.stranger_key.address, 1, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "guard": w.guard.address})
scenario("CallFailed", CallFailed,
         lambda w: w.make_session(),
         lambda w, s, kw: s.execute(w.target.address, 0, w.target.encode("fail", 7), sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "target": w.target.address})
scenario("BatchCallFailed", BatchCallFailed,
         lambda w: w.make_session(),
         lambda w, s, kw: s.execute_batch([(w.target.address, 0, w.target.encode("ping")),
                                           (w.target.address, 0, w.target.encode("fail", 9))],
                                          sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "index": 1})
scenario("InsufficientOutput", InsufficientOutput,  # token_b escrowed (1 unit): a swap's output must be
         lambda w: w.manager.create_session(w.params(budgets={w.token.address: 1000, w.token_b.address: 1}),
                                            w.owner_key),
         lambda w, s, kw: s.swap(w.token.address, 100, w.token_b.address, 101, w.dex.address,
                                 w.dex.encode("swap", w.token.address, 100, w.token_b.address, w.manager.address),
                                 sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "token": w.token_b.address, "received": 100, "min_received": 101})
scenario("NoBudgetRow", NoBudgetRow,  # the session has no row for token_b: it cannot be a swap's output
         lambda w: w.manager.create_session(w.params(budgets={w.token.address: 1000}), w.owner_key),
         lambda w, s, kw: s.swap(w.token.address, 100, w.token_b.address, 0, w.dex.address,
                                 w.dex.encode("swap", w.token.address, 100, w.token_b.address, w.manager.address),
                                 sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "token": w.token_b.address})


def _holder_with_fresh_token(w):
    """A root handed to another holder, who holds (and approved) a token this manager never escrowed."""
    s = w.make_session()
    w.manager.transfer_session(s.id, w.other_key.address, sender=w.owner_key)
    fresh = w.client.deploy("testing/TestToken", "Fresh", "FRSH", 18, sender=w.other_key)
    fresh.transact("mint", w.other_key.address, 10**18, sender=w.other_key)
    fresh.transact("approve", w.manager.address, 2**256 - 1, sender=w.other_key)
    return s, fresh


scenario("TokenNotEscrowed", TokenNotEscrowed,  # only the manager owner brings a new token into the escrow
         _holder_with_fresh_token,
         lambda w, c, kw: c[0].fund(c[1].address, 1, sender=w.other_key, **kw),
         lambda w, c: {"session": c[0].id, "token": c[1].address})
scenario("DeployerNotOwner", DeployerNotOwner,  # nobody deploys at an owner's address but the owner
         lambda w: None,
         lambda w, c, kw: w.factory.deploy_manager(w.owner_key.address, salt="not-mine", sender=w.stranger_key, **kw),
         lambda w, c: {"owner": w.owner_key.address, "caller": w.stranger_key.address})
scenario("RotatedOut", RotatedOut,  # the owner rotated the agent out: the child it runs for itself is cut off
         lambda w: (s := w.make_session(), c := w.make_child(s, agent=w.agent_key),
                    s.rotate_agent(w.stranger_key.address, sender=w.owner_key))[1],
         lambda w, c, kw: c.execute(w.target.address, 1, b"", sender=w.agent_key, **kw),
         lambda w, c: {"session": c.id, "key": w.agent_key.address})
scenario("SameToken", SameToken,
         lambda w: w.manager.create_session(w.params(budgets={w.token.address: 1000}), w.owner_key),
         lambda w, s, kw: s.swap(w.token.address, 100, w.token.address, 0, w.dex.address, b"\x00\x00\x00\x01",
                                 sender=w.agent_key, **kw),
         lambda w, s: {"token": w.token.address})
scenario("ExpiryInPast", ExpiryInPast,
         lambda w: w.client.now(),
         lambda w, now, kw: w.manager.create_session(w.params(eth=0, expiry=UnixTime(now - 10)), w.owner_key, **kw),
         lambda w, now: {"expiry": now - 10})
scenario("ExpiryTooLate", ExpiryTooLate,
         lambda w: None,
         lambda w, c, kw: w.manager.create_session(w.params(eth=0, expiry=UnixTime(2**32)), w.owner_key, **kw),
         lambda w, c: {"expiry": 2**32, "latest": 2**32 - 1})
scenario("ExpiryExceedsParent", ExpiryExceedsParent,
         lambda w: w.make_session(),
         lambda w, s, kw: w.make_child(s, w.sub_key, expiry=UnixTime(s.state.expiry_timestamp + 1), **kw),
         lambda w, s: {"parent": s.id, "expiry": s.state.expiry_timestamp + 1,
                       "parent_expiry": s.state.expiry_timestamp})
scenario("PermissionNotInParent", PermissionNotInParent,
         lambda w: w.make_session(any_target=False, permissions=[w.target.address]),
         lambda w, s, kw: w.make_child(s, w.sub_key, any_target=False, permissions=[w.stranger_key.address], **kw),
         lambda w, s: {"parent": s.id, "target": w.stranger_key.address, "selector": "0xffffffff"})
scenario("ZeroAgent", ZeroAgent,
         lambda w: None,
         lambda w, c, kw: w.manager.create_session(SessionParams(agent=ZERO_ADDRESS, expiry="1d"), w.owner_key, **kw),
         lambda w, c: {})
scenario("ValueMismatch", ValueMismatch,
         lambda w: None,
         lambda w, c, kw: w.manager.transact("createSession", _raw_params(w, budgets=[(NATIVE, 5, 0, 0)]),
                                             sender=w.owner_key, value=4, **kw),
         lambda w, c: {"expected": 5, "received": 4})
scenario("DuplicateToken", DuplicateToken,
         lambda w: None,
         lambda w, c, kw: w.manager.transact("createSession", _raw_params(w, budgets=[(NATIVE, 0, 0, 0)] * 2),
                                             sender=w.owner_key, **kw),
         lambda w, c: {"token": NATIVE})
scenario("PeriodRequired", PeriodRequired,
         lambda w: w.make_session(),
         lambda w, s, kw: s.update_limits(NATIVE, 0, 100, sender=w.owner_key, **kw),
         lambda w, s: {})
scenario("NotFactory", NotFactory,
         lambda w: None,
         lambda w, c, kw: w.manager.transact("initialize", w.stranger_key.address, sender=w.stranger_key, **kw),
         lambda w, c: {"caller": w.stranger_key.address})
scenario("TooManyGuards", TooManyGuards,
         lambda w: (s := w.make_session(draft=True),
                    [s.add_guard(w.guard.address, sender=w.owner_key) for _ in range(4)])[0],
         lambda w, s, kw: s.add_guard(w.guard.address, sender=w.owner_key, **kw),
         lambda w, s: {"max": 4})
scenario("InvalidGuard", InvalidGuard,
         lambda w: w.make_session(draft=True),
         lambda w, s, kw: s.add_guard(w.stranger_key.address, sender=w.owner_key, **kw),
         lambda w, s: {"guard": w.stranger_key.address})
scenario("UnexpectedETH", UnexpectedETH,
         lambda w: None,
         lambda w, c, kw: w.client.transfer(w.stranger_key, w.manager.address, 1, **kw),
         lambda w, c: {"sender": w.stranger_key.address})
scenario("TaskCountDecreased", TaskCountDecreased,
         lambda w: (s := w.make_session(), s.checkpoint(b"\x01" * 32, 5, sender=w.agent_key))[0],
         lambda w, s, kw: s.checkpoint(b"\x02" * 32, 3, sender=w.agent_key, **kw),
         lambda w, s: {"session": s.id, "previous": 5, "given": 3})
scenario("NoValueExpected", NoValueExpected,
         lambda w: w.make_child(w.make_session(), w.sub_key),
         lambda w, c, kw: w.manager.transact("fund", c.id, NATIVE, 1, sender=w.agent_key, value=1, **kw),
         lambda w, c: {"value": 1})
scenario("InvalidHolder", InvalidHolder,
         lambda w: w.make_session(),
         lambda w, s, kw: s.transfer(w.manager.address, sender=w.owner_key, **kw),
         lambda w, s: {"holder": w.manager.address})
scenario("ManagerExists", ManagerExists,
         lambda w: w.factory.predict_manager(w.owner_key.address, 0),
         lambda w, predicted, kw: w.factory.deploy_manager(w.owner_key.address, 0, sender=w.owner_key, **kw),
         lambda w, predicted: {"manager": predicted})


def _depth_chain(w):
    session = w.make_session()
    for _ in range(8):
        session = w.manager.spawn_child(session, w.params(w.agent_key, eth=0, expiry=session.expires_at),
                                        sender=w.agent_key)
    return session


scenario("DepthExceeded", DepthExceeded,
         _depth_chain,
         lambda w, s, kw: w.make_child(s, w.sub_key, **kw),
         lambda w, s: {"parent": s.id, "max_depth": 8})


@pytest.mark.parametrize("path", ["estimate", "mined"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_contract_error_is_raised_typed_with_its_arguments(w, name, path):
    error_cls, setup, act, expect = SCENARIOS[name]
    context = setup(w)
    with pytest.raises(error_cls) as info:
        act(w, context, MINED if path == "mined" else {})
    error = info.value
    assert type(error) is error_cls
    for field, value in expect(w, context).items():
        assert getattr(error, field) == value, field
    if path == "mined":
        assert error.tx_hash is not None and error.receipt is not None and error.receipt.status == 0
    else:
        assert error.tx_hash is None


def test_nested_reasons_decode_the_callee_error(w):
    w.guard.transact("setDenied", [w.stranger_key.address], True, sender=w.owner_key)
    guarded = w.make_session(guards=[w.guard.address])
    with pytest.raises(GuardRejected) as rejected:
        guarded.execute(w.stranger_key.address, 1, sender=w.agent_key)
    inner = rejected.value.reason_error
    assert isinstance(inner, ContractError) and inner.name == "Denied"
    assert inner.arguments == {"target": w.stranger_key.address}
    session = w.make_session()
    with pytest.raises(CallFailed) as failed:
        session.execute(w.target.address, 0, w.target.encode("fail", 7), sender=w.agent_key)
    assert isinstance(failed.value.reason_error, UnknownRevert)  # Boom(uint256) is not in the SDK's ABIs
    assert failed.value.reason[4:] == (7).to_bytes(32, "big")


def test_session_not_found_from_a_view(w):
    with pytest.raises(SessionNotFound) as info:
        w.manager.state(987654)
    assert info.value.session == 987654 and isinstance(info.value, LookupError)


def test_out_of_gas_is_a_transaction_failed(w):
    session = w.make_session()
    with pytest.raises(TransactionFailed, match="ran out of gas"):
        session.execute(w.stranger_key.address, 1, sender=w.agent_key, gas=30_000)


def test_client_side_validation_refuses_what_the_contract_would(w):
    with pytest.raises(ValueError, match="appears twice"):
        w.params(budgets=[{"token": NATIVE, "amount": 1}, {"token": NATIVE, "amount": 2}])
    with pytest.raises(ValueError, match="needs a period"):
        w.params(max_calls_per_period=3)
    with pytest.raises(ValueError, match="at most 31 bytes"):
        encode_label("x" * 32)
