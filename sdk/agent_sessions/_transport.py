"""Sending transactions: local signing, local nonces, raw sends, fast receipts, decoded failures.

Why the SDK manages nonces itself: asking the node for every transaction costs a round trip and races with
other threads using the same key. A ``Sender`` owns one key: it fetches the pending nonce once, hands out
the following ones under a lock, and resyncs only when the node says a nonce was used ("nonce too low").

The one rule that keeps money safe: a retry resends the *same* signed bytes (same hash), never a newly
signed transaction for a nonce that may already be taken. A new signature only ever goes out with a nonce
the node has confirmed free.

Receipts are polled tightly (1 ms, backing off to 50 ms): Anvil answers ``eth_sendRawTransaction`` before
it mines, and web3's 100 ms poll would cap a sequential sender at ~10 tx/s.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Mapping

from .errors import (
    ReceiptTimeout,
    RPCError,
    SessionError,
    TransactionFailed,
    TransientRPCError,
    decode_revert,
)
from ._rpc import Rpc
from ._signing import SignedTx, Signer, UnsignedTx
from .results import Receipt

__all__ = ["TXN_KWARGS", "FeeOracle", "Sender", "explain_failure", "wait_for_receipt"]

log = logging.getLogger(__name__)

#: Keyword arguments every transaction method passes through to the Sender.
TXN_KWARGS = (
    "gas",
    "gas_limit",
    "nonce",
    "max_fee",
    "max_fee_per_gas",
    "max_priority_fee",
    "max_priority_fee_per_gas",
    "gas_price",
    "wait",
    "timeout",
)

_NONCE_USED = ("nonce too low", "replacement transaction underpriced", "nonce has already been used")
_ALREADY_KNOWN = ("already known", "already imported", "known transaction")


class _NonceUsed(RPCError):
    """The nonce was taken by another transaction (sent elsewhere with this key)."""


class FeeOracle:
    """EIP-1559 fees from the node, cached for ``ttl`` seconds: ``max_fee = 2 * next base fee + tip``, so a
    transaction stays valid while the base fee doubles. Falls back to legacy ``gasPrice`` without 1559."""

    def __init__(self, rpc: Rpc, ttl: float = 2.0) -> None:
        self.rpc = rpc
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = 0.0
        self._fees: tuple[int, int, int | None] = (0, 0, None)

    def fees(self) -> tuple[int, int, int | None]:
        """``(max_fee_per_gas, max_priority_fee_per_gas, gas_price)``; ``gas_price`` is None on 1559 chains."""
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._fees
            self._fees = self._fetch()
            self._at = time.monotonic()
            return self._fees

    def _fetch(self) -> tuple[int, int, int | None]:
        try:
            history = self.rpc.request("eth_feeHistory", [1, "latest", []])
            base = int(history["baseFeePerGas"][-1], 16)
        except (RPCError, KeyError, IndexError, TypeError):
            return (0, 0, int(self.rpc.request("eth_gasPrice"), 16))
        try:
            tip = int(self.rpc.request("eth_maxPriorityFeePerGas"), 16)
        except RPCError:
            tip = 10**9
        return (2 * base + tip, tip, None)


def explain_failure(rpc: Rpc, signed: SignedTx, receipt: Receipt) -> SessionError:
    """Why a mined transaction failed: replay it with ``eth_call`` on the state before its block and decode the
    revert into a typed exception (carrying ``tx_hash`` and ``receipt``)."""
    tx = signed.tx
    if receipt.gas_used >= tx.gas:
        return TransactionFailed(receipt.tx_hash, receipt, f"ran out of gas (limit {tx.gas})")
    blocks: list[int | str] = [receipt.block_number - 1, "latest"]
    for block in blocks:
        try:
            rpc.call(tx.to or "", tx.data, sender=signed.sender, value=tx.value, block=block, gas=tx.gas)
        except RPCError as exc:
            data = exc.revert_data
            if data is None:
                continue  # e.g. the node pruned that state: try the next one
            if not data and receipt.gas_used * 10 >= tx.gas * 9:
                # an empty revert that used (nearly) all the gas: an inner out-of-gas
                return TransactionFailed(
                    receipt.tx_hash, receipt, f"ran out of gas (used {receipt.gas_used} of {tx.gas})"
                )
            error = decode_revert(data)
            error.tx_hash = receipt.tx_hash
            error.receipt = receipt
            return error
        else:
            break
    return TransactionFailed(receipt.tx_hash, receipt, "replaying it did not revert")


class Sender:
    """One signing key on one chain: local nonces, EIP-1559 fees, raw sends, receipts.

    Thread-safe: a lock per key orders nonces. Create one per key and reuse it (``AgentSessions.sender`` does).
    """

    def __init__(
        self,
        rpc: Rpc,
        key: Any,
        chain_id: int,
        *,
        fees: FeeOracle | None = None,
        gas_multiplier: float = 1.2,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.rpc = rpc
        self.signer: Signer = key.signer if isinstance(key, Sender) else Signer(key)
        self.address: str = self.signer.address
        self.chain_id = chain_id
        self.fees = fees or FeeOracle(rpc)
        self.gas_multiplier = gas_multiplier
        self.receipt_timeout = receipt_timeout
        self.lock = threading.RLock()
        self._nonce: int | None = None

    @property
    def account(self) -> Any:
        """The eth-account ``LocalAccount``."""
        return self.signer.account

    def __repr__(self) -> str:
        return f"<Sender {self.address}>"

    # --- nonces ---------------------------------------------------------------------------------------------

    def resync(self) -> None:
        """Forget the local nonce; the next send asks the node (pending count)."""
        with self.lock:
            self._nonce = None

    def reserve(self, count: int = 1) -> int:
        """Reserve ``count`` consecutive nonces; returns the first. Whoever reserves must send them all (or fill
        the gap, see ``fill_gap``), else later transactions of this key wait in the node's queue."""
        with self.lock:
            if self._nonce is None:
                self._nonce = int(self.rpc.request("eth_getTransactionCount", [self.address, "pending"]), 16)
            first = self._nonce
            self._nonce += count
            return first

    # --- building -------------------------------------------------------------------------------------------

    def estimate_gas(self, to: str | None, data: bytes = b"", value: int = 0) -> int:
        """``eth_estimateGas``; a revert raises its typed exception before anything is signed."""
        tx: dict[str, Any] = {"from": self.address, "data": "0x" + data.hex()}
        if to:
            tx["to"] = to
        if value:
            tx["value"] = hex(value)
        try:
            return int(self.rpc.request("eth_estimateGas", [tx]), 16)
        except RPCError as exc:
            revert = exc.revert_data
            if revert is not None:
                raise decode_revert(revert) from None
            raise

    def gas_limit(self, estimate: int) -> int:
        """The limit sent for an estimate: a margin for state that moves between estimate and inclusion."""
        return int(estimate * self.gas_multiplier) + 5_000

    def unsigned(
        self,
        to: str | None,
        data: bytes,
        value: int,
        *,
        gas: int,
        nonce: int,
        max_fee_per_gas: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_price: int | None = None,
    ) -> UnsignedTx:
        if gas_price is None and (max_fee_per_gas is None or max_priority_fee_per_gas is None):
            max_fee, tip, legacy = self.fees.fees()
            if legacy is not None and max_fee_per_gas is None:
                gas_price = legacy
            max_priority_fee_per_gas = tip if max_priority_fee_per_gas is None else max_priority_fee_per_gas
            max_fee_per_gas = max(max_fee, max_priority_fee_per_gas) if max_fee_per_gas is None else max_fee_per_gas
        return UnsignedTx(
            chain_id=self.chain_id,
            nonce=nonce,
            gas=gas,
            to=to,
            value=value,
            data=data,
            max_fee_per_gas=max_fee_per_gas or 0,
            max_priority_fee_per_gas=max_priority_fee_per_gas or 0,
            gas_price=gas_price,
        )

    def sign(self, tx: UnsignedTx) -> SignedTx:
        return self.signer.sign(tx)

    # --- sending --------------------------------------------------------------------------------------------

    def submit(self, signed: SignedTx) -> str:
        """Send signed bytes (retrying transient failures with the same bytes); returns the hash. A node that
        already has this exact transaction counts as success."""
        try:
            self.rpc.request("eth_sendRawTransaction", [signed.raw_hex])
        except RPCError as exc:
            message = exc.rpc_message.lower()
            if any(m in message for m in _ALREADY_KNOWN):
                return signed.hash
            if any(m in message for m in _NONCE_USED):
                if self._known(signed.hash):
                    return signed.hash  # an earlier attempt of these same bytes got in
                raise _NonceUsed(exc.rpc_message, code=exc.code, data=exc.data, method=exc.method) from None
            raise
        return signed.hash

    def _known(self, tx_hash: str) -> bool:
        try:
            return self.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None
        except RPCError:
            return False

    def transact(
        self,
        to: str | None,
        data: bytes = b"",
        value: int = 0,
        *,
        gas: int | None = None,
        gas_limit: int | None = None,
        nonce: int | None = None,
        max_fee: int | None = None,
        max_fee_per_gas: int | None = None,
        max_priority_fee: int | None = None,
        max_priority_fee_per_gas: int | None = None,
        gas_price: int | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Receipt | str:
        """Estimate (unless ``gas``), sign with the next nonce, send, and wait for the receipt (unless
        ``wait=False``, which returns the hash). A revert found by the estimate or by the mined receipt is
        raised as its typed exception."""
        gas = gas if gas is not None else gas_limit
        if gas is None:
            gas = self.gas_limit(self.estimate_gas(to, data, value))
        fee_kwargs = {
            "max_fee_per_gas": max_fee_per_gas if max_fee_per_gas is not None else max_fee,
            "max_priority_fee_per_gas": (
                max_priority_fee_per_gas if max_priority_fee_per_gas is not None else max_priority_fee
            ),
            "gas_price": gas_price,
        }
        signed = self._sign_and_submit(to, data, value, gas, nonce, fee_kwargs)
        if not wait:
            return signed.hash
        receipt = self.wait(signed.hash, timeout)
        if not receipt.ok:
            raise explain_failure(self.rpc, signed, receipt)
        return receipt

    def _sign_and_submit(
        self, to: str | None, data: bytes, value: int, gas: int, nonce: int | None, fee_kwargs: Mapping[str, Any]
    ) -> SignedTx:
        if nonce is not None:  # the caller manages this nonce
            signed = self.sign(self.unsigned(to, data, value, gas=gas, nonce=nonce, **fee_kwargs))
            self.submit(signed)
            return signed
        with self.lock:
            for attempt in range(3):
                nonce = self.reserve()
                signed = self.sign(self.unsigned(to, data, value, gas=gas, nonce=nonce, **fee_kwargs))
                try:
                    self.submit(signed)
                    return signed
                except _NonceUsed:
                    # the node confirmed this nonce is taken: a fresh one is safe to sign for
                    log.info("%s: nonce %d already used, resyncing", self.address, nonce)
                    self._nonce = None
                except TransientRPCError:
                    self._nonce = None  # unknown whether it got in: ask the node next time
                    raise
                except RPCError:
                    # refused outright (funds, fees...): the nonce was not consumed
                    if self._nonce == nonce + 1:
                        self._nonce = nonce
                    raise
            raise RPCError(f"nonce kept clashing for {self.address}", method="eth_sendRawTransaction")

    def fill_gap(self, nonce: int) -> str:
        """Occupy ``nonce`` with a 0-ETH transfer to self, after the node refused the transaction signed for it
        (so later nonces of this key are not stuck). Safe: the refused one never entered the pool."""
        tx = self.unsigned(self.address, b"", 0, gas=21_000, nonce=nonce)
        return self.submit(self.sign(tx))

    # --- receipts -------------------------------------------------------------------------------------------

    def wait(self, tx_hash: str, timeout: float | None = None) -> Receipt:
        return wait_for_receipt(self.rpc, tx_hash, self.receipt_timeout if timeout is None else timeout)


def wait_for_receipt(rpc: Rpc, tx_hash: str, timeout: float = 120.0) -> Receipt:
    """Poll ``eth_getTransactionReceipt``: 1 ms first, backing off to 50 ms."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        raw = rpc.request("eth_getTransactionReceipt", [tx_hash])
        if raw:
            return Receipt.from_rpc(raw)
        if time.monotonic() > deadline:
            raise ReceiptTimeout(tx_hash, timeout)
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)

