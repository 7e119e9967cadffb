"""Reverts of Solady's SafeTransferLib and OpenZeppelin's ERC-20 decode into typed errors with a hint, not into
"unknown error 0x7939f424"."""

from __future__ import annotations

import eth_abi
from eth_utils import keccak

from agent_sessions import AccessDenied, LimitExceeded, UnknownRevert, decode_revert
from agent_sessions.base.library_errors import (
    ERC20InsufficientAllowance,
    SafeERC20FailedOperation,
    TokenTransferFailed,
    TransferFromFailed,
)
from agent_sessions.fleet.console import error_explanation, error_line

MANAGER = "0x1a472e37ca6Aacf6808D00DEdaB5838A5ae2c1D8"


def test_solady_transfer_from_failed_says_approve_the_manager_first():
    error = decode_revert("0x7939f424")
    assert isinstance(error, TransferFromFailed) and isinstance(error, AccessDenied)
    assert error.hint == "approve the manager first"
    assert error_line(error) == "TransferFromFailed()"
    assert error_explanation(error) == ("the token refused transferFrom: approve the manager first (or the payer's "
                                        "balance is short)")


def test_solady_transfer_failed_is_typed():
    assert isinstance(decode_revert("0x90b8ec18"), TokenTransferFailed)


def test_openzeppelin_insufficient_allowance_carries_its_arguments():
    data = keccak(text="ERC20InsufficientAllowance(address,uint256,uint256)")[:4] + eth_abi.encode(
        ["address", "uint256", "uint256"], [MANAGER, 5, 10**6])
    error = decode_revert(data)
    assert isinstance(error, ERC20InsufficientAllowance) and isinstance(error, LimitExceeded)
    assert (error.spender, error.allowance, error.needed) == (MANAGER, 5, 10**6)


def test_safe_erc20_failed_operation_names_the_token():
    data = keccak(text="SafeERC20FailedOperation(address)")[:4] + eth_abi.encode(["address"], [MANAGER])
    error = decode_revert(data)
    assert isinstance(error, SafeERC20FailedOperation) and error.token == MANAGER


def test_an_unknown_selector_stays_unknown():
    error = decode_revert("0xdeadbeef")
    assert isinstance(error, UnknownRevert) and error.selector == "0xdeadbeef"
