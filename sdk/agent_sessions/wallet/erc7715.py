"""ERC-7715 permission requests in and out of sessions: ``from_erc7715(request) -> SessionParams`` and
``to_erc7715(session) -> response``.

Spec followed
-------------
ERC-7715 "Request Permissions from Wallets" (Draft), as of ethereum/ERCs commit ``2adc3783`` of 2026-01-16
("Simplify specification to ease wallet implementation"): the method is ``wallet_requestExecutionPermissions``,
a request is ``{chainId, from?, to, permission: {type, isAdjustmentAllowed, data}, rules?: [{type, data}]}``, the
expiry is the ``expiry`` rule (``{"type": "expiry", "data": {"timestamp": <unix s>}}``) and a response is the
request plus ``context``, ``dependencies`` and ``delegationManager``. The ERC leaves the ``data`` of each type to
other documents; the data fields here are MetaMask's definitions (``@metamask/7715-permission-types`` 0.7.1, the
types the MetaMask permissions snap validates): ``allowanceAmount`` / ``periodAmount`` / ``amountPerSecond`` as
hex strings, ``periodDuration`` and ``startTime`` as numbers of seconds, ``tokenAddress``, ``justification``, and
MetaMask's ``payee`` and ``redeemer`` rules (``{"addresses": [...]}``). The ERC's own examples spell the allowance
``allowance``; it is read as ``allowanceAmount`` (and written back so). The earlier draft's
``wallet_grantPermissions`` shape (``signer``, ``expiry``, ``policies``) is refused with a note saying so.

Mapping (request -> session)
----------------------------
========================================  =========================================================================
7715                                      session
========================================  =========================================================================
``to`` (the grantee's account)            ``agent``: the key that may act for the session
``from`` (the granting account)           the manager owner who funds the session; checked when ``owner`` is given
``chainId``                               the chain of the manager; must equal ``chain_id`` when given
``rules[expiry].data.timestamp``          ``expiry`` (exclusive, unix s); required, and after ``now``
``*-token-allowance`` ``allowanceAmount`` one budget row in the token (NATIVE for ``native-*``): that amount is
                                          escrowed; no per-call cap; no period
``*-token-periodic`` ``periodAmount``     ``period = periodDuration`` and the row's ``period_allowance =
and ``periodDuration``                    periodAmount``; the escrowed amount is the most that can be spent before
                                          expiry, ``ceil((expiry - now) / periodDuration) * periodAmount``, or the
                                          smaller ``cap`` the caller passes
``startTime``                             absent or not after ``now``: the session starts when created (its
                                          windows run from then); after ``now``: refused (a session cannot start
                                          later than it is opened)
``rules[payee].data.addresses``           the allowlist: each address with selector ``0x00000000`` (plain ETH
                                          transfers and token payments to it); without a payee rule the session is
                                          ``any_target`` (a 7715 permission lets the grantee pay anyone) unless the
                                          caller narrows it with ``allowlist``
``rules[redeemer]``                       only ``[to]`` is expressible (the agent is the one key that acts)
``isAdjustmentAllowed``                   required boolean; ``false`` forbids the caller's ``cap`` below the most
                                          spendable and an ``allowlist`` narrower than the request's payees (in a
                                          request; a response, which carries ``context``, is granted already)
``justification``                         ``label``, cut to the 31 bytes a label holds (whole characters)
========================================  =========================================================================

The response (``to_erc7715``) reads a live session through the SDK and writes the same fields back: ``to`` =
agent, ``from`` = the holder of the session token (the manager owner for a root it opened), the expiry rule,
``allowanceAmount = available + spent`` of the budget row (what the session was granted in total), or
``periodAmount``/``periodDuration`` from the row's allowance and the session's period, a ``payee`` rule for the
payees the caller states (checked on-chain with ``isAllowed``; the contract has no view that lists an allowlist),
``justification`` = label when there is one, ``isAdjustmentAllowed: false`` (what was granted is final), no
``startTime`` (the windows run from creation), ``dependencies: []`` (nothing to deploy) and ``delegationManager`` =
the manager's address: the contract the agent calls (``execute``, ``transferToken``); it is not an ERC-7710
delegation manager, so the ERC-7710 redemption path does not apply.

A cap the caller passed for a periodic permission has no field in the response (7715 states the per-window
amount, not a total): reading the response back gives the same session only with the same ``cap``. A response
(it carries ``context``) is read as granted: ``isAdjustmentAllowed`` constrains requests only.

``context`` is ``abi.encode(address manager, uint256 sessionId)`` as 0x hex (64 bytes): the session it names is
``AgentSessions(rpc).manager(manager).session(sessionId)`` on ``chainId`` (``parse_context``).

Not expressible (``UnsupportedPermission``, text ``"unsupported: <type>: <why>"``): ``native-token-stream`` and
``erc20-token-stream`` (a stream accrues linearly per second and what is unspent carries over; a session's
periodic allowance is a step per window that does not carry over: no choice of period and allowance gives the
same spendable amount at every second), every other permission type (ERC-721/1155 allowances, approval
revocations: sessions budget ETH and ERC-20 only), a redeemer other than ``to``; and, in the other direction,
sessions with a per-call cap, a call limit, an idle timeout, guards, several budget tokens, or not active.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from ..base import validate as _validate
from ..base.models import NATIVE, ZERO_ADDRESS, BudgetParams, Permission, SessionParams, SessionState, Status, checksum

if TYPE_CHECKING:
    from ..domain.manager import Manager
    from ..domain.session import Session

__all__ = [
    "ERC7715_SPEC",
    "PERMISSION_TYPES",
    "Erc7715Error",
    "UnsupportedPermission",
    "build_response",
    "encode_context",
    "from_erc7715",
    "grant",
    "parse_context",
    "to_erc7715",
]

#: The version of the ERC this module follows.
ERC7715_SPEC = "ERC-7715 draft, ethereum/ERCs 2adc3783 (2026-01-16), wallet_requestExecutionPermissions"

#: Permission types a session expresses exactly, as (native?, periodic?).
PERMISSION_TYPES: dict[str, tuple[bool, bool]] = {
    "native-token-allowance": (True, False),
    "erc20-token-allowance": (False, False),
    "native-token-periodic": (True, True),
    "erc20-token-periodic": (False, True),
}

#: Types we know and cannot express, with the reason.
_UNSUPPORTED_TYPES = {
    "native-token-stream": "a stream accrues linearly per second and what is unspent carries over; a session's "
                           "periodic allowance is a step per window that does not carry over, so no period and "
                           "allowance give the same spendable amount at every second",
    "erc20-token-stream": "a stream accrues linearly per second and what is unspent carries over; a session's "
                          "periodic allowance is a step per window that does not carry over, so no period and "
                          "allowance give the same spendable amount at every second",
    "erc721-token-allowance": "sessions budget ETH and ERC-20 tokens only",
    "token-approval-revocation": "a session spends from its own escrow; it cannot revoke the grantor's approvals",
    "erc20-token-revocation": "a session spends from its own escrow; it cannot revoke the grantor's approvals",
}

_REQUEST_FIELDS = {"chainId", "from", "to", "permission", "rules"}
_RESPONSE_FIELDS = {"context", "dependencies", "delegationManager"}
_EARLIER_DRAFT_FIELDS = {"signer", "expiry", "policies", "address", "permissions"}
_PERMISSION_FIELDS = {"type", "isAdjustmentAllowed", "data"}
_RULE_TYPES = ("expiry", "payee", "redeemer")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_UINT32 = 2**32 - 1
_UINT128 = 2**128 - 1
_LABEL_BYTES = 31
#: The selector of an allowlist entry that lets a session pay ``target`` (ETH or tokens), and nothing else.
PAY_SELECTOR = "0x00000000"


# ================================================================================================================
# errors
# ================================================================================================================


class Erc7715Error(ValueError):
    """A request that is not a valid ERC-7715 permission request for a session; ``field`` is its path
    (``permission.data.periodAmount``, ``rules[0].data.timestamp``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class UnsupportedPermission(Erc7715Error):
    """A valid 7715 permission (or a session) the other side cannot express exactly."""

    def __init__(self, what: str, why: str, field: str = "permission.type") -> None:
        self.what = what
        self.why = why
        self.field = field
        ValueError.__init__(self, f"unsupported: {what}: {why}")


# ================================================================================================================
# request -> SessionParams
# ================================================================================================================


def from_erc7715(
    request: Mapping[str, Any],
    *,
    chain_id: int | None = None,
    now: int | None = None,
    owner: str | None = None,
    allowlist: Sequence[Any] | None = None,
    cap: int | None = None,
    label: str | None = None,
) -> SessionParams:
    """The ``SessionParams`` of one 7715 ``PermissionRequest`` (or of a ``PermissionResponse``: its response fields
    are checked and otherwise ignored).

    ``chain_id``: the chain the session will live on (``chainId`` must match). ``now``: the chain's time in unix
    seconds (default: this machine's clock), against which the expiry and ``startTime`` are checked and the periodic
    escrow is computed. ``owner``: the manager owner (``from`` must match). ``allowlist``: recipients to narrow the
    session to. ``cap``: the amount to escrow instead of the most that can be spent. ``label``: instead of the
    justification. Raises ``Erc7715Error`` naming the field, or ``UnsupportedPermission``.
    """
    now = int(time.time()) if now is None else int(now)
    if not isinstance(request, Mapping):
        raise Erc7715Error("request", f"a PermissionRequest is a JSON object, got {type(request).__name__}")
    _known_fields(request)
    request_chain = _chain_id(_required(request, "chainId", ""), "chainId")
    if chain_id is not None and request_chain != int(chain_id):
        raise Erc7715Error("chainId", f"{request['chainId']} ({request_chain}) is not this chain ({chain_id})")
    agent = _address(_required(request, "to", ""), "to")
    _check_from(request.get("from"), owner)
    _response_fields(request)

    permission = _required(request, "permission", "")
    if not isinstance(permission, Mapping):
        raise Erc7715Error("permission", f"must be an object, got {type(permission).__name__}")
    kind = _permission_type(permission)
    native, periodic = PERMISSION_TYPES[kind]
    # a response (it carries a context) was granted already: the flag constrains the grantor of a request only
    adjustable = _adjustment_flag(permission) or "context" in request
    data = _permission_data(permission, kind)
    rules = _rules(request.get("rules"), agent, now)

    start = data.get("startTime")
    if start is not None and start > now:
        raise Erc7715Error("permission.data.startTime",
                           f"{start} is in the future (now {now}); a session's windows start when it is created")

    expiry = rules["expiry"]
    token = NATIVE if native else data["tokenAddress"]
    if periodic:
        period, per_period = data["periodDuration"], data["periodAmount"]
        most = math.ceil((expiry - now) / period) * per_period
        budget = dict(token=token, amount=_escrow(most, cap, adjustable), period_allowance=per_period)
    else:
        period = 0
        budget = dict(token=token, amount=_escrow(data["allowanceAmount"], cap, adjustable))

    payees = _payees(rules.get("payee"), allowlist, adjustable)
    return SessionParams(
        agent=agent,
        expiry=datetime.fromtimestamp(expiry, tz=timezone.utc),
        budgets=[BudgetParams(**budget)],
        permissions=[Permission(target=p, selector=PAY_SELECTOR) for p in payees],
        any_target=not payees,
        period=period,
        label=_label(label if label is not None else data.get("justification")),
    )


def _known_fields(request: Mapping[str, Any]) -> None:
    for key in request:
        if key in _REQUEST_FIELDS or key in _RESPONSE_FIELDS:
            continue
        if key in _EARLIER_DRAFT_FIELDS:
            raise Erc7715Error(str(key), f"belongs to an earlier draft (wallet_grantPermissions); this follows "
                                         f"{ERC7715_SPEC}: use to, permission and rules[expiry]")
        raise Erc7715Error(str(key), "not a field of a PermissionRequest (chainId, from, to, permission, rules)")


def _required(mapping: Mapping[str, Any], key: str, prefix: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise Erc7715Error(f"{prefix}{key}", "is required")
    return mapping[key]


def _hex_int(value: Any, field: str) -> int:
    """A 0x-prefixed hex string as an int (the ERC's ``Hex``)."""
    if not isinstance(value, str) or not _HEX.match(value):
        raise Erc7715Error(field, f"{value!r} is not a 0x-prefixed hex string (e.g. '0x1dcd6500')")
    return int(value, 16)


def _chain_id(value: Any, field: str) -> int:
    number = _hex_int(value, field)
    if number == 0:
        raise Erc7715Error(field, "chain id 0 names no chain")
    return number


def _address(value: Any, field: str, *, zero_ok: bool = False) -> str:
    try:
        address = _validate.address(value, field)
    except ValueError as exc:
        raise Erc7715Error(field, str(exc).removeprefix(f"{field}: ")) from None
    if address == ZERO_ADDRESS and not zero_ok:
        raise Erc7715Error(field, "the zero address names no account")
    return address


def _check_from(value: Any, owner: str | None) -> None:
    if value is None:
        return
    grantor = _address(value, "from")
    if owner is not None and grantor != checksum(owner):
        raise Erc7715Error("from", f"{grantor} is not the manager owner {checksum(owner)}, who funds the session")


def _response_fields(request: Mapping[str, Any]) -> None:
    if "context" in request:
        _hex_int(request["context"], "context")
    if "delegationManager" in request:
        _address(request["delegationManager"], "delegationManager")
    if "dependencies" in request and not isinstance(request["dependencies"], list):
        raise Erc7715Error("dependencies", "must be a list of {factory, factoryData}")


def _type_name(value: Any, field: str) -> str:
    """A type: a string, or MetaMask's descriptor object ``{name, description?}``."""
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        value = value["name"]
    if not isinstance(value, str) or not value:
        raise Erc7715Error(field, f"{value!r} is not a type name")
    return value


def _permission_type(permission: Mapping[str, Any]) -> str:
    for key in permission:
        if key not in _PERMISSION_FIELDS:
            raise Erc7715Error(f"permission.{key}", "not a field of a permission (type, isAdjustmentAllowed, data)")
    kind = _type_name(_required(permission, "type", "permission."), "permission.type")
    if kind in PERMISSION_TYPES:
        return kind
    if kind in _UNSUPPORTED_TYPES:
        raise UnsupportedPermission(kind, _UNSUPPORTED_TYPES[kind])
    known = ", ".join(PERMISSION_TYPES)
    raise UnsupportedPermission(kind, f"not a permission type a session expresses ({known})")


def _adjustment_flag(permission: Mapping[str, Any]) -> bool:
    if "isAdjustmentAllowed" not in permission:
        raise Erc7715Error("permission.isAdjustmentAllowed", "is required (true or false)")
    flag = permission["isAdjustmentAllowed"]
    if not isinstance(flag, bool):
        raise Erc7715Error("permission.isAdjustmentAllowed", f"must be true or false, got {flag!r}")
    return flag


def _permission_data(permission: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The type's data, validated: amounts as ints, the token checksummed, times as ints."""
    data = _required(permission, "data", "permission.")
    if not isinstance(data, Mapping):
        raise Erc7715Error("permission.data", f"must be an object, got {type(data).__name__}")
    native, periodic = PERMISSION_TYPES[kind]
    data = dict(data)
    if not periodic and "allowance" in data:  # the ERC's own example spells it so
        if "allowanceAmount" in data:
            raise Erc7715Error("permission.data.allowance", "give allowanceAmount or allowance, not both")
        data["allowanceAmount"] = data.pop("allowance")
    amounts = ("periodAmount",) if periodic else ("allowanceAmount",)
    fields = {*amounts, "startTime", "justification", *(("periodDuration",) if periodic else ()),
              *(() if native else ("tokenAddress",))}
    for key in data:
        if key not in fields:
            raise Erc7715Error(f"permission.data.{key}", f"not a field of {kind} ({', '.join(sorted(fields))})")
    out: dict[str, Any] = {}
    for key in amounts:
        out[key] = _amount(_required(data, key, "permission.data."), f"permission.data.{key}")
    if periodic:
        out["periodDuration"] = _seconds(_required(data, "periodDuration", "permission.data."),
                                         "permission.data.periodDuration", bound=_UINT32)
    if not native:
        token = _address(_required(data, "tokenAddress", "permission.data."), "permission.data.tokenAddress")
        if token == NATIVE:
            raise Erc7715Error("permission.data.tokenAddress",
                               f"{token} stands for ETH; ask for {kind.replace('erc20', 'native')} instead")
        out["tokenAddress"] = token
    if data.get("startTime") is not None:
        out["startTime"] = _seconds(data["startTime"], "permission.data.startTime")
    justification = data.get("justification")
    if justification is not None and not isinstance(justification, str):
        raise Erc7715Error("permission.data.justification", f"must be text, got {type(justification).__name__}")
    out["justification"] = justification
    return out


def _amount(value: Any, field: str) -> int:
    amount = _hex_int(value, field)
    if amount == 0:
        raise Erc7715Error(field, "must be more than zero")
    if amount > _UINT128:
        raise Erc7715Error(field, f"{value} does not fit in a budget (uint128)")
    return amount


def _seconds(value: Any, field: str, bound: int = 2**40 - 1) -> int:
    """A positive whole number of seconds (a JSON number, as the ERC's ``number``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Erc7715Error(field, f"must be a positive whole number of seconds, got {value!r}")
    if value > bound:
        raise Erc7715Error(field, f"{value} s is more than {bound}, the most a session holds")
    return value


def _rules(rules: Any, agent: str, now: int) -> dict[str, Any]:
    """``{"expiry": timestamp, "payee": [addresses]?}`` from the rules; the expiry is required."""
    if rules is None:
        rules = []
    if not isinstance(rules, list):
        raise Erc7715Error("rules", f"must be a list of rules, got {type(rules).__name__}")
    found: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        if not isinstance(rule, Mapping):
            raise Erc7715Error(where, f"must be an object {{type, data}}, got {type(rule).__name__}")
        for key in rule:
            if key not in ("type", "data"):
                raise Erc7715Error(f"{where}.{key}", "not a field of a rule (type, data)")
        kind = _type_name(rule.get("type"), f"{where}.type")
        if kind not in _RULE_TYPES:
            raise Erc7715Error(f"{where}.type", f"unknown rule type {kind!r} (known: {', '.join(_RULE_TYPES)})")
        if kind in found:
            raise Erc7715Error(f"{where}.type", f"a second {kind} rule; each rule type may appear once")
        data = rule.get("data")
        if not isinstance(data, Mapping):
            raise Erc7715Error(f"{where}.data", "must be an object")
        if kind == "expiry":
            timestamp = _seconds(data.get("timestamp"), f"{where}.data.timestamp")
            if timestamp <= now:
                raise Erc7715Error(f"{where}.data.timestamp", f"{timestamp} is not after now ({now})")
            found[kind] = timestamp
        else:
            found[kind] = _addresses(data.get("addresses"), f"{where}.data.addresses")
            if kind == "redeemer" and found[kind] != [agent]:
                raise UnsupportedPermission("redeemer", f"only the session's agent ({agent}) can act; a redeemer "
                                                        "list of other accounts is not expressible",
                                            field=f"{where}.data.addresses")
    if "expiry" not in found:
        raise Erc7715Error("rules", 'no expiry rule; a session needs one: {"type": "expiry", "data": '
                                    '{"timestamp": <unix seconds>}}')
    return found


def _addresses(values: Any, field: str) -> list[str]:
    if not isinstance(values, list) or not values:
        raise Erc7715Error(field, "must be a non-empty list of addresses")
    out = [_address(v, f"{field}[{i}]") for i, v in enumerate(values)]
    duplicates = sorted({a for a in out if out.count(a) > 1})
    if duplicates:
        raise Erc7715Error(field, f"{', '.join(duplicates)} appears twice")
    return out


def _escrow(most: int, cap: int | None, adjustable: bool) -> int:
    """What to escrow: the most the permission lets the agent spend, or the caller's smaller cap."""
    if cap is None:
        if most > _UINT128:
            raise Erc7715Error("permission.data.periodAmount",
                               f"periods x amount = {most} does not fit in a budget (uint128); pass a cap")
        return most
    if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
        raise Erc7715Error("cap", f"must be a positive amount in base units, got {cap!r}")
    if cap > most:
        raise Erc7715Error("cap", f"{cap} is more than the permission lets the agent spend ({most})")
    if cap < most and not adjustable:
        raise Erc7715Error("permission.isAdjustmentAllowed",
                           f"is false: the permission may not be reduced to a cap of {cap} (of {most})")
    return cap


def _payees(requested: list[str] | None, allowlist: Sequence[Any] | None, adjustable: bool) -> list[str]:
    """The recipients the session may pay: the payee rule's, or the caller's narrower allowlist ([] = anyone)."""
    if allowlist is None:
        return list(requested or [])
    narrowed = _addresses(list(allowlist), "allowlist")
    if requested is not None:
        outside = [a for a in narrowed if a not in requested]
        if outside:
            raise Erc7715Error("allowlist", f"{', '.join(outside)} is not a payee of the request")
    if set(narrowed) != set(requested or []) and not adjustable:
        raise Erc7715Error("permission.isAdjustmentAllowed",
                           "is false: the permission may not be narrowed to an allowlist")
    return narrowed


def _label(justification: str | None) -> str:
    """The justification cut to the 31 UTF-8 bytes of a label, on a character boundary (NULs dropped)."""
    if not justification:
        return ""
    text = justification.replace("\x00", "")
    while len(text.encode()) > _LABEL_BYTES:
        text = text[:-1]
    return text


# ================================================================================================================
# session -> response
# ================================================================================================================


def encode_context(manager: str, session_id: int) -> str:
    """The response's ``context``: ``abi.encode(address manager, uint256 sessionId)`` as 0x hex."""
    return "0x" + abi_encode(["address", "uint256"], [checksum(manager), int(session_id)]).hex()


def parse_context(context: str) -> tuple[str, int]:
    """``(manager, session_id)`` from a ``context`` written by ``encode_context``."""
    _hex_int(context, "context")
    raw = bytes.fromhex(context[2:])
    if len(raw) != 64:
        raise Erc7715Error("context", f"is {len(raw)} bytes; a session's context is 64 (manager, session id)")
    try:
        manager, session_id = abi_decode(["address", "uint256"], raw, strict=True)
    except Exception as exc:  # eth-abi raises several types for a malformed word
        raise Erc7715Error("context", f"is not abi.encode(address, uint256): {exc}") from None
    return checksum(manager), int(session_id)


def to_erc7715(session: Session, *, payees: Sequence[Any] | None = None) -> dict[str, Any]:
    """The 7715 ``PermissionResponse`` of a live session, read now through the SDK.

    A session without ``any_target`` must be given the ``payees`` it allows (each checked with ``isAllowed``:
    no view lists an allowlist). Raises ``UnsupportedPermission`` for a session 7715 cannot describe."""
    state = session.refresh().state
    manager = session.manager
    if payees is not None:
        payees = _addresses(list(payees), "payees")
        for payee in payees:
            if not manager.is_allowed(session.id, payee, PAY_SELECTOR):
                raise Erc7715Error("payees", f"session {session.id} may not pay {payee}")
    return build_response(state, chain_id=manager.client.chain_id, manager=manager.address,
                          guards=manager.guards_of(session.id), payees=payees)


def build_response(state: SessionState, *, chain_id: int, manager: str, guards: Sequence[str] = (),
                   payees: Sequence[str] | None = None) -> dict[str, Any]:
    """The ``PermissionResponse`` of a session's state (what ``to_erc7715`` writes, without reading the chain)."""
    _expressible(state, guards)
    token, budget = _single_budget(state)
    native = token == NATIVE
    if budget.period_allowance and state.period:
        kind = "native-token-periodic" if native else "erc20-token-periodic"
        data: dict[str, Any] = {"periodAmount": hex(budget.period_allowance),
                                "periodDuration": int(state.period.total_seconds())}
    else:
        kind = "native-token-allowance" if native else "erc20-token-allowance"
        data = {"allowanceAmount": hex(budget.available + budget.spent)}
    if not native:
        data["tokenAddress"] = token
    if state.label:
        data["justification"] = state.label
    rules: list[dict[str, Any]] = [{"type": "expiry", "data": {"timestamp": state.expiry_timestamp}}]
    if not state.any_target:
        if not payees:
            raise UnsupportedPermission("payee", "the session has an allowlist, which no view lists; pass the "
                                                 "payees it allows (each is checked on-chain)", field="payees")
        rules.append({"type": "payee", "data": {"addresses": list(payees)}})
    return {
        "chainId": hex(chain_id),
        "from": state.holder,
        "to": state.agent,
        "permission": {"type": kind, "isAdjustmentAllowed": False, "data": data},
        "rules": rules,
        "context": encode_context(manager, state.id),
        "dependencies": [],
        "delegationManager": checksum(manager),
    }


def _expressible(state: SessionState, guards: Sequence[str]) -> None:
    """Refuse what a 7715 permission cannot say: the response would promise the agent more than it has."""
    if state.status is not Status.ACTIVE:
        raise UnsupportedPermission(f"status {state.status}", "only an active session is a permission in force",
                                    field="status")
    if state.max_calls_per_period:
        raise UnsupportedPermission("call limit", "7715 has no limit on the number of calls", field="max_calls")
    if state.max_idle:
        raise UnsupportedPermission("idle timeout", "7715 has no idle timeout", field="max_idle")
    if guards:
        raise UnsupportedPermission("guards", f"{', '.join(guards)} may refuse calls the permission would allow",
                                    field="guards")


def _single_budget(state: SessionState) -> tuple[str, Any]:
    rows = {t: b for t, b in state.budgets.items() if b.available or b.spent or b.period_allowance}
    if len(rows) != 1:
        what = "no budget" if not rows else f"budgets in {len(rows)} tokens"
        raise UnsupportedPermission(what, "a 7715 permission covers exactly one token", field="budgets")
    token, budget = next(iter(rows.items()))
    if budget.per_call_cap:
        raise UnsupportedPermission("per-call cap", "7715 has no per-call cap", field="per_call_cap")
    return token, budget


# ================================================================================================================
# granting: requests -> live sessions
# ================================================================================================================


def grant(manager: Manager, params: Sequence[SessionParams], sender: Any) -> list[Session]:
    """Open one root session per ``params`` as the manager owner ``sender``: approve the manager for the
    ERC-20 escrow it pulls (when the allowance falls short), then ``createSessions``."""
    need: dict[str, int] = {}
    for p in params:
        for b in p.budgets:
            if b.token != NATIVE:
                need[b.token] = need.get(b.token, 0) + b.amount
    owner = manager.client.sender(sender).address
    for token, amount in need.items():
        erc20 = manager.client.contract("testing/TestToken", token)  # only the ERC-20 surface is used
        if int(erc20.call("allowance", owner, manager.address)) < amount:
            erc20.transact("approve", manager.address, amount, sender=sender)
    return manager.create_sessions(list(params), sender)
