"""Helpers shared by the contract tests.

Strict assertions: a revert must carry exactly the expected custom error with every argument, an event exactly
the expected arguments (`ape.reverts` alone accepts a different error type and silently ignores a misspelled
argument name). Event rows and error data in Ape's own value forms (`event_args`, `expect`, `error_data`), and
a `Clock` that pins chain time."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

import ape
import click.testing
from eth_abi import encode as abi_encode
from eth_utils import keccak


def norm(value):
    """Comparable form: accounts/contracts -> lower-case address, bytes -> 0x hex, lists element-wise."""
    if hasattr(value, "address"):
        value = value.address
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, str) and value[:2].lower() == "0x":
        return value.lower()
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    return value


@contextlib.contextmanager
def reverts(error, **expected):
    """The block must revert with exactly the custom error `error`, every argument given and equal."""
    with ape.reverts() as info:
        yield info
    exc = info.value
    assert isinstance(exc, error), f"expected {error.__name__}{expected}, got {exc!r}"
    actual = dict(exc.inputs)
    assert sorted(actual) == sorted(expected), (
        f"{error.__name__} has arguments {sorted(actual)}; the test gave {sorted(expected)}"
    )
    got = {k: norm(v) for k, v in actual.items()}
    want = {k: norm(v) for k, v in expected.items()}
    assert got == want, f"{error.__name__}: expected {want}, got {got}"


def events(receipt, event) -> list[dict]:
    """Every `event` in the receipt, as {argument: normalised value}."""
    return [{k: norm(v) for k, v in log.event_arguments.items()} for log in receipt.events.filter(event)]


def assert_events(receipt, event, *expected: dict):
    """`event` was emitted exactly as `expected` (every argument, in order), and no other time."""
    assert events(receipt, event) == [{k: norm(v) for k, v in e.items()} for e in expected]


def plain(value):
    """Accounts and contracts as their checksummed address (how Ape reports event and call values); anything
    else unchanged."""
    return str(value.address) if hasattr(value, "address") else value


def event_args(receipt, event) -> list[tuple]:
    """Every `event` the receipt holds (from the event's own contract), as tuples of all its arguments."""
    names = [i.name for i in event.abi.inputs]
    return [tuple(log.event_arguments[n] for n in names) for log in receipt.events.filter(event)]


def expect(*args) -> tuple:
    """An expected `event_args` row."""
    return tuple(plain(a) for a in args)


def error_data(error, *args) -> bytes:
    """ABI encoding of custom error `error` (an Ape error class, e.g. manager.NotAgent) with `args`."""
    types = [i.canonical_type for i in error.abi.inputs]
    return keccak(text=error.abi.selector)[:4] + abi_encode(types, [plain(a) for a in args])


class Clock:
    """Pins chain time: `at(t)` sets the timestamp of the next transaction, `mine(t)` mines a block at t
    (views then see exactly t)."""

    def __init__(self, chain):
        self.chain = chain

    def fresh(self, ahead: int = 100) -> int:
        return self.chain.pending_timestamp + ahead

    def at(self, ts: int) -> None:
        self.chain.pending_timestamp = ts

    def mine(self, ts: int) -> None:
        self.chain.mine(timestamp=ts)


@dataclasses.dataclass
class Run:
    """One command run: exit code, stdout, stderr, and the JSON on stdout when asked for."""

    result: click.testing.Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr

    @property
    def json(self) -> Any:
        return json.loads(self.result.stdout)

    def __repr__(self) -> str:
        return f"<Run exit={self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}\nexception: {self.result.exception!r}>"



NATIVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"

#: The manager's events that carry ETH leaving a session (layout v2 keeps no lifetime ETH counter on chain).
_SPEND_TOPICS = {
    "0x" + keccak(text=sig).hex(): kind
    for sig, kind in (
        ("Executed(uint256,address,uint256,bytes4)", "executed"),
        ("TokenTransferred(uint256,address,address,uint256)", "transferred"),
        ("Swapped(uint256,address,address,uint256,address,uint256)", "swapped"),
        ("RelayFeePaid(uint256,address,uint256)", "relay_fee"),
    )
}


def _hex(value) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def spend_logs_filter(manager, session_id=None) -> dict:
    """The `eth_getLogs` filter of the ETH spends of `manager` (of one session, or all with None)."""
    topics: list = [list(_SPEND_TOPICS)]
    if session_id is not None:
        topics.append("0x" + int(session_id).to_bytes(32, "big").hex())
    address = manager.address if hasattr(manager, "address") else str(manager)
    return {"address": address, "fromBlock": "0x0", "toBlock": "latest", "topics": topics}


def eth_spent_in_logs(logs) -> dict[int, int]:
    """ETH spent per session id in the manager's raw `logs` (JSON-RPC or web3 form), decoded here independently
    of the SDK: `Executed.value`, `TokenTransferred.amount` of NATIVE, `Swapped.amountIn` when selling NATIVE,
    `RelayFeePaid.fee`."""
    spent: dict[int, int] = {}
    for log in logs:
        kind = _SPEND_TOPICS.get(_hex(log["topics"][0]))
        if kind is None:
            continue
        data = bytes.fromhex(_hex(log["data"])[2:])
        word = [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]
        amount = 0
        if kind in ("executed", "relay_fee"):
            amount = word[0]
        elif kind == "transferred" and int(_hex(log["topics"][2]), 16) == int(NATIVE, 16):
            amount = word[0]
        elif kind == "swapped" and word[0] == int(NATIVE, 16):
            amount = word[1]
        sid = int(_hex(log["topics"][1]), 16)
        spent[sid] = spent.get(sid, 0) + amount
    return spent


def eth_spent_by_events(manager, session_id) -> int:
    """ETH session `session_id` of `manager` spent, summed from the manager's events: what
    `getBudget(id, NATIVE).spent` held before the layout v2 (a reverted transaction emits none)."""
    logs = ape.chain.provider.web3.eth.get_logs(spend_logs_filter(manager, session_id))
    return eth_spent_in_logs(logs).get(int(session_id), 0)


def budget_row(manager, session_id, token) -> tuple:
    """`getBudget(id, token)` as a tuple (token, available, spent, perCallCap, periodAllowance, spentInPeriod)
    where an ETH row's `spent` (0 on chain since the layout v2, asserted here) is the sum of the session's spend
    events: one shape for assertions over ETH and ERC-20 budgets alike."""
    row = tuple(manager.getBudget(session_id, token))
    if norm(token) == NATIVE.lower():
        assert row[2] == 0, f"the chain reports ETH spent {row[2]}: layout v2 keeps none"
        row = (*row[:2], eth_spent_by_events(manager, session_id), *row[3:])
    return row
