"""Sending transactions: local signing, local nonces, raw sends, fast receipts, decoded failures.

Why the SDK manages nonces itself: asking the node for every transaction costs a round trip and races with
other threads using the same key. A ``Sender`` owns one key: it fetches the pending nonce once, hands out
the following ones under a lock, and resyncs only when the node says a nonce was used ("nonce too low").

The one rule that keeps money safe: a retry resends the *same* signed bytes (same hash), never a newly
signed transaction for a nonce that may already be taken. A new signature only ever goes out with a nonce
the node has confirmed free.

When a send fails in a way that leaves its fate unknown (every attempt timed out, or the answers were lost),
the Sender asks the node whether it has the transaction (by hash) before it reports anything: found, the send
succeeded; not found, ``SendUnconfirmed`` names the transaction so the caller can look it up before deciding to
act again. It never signs a new transaction for the action in that state, and forgets its local nonce so the
next one comes from the node.

Receipts are polled tightly (1 ms, backing off to 50 ms): Anvil answers ``eth_sendRawTransaction`` before
it mines, and web3's 100 ms poll would cap a sequential sender at ~10 tx/s. Transient failures while polling
are waited out until the receipt timeout, and an answer for another transaction is ignored. While waiting, the
Sender checks every second that the node still has the transaction: one the node dropped is sent again (same
bytes); one whose nonce went to another transaction raises ``TransactionReplaced`` (it will never be mined).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Mapping

from ..base.errors import (
    ReceiptTimeout,
    RPCError,
    SendUnconfirmed,
    SessionError,
    TransactionFailed,
    TransactionReplaced,
    TransientRPCError,
    decode_revert,
    typed_error,
)
from ..base.results import Receipt
from .rpc import Rpc
from .signing import AccountSigner, SignedTx, Signer, UnsignedTx, signer_for

__all__ = [
    "TXN_KWARGS",
    "FeeOracle",
    "SendUnconfirmed",
    "Sender",
    "TransactionReplaced",
    "explain_failure",
    "wait_for_receipt",
]

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

NONCE_USED = ("nonce too low", "replacement transaction underpriced", "nonce has already been used")
ALREADY_KNOWN = ("already known", "already imported", "known transaction")
#: Nonce clashes (another client took the nonce) survived by one call before it gives up.
_CLASH_ATTEMPTS = 5


#: Seconds between checks, while waiting for a receipt, that the node still holds the transaction.
RECHECK_INTERVAL = 1.0


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
        except TransientRPCError:
            raise  # the node is unwell, not legacy: do not switch to legacy transactions over it
        except (RPCError, KeyError, IndexError, TypeError):
            return (0, 0, int(self.rpc.request("eth_gasPrice"), 16))
        try:
            tip = int(self.rpc.request("eth_maxPriorityFeePerGas"), 16)
        except RPCError:
            tip = 10**9
        return (2 * base + tip, tip, None)


def explain_failure(rpc: Rpc, signed: SignedTx, receipt: Receipt) -> SessionError:
    """Why a mined transaction failed, decoded into a typed exception (carrying ``tx_hash`` and ``receipt``).

    The revert is read at the transaction's own position in its block: the node traces the mined transaction
    (``debug_traceTransaction`` with the call tracer), so transactions before it in the same block count, e.g. a
    concurrent spend that used up the budget (``BudgetExceeded`` with what was left then). A node without the
    debug namespace gets a replay with ``eth_call`` on the state before the block, then on the latest state."""
    tx = signed.tx
    if receipt.gas_used >= tx.gas:
        return TransactionFailed(receipt.tx_hash, receipt, f"ran out of gas (limit {tx.gas})")
    traced = _traced_revert(rpc, receipt.tx_hash)
    if traced is not None:
        return _revert_error(traced, tx, receipt)
    blocks: list[int | str] = [receipt.block_number - 1, "latest"]
    for block in blocks:
        try:
            rpc.call(tx.to or "", tx.data, sender=signed.sender, value=tx.value, block=block, gas=tx.gas)
        except RPCError as exc:
            data = exc.revert_data
            if data is None:
                continue  # e.g. the node pruned that state: try the next one
            return _revert_error(data, tx, receipt)
    return TransactionFailed(receipt.tx_hash, receipt, "replaying it did not revert")


def _traced_revert(rpc: Rpc, tx_hash: str) -> bytes | None:
    """The revert data of mined transaction ``tx_hash``, from the node's call tracer (None when it cannot say)."""
    try:
        frame = rpc.request("debug_traceTransaction",
                            [tx_hash, {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}])
    except RPCError:
        return None
    if not isinstance(frame, dict) or not (frame.get("error") or frame.get("revertReason")):
        return None
    output = frame.get("output")
    if isinstance(output, str) and output.startswith("0x"):
        try:
            return bytes.fromhex(output[2:])
        except ValueError:
            return None
    return b"" if output in (None, "") else None


def _revert_error(data: bytes, tx: Any, receipt: Receipt) -> SessionError:
    if not data and receipt.gas_used * 10 >= tx.gas * 9:
        # an empty revert that used (nearly) all the gas: an inner out-of-gas
        return TransactionFailed(receipt.tx_hash, receipt, f"ran out of gas (used {receipt.gas_used} of {tx.gas})")
    error = decode_revert(data)
    error.tx_hash = receipt.tx_hash
    error.receipt = receipt
    return error


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
        self.signer: Signer | AccountSigner = key.signer if isinstance(key, Sender) else signer_for(key)
        self.address: str = self.signer.address
        self.chain_id = chain_id
        self.fees = fees or FeeOracle(rpc)
        self.gas_multiplier = gas_multiplier
        self.receipt_timeout = receipt_timeout
        self.lock = threading.RLock()
        self._nonce: int | None = None

    @property
    def account(self) -> Any:
        """The account that signs: an eth-account ``LocalAccount``, or the Ape account signing for itself."""
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
            raise typed_error(exc) from None

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
        already has this exact transaction counts as success. When every attempt failed transiently, or the
        node says the nonce is taken, the node is asked for the hash: found means sent; otherwise
        ``SendUnconfirmed`` (transient) or ``_NonceUsed`` (the nonce went to another transaction)."""
        try:
            self.rpc.request("eth_sendRawTransaction", [signed.raw_hex])
        except TransientRPCError as exc:
            known = self._lookup(signed.hash)
            if known:
                return signed.hash  # an attempt got in; only its answer was lost
            raise SendUnconfirmed(exc, signed.hash, signed.tx.nonce, known) from None
        except RPCError as exc:
            message = exc.rpc_message.lower()
            if any(m in message for m in ALREADY_KNOWN):
                return signed.hash
            if any(m in message for m in NONCE_USED):
                known = self._lookup(signed.hash)
                if known:
                    return signed.hash  # an earlier attempt of these same bytes got in
                if known is None:  # cannot tell ours from another: never sign anew on a guess
                    raise SendUnconfirmed(exc, signed.hash, signed.tx.nonce, None) from None
                raise _NonceUsed(exc.rpc_message, code=exc.code, data=exc.data, method=exc.method) from None
            raise
        return signed.hash

    def _lookup(self, tx_hash: str) -> bool | None:
        """Does the node have ``tx_hash`` (pending or mined)? None when it cannot be asked."""
        try:
            return self.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None
        except RPCError:
            return None

    def _known(self, tx_hash: str) -> bool:
        return bool(self._lookup(tx_hash))

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
        receipt = self._await(signed, self.receipt_timeout if timeout is None else timeout)
        if not receipt.ok:
            raise explain_failure(self.rpc, signed, receipt)
        return receipt

    def _resolve_fees(self, fee_kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Fee fields with the oracle's values filled in, fetched *before* a nonce is reserved (a fee lookup
        that fails after the reservation would leave a hole in this key's nonces)."""
        fees = dict(fee_kwargs)
        if fees.get("gas_price") is None and (fees.get("max_fee_per_gas") is None
                                              or fees.get("max_priority_fee_per_gas") is None):
            max_fee, tip, legacy = self.fees.fees()
            if legacy is not None and fees.get("max_fee_per_gas") is None:
                fees["gas_price"] = legacy
            if fees.get("max_priority_fee_per_gas") is None:
                fees["max_priority_fee_per_gas"] = tip
            if fees.get("max_fee_per_gas") is None:
                fees["max_fee_per_gas"] = max(max_fee, fees["max_priority_fee_per_gas"])
        return fees

    def _sign_and_submit(
        self, to: str | None, data: bytes, value: int, gas: int, nonce: int | None, fee_kwargs: Mapping[str, Any]
    ) -> SignedTx:
        fees = self._resolve_fees(fee_kwargs)
        if nonce is not None:  # the caller manages this nonce
            signed = self.sign(self.unsigned(to, data, value, gas=gas, nonce=nonce, **fees))
            self.submit(signed)
            return signed
        with self.lock:
            for attempt in range(_CLASH_ATTEMPTS):
                nonce = self.reserve()
                try:
                    signed = self.sign(self.unsigned(to, data, value, gas=gas, nonce=nonce, **fees))
                    self.submit(signed)
                    return signed
                except _NonceUsed:
                    # the node confirmed this nonce is taken by another transaction: a fresh one is safe
                    log.info("%s: nonce %d already used, resyncing", self.address, nonce)
                    self._nonce = None
                except TransientRPCError:
                    self._nonce = None  # unknown whether it got in: ask the node next time
                    raise
                except RPCError:
                    # refused outright (funds, fees...): the nonce was not consumed
                    self._release(nonce)
                    raise
                except BaseException:
                    self._nonce = None  # signing failed, or interrupted mid-send: ask the node next time
                    raise
            raise RPCError(f"nonce kept clashing for {self.address} ({_CLASH_ATTEMPTS} attempts): another "
                           f"client is sending with this key; nothing was sent for this call",
                           method="eth_sendRawTransaction")

    def _release(self, nonce: int) -> None:
        """Give back the last reserved ``nonce`` (nothing went out with it); resync if others followed."""
        if self._nonce == nonce + 1:
            self._nonce = nonce
        else:
            self._nonce = None

    def fill_gap(self, nonce: int) -> str:
        """Occupy ``nonce`` with a 0-ETH transfer to self, after the node refused the transaction signed for it
        (so later nonces of this key are not stuck). Safe: the refused one never entered the pool."""
        tx = self.unsigned(self.address, b"", 0, gas=21_000, nonce=nonce)
        return self.submit(self.sign(tx))

    # --- receipts -------------------------------------------------------------------------------------------

    def wait(self, tx_hash: str, timeout: float | None = None) -> Receipt:
        return wait_for_receipt(self.rpc, tx_hash, self.receipt_timeout if timeout is None else timeout)

    def _await(self, signed: SignedTx, timeout: float) -> Receipt:
        """``wait`` for a transaction this Sender signed: while no receipt comes, check every
        ``RECHECK_INTERVAL`` that the node still holds it; resend it (same bytes) if the node lost it, raise
        ``TransactionReplaced`` if its nonce went to another transaction."""
        recheck = time.monotonic() + RECHECK_INTERVAL

        def between_polls() -> None:
            nonlocal recheck
            if time.monotonic() >= recheck:
                self._recheck(signed)
                recheck = time.monotonic() + RECHECK_INTERVAL

        return wait_for_receipt(self.rpc, signed.hash, timeout, between_polls=between_polls)

    def _recheck(self, signed: SignedTx) -> None:
        if self._lookup(signed.hash) is not False:
            return  # still there (or the node cannot say): keep waiting
        try:
            self.submit(signed)  # the node lost it: the same bytes again
            log.info("%s: transaction %s had left the node's pool; sent it again", self.address, signed.hash)
        except _NonceUsed:
            with self.lock:
                self._nonce = None
            raise TransactionReplaced(signed.hash, signed.tx.nonce, self.address) from None
        except TransientRPCError:
            pass  # try again at the next check
        except RPCError:
            with self.lock:
                self._nonce = None  # refused now (e.g. its fee fell below the base fee): its nonce is free
            raise


def _receipt_hash(raw: Any) -> str:
    return str(raw.get("transactionHash", "")).lower() if isinstance(raw, dict) else ""


def wait_for_receipt(rpc: Rpc, tx_hash: str, timeout: float = 120.0, *,
                     between_polls: Callable[[], None] | None = None) -> Receipt:
    """Poll ``eth_getTransactionReceipt``: 1 ms first, backing off to 50 ms. Transient failures count as "not
    yet" until ``timeout`` (``ReceiptTimeout``, chained to the last failure); an answer that is not this
    transaction's receipt is ignored."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    last_error: RPCError | None = None
    while True:
        try:
            raw = rpc.request("eth_getTransactionReceipt", [tx_hash])
        except TransientRPCError as exc:
            raw, last_error = None, exc
        if raw:
            if _receipt_hash(raw) == tx_hash.lower():
                return Receipt.from_rpc(raw)
            log.warning("ignored a receipt for %s while waiting for %s", _receipt_hash(raw), tx_hash)
        if time.monotonic() > deadline:
            raise ReceiptTimeout(tx_hash, timeout) from last_error
        if between_polls is not None:
            between_polls()
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
