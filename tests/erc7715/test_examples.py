"""The spec's and MetaMask's own example payloads (copied into ``data/``, each with its source): the expressible
ones round-trip through a session, the others are refused with the field or the reason."""

from __future__ import annotations

from typing import Any

import pytest

from agent_sessions.base.models import NATIVE, BudgetParams
from agent_sessions.wallet import Erc7715Error, UnsupportedPermission, build_response, encode_context, from_erc7715

from ._world import DATA, MANAGER, example, state_of

ROUND_TRIPS = {
    # file: (token, escrow, period, period allowance, label)
    "erc7715-request-example.json": (NATIVE, 0x1DCD6500, 0, 0, ""),
    "erc7715-pseudocode-request.json": (NATIVE, 10**18, 0, 0, ""),
    "erc7715-reference-handler-request.json": (NATIVE, 0x1DCD6500, 0, 0, ""),
    "metamask-docs-native-token-allowance.json": (NATIVE, 5 * 10**16, 0, 0, ""),
    "metamask-docs-erc20-token-allowance.json": ("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", 50 * 10**6, 0, 0,
                                                 "Permission to transfer up to 50"),
    "metamask-docs-erc20-token-periodic.json": ("0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", 7 * 10 * 10**6,
                                                86_400, 10 * 10**6, "Permission to transfer 10 USDC "),
}


def canonical(data: dict[str, Any]) -> dict[str, Any]:
    """A request's permission data as a response writes it: ``allowanceAmount`` (the ERC's examples say
    ``allowance``), lowercase hex, no ``startTime`` (the session starts when opened), the label's justification."""
    out = {("allowanceAmount" if k == "allowance" else k): v for k, v in data.items() if k != "startTime"}
    for key in ("allowanceAmount", "periodAmount"):
        if key in out:
            out[key] = hex(int(out[key], 16))
    if "justification" in out:
        out["justification"] = out["justification"].encode()[:31].decode()
    return out


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_example_becomes_the_expected_session(name):
    ex = example(name)
    token, escrow, period, allowance, label = ROUND_TRIPS[name]
    params = from_erc7715(ex["request"], now=ex["now"], chain_id=int(ex["request"]["chainId"], 16))
    assert params.budgets == [BudgetParams(token=token, amount=escrow, period_allowance=allowance)]
    assert (params.period, params.label, params.any_target, params.permissions) == (period, label, True, [])
    assert params.agent == ex["request"]["to"]
    assert params.expiry_timestamp() == ex["request"]["rules"][0]["data"]["timestamp"]


@pytest.mark.parametrize("name", sorted(ROUND_TRIPS))
def test_example_round_trips_through_a_session(name):
    ex = example(name)
    request, now = ex["request"], ex["now"]
    chain_id = int(request["chainId"], 16)
    params = from_erc7715(request, now=now, chain_id=chain_id)
    response = build_response(state_of(params, session_id=3), chain_id=chain_id, manager=MANAGER)

    assert from_erc7715(response, now=now, chain_id=chain_id) == params
    assert response["to"] == request["to"]
    assert response["chainId"] == hex(chain_id)
    assert response["permission"]["type"] == request["permission"]["type"]
    assert response["permission"]["data"] == canonical(request["permission"]["data"])
    assert response["rules"] == request["rules"]
    assert (response["context"], response["dependencies"], response["delegationManager"]) == (
        encode_context(MANAGER, 3), [], MANAGER)


def test_spec_response_example_is_refused_for_its_context_literal():
    ex = example("erc7715-response-example.json")
    with pytest.raises(Erc7715Error) as caught:
        from_erc7715(ex["request"], now=ex["now"])
    assert str(caught.value) == ("context: '0x0x016562aA41A8697720ce0943F003141f5dEAe0060000771577157715' is not a "
                                 "0x-prefixed hex string (e.g. '0x1dcd6500')")


def test_spec_response_example_with_hex_context_is_refused_for_its_missing_expiry():
    ex = example("erc7715-response-example.json")
    response = dict(ex["request"], context="0x016562aA41A8697720ce0943F003141f5dEAe0060000771577157715")
    with pytest.raises(Erc7715Error) as caught:
        from_erc7715(response, now=ex["now"])
    assert caught.value.field == "rules"


@pytest.mark.parametrize("name", ["metamask-native-token-periodic.json", "metamask-erc20-token-periodic.json"])
def test_metamask_periodic_examples_starting_tomorrow_are_refused(name):
    ex = example(name)
    start = ex["request"]["permission"]["data"]["startTime"]
    with pytest.raises(Erc7715Error) as caught:
        from_erc7715(ex["request"], now=ex["now"])
    assert str(caught.value) == (f"permission.data.startTime: {start} is in the future (now {ex['now']}); a "
                                 "session's windows start when it is created")


@pytest.mark.parametrize(("name", "token", "per_period"), [
    ("metamask-native-token-periodic.json", NATIVE, 10**18),
    ("metamask-erc20-token-periodic.json", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 100 * 10**6),
])
def test_metamask_periodic_examples_starting_now_round_trip(name, token, per_period):
    ex = example(name)
    request = dict(ex["request"])
    request["permission"] = dict(request["permission"], data={
        k: v for k, v in request["permission"]["data"].items() if k != "startTime"})
    params = from_erc7715(request, now=ex["now"])
    assert params.budgets == [BudgetParams(token=token, amount=7 * per_period, period_allowance=per_period)]
    assert (params.period, params.label) == (86_400, "test")
    response = build_response(state_of(params), chain_id=1, manager=MANAGER)
    assert from_erc7715(response, now=ex["now"]) == params
    assert response["permission"]["data"] == canonical(request["permission"]["data"])


def test_metamask_stream_example_is_unsupported():
    ex = example("metamask-docs-native-token-stream.json")
    with pytest.raises(UnsupportedPermission) as caught:
        from_erc7715(ex["request"], now=ex["now"])
    assert str(caught.value).startswith("unsupported: native-token-stream: a stream accrues linearly per second")


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.json")))
def test_every_example_says_where_it_comes_from(name):
    ex = example(name)
    assert ex["source"] and ex["note"] and isinstance(ex["now"], int) and isinstance(ex["request"], dict)
