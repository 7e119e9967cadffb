"""Strict assertions shared by the contract tests: a revert must carry exactly the expected custom error with
every argument, an event exactly the expected arguments (`ape.reverts` alone accepts a different error type
and silently ignores a misspelled argument name)."""

from __future__ import annotations

import contextlib

import ape


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
