"""A corpus of bad SDK arguments. Each must raise ONE clear exception (a ValueError or SessionError subclass;
TypeError only for a missing sender) whose message names the offending field, and send nothing: the nonces of
every key involved are unchanged, and so is the manager's session count.

The corpus is data: `Bad(id, call, raises, names)` where `call(w)` runs the bad operation against the world `w`
(a manager with one live root session, the keys, a token), `raises` the exception classes accepted and `names`
a regular expression the message must match (the field, said in the message)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from agent_sessions import (
    NATIVE,
    BudgetExceeded,
    ExpiryExceedsParent,
    ExpiryInPast,
    InvalidGuard,
    SessionError,
    SessionParams,
    UnixTime,
)

from .conftest import ETHER

CLEAR = (ValueError, SessionError)


@dataclass(frozen=True)
class Bad:
    id: str
    call: Callable[[Any], Any]
    names: str
    raises: tuple[type[BaseException], ...] = CLEAR


def P(w, **fields) -> dict:
    """SessionParams fields for a root (any target, a day) with `fields` on top."""
    base: dict[str, Any] = {"agent": w.agent.address, "expiry": "1d", "any_target": True}
    base.update(fields)
    return base


def create(**fields):
    return lambda w: w.manager.create_session(P(w, **fields), w.owner)


def child(**fields):
    """spawn_child under the root, by its agent; the child's expiry is the root's unless given."""

    def run(w):
        given = {"expiry": w.root.expires_at, **fields}
        return w.manager.spawn_child(w.root, P(w, agent=w.sub.address, **given), sender=w.agent)

    return run


BAD_CHECKSUM = "0x70997970c51812dc3a010c7d01b50e0d17dc79C8"  # mixed case, EIP-55 checksum wrong
PAST = datetime(2001, 1, 1, tzinfo=timezone.utc)

CORPUS: list[Bad] = [
    # --- wrong types ----------------------------------------------------------------------------------------
    Bad("agent_is_an_int", create(agent=123), r"agent"),
    Bad("label_is_an_int", create(label=5), r"label"),
    Bad("draft_is_not_a_bool", create(draft="maybe"), r"draft"),
    Bad("budget_amount_is_none", create(budgets={NATIVE: None}), r"amount"),
    Bad("budget_amount_is_bytes", create(budgets={NATIVE: b"1"}), r"amount"),
    Bad("budgets_is_a_list_of_ints", create(budgets=[1, 2]), r"budgets"),
    Bad("execute_value_is_a_bool", lambda w: w.manager.execute(w.root, w.sub.address, True, sender=w.agent),
        r"amount|value"),
    Bad("execute_session_is_not_a_number", lambda w: w.manager.execute("abc", w.sub.address, 1, sender=w.agent),
        r"session"),
    Bad("sender_is_missing", lambda w: w.manager.execute(w.root, w.sub.address, 1, sender=None), r"sender",
        (TypeError,)),
    Bad("sender_is_not_a_key", lambda w: w.manager.execute(w.root, w.sub.address, 1, sender="notakey"),
        r"sender|key"),
    Bad("execute_data_is_not_hex", lambda w: w.manager.execute(w.root, w.sub.address, 0, "0xzz", sender=w.agent),
        r"data"),
    Bad("checkpoint_root_is_not_32_bytes", lambda w: w.manager.checkpoint(w.root, b"abc", 1, sender=w.agent),
        r"root"),
    # --- negative or absurd amounts -------------------------------------------------------------------------
    Bad("budget_minus_one_ether", create(budgets={NATIVE: "-1 ether"}), r"amount"),
    Bad("budget_minus_one_wei_int", create(budgets={NATIVE: -1}), r"amount"),
    Bad("budget_1e80_ether", create(budgets={NATIVE: "1e80 ether"}), r"amount"),
    Bad("budget_float", create(budgets={NATIVE: 0.1}), r"amount"),
    Bad("budget_nan", create(budgets={NATIVE: Decimal("NaN")}), r"amount"),
    Bad("budget_too_many_decimals", create(budgets={NATIVE: "0.0000000000000000001 ether"}), r"amount"),
    Bad("per_call_cap_negative", create(budgets={NATIVE: {"amount": 1, "per_call_cap": -1}}), r"amount|cap"),
    Bad("execute_minus_one_ether", lambda w: w.manager.execute(w.root, w.sub.address, "-1 ether", sender=w.agent),
        r"amount|value"),
    Bad("execute_1e80_ether", lambda w: w.manager.execute(w.root, w.sub.address, "1e80 ether", sender=w.agent),
        r"amount|value"),
    Bad("execute_float", lambda w: w.manager.execute(w.root, w.sub.address, 0.1, sender=w.agent), r"amount|value"),
    Bad("transfer_token_negative", lambda w: w.manager.transfer_token(w.root, w.token, w.sub.address, -5,
                                                                      sender=w.agent), r"amount"),
    Bad("fund_minus_one_ether", lambda w: w.manager.fund(w.root, NATIVE, "-1 ether", sender=w.owner), r"amount"),
    Bad("fund_1e80_ether", lambda w: w.manager.fund(w.root, NATIVE, "1e80 ether", sender=w.owner), r"amount"),
    Bad("swap_min_out_negative", lambda w: w.manager.swap(w.root, NATIVE, 1, w.token, -1, w.token, b"",
                                                          sender=w.agent), r"amount|min"),
    Bad("update_limits_negative_cap", lambda w: w.manager.update_limits(w.root, NATIVE, -1, 0, sender=w.owner),
        r"amount|cap"),
    Bad("update_limits_cap_above_uint128", lambda w: w.manager.update_limits(w.root, NATIVE, "1e80 ether", 0,
                                                                             sender=w.owner), r"amount|cap"),
    Bad("checkpoint_task_count_negative", lambda w: w.manager.checkpoint(w.root, b"\x00" * 32, -1, sender=w.agent),
        r"task"),
    Bad("execute_session_id_negative", lambda w: w.manager.execute(-1, w.sub.address, 1, sender=w.agent),
        r"session"),
    # --- unknown token symbols ------------------------------------------------------------------------------
    Bad("budget_keyed_by_symbol", create(budgets={"USDC": 100}), r"token"),
    Bad("eth_budget_in_an_unknown_unit", create(budgets={NATIVE: "100 FOO"}), r"unit|FOO"),
    Bad("transfer_token_by_symbol", lambda w: w.manager.transfer_token(w.root, "USDC", w.sub.address, 1,
                                                                      sender=w.agent), r"token"),
    # --- bad addresses --------------------------------------------------------------------------------------
    Bad("agent_short", create(agent="0x1234"), r"agent"),
    Bad("agent_wrong_checksum", create(agent=BAD_CHECKSUM), r"agent"),
    Bad("agent_not_hex", create(agent="0x" + "zz" * 20), r"agent"),
    Bad("permission_target_short", create(permissions=[("0x12", "*")]), r"target"),
    Bad("permission_selector_short", create(permissions=[(BAD_CHECKSUM.lower(), "0x123")]), r"selector"),
    Bad("guard_without_code", lambda w: w.manager.create_session(P(w, guards=[w.sub.address]), w.owner), r"guard",
        (InvalidGuard,)),
    Bad("execute_target_short", lambda w: w.manager.execute(w.root, "0x1234", 1, sender=w.agent), r"target"),
    Bad("execute_target_wrong_checksum", lambda w: w.manager.execute(w.root, BAD_CHECKSUM, 1, sender=w.agent),
        r"target"),
    Bad("rotate_agent_short", lambda w: w.manager.rotate_agent(w.root, "0xabc", sender=w.owner), r"agent"),
    # --- expiries and durations -----------------------------------------------------------------------------
    Bad("expiry_unix_in_the_past", create(expiry=UnixTime(1_000_000)), r"expiry", (ExpiryInPast,)),
    Bad("expiry_unix_text_in_the_past", create(expiry="unix:1000000"), r"expiry", (ExpiryInPast,)),
    Bad("expiry_int_that_looks_like_a_unix_time", create(expiry=1_900_000_000), r"looks like a unix time", CLEAR),
    Bad("expiry_date_without_zone", create(expiry="2030-01-01"), r"no timezone", CLEAR),
    Bad("expiry_datetime_in_the_past", create(expiry=PAST), r"expiry", (ExpiryInPast,)),
    Bad("expiry_negative_timedelta", create(expiry=timedelta(seconds=-5)), r"expiry", CLEAR),
    Bad("expiry_zero", create(expiry=0), r"expiry duration must be positive", CLEAR),
    Bad("expiry_negative_duration_text", create(expiry="-1d"), r"expiry"),
    Bad("expiry_naive_datetime", create(expiry=datetime(2040, 1, 1)), r"expiry"),
    Bad("expiry_negative_int", create(expiry=-1), r"expiry"),
    Bad("expiry_beyond_uint40", create(expiry=UnixTime(2**41)), r"expiry"),
    Bad("update_expiry_in_the_past", lambda w: w.manager.update_expiry(w.root, UnixTime(1_000_000), sender=w.owner),
        r"expiry", (ExpiryInPast,)),
    Bad("max_idle_negative", create(max_idle=-5), r"max_idle"),
    Bad("period_unknown_unit", create(period="1y"), r"period"),
    Bad("period_beyond_uint32", create(period=2**32), r"period"),
    Bad("max_calls_negative", create(max_calls_per_period=-1, period=10), r"max_calls_per_period"),
    Bad("max_calls_beyond_uint16", create(max_calls_per_period=70_000, period=10), r"max_calls_per_period"),
    Bad("allowance_without_period", create(budgets={NATIVE: {"amount": 1, "period_allowance": 1}}), r"period"),
    # --- labels ---------------------------------------------------------------------------------------------
    Bad("label_32_bytes", create(label="x" * 32), r"label"),
    Bad("label_31_chars_but_62_bytes", create(label="é" * 31), r"label"),
    Bad("label_with_nul", create(label="a\x00b"), r"label"),
    # --- structure ------------------------------------------------------------------------------------------
    Bad("duplicate_budget_token", create(budgets=[{"token": NATIVE, "amount": 1}, {"token": NATIVE, "amount": 2}]),
        r"budget|token"),
    Bad("unknown_field", create(colour="blue"), r"colour"),
    Bad("create_sessions_chunk_size_zero", lambda w: w.manager.create_sessions([P(w)], w.owner, chunk_size=0),
        r"chunk_size"),
    Bad("salt_longer_than_32_bytes", lambda w: w.factory.deploy_manager(w.owner.address, salt="x" * 40,
                                                                        sender=w.owner), r"salt"),
    # --- children -------------------------------------------------------------------------------------------
    Bad("child_over_parent_budget", child(budgets={NATIVE: "2 ether"}), r"exceeds the remaining",
        (BudgetExceeded,)),
    Bad("child_expiry_after_parent", lambda w: child(expiry=w.root.expires_at + timedelta(seconds=1))(w),
        r"expiry", (ExpiryExceedsParent,)),
]


def _nonces(w) -> list[int]:
    return [int(w.client.rpc.request("eth_getTransactionCount", [k.address, "pending"]), 16) for k in w.keys]


@pytest.fixture
def world(client, factory, manager, make_session, owner_key, agent_key, sub_key, token, keys):
    root = make_session(eth=ETHER)
    return SimpleNamespace(client=client, factory=factory, manager=manager, root=root, owner=owner_key,
                           agent=agent_key, sub=sub_key, token=token.address, keys=keys[:5])


def test_corpus_ids_are_unique():
    ids = [b.id for b in CORPUS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("bad", CORPUS, ids=[b.id for b in CORPUS])
def test_bad_input_raises_one_clear_error_naming_the_field_and_sends_nothing(world, bad):
    nonces, count = _nonces(world), world.manager.count()
    with pytest.raises(Exception) as info:
        bad.call(world)
    error = info.value
    assert isinstance(error, bad.raises), f"{type(error).__module__}.{type(error).__name__}: {error}"
    assert re.search(bad.names, str(error), re.IGNORECASE), f"message does not name the field: {error}"
    assert _nonces(world) == nonces
    assert world.manager.count() == count


def test_session_params_refuse_a_wrong_checksum_before_any_chain_access(agent_key):
    """Validation at the edge, without a client: an EIP-55 mixed-case address with a wrong checksum is a typo."""
    with pytest.raises(ValueError, match="agent"):
        SessionParams(agent=BAD_CHECKSUM, expiry=UnixTime(1_900_000_000))
