"""Pipelined sending: sign many transactions, send them in JSON-RPC batches, then collect receipts in a
separate pass.

Why: send -> wait -> send pays a full round trip plus a mining delay per transaction. Signing locally,
sending everything, and only then polling receipts (hundreds per batch request) lets the node work at its own
pace; the client's cost drops to signing and JSON. Nonces are reserved per key under the key's lock, so
keys never clash; a transaction the node refuses outright gets its nonce filled by a 0-ETH self-transfer so
the key's later transactions are not stuck behind a gap.

Faults: a batch (or an item) whose answer is lost is resent with the same bytes (``Rpc.batch``); a send still
in doubt after that, or answered "nonce too low", is settled by asking the node for its hash: known means sent
(a retry of ours got in), unknown after "nonce too low" means another transaction took the nonce (refused),
anything else is reported as ``SendUnconfirmed`` with the hash. Receipts are accepted only for the hash they
were asked for; failed polls are retried until the timeout, and a request still unconfirmed then gets its own
``ReceiptTimeout`` (the others keep their outcomes).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..base.errors import ReceiptTimeout, RPCError, SessionError, TransactionFailed, TransientRPCError, typed_error
from ..base.results import Receipt
from .rpc import MAX_REQUEST_BYTES, Rpc, request_bytes
from .signing import SignedTx
from .transport import (
    ALREADY_KNOWN,
    NONCE_USED,
    RECHECK_INTERVAL,
    Sender,
    SendUnconfirmed,
    TransactionReplaced,
    _NonceUsed,
    _receipt_hash,
    explain_failure,
)

__all__ = ["Nudge", "Outcome", "TxRequest", "estimate_limits", "run_pipeline", "send_signed", "sign_all"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TxRequest:
    """One transaction to pipeline. ``gas`` must be known (estimated once per shape by the caller)."""

    sender: Sender
    to: str
    data: bytes
    value: int
    gas: int


@dataclass
class Outcome:
    """What became of one request: its signed bytes, its receipt, and the typed error if it failed."""

    request: TxRequest
    signed: SignedTx | None = None
    receipt: Receipt | None = None
    error: SessionError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.receipt is not None and self.receipt.ok


def estimate_limits(rpc: Rpc, calls: Sequence[tuple[Sender, str, bytes, int]]) -> list[int | SessionError]:
    """The gas limit of each ``(sender, to, data, value)`` transaction, estimated in batch requests (under the
    request-size cap); a transaction that would fail gets its typed error in its place (nothing is raised)."""
    requests: list[tuple[str, list[Any]]] = []
    for sender, to, data, value in calls:
        tx: dict[str, Any] = {"from": sender.address, "to": to, "data": "0x" + data.hex()}
        if value:
            tx["value"] = hex(value)
        requests.append(("eth_estimateGas", [tx]))
    return [typed_error(answer) if isinstance(answer, RPCError) else sender.gas_limit(int(answer, 16))
            for (sender, *_), answer in zip(calls, rpc.batch(requests))]


def sign_all(requests: Sequence[TxRequest], fee_kwargs: Mapping[str, Any]) -> list[SignedTx]:
    """Sign every request, reserving each key's nonces as one consecutive run (fees are fetched first: nothing
    that can fail on the network happens between reserving and signing)."""
    by_sender: dict[str, list[int]] = {}
    for i, request in enumerate(requests):
        by_sender.setdefault(request.sender.address, []).append(i)
    signed: list[SignedTx | None] = [None] * len(requests)
    for indexes in by_sender.values():
        sender = requests[indexes[0]].sender
        fees = sender._resolve_fees(fee_kwargs)
        with sender.lock:
            first = sender.reserve(len(indexes))
            try:
                for offset, i in enumerate(indexes):
                    r = requests[i]
                    tx = sender.unsigned(r.to, r.data, r.value, gas=r.gas, nonce=first + offset, **fees)
                    signed[i] = sender.sign(tx)
            except BaseException:
                if sender._nonce == first + len(indexes):  # give the run back: nothing was sent
                    sender._nonce = first
                else:
                    sender._nonce = None
                raise
    return [s for s in signed if s is not None]


def _round_robin(requests: Sequence[TxRequest]) -> list[int]:
    """Send order: the first transaction of every key, then every second one... so each batch spreads
    over keys and each key's nonces arrive in order."""
    seen: dict[str, int] = {}
    keyed = []
    for i, request in enumerate(requests):
        k = seen.get(request.sender.address, 0)
        seen[request.sender.address] = k + 1
        keyed.append((k, i))
    return [i for _, i in sorted(keyed)]


def _repair(requests: Sequence[TxRequest], signed: Sequence[SignedTx], refused: Mapping[int, RPCError]) -> None:
    """Keep each key usable after refusals: fill refused nonces, resync keys whose state is unclear."""
    for i, error in refused.items():
        sender = requests[i].sender
        message = error.rpc_message.lower()
        if isinstance(error, (TransientRPCError, _NonceUsed)) or any(m in message for m in NONCE_USED):
            sender.resync()
            continue
        try:
            sender.fill_gap(signed[i].tx.nonce)
        except RPCError as exc:  # cannot fill: later nonces of this key stay queued
            log.warning("%s: could not fill nonce %d: %s", sender.address, signed[i].tx.nonce, exc)
            sender.resync()


def _lookup(rpc: Rpc, hashes: Sequence[str]) -> list[bool | None]:
    """Does the node have each transaction (pending or mined)? None where it could not be asked."""
    try:
        results = rpc.batch([("eth_getTransactionByHash", [h]) for h in hashes])
    except RPCError:
        return [None] * len(hashes)
    return [None if isinstance(r, RPCError) else r is not None for r in results]


def _send(rpc: Rpc, signed: Sequence[SignedTx],
          batch: Sequence[int]) -> tuple[dict[int, RPCError], dict[int, SendUnconfirmed]]:
    """Send one batch of signed transactions. Returns the refusals (the node said no: nothing sent) and the
    unconfirmed sends (in doubt after every retry), by index; everything else is in the node's hands."""
    try:
        results = rpc.batch([("eth_sendRawTransaction", [signed[i].raw_hex]) for i in batch])
    except RPCError as exc:
        results = [exc] * len(batch)
    refused: dict[int, RPCError] = {}
    doubtful: dict[int, RPCError] = {}
    for i, result in zip(batch, results):
        if isinstance(result, RPCError):
            message = result.rpc_message.lower()
            if any(m in message for m in ALREADY_KNOWN):
                continue
            if isinstance(result, TransientRPCError) or any(m in message for m in NONCE_USED):
                doubtful[i] = result  # lost answers, or a retry of ours that got in before: ask for the hash
            else:
                refused[i] = result
        elif isinstance(result, str) and result.lower() != signed[i].hash.lower():
            doubtful[i] = TransientRPCError(f"the node answered with hash {result}", method="eth_sendRawTransaction")
    unconfirmed: dict[int, SendUnconfirmed] = {}
    if doubtful:
        known = _lookup(rpc, [signed[i].hash for i in doubtful])
        for (i, error), found in zip(doubtful.items(), known):
            if found:
                continue  # it is in
            if found is False and not isinstance(error, TransientRPCError):
                # "nonce too low" (or a pending one holds it) and not ours: another transaction took the nonce
                tx = signed[i]
                refused[i] = _NonceUsed(
                    f"nonce {tx.tx.nonce} of {tx.sender} is taken by another transaction ({error.rpc_message}); "
                    f"{tx.hash} was not sent", code=error.code, data=error.data, method=error.method)
            else:
                unconfirmed[i] = SendUnconfirmed(error, signed[i].hash, signed[i].tx.nonce, found)
    return refused, unconfirmed


def _recheck(rpc: Rpc, requests: Sequence[TxRequest], signed: Sequence[SignedTx],
             inflight: Mapping[str, int]) -> dict[int, RPCError]:
    """Outstanding transactions the node no longer has (dropped from its pool, or their nonce went to another
    transaction) are sent again, same bytes. Returns the ones that can never be mined now, with their error."""
    hashes = list(inflight)
    lost = [inflight[h] for h, known in zip(hashes, _lookup(rpc, hashes)) if known is False]
    if not lost:
        return {}
    refused, _ = _send(rpc, signed, lost)  # unconfirmed ones stay outstanding: checked again later
    out: dict[int, RPCError] = {}
    for i, error in refused.items():
        if isinstance(error, _NonceUsed) or any(m in error.rpc_message.lower() for m in NONCE_USED):
            out[i] = TransactionReplaced(signed[i].hash, signed[i].tx.nonce, signed[i].sender)
        else:
            out[i] = error
    _repair(requests, signed, refused)
    return out


def _poll(rpc: Rpc, hashes: Sequence[str], batch_size: int) -> dict[str, Receipt]:
    """Receipts found for ``hashes``; a failed poll finds nothing this round (the caller's timeout bounds it)."""
    found: dict[str, Receipt] = {}
    for start in range(0, len(hashes), batch_size):
        chunk = hashes[start : start + batch_size]
        try:
            results = rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk])
        except RPCError as exc:
            log.debug("receipt poll failed (%s); polling again", exc)
            continue
        for h, raw in zip(chunk, results):
            if isinstance(raw, RPCError) or not raw:
                continue
            if _receipt_hash(raw) != h.lower():
                log.warning("ignored a receipt for %s given for %s", _receipt_hash(raw), h)
                continue
            found[h] = Receipt.from_rpc(raw)
    return found


class Nudge:
    """Anvil's automine can leave ready transactions unmined under load (foundry-rs/foundry#10122). After a
    stall with transactions outstanding, a development node is asked to mine (``evm_mine``); any other node is
    left alone.

    Anvil 1.7 has a second way to stall: a transaction whose nonce became the sender's next one while it was
    being added (its predecessor was mined in between) can stay in the pool's queue for good, waiting for a
    predecessor that is already on chain; ``evm_mine`` does not move it. So after mining, every sender whose
    lowest outstanding nonce is still its on-chain nonce has its pooled transactions removed
    (``anvil_removePoolTransactions``) and its outstanding ones resent in nonce order: the same signed bytes,
    so the same hashes, and nothing can be mined twice. (Pooled transactions of that sender sent by someone
    else are removed too; this happens only on a stalled Anvil.)"""

    def __init__(self, rpc: Rpc, stall: float) -> None:
        self.rpc = rpc
        self.stall = stall
        self._dev: bool | None = None
        self._anvil = False

    def is_dev(self) -> bool:
        if self._dev is None:
            try:
                version = str(self.rpc.request("web3_clientVersion")).lower()
            except RPCError:
                version = ""
            self._dev = version.startswith(("anvil", "hardhat", "ganache"))
            self._anvil = version.startswith("anvil")
        return self._dev

    def __call__(self, outstanding: Sequence[SignedTx] = ()) -> None:
        if self.is_dev():
            try:
                self.rpc.request("evm_mine")
                log.info("nudged a stalled development node with evm_mine")
            except RPCError:
                self._dev = False
                return
            if self._anvil and outstanding:
                self._unstick(outstanding)

    def _unstick(self, outstanding: Sequence[SignedTx]) -> None:
        by_sender: dict[str, list[SignedTx]] = {}
        for tx in outstanding:
            by_sender.setdefault(tx.sender, []).append(tx)
        senders = list(by_sender)
        try:
            nonces = self.rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in senders])
        except RPCError:
            return
        for sender, nonce in zip(senders, nonces):
            txs = sorted(by_sender[sender], key=lambda t: t.tx.nonce)
            if isinstance(nonce, RPCError) or int(nonce, 16) != txs[0].tx.nonce:
                continue  # mined meanwhile, or waiting behind a transaction that is not ours
            try:
                self.rpc.request("anvil_removePoolTransactions", [sender])
                self.rpc.batch([("eth_sendRawTransaction", [t.raw_hex]) for t in txs])
            except RPCError as exc:
                log.warning("could not requeue the stuck transactions of %s: %s", sender, exc)
                continue
            log.warning("requeued %d transactions of %s stuck in Anvil's pool from nonce %d", len(txs), sender,
                        txs[0].tx.nonce)


def _block_gas_limit(rpc: Rpc) -> int:
    try:
        return int(rpc.get_block("latest")["gasLimit"], 16)
    except (RPCError, KeyError, TypeError):
        return 30_000_000


def run_pipeline(
    rpc: Rpc,
    requests: Sequence[TxRequest],
    *,
    fee_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 100,
    workers: int = 4,
    timeout: float = 120.0,
    explain: bool = True,
    window_gas: int | None = None,
    stall: float = 0.5,
) -> list[Outcome]:
    """Sign, send and confirm ``requests``; one ``Outcome`` per request, in order.

    Signing reserves each key's nonces as one run. Flow control: transactions go out in batches, in nonce order per key, while the gas of the unconfirmed
    ones stays under ``window_gas`` (default: half a block's gas limit), so every block the node builds can
    take all of them; receipts of the outstanding ones are polled between batches. Failed transactions get
    their typed error (replayed and decoded) when ``explain``.
    """
    if not requests:
        return []
    return send_signed(rpc, requests, sign_all(requests, fee_kwargs or {}), batch_size=batch_size,
                       workers=workers, timeout=timeout, explain=explain, window_gas=window_gas, stall=stall)


def send_signed(
    rpc: Rpc,
    requests: Sequence[TxRequest],
    signed: Sequence[SignedTx],
    *,
    batch_size: int = 100,
    workers: int = 4,
    timeout: float = 120.0,
    explain: bool = True,
    window_gas: int | None = None,
    stall: float = 0.5,
) -> list[Outcome]:
    """The sending half of ``run_pipeline``, for transactions signed already (``signed[i]`` for ``requests[i]``)."""
    outcomes = [Outcome(request=r) for r in requests]
    for outcome, s in zip(outcomes, signed):
        outcome.signed = s
    window = window_gas or _block_gas_limit(rpc) // 2
    order = _round_robin(requests)
    nudge = Nudge(rpc, stall)
    refused: dict[int, SessionError] = {}
    inflight: dict[str, int] = {}  # hash -> request index
    inflight_gas = 0
    cursor = 0
    last_progress = last_nudge = last_recheck = time.monotonic()
    delay = 0.001
    while cursor < len(order) or inflight:
        # send while the window has room (always at least one transaction when nothing is outstanding)
        sent_any = False
        while cursor < len(order):
            batch: list[int] = []
            size = 0
            while cursor < len(order) and len(batch) < batch_size:
                gas = requests[order[cursor]].gas
                if (inflight or batch) and inflight_gas + gas > window:
                    break
                cost = request_bytes("eth_sendRawTransaction", [signed[order[cursor]].raw_hex])
                if batch and size + cost > MAX_REQUEST_BYTES:  # the request body cap every batch keeps
                    break
                batch.append(order[cursor])
                size += cost
                inflight_gas += gas
                cursor += 1
            if not batch:
                break
            rejected, unsure = _send(rpc, signed, batch)
            if rejected:
                refused.update(rejected)
                _repair(requests, signed, rejected)
            for i, error in unsure.items():
                refused[i] = error
                requests[i].sender.resync()  # its nonce may or may not be taken: ask the node next time
            for i in batch:
                if i in rejected or i in unsure:
                    inflight_gas -= requests[i].gas
                else:
                    inflight[signed[i].hash] = i
            sent_any = True
        if not inflight:
            continue
        found = _poll(rpc, list(inflight), batch_size * 5)
        for h, receipt in found.items():
            i = inflight.pop(h)
            inflight_gas -= requests[i].gas
            outcomes[i].receipt = receipt
        now = time.monotonic()
        if found or sent_any:
            last_progress, delay = now, 0.001
            continue
        if now - last_progress > timeout:
            for h, i in inflight.items():  # each gets its own error; the others keep their outcomes
                refused[i] = ReceiptTimeout(h, timeout)
            inflight.clear()
            break
        if now - last_progress > stall and now - last_nudge > stall:
            nudge([signed[i] for i in inflight.values()])
            last_nudge = now
        if now - last_progress > RECHECK_INTERVAL and now - last_recheck > RECHECK_INTERVAL:
            last_recheck = now
            for i, error in _recheck(rpc, requests, signed, inflight).items():
                refused[i] = error
                del inflight[signed[i].hash]
                inflight_gas -= requests[i].gas
                last_progress = now
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    for i in order[cursor:]:  # left unsent by a timeout: their reserved nonces are given back to the node
        refused[i] = RPCError(f"not sent: no receipt came for earlier transactions within {timeout:g} s",
                              method="eth_sendRawTransaction")
        requests[i].sender.resync()
    for i, refusal in refused.items():
        outcomes[i].error = refusal
    failed = [o for o in outcomes if o.receipt is not None and not o.receipt.ok]
    if failed and explain:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            errors = list(pool.map(lambda o: explain_failure(rpc, o.signed, o.receipt), failed))
        for outcome, error in zip(failed, errors):
            outcome.error = error
    else:
        for outcome in failed:
            assert outcome.receipt is not None
            outcome.error = TransactionFailed(outcome.receipt.tx_hash, outcome.receipt)
    return outcomes
