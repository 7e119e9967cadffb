"""Models validate at the edge and map one to one onto the contract's structs."""

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from agent_sessions import ANY_SELECTOR, NATIVE, Budget, BudgetParams, Call, Permission, SessionParams, Status, UnixTime
from agent_sessions.base.models import SessionState, decode_label, encode_label, selector_of

AGENT = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_session_params_to_tuple_follows_the_struct_order():
    p = SessionParams(
        agent=AGENT, expiry=UnixTime(1_900_000_000), budgets={NATIVE: "1 ether", TOKEN: {"amount": "5 USDC", "decimals": 6,
                                                                              "per_call_cap": 1_000_000}},
        permissions=[(TOKEN, "transfer(address,uint256)"), AGENT], guards=[TOKEN], label="swapper", draft=True,
        max_idle="1h", period="1d", max_calls_per_period=10,
    )
    assert p.to_tuple() == (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 1_900_000_000, 3600, 86_400, 10, True, False,
        b"swapper".ljust(32, b"\x00"),
        [(NATIVE, 10**18, 0, 0), (TOKEN, 5_000_000, 1_000_000, 0)],
        [(TOKEN, bytes.fromhex("a9059cbb")), ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", b"\xff\xff\xff\xff")],
        [TOKEN],
    )
    assert p.eth_value == 10**18


def test_expiry_forms():
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert SessionParams(agent=AGENT, expiry=when).expiry_timestamp() == int(when.timestamp())
    relative = SessionParams(agent=AGENT, expiry="2d")
    assert relative.expiry == timedelta(days=2)
    assert relative.expiry_timestamp(now=1000) == 1000 + 2 * 86_400
    with pytest.raises(ValueError, match="needs the current chain time"):
        relative.to_tuple()
    with pytest.raises(ValidationError, match="no timezone"):
        SessionParams(agent=AGENT, expiry=datetime(2030, 1, 1))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"agent": "0x1234"}, "is not an address"),
        ({"label": "é" * 16}, "at most 31 bytes"),
        ({"budgets": [{"token": NATIVE, "amount": 1, "period_allowance": 5}]}, "needs a period"),
        ({"max_calls_per_period": 2}, "needs a period"),
        ({"budgets": [{"token": NATIVE, "amount": 1}, {"token": NATIVE, "amount": 1}]}, "appears twice"),
        ({"budgets": {NATIVE: 2**128}}, "does not fit in uint128"),
        ({"budgets": {NATIVE: "0.5"}, "period": "1y"}, "cannot read '1y' as a duration"),
        ({"permissions": [(TOKEN, "0x1234")]}, "not 4 bytes of hex"),
        ({"max_calls_per_period": 70_000, "period": 1}, "less than or equal to 65535"),
        ({"unknown": 1}, "Extra inputs are not permitted"),
    ],
)
def test_session_params_refuse_invalid_input(fields, message):
    base = {"agent": AGENT, "expiry": UnixTime(1_900_000_000)}
    with pytest.raises(ValidationError, match=message):
        SessionParams(**{**base, **fields})


def test_selectors_labels_and_calls():
    assert selector_of("transfer(address, uint256)") == "0xa9059cbb"
    assert selector_of("*") == ANY_SELECTOR and selector_of(b"\x00\x00\x00\x00") == "0x00000000"
    assert Permission(target=AGENT).selector == ANY_SELECTOR
    assert decode_label(encode_label("hi")) == "hi"
    assert Call(target=AGENT, value="1 gwei", data="0x1234").to_tuple() == (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 10**9, b"\x12\x34")
    assert BudgetParams(amount="2 ether").token == NATIVE


def test_budget_helpers():
    b = Budget(token=NATIVE, available=100, spent=5, per_call_cap=30, period_allowance=50, spent_in_period=45)
    assert b.is_native and b.remaining_in_period == 5 and b.spendable_now == 5
    assert Budget(token=NATIVE, available=7, spent=0, per_call_cap=0, period_allowance=0,
                  spent_in_period=0).spendable_now == 7


def test_session_state_from_chain_converts_units():
    raw = (7, 0, AGENT, AGENT, 2, 0, True, False, 1_900_000_000, 0, 3600, 0, 0, 0, 1,
           b"bot".ljust(32, b"\x00"), "0x" + "11" * 32, 4, [(NATIVE, 10, 2, 0, 0, 0)])
    s = SessionState.from_chain(raw)
    assert s.status is Status.ACTIVE and s.max_idle == timedelta(hours=1) and s.period is None
    assert s.expiry == datetime.fromtimestamp(1_900_000_000, tz=timezone.utc) and s.last_active is None
    assert s.label == "bot" and s.remaining() == 10 and s.budget(TOKEN).available == 0
    trusted = SessionState.from_chain_trusted(
        raw[:2] + ("0x70997970C51812dc3A010C7d01b50e0d17dc79C8",) * 2 + raw[4:])
    assert trusted == s
    assert str(Status.PAUSED) == "paused" and Status.parse("Expired") is Status.EXPIRED
    assert Status.REVOKED.is_ended and Status.DRAFT.is_live
