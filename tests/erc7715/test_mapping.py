"""``from_erc7715`` and ``build_response`` without a node: every permission type mapped to the exact SessionParams,
every refusal with the field it names."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from agent_sessions.base.models import NATIVE, BudgetParams, Permission, SessionParams, Status
from agent_sessions.wallet import (
    Erc7715Error,
    UnsupportedPermission,
    build_response,
    encode_context,
    from_erc7715,
    parse_context,
)

from ._world import MANAGER, OWNER, state_of

NOW = 1_780_000_000
DAY = 86_400
AGENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
PAYEE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
PAYEE_2 = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
USDC = "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238"
ETHER = 10**18


def request(kind: str = "native-token-allowance", data: dict[str, Any] | None = None, *, adjustable: bool = True,
            expiry: int = NOW + 7 * DAY, rules: list[Any] | None = None, **top: Any) -> dict[str, Any]:
    """A valid request of ``kind`` (its usual data unless ``data``), expiring at ``expiry``."""
    defaults = {
        "native-token-allowance": {"allowanceAmount": hex(ETHER)},
        "erc20-token-allowance": {"allowanceAmount": hex(50 * 10**6), "tokenAddress": USDC},
        "native-token-periodic": {"periodAmount": hex(ETHER // 100), "periodDuration": DAY},
        "erc20-token-periodic": {"periodAmount": hex(10 * 10**6), "periodDuration": DAY, "tokenAddress": USDC},
    }
    body = {"chainId": "0x1", "to": AGENT,
            "permission": {"type": kind, "isAdjustmentAllowed": adjustable,
                           "data": defaults.get(kind, {}) if data is None else data},
            "rules": [{"type": "expiry", "data": {"timestamp": expiry}}] if rules is None else rules}
    body.update(top)
    return body


def expiry_at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# ================================================================================================================
# every permission type
# ================================================================================================================


def test_native_token_allowance_escrows_the_allowance_and_allows_any_target():
    assert from_erc7715(request(), now=NOW) == SessionParams(
        agent=AGENT, expiry=expiry_at(NOW + 7 * DAY), budgets=[BudgetParams(token=NATIVE, amount=ETHER)],
        any_target=True)


def test_erc20_token_allowance_escrows_the_allowance_in_the_token():
    params = from_erc7715(request("erc20-token-allowance"), now=NOW)
    assert params.budgets == [BudgetParams(token=USDC, amount=50 * 10**6)]
    assert (params.period, params.any_target, params.permissions) == (0, True, [])


def test_native_token_periodic_escrows_every_window_before_expiry():
    params = from_erc7715(request("native-token-periodic"), now=NOW)
    assert params.budgets == [BudgetParams(token=NATIVE, amount=7 * ETHER // 100, period_allowance=ETHER // 100)]
    assert params.period == DAY


def test_erc20_token_periodic_counts_a_partial_last_window_whole():
    params = from_erc7715(request("erc20-token-periodic", expiry=NOW + 2 * DAY + 1), now=NOW)
    assert params.budgets == [BudgetParams(token=USDC, amount=3 * 10 * 10**6, period_allowance=10 * 10**6)]
    assert params.period == DAY


def test_the_caller_cap_replaces_the_most_spendable_when_adjustment_is_allowed():
    params = from_erc7715(request("native-token-periodic"), now=NOW, cap=ETHER // 50)
    assert params.budgets[0].amount == ETHER // 50
    assert params.budgets[0].period_allowance == ETHER // 100


def test_payee_rule_becomes_the_allowlist_of_payments():
    rules = [{"type": "expiry", "data": {"timestamp": NOW + DAY}},
             {"type": "payee", "data": {"addresses": [PAYEE.lower(), PAYEE_2]}}]
    params = from_erc7715(request(rules=rules), now=NOW)
    assert params.any_target is False
    assert params.permissions == [Permission(target=PAYEE, selector="0x00000000"),
                                  Permission(target=PAYEE_2, selector="0x00000000")]


def test_the_caller_allowlist_narrows_an_any_recipient_permission():
    params = from_erc7715(request(), now=NOW, allowlist=[PAYEE])
    assert (params.any_target, params.permissions) == (False, [Permission(target=PAYEE, selector="0x00000000")])


def test_a_redeemer_rule_naming_the_agent_is_accepted():
    rules = [{"type": "expiry", "data": {"timestamp": NOW + DAY}},
             {"type": "redeemer", "data": {"addresses": [AGENT]}}]
    assert from_erc7715(request(rules=rules), now=NOW).agent == AGENT


def test_metamask_type_descriptors_are_read_by_name():
    body = request()
    body["permission"]["type"] = {"name": "native-token-allowance", "description": "ETH"}
    body["rules"][0]["type"] = {"name": "expiry"}
    assert from_erc7715(body, now=NOW).budgets[0].amount == ETHER


def test_a_past_start_time_starts_the_session_when_it_is_opened():
    data = {"periodAmount": "0x64", "periodDuration": DAY, "startTime": NOW - 3600}
    assert from_erc7715(request("native-token-periodic", data), now=NOW).budgets[0].amount == 7 * 100


def test_the_justification_is_cut_to_a_label_on_a_character_boundary():
    data = {"allowanceAmount": "0x1", "justification": "Zahlung für die Wochenabo-Gebühr €€"}
    label = from_erc7715(request(data=data), now=NOW).label
    assert label == "Zahlung für die Wochenabo-Geb"  # 30 bytes: the 2-byte "ü" would make 32
    assert len(label.encode()) == 30


def test_the_grantor_may_be_the_manager_owner():
    assert from_erc7715(request(**{"from": OWNER.lower()}), now=NOW, owner=OWNER).agent == AGENT


def test_the_chain_must_match_when_given():
    assert from_erc7715(request(chainId="0x7A69"), now=NOW, chain_id=31337).agent == AGENT


# ================================================================================================================
# refusals: each names its field
# ================================================================================================================


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting ``path`` (dots; ``[i]`` list items) to ``value``; ``...`` deletes it."""

    def mutate(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is ...:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


ERRORS = [
    # (id, kind, mutation, from_erc7715 kwargs, expected message)
    ("unknown-field", "native-token-allowance", _set("foo", 1), {},
     "foo: not a field of a PermissionRequest (chainId, from, to, permission, rules)"),
    ("earlier-draft-signer", "native-token-allowance", _set("signer", {"type": "account"}), {},
     "signer: belongs to an earlier draft (wallet_grantPermissions); this follows ERC-7715 draft, ethereum/ERCs "
     "2adc3783 (2026-01-16), wallet_requestExecutionPermissions: use to, permission and rules[expiry]"),
    ("chain-missing", "native-token-allowance", _set("chainId", ...), {}, "chainId: is required"),
    ("chain-decimal", "native-token-allowance", _set("chainId", "1"), {},
     "chainId: '1' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("chain-number", "native-token-allowance", _set("chainId", 1), {},
     "chainId: 1 is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("chain-zero", "native-token-allowance", _set("chainId", "0x0"), {}, "chainId: chain id 0 names no chain"),
    ("chain-wrong", "native-token-allowance", _set("chainId", "0x1"), {"chain_id": 31337},
     "chainId: 0x1 (1) is not this chain (31337)"),
    ("to-missing", "native-token-allowance", _set("to", ...), {}, "to: is required"),
    ("to-short", "native-token-allowance", _set("to", "0x1"), {},
     "to: '0x1' is not an address (20 bytes, 0x-prefixed hex)"),
    ("to-zero", "native-token-allowance", _set("to", "0x" + "00" * 20), {}, "to: the zero address names no account"),
    ("from-not-owner", "native-token-allowance", _set("from", PAYEE), {"owner": OWNER},
     f"from: {PAYEE} is not the manager owner {OWNER}, who funds the session"),
    ("from-bad", "native-token-allowance", _set("from", "bob"), {},
     "from: 'bob' is not an address (20 bytes, 0x-prefixed hex)"),
    ("context-not-hex", "native-token-allowance", _set("context", "0x0x01"), {},
     "context: '0x0x01' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("dependencies-not-list", "native-token-allowance", _set("dependencies", {}), {},
     "dependencies: must be a list of {factory, factoryData}"),
    ("permission-missing", "native-token-allowance", _set("permission", ...), {}, "permission: is required"),
    ("permission-not-object", "native-token-allowance", _set("permission", "eth"), {},
     "permission: must be an object, got str"),
    ("permission-extra", "native-token-allowance", _set("permission.policies", []), {},
     "permission.policies: not a field of a permission (type, isAdjustmentAllowed, data)"),
    ("type-missing", "native-token-allowance", _set("permission.type", ...), {}, "permission.type: is required"),
    ("type-empty", "native-token-allowance", _set("permission.type", ""), {}, "permission.type: '' is not a type name"),
    ("adjustment-missing", "native-token-allowance", _set("permission.isAdjustmentAllowed", ...), {},
     "permission.isAdjustmentAllowed: is required (true or false)"),
    ("adjustment-text", "native-token-allowance", _set("permission.isAdjustmentAllowed", "yes"), {},
     "permission.isAdjustmentAllowed: must be true or false, got 'yes'"),
    ("data-missing", "native-token-allowance", _set("permission.data", ...), {}, "permission.data: is required"),
    ("data-list", "native-token-allowance", _set("permission.data", []), {}, "permission.data: must be an object, got list"),
    ("data-extra", "native-token-allowance", _set("permission.data.tokenAddress", USDC), {},
     "permission.data.tokenAddress: not a field of native-token-allowance (allowanceAmount, justification, startTime)"),
    ("allowance-twice", "native-token-allowance", _set("permission.data.allowance", "0x1"), {},
     "permission.data.allowance: give allowanceAmount or allowance, not both"),
    ("amount-missing", "native-token-allowance", _set("permission.data.allowanceAmount", ...), {},
     "permission.data.allowanceAmount: is required"),
    ("amount-decimal", "native-token-allowance", _set("permission.data.allowanceAmount", "100"), {},
     "permission.data.allowanceAmount: '100' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("amount-empty-hex", "native-token-allowance", _set("permission.data.allowanceAmount", "0x"), {},
     "permission.data.allowanceAmount: '0x' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("amount-not-hex", "native-token-allowance", _set("permission.data.allowanceAmount", "0xZZ"), {},
     "permission.data.allowanceAmount: '0xZZ' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("amount-number", "native-token-allowance", _set("permission.data.allowanceAmount", 100), {},
     "permission.data.allowanceAmount: 100 is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("amount-zero", "native-token-allowance", _set("permission.data.allowanceAmount", "0x0"), {},
     "permission.data.allowanceAmount: must be more than zero"),
    ("amount-too-big", "native-token-allowance", _set("permission.data.allowanceAmount", hex(2**128)), {},
     f"permission.data.allowanceAmount: {hex(2**128)} does not fit in a budget (uint128)"),
    ("period-amount-not-hex", "native-token-periodic", _set("permission.data.periodAmount", "1e18"), {},
     "permission.data.periodAmount: '1e18' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
    ("duration-missing", "native-token-periodic", _set("permission.data.periodDuration", ...), {},
     "permission.data.periodDuration: is required"),
    ("duration-zero", "native-token-periodic", _set("permission.data.periodDuration", 0), {},
     "permission.data.periodDuration: must be a positive whole number of seconds, got 0"),
    ("duration-text", "erc20-token-periodic", _set("permission.data.periodDuration", "86400"), {},
     "permission.data.periodDuration: must be a positive whole number of seconds, got '86400'"),
    ("duration-bool", "native-token-periodic", _set("permission.data.periodDuration", True), {},
     "permission.data.periodDuration: must be a positive whole number of seconds, got True"),
    ("duration-too-long", "native-token-periodic", _set("permission.data.periodDuration", 2**32), {},
     "permission.data.periodDuration: 4294967296 s is more than 4294967295, the most a session holds"),
    ("token-missing", "erc20-token-allowance", _set("permission.data.tokenAddress", ...), {},
     "permission.data.tokenAddress: is required"),
    ("token-bad", "erc20-token-periodic", _set("permission.data.tokenAddress", "USDC"), {},
     "permission.data.tokenAddress: 'USDC' is not an address (20 bytes, 0x-prefixed hex)"),
    ("token-zero", "erc20-token-allowance", _set("permission.data.tokenAddress", "0x" + "00" * 20), {},
     "permission.data.tokenAddress: the zero address names no account"),
    ("token-native", "erc20-token-periodic", _set("permission.data.tokenAddress", NATIVE), {},
     f"permission.data.tokenAddress: {NATIVE} stands for ETH; ask for native-token-periodic instead"),
    ("start-future", "native-token-periodic", _set("permission.data.startTime", NOW + 1), {},
     f"permission.data.startTime: {NOW + 1} is in the future (now {NOW}); a session's windows start when it is "
     "created"),
    ("start-text", "native-token-allowance", _set("permission.data.startTime", "now"), {},
     "permission.data.startTime: must be a positive whole number of seconds, got 'now'"),
    ("justification-number", "native-token-allowance", _set("permission.data.justification", 7), {},
     "permission.data.justification: must be text, got int"),
    ("rules-object", "native-token-allowance", _set("rules", {}), {}, "rules: must be a list of rules, got dict"),
    ("rules-none", "native-token-allowance", _set("rules", None), {},
     'rules: no expiry rule; a session needs one: {"type": "expiry", "data": {"timestamp": <unix seconds>}}'),
    ("rules-absent", "native-token-allowance", _set("rules", ...), {},
     'rules: no expiry rule; a session needs one: {"type": "expiry", "data": {"timestamp": <unix seconds>}}'),
    ("rule-text", "native-token-allowance", _set("rules.0", "expiry"), {},
     "rules[0]: must be an object {type, data}, got str"),
    ("rule-extra", "native-token-allowance", _set("rules.0.when", 1), {},
     "rules[0].when: not a field of a rule (type, data)"),
    ("rule-unknown", "native-token-allowance", _set("rules.0.type", "gas-limit"), {},
     "rules[0].type: unknown rule type 'gas-limit' (known: expiry, payee, redeemer)"),
    ("rule-data-missing", "native-token-allowance", _set("rules.0.data", ...), {}, "rules[0].data: must be an object"),
    ("expiry-missing", "native-token-allowance", _set("rules.0.data", {}), {},
     "rules[0].data.timestamp: must be a positive whole number of seconds, got None"),
    ("expiry-text", "native-token-allowance", _set("rules.0.data.timestamp", "2030-01-01"), {},
     "rules[0].data.timestamp: must be a positive whole number of seconds, got '2030-01-01'"),
    ("expiry-past", "native-token-allowance", _set("rules.0.data.timestamp", NOW), {},
     f"rules[0].data.timestamp: {NOW} is not after now ({NOW})"),
    ("expiry-twice", "native-token-allowance", _set("rules.1", {"type": "expiry", "data": {"timestamp": NOW + 9}}), {},
     "rules[1].type: a second expiry rule; each rule type may appear once"),
    ("payee-empty", "native-token-allowance", _set("rules.1", {"type": "payee", "data": {"addresses": []}}), {},
     "rules[1].data.addresses: must be a non-empty list of addresses"),
    ("payee-bad", "native-token-allowance", _set("rules.1", {"type": "payee", "data": {"addresses": ["0xabc"]}}), {},
     "rules[1].data.addresses[0]: '0xabc' is not an address (20 bytes, 0x-prefixed hex)"),
    ("payee-twice", "native-token-allowance",
     _set("rules.1", {"type": "payee", "data": {"addresses": [PAYEE, PAYEE.lower()]}}), {},
     f"rules[1].data.addresses: {PAYEE} appears twice"),
    ("cap-above", "native-token-periodic", lambda body: None, {"cap": 8 * ETHER // 100},
     f"cap: {8 * ETHER // 100} is more than the permission lets the agent spend ({7 * ETHER // 100})"),
    ("cap-zero", "native-token-periodic", lambda body: None, {"cap": 0},
     "cap: must be a positive amount in base units, got 0"),
    ("cap-not-adjustable", "native-token-periodic", _set("permission.isAdjustmentAllowed", False), {"cap": 1},
     f"permission.isAdjustmentAllowed: is false: the permission may not be reduced to a cap of 1 (of "
     f"{7 * ETHER // 100})"),
    ("periods-overflow", "native-token-periodic", _set("permission.data.periodAmount", hex(2**127)), {},
     f"permission.data.periodAmount: periods x amount = {7 * 2**127} does not fit in a budget (uint128); pass a cap"),
    ("allowlist-outside-payees", "native-token-allowance",
     _set("rules.1", {"type": "payee", "data": {"addresses": [PAYEE]}}), {"allowlist": [PAYEE_2]},
     f"allowlist: {PAYEE_2} is not a payee of the request"),
    ("allowlist-not-adjustable", "native-token-allowance", _set("permission.isAdjustmentAllowed", False),
     {"allowlist": [PAYEE]}, "permission.isAdjustmentAllowed: is false: the permission may not be narrowed to an "
                             "allowlist"),
    ("allowlist-bad", "native-token-allowance", lambda body: None, {"allowlist": ["nobody"]},
     "allowlist[0]: 'nobody' is not an address (20 bytes, 0x-prefixed hex)"),
]


@pytest.mark.parametrize(("kind", "mutate", "kwargs", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_request_is_refused_naming_the_field(kind, mutate, kwargs, message):
    body = request(kind)
    body["rules"].append({"type": "redeemer", "data": {"addresses": [AGENT]}})  # a second rule to replace
    mutate(body)
    with pytest.raises(Erc7715Error) as caught:
        from_erc7715(body, now=NOW, **kwargs)
    assert str(caught.value) == message
    assert message.startswith(caught.value.field)


def test_a_request_that_is_not_an_object_is_refused():
    with pytest.raises(Erc7715Error, match=r"^request: a PermissionRequest is a JSON object, got list$"):
        from_erc7715([request()], now=NOW)


def test_an_allowlist_equal_to_the_payees_is_no_adjustment():
    rules = [{"type": "expiry", "data": {"timestamp": NOW + DAY}}, {"type": "payee", "data": {"addresses": [PAYEE]}}]
    params = from_erc7715(request(rules=rules, adjustable=False), now=NOW, allowlist=[PAYEE])
    assert params.permissions == [Permission(target=PAYEE, selector="0x00000000")]


# ================================================================================================================
# what a session cannot express
# ================================================================================================================

STREAM_WHY = ("a stream accrues linearly per second and what is unspent carries over; a session's periodic "
              "allowance is a step per window that does not carry over, so no period and allowance give the same "
              "spendable amount at every second")


@pytest.mark.parametrize(("kind", "why"), [
    ("native-token-stream", STREAM_WHY),
    ("erc20-token-stream", STREAM_WHY),
    ("erc721-token-allowance", "sessions budget ETH and ERC-20 tokens only"),
    ("token-approval-revocation", "a session spends from its own escrow; it cannot revoke the grantor's approvals"),
    ("erc20-token-revocation", "a session spends from its own escrow; it cannot revoke the grantor's approvals"),
    ("nft-transfer", "not a permission type a session expresses (native-token-allowance, erc20-token-allowance, "
                     "native-token-periodic, erc20-token-periodic)"),
])
def test_inexpressible_permission_types_are_unsupported(kind, why):
    data = {"amountPerSecond": "0x1", "tokenAddress": USDC}
    with pytest.raises(UnsupportedPermission) as caught:
        from_erc7715(request(kind, data), now=NOW)
    assert str(caught.value) == f"unsupported: {kind}: {why}"
    assert (caught.value.field, caught.value.what) == ("permission.type", kind)


def test_a_redeemer_other_than_the_agent_is_unsupported():
    rules = [{"type": "expiry", "data": {"timestamp": NOW + DAY}},
             {"type": "redeemer", "data": {"addresses": [PAYEE]}}]
    with pytest.raises(UnsupportedPermission) as caught:
        from_erc7715(request(rules=rules), now=NOW)
    assert str(caught.value) == (f"unsupported: redeemer: only the session's agent ({AGENT}) can act; a redeemer "
                                 "list of other accounts is not expressible")
    assert caught.value.field == "rules[1].data.addresses"


def _params(**fields: Any) -> SessionParams:
    fields.setdefault("any_target", True)
    fields.setdefault("budgets", [BudgetParams(token=NATIVE, amount=ETHER)])
    return SessionParams(agent=AGENT, expiry=expiry_at(NOW + DAY), **fields)


@pytest.mark.parametrize(("state", "guards", "payees", "message"), [
    (state_of(_params(), status=Status.PAUSED), (), None,
     "unsupported: status paused: only an active session is a permission in force"),
    (state_of(_params(period=DAY, max_calls_per_period=3), max_calls_per_period=3), (), None,
     "unsupported: call limit: 7715 has no limit on the number of calls"),
    (state_of(_params(max_idle=3600), max_idle=timedelta(hours=1)), (), None,
     "unsupported: idle timeout: 7715 has no idle timeout"),
    (state_of(_params()), [PAYEE], None, f"unsupported: guards: {PAYEE} may refuse calls the permission would allow"),
    (state_of(_params(budgets=[BudgetParams(token=NATIVE, amount=ETHER, per_call_cap=10)])), (), None,
     "unsupported: per-call cap: 7715 has no per-call cap"),
    (state_of(_params(budgets=[BudgetParams(token=NATIVE, amount=1), BudgetParams(token=USDC, amount=1)])), (), None,
     "unsupported: budgets in 2 tokens: a 7715 permission covers exactly one token"),
    (state_of(_params(budgets=[])), (), None, "unsupported: no budget: a 7715 permission covers exactly one token"),
    (state_of(_params(any_target=False)), (), None,
     "unsupported: payee: the session has an allowlist, which no view lists; pass the payees it allows (each is "
     "checked on-chain)"),
], ids=["paused", "call-limit", "idle", "guards", "per-call-cap", "two-tokens", "no-budget", "allowlist-unstated"])
def test_sessions_7715_cannot_describe_are_unsupported(state, guards, payees, message):
    with pytest.raises(UnsupportedPermission) as caught:
        build_response(state, chain_id=1, manager=MANAGER, guards=guards, payees=payees)
    assert str(caught.value) == message


# ================================================================================================================
# the response and its context
# ================================================================================================================


def test_response_of_a_periodic_erc20_session_is_the_spec_shape():
    params = from_erc7715(request("erc20-token-periodic", expiry=NOW + 3 * DAY), now=NOW)
    response = build_response(state_of(params, session_id=12), chain_id=31337, manager=MANAGER)
    assert response == {
        "chainId": "0x7a69",
        "from": OWNER,
        "to": AGENT,
        "permission": {"type": "erc20-token-periodic", "isAdjustmentAllowed": False,
                       "data": {"periodAmount": hex(10 * 10**6), "periodDuration": DAY, "tokenAddress": USDC}},
        "rules": [{"type": "expiry", "data": {"timestamp": NOW + 3 * DAY}}],
        "context": "0x" + "00" * 12 + MANAGER[2:].lower() + "00" * 31 + "0c",
        "dependencies": [],
        "delegationManager": MANAGER,
    }


def test_response_reports_the_granted_allowance_after_spending():
    params = from_erc7715(request(), now=NOW)
    state = state_of(params)
    spent = state.budgets[NATIVE].model_copy(update={"available": ETHER // 4, "spent": 3 * ETHER // 4})
    state = state.model_copy(update={"budgets": {NATIVE: spent}})
    response = build_response(state, chain_id=1, manager=MANAGER)
    assert response["permission"]["data"] == {"allowanceAmount": hex(ETHER)}


def test_context_round_trips_manager_and_session_id():
    context = encode_context(MANAGER.lower(), 2**40 + 3)
    assert parse_context(context) == (MANAGER, 2**40 + 3)


@pytest.mark.parametrize(("context", "message"), [
    ("0x1234", "context: is 2 bytes; a session's context is 64 (manager, session id)"),
    ("1234", "context: '1234' is not a 0x-prefixed hex string (e.g. '0x1dcd6500')"),
])
def test_a_foreign_context_is_refused(context, message):
    with pytest.raises(Erc7715Error) as caught:
        parse_context(context)
    assert str(caught.value) == message


def test_a_context_with_a_dirty_address_word_is_refused():
    raw = "0x" + "ff" * 12 + MANAGER[2:].lower() + "00" * 31 + "01"
    with pytest.raises(Erc7715Error, match=r"^context: is not abi.encode\(address, uint256\): "):
        parse_context(raw)


def test_requests_are_not_mutated():
    body = request("native-token-periodic")
    before = copy.deepcopy(body)
    from_erc7715(body, now=NOW)
    assert body == before


def test_a_granted_response_takes_a_cap_whatever_its_adjustment_flag():
    params = from_erc7715(request("native-token-periodic"), now=NOW, cap=ETHER // 50)
    response = build_response(state_of(params), chain_id=1, manager=MANAGER)
    assert response["permission"]["isAdjustmentAllowed"] is False
    assert from_erc7715(response, now=NOW, cap=ETHER // 50) == params
