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
