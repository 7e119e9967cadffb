"""Errors of the libraries the contracts (and the tokens they move) are built on, typed with a hint at the fix.

The manager moves ERC-20s through Solady's ``SafeTransferLib``, whose reverts carry no arguments
(``TransferFromFailed()`` is ``0x7939f424``); OpenZeppelin's ERC-20 reverts with ``ERC20InsufficientAllowance`` and
friends. Without this table those arrive as "unknown error 0x7939f424". ``decode_library_error`` is what
``errors.decode_revert`` falls back on for a selector outside the project's own ABIs.

    TransferFromFailed(): the token refused transferFrom: approve the manager first (or the payer's balance is short)
"""

from __future__ import annotations

from typing import Any

import eth_abi
from eth_utils import keccak, to_checksum_address

from .errors import AccessDenied, ContractRevert, InvalidParams, LimitExceeded

__all__ = [
    "ApproveFailed",
    "ERC20InsufficientAllowance",
    "ERC20InsufficientBalance",
    "ERC20InvalidReceiver",
    "ETHTransferFailed",
    "LibraryError",
    "SafeERC20FailedOperation",
    "TokenTransferFailed",
    "TransferFromFailed",
    "decode_library_error",
]


class LibraryError(ContractRevert):
    """A revert of Solady's or OpenZeppelin's library code (or of a token built on it)."""

    #: ABI types of the arguments, in order.
    types: tuple[str, ...] = ()
    #: What usually fixes it.
    hint: str = ""


class TransferFromFailed(LibraryError, AccessDenied):
    """Solady ``SafeTransferLib.safeTransferFrom`` failed: the token refused to pull funds."""

    error_name = "TransferFromFailed"
    template = "the token refused transferFrom: approve the manager first (or the payer's balance is short)"
    hint = "approve the manager first"


class TokenTransferFailed(LibraryError):
    """Solady ``SafeTransferLib.safeTransfer`` failed: the token refused to pay out."""

    error_name = "TransferFailed"
    template = "the token refused transfer (the sender's balance is short, or the token blocks the payee)"
    hint = "check the token balance and whether the token blocks the payee"


class ApproveFailed(LibraryError):
    error_name = "ApproveFailed"
    template = "the token refused approve"
    hint = "the token does not accept this approval"


class ETHTransferFailed(LibraryError):
    error_name = "ETHTransferFailed"
    template = "sending ETH failed (the receiver rejects ETH, or the balance is short)"
    hint = "the receiver must accept ETH"


class SafeERC20FailedOperation(LibraryError):
    """OpenZeppelin ``SafeERC20``: the token returned false or reverted without data."""

    error_name = "SafeERC20FailedOperation"
    fields = ("token",)
    types = ("address",)
    template = "the token {token} refused the operation: approve the manager first, or check the balance"
    hint = "approve the manager first"


class ERC20InsufficientAllowance(LibraryError, LimitExceeded):
    error_name = "ERC20InsufficientAllowance"
    fields = ("spender", "allowance", "needed")
    types = ("address", "uint256", "uint256")
    template = "allowance of {spender} is {allowance}, {needed} needed: approve the manager first"
    hint = "approve the manager first"


class ERC20InsufficientBalance(LibraryError, LimitExceeded):
    error_name = "ERC20InsufficientBalance"
    fields = ("sender", "balance", "needed")
    types = ("address", "uint256", "uint256")
    template = "{sender} holds {balance} of the token, {needed} needed"
    hint = "fund the payer first"


class ERC20InvalidReceiver(LibraryError, InvalidParams):
    error_name = "ERC20InvalidReceiver"
    fields = ("receiver",)
    types = ("address",)
    template = "the token refuses {receiver} as a receiver"
    hint = "pay another address"


_ALL: tuple[type[LibraryError], ...] = (TransferFromFailed, TokenTransferFailed, ApproveFailed, ETHTransferFailed,
                                        SafeERC20FailedOperation, ERC20InsufficientAllowance,
                                        ERC20InsufficientBalance, ERC20InvalidReceiver)
_BY_SELECTOR: dict[bytes, type[LibraryError]] = {
    keccak(text=f"{cls.error_name}({','.join(cls.types)})")[:4]: cls for cls in _ALL
}


def decode_library_error(data: bytes) -> ContractRevert | None:
    """The typed library error for revert ``data``, or None when the selector is not one of them."""
    cls = _BY_SELECTOR.get(bytes(data[:4])) if len(data) >= 4 else None
    if cls is None:
        return None
    try:
        values: Any = eth_abi.decode(list(cls.types), bytes(data[4:])) if cls.types else ()
    except Exception:
        return None
    values = [to_checksum_address(v) if t == "address" else v for t, v in zip(cls.types, values)]
    return cls(*values, data=bytes(data))
