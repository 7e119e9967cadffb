"""Properties over the expressible space: every request a session can express maps to SessionParams, and the
response of the session it opens maps back to the same SessionParams (from(to(x)) == x); the response is a fixed
point (to(from(r)) == r for every response r); a periodic escrow covers exactly the windows before expiry."""

from __future__ import annotations

import math
from typing import Any

from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_sessions.base.models import NATIVE, ZERO_ADDRESS
from agent_sessions.wallet import PERMISSION_TYPES, build_response, from_erc7715

from ._world import MANAGER, state_of

NOW = 1_780_000_000

addresses = st.binary(min_size=20, max_size=20).map(lambda raw: to_checksum_address("0x" + raw.hex())).filter(
    lambda a: a not in (ZERO_ADDRESS, NATIVE))
labels = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=31).filter(
    lambda t: len(t.encode()) <= 31)


@st.composite
def requests(draw: Any) -> tuple[dict[str, Any], int]:
    """A request a session expresses exactly, and the chain id it names."""
    kind = draw(st.sampled_from(sorted(PERMISSION_TYPES)))
    native, periodic = PERMISSION_TYPES[kind]
    amount = draw(st.integers(1, 2**64))
    data: dict[str, Any] = {}
    if periodic:
        data["periodAmount"] = hex(amount)
        data["periodDuration"] = draw(st.integers(1, 10**7))
    else:
        data["allowanceAmount"] = hex(amount)
    if not native:
        data["tokenAddress"] = draw(addresses)
    label = draw(labels)
    if label:
        data["justification"] = label
    rules = [{"type": "expiry", "data": {"timestamp": NOW + draw(st.integers(1, 10**8))}}]
    payees = draw(st.lists(addresses, max_size=3, unique=True))
    if payees:
        rules.append({"type": "payee", "data": {"addresses": payees}})
    chain_id = draw(st.integers(1, 2**64))
    request = {"chainId": hex(chain_id), "to": draw(addresses),
               "permission": {"type": kind, "isAdjustmentAllowed": draw(st.booleans()), "data": data},
               "rules": rules}
    return request, chain_id


def response_of(request: dict[str, Any], chain_id: int, session_id: int = 1, **kwargs: Any) -> dict[str, Any]:
    params = from_erc7715(request, now=NOW, chain_id=chain_id, **kwargs)
    payees = [p.target for p in params.permissions] or None
    return build_response(state_of(params, session_id=session_id), chain_id=chain_id, manager=MANAGER, payees=payees)


@settings(max_examples=300, deadline=None)
@given(requests(), st.integers(1, 2**64))
def test_from_of_to_is_identity_on_expressible_sessions(drawn, session_id):
    request, chain_id = drawn
    params = from_erc7715(request, now=NOW, chain_id=chain_id)
    payees = [p.target for p in params.permissions] or None
    response = build_response(state_of(params, session_id=session_id), chain_id=chain_id, manager=MANAGER,
                              payees=payees)
    assert from_erc7715(response, now=NOW, chain_id=chain_id) == params


@settings(max_examples=300, deadline=None)
@given(requests())
def test_a_response_is_a_fixed_point(drawn):
    request, chain_id = drawn
    response = response_of(request, chain_id)
    assert response_of(response, chain_id) == response
    assert response["permission"]["data"] == request["permission"]["data"]
    assert response["rules"] == request["rules"]
    assert response["to"] == request["to"]


@settings(max_examples=300, deadline=None)
@given(requests(), st.data())
def test_a_capped_escrow_round_trips_with_the_same_cap(drawn, data):
    request, chain_id = drawn
    request["permission"]["isAdjustmentAllowed"] = True
    most = from_erc7715(request, now=NOW, chain_id=chain_id).budgets[0].amount
    cap = data.draw(st.integers(1, most))
    params = from_erc7715(request, now=NOW, chain_id=chain_id, cap=cap)
    assert params.budgets[0].amount == cap
    payees = [p.target for p in params.permissions] or None
    response = build_response(state_of(params), chain_id=chain_id, manager=MANAGER, payees=payees)
    assert from_erc7715(response, now=NOW, chain_id=chain_id, cap=cap) == params


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 2**64), st.integers(1, 10**7), st.integers(1, 10**9))
def test_periodic_escrow_is_the_windows_that_start_before_expiry(per_period, period, lifetime):
    request = {"chainId": "0x1", "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
               "permission": {"type": "native-token-periodic", "isAdjustmentAllowed": False,
                              "data": {"periodAmount": hex(per_period), "periodDuration": period}},
               "rules": [{"type": "expiry", "data": {"timestamp": NOW + lifetime}}]}
    budget = from_erc7715(request, now=NOW).budgets[0]
    windows = budget.amount // per_period
    assert budget.amount == windows * per_period
    assert (windows - 1) * period < lifetime <= windows * period  # the last window starts before expiry
    assert windows == math.ceil(lifetime / period)
