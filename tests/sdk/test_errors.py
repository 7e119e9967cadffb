"""Revert data -> typed exceptions, from the ABI: every custom error of ISessionTypes has a class that carries
its arguments under readable names and writes its own message."""

import pickle

import eth_abi
import pytest
from eth_utils import keccak

from agent_sessions import (
    NATIVE,
    BudgetExceeded,
    CallFailed,
    ContractError,
    ContractRevert,
    GuardRejected,
    LimitExceeded,
    Panic,
    RevertString,
    SessionError,
    SessionNotActive,
    Status,
    UnknownRevert,
    decode_revert,
)
from agent_sessions.base.abi import artifact_abi, known_errors
from agent_sessions.base.errors import error_class

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

SESSION_ERRORS = sorted(
    {e.name for e in artifact_abi("IAgentSessions").errors.values()}
    - {"TokenDoesNotExist"}  # not an ISessionTypes error (Solady ERC-721)
)


def _sample(abi_type: str, index: int):
    if abi_type == "address":
        return ADDRESS
    if abi_type == "bytes4":
        return b"\x12\x34\x56\x78"
    if abi_type == "bytes32":
        return b"\x9a" * 32
    if abi_type == "bytes":
        return b""
    if abi_type == "uint8":
        return 3
    if abi_type.startswith("uint"):
        return 1000 + index
    raise AssertionError(abi_type)


def _encode(name: str, *args):
    definition = next(e for e in known_errors().values() if e.name == name)
    values = list(args) or [_sample(t, i) for i, t in enumerate(definition.types)]
    return definition, values, definition.selector + eth_abi.encode(list(definition.types), values)


def test_every_session_types_error_has_a_typed_class():
    missing = [name for name in SESSION_ERRORS if error_class(name) is None]
    assert missing == []
    assert len(SESSION_ERRORS) >= 39


@pytest.mark.parametrize("name", SESSION_ERRORS + ["ManagerExists"])
def test_decode_revert_builds_the_typed_error_with_its_arguments(name):
    definition, values, data = _encode(name)
    error = decode_revert(data)
    cls = error_class(name)
    assert type(error) is cls
    assert isinstance(error, ContractRevert) and isinstance(error, SessionError)
    assert error.data == data
    assert len(error.values) == len(definition.types)
    for field, abi_type, value in zip(cls.fields, definition.types, values):
        got = getattr(error, field)
        if abi_type == "bytes4":
            assert got == "0x12345678"
        elif abi_type == "bytes32":
            assert got == "0x" + "9a" * 32
        elif abi_type == "uint8" and field == "status":
            assert got is Status.PAUSED
        else:
            assert got == value
    assert f"({name})" in str(error)


def test_budget_exceeded_reads_like_the_failure():
    _, _, data = _encode("BudgetExceeded", 7, NATIVE, 5 * 10**18, 10**18)
    error = decode_revert(data)
    assert isinstance(error, BudgetExceeded) and isinstance(error, ValueError) and isinstance(error, LimitExceeded)
    assert (error.session, error.token, error.requested, error.remaining) == (7, NATIVE, 5 * 10**18, 10**18)
    assert str(error) == (
        "session 7: spending 5000000000000000000 of ETH exceeds the remaining 1000000000000000000 (BudgetExceeded)"
    )
    assert error.arguments == {"session": 7, "token": NATIVE, "requested": 5 * 10**18, "remaining": 10**18}


def test_session_not_active_carries_a_status_enum():
    _, _, data = _encode("SessionNotActive", 3, 5)
    error = decode_revert(data)
    assert isinstance(error, SessionNotActive)
    assert error.status is Status.REVOKED
    assert "session 3 cannot act: it is revoked" in str(error)


def test_call_failed_decodes_the_callee_reason():
    boom = keccak(text="Boom(uint256)")[:4] + eth_abi.encode(["uint256"], [42])
    _, _, data = _encode("CallFailed", 4, ADDRESS, boom)
    error = decode_revert(data)
    assert isinstance(error, CallFailed)
    assert error.reason == boom
    inner = error.reason_error
    assert isinstance(inner, UnknownRevert) and inner.selector == "0x" + boom[:4].hex()
    assert "reason: reverted with unknown error" in str(error)


def test_guard_rejected_decodes_the_guard_error_by_abi():
    denied = keccak(text="Denied(address)")[:4] + eth_abi.encode(["address"], [ADDRESS])
    _, _, data = _encode("GuardRejected", 1, ADDRESS, denied)
    error = decode_revert(data)
    assert isinstance(error, GuardRejected)
    inner = error.reason_error
    assert isinstance(inner, ContractError)
    assert inner.name == "Denied" and inner.arguments == {"target": ADDRESS}


@pytest.mark.parametrize("signature", ["Reentrancy()", "TokenDoesNotExist()", "NotOwnerNorApproved()"])
def test_solady_errors_become_generic_contract_errors(signature):
    error = decode_revert(keccak(text=signature)[:4])
    assert isinstance(error, ContractError)
    assert error.name == signature[:-2]
    assert str(error) == signature


def test_revert_strings_and_panics_are_named():
    text = decode_revert(keccak(text="Error(string)")[:4] + eth_abi.encode(["string"], ["value"]))
    assert isinstance(text, RevertString) and text.message == "value"
    panic = decode_revert(keccak(text="Panic(uint256)")[:4] + eth_abi.encode(["uint256"], [0x11]))
    assert isinstance(panic, Panic) and panic.code == 0x11


def test_unknown_and_empty_reverts_keep_their_bytes():
    unknown = decode_revert(b"\xde\xad\xbe\xef\x00")
    assert isinstance(unknown, UnknownRevert) and unknown.data == b"\xde\xad\xbe\xef\x00"
    empty = decode_revert(b"")
    assert isinstance(empty, UnknownRevert) and str(empty) == "reverted without a reason"
    malformed = decode_revert(keccak(text="NotAgent(uint256,address)")[:4] + b"\x01")
    assert isinstance(malformed, UnknownRevert)


def test_decode_revert_accepts_hex_strings():
    _, _, data = _encode("ZeroAgent")
    assert type(decode_revert("0x" + data.hex())).__name__ == "ZeroAgent"


def test_typed_errors_survive_pickling():
    _, _, data = _encode("BudgetExceeded", 1, NATIVE, 2, 1)
    error = pickle.loads(pickle.dumps(decode_revert(data)))
    assert isinstance(error, BudgetExceeded) and error.requested == 2 and error.data == data
    generic = pickle.loads(pickle.dumps(decode_revert(keccak(text="Reentrancy()")[:4])))
    assert isinstance(generic, ContractError) and generic.name == "Reentrancy"
