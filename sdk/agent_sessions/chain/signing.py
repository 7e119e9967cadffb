"""Local signing of EIP-1559 (and legacy) transactions.

Keys are eth-account ``LocalAccount`` objects (or private keys turned into one). The hot path encodes the
EIP-1559 payload with ``rlp`` and signs its hash with coincurve directly: the same RFC 6979 deterministic
signature eth-account produces (byte for byte; the tests check it), about 7x faster because it skips
eth-account's per-transaction validation. Without coincurve, or for legacy transactions, eth-account signs.

An account that signs for itself (any Ape account: a keyfile account asks for its passphrase, a hardware wallet
asks the device) is used through its own ``sign_transaction`` by an ``AccountSigner``; its key is never read.
``signer_for`` picks the one a key needs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

coincurve: Any
try:  # pragma: no cover - import guard
    import coincurve
except ImportError:  # pragma: no cover
    coincurve = None

from ..base.errors import SigningRefused

__all__ = ["AccountSigner", "SignedTx", "Signer", "UnsignedTx", "is_ape_account", "signer_for", "to_account"]


def to_account(key: Any) -> LocalAccount:
    """A ``LocalAccount`` from one, from a private key (hex str / bytes), or from an object with ``.account``
    or ``.private_key`` (e.g. a Sender, or an Ape test account)."""
    if isinstance(key, LocalAccount):
        return key
    inner = getattr(key, "account", None)
    if isinstance(inner, LocalAccount):
        return inner
    private = getattr(key, "private_key", None)
    if private is not None and not isinstance(key, (str, bytes)):
        key = private
    if isinstance(key, (str, bytes, bytearray)):
        return Account.from_key(key)
    raise TypeError(f"cannot sign with {type(key).__name__}: pass a LocalAccount or a private key")


def _int(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


@dataclass(frozen=True)
class UnsignedTx:
    """The fields of a transaction to sign. ``gas_price`` set means a legacy (type 0) transaction."""

    chain_id: int
    nonce: int
    gas: int
    to: str | None
    value: int = 0
    data: bytes = b""
    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0
    gas_price: int | None = None

    def as_dict(self) -> dict[str, Any]:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "gas": self.gas,
            "value": self.value,
            "data": self.data,
        }
        if self.to:
            tx["to"] = self.to
        if self.gas_price is not None:
            tx["gasPrice"] = self.gas_price
        else:
            tx.update(type=2, maxFeePerGas=self.max_fee_per_gas, maxPriorityFeePerGas=self.max_priority_fee_per_gas)
        return tx


@dataclass(frozen=True)
class SignedTx:
    """Signed bytes and their hash: resending ``raw`` is idempotent (same ``hash``)."""

    raw: bytes
    hash: str
    tx: UnsignedTx
    sender: str

    @property
    def raw_hex(self) -> str:
        return "0x" + self.raw.hex()


class Signer:
    """Signs for one key."""

    def __init__(self, key: Any) -> None:
        self.account = to_account(key)
        self.address: str = self.account.address
        self._fast = coincurve.PrivateKey(bytes(self.account.key)) if coincurve is not None else None

    def sign(self, tx: UnsignedTx) -> SignedTx:
        if self._fast is None or tx.gas_price is not None:
            signed = self.account.sign_transaction(tx.as_dict())
            raw = bytes(signed.raw_transaction)
            return SignedTx(raw=raw, hash="0x" + keccak(raw).hex(), tx=tx, sender=self.address)
        fields: list[Any] = [
            _int(tx.chain_id),
            _int(tx.nonce),
            _int(tx.max_priority_fee_per_gas),
            _int(tx.max_fee_per_gas),
            _int(tx.gas),
            bytes.fromhex(tx.to[2:]) if tx.to else b"",
            _int(tx.value),
            bytes(tx.data),
            [],  # access list
        ]
        digest = keccak(b"\x02" + rlp.encode(fields))
        signature = self._fast.sign_recoverable(digest, hasher=None)
        fields += [_int(signature[64]), signature[:32].lstrip(b"\x00"), signature[32:64].lstrip(b"\x00")]
        raw = b"\x02" + rlp.encode(fields)
        return SignedTx(raw=raw, hash="0x" + keccak(raw).hex(), tx=tx, sender=self.address)


class AccountSigner:
    """Signs through an account object's own ``sign_transaction`` (an Ape ``AccountAPI`` of any kind): the
    transaction goes to the account as an Ape transaction and comes back signed; the key stays where it is."""

    def __init__(self, account: Any) -> None:
        self.account = account
        self.address: str = to_checksum_address(str(account.address))

    def sign(self, tx: UnsignedTx) -> SignedTx:
        signed = self.account.sign_transaction(_ape_transaction(tx, self.address))
        if signed is None or getattr(signed, "signature", None) is None:
            raise SigningRefused(self.address, type(self.account).__name__)
        raw = bytes(signed.serialize_transaction())
        return SignedTx(raw=raw, hash="0x" + keccak(raw).hex(), tx=tx, sender=self.address)


def _ape_transaction(tx: UnsignedTx, sender: str) -> Any:
    """``tx`` as the Ape transaction an Ape account signs (Ape is loaded already: the account came from it)."""
    from ape_ethereum.transactions import DynamicFeeTransaction, StaticFeeTransaction

    fields: dict[str, Any] = {"chainId": tx.chain_id, "nonce": tx.nonce, "gas": tx.gas, "value": tx.value,
                              "data": bytes(tx.data), "from": sender}
    if tx.to:
        fields["to"] = tx.to
    if tx.gas_price is not None:
        return StaticFeeTransaction(gasPrice=tx.gas_price, **fields)
    return DynamicFeeTransaction(maxFeePerGas=tx.max_fee_per_gas, maxPriorityFeePerGas=tx.max_priority_fee_per_gas,
                                 **fields)


def is_ape_account(key: Any) -> bool:
    """Is ``key`` an Ape account? (Asked without importing Ape: an Ape account exists only once Ape is loaded.)"""
    accounts = sys.modules.get("ape.api.accounts")
    return accounts is not None and isinstance(key, accounts.AccountAPI)


def signer_for(key: Any) -> Signer | AccountSigner:
    """What signs for ``key``: an Ape account signs itself (``AccountSigner``); a ``LocalAccount``, a private key
    or an object carrying one signs locally (``Signer``). A signer is returned as it is."""
    if isinstance(key, (Signer, AccountSigner)):
        return key
    if is_ape_account(key):
        return AccountSigner(key)
    return Signer(key)
