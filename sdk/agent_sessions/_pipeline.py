"""Pipelined sending: sign many transactions, send them in JSON-RPC batches, then collect receipts in a
separate pass.

Why: send -> wait -> send pays a full round trip plus a mining delay per transaction. Signing locally,
sending everything, and only then polling receipts (hundreds per batch request) lets the node work at its own
pace; the client's cost drops to signing and JSON. Nonces are reserved per key under the key's lock, so
keys never clash; a transaction the node refuses outright gets its nonce filled by a 0-ETH self-transfer so
the key's later transactions are not stuck behind a gap.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ._rpc import Rpc
from ._signing import SignedTx
from ._transport import _ALREADY_KNOWN, _NONCE_USED, Sender, explain_failure
from .errors import ReceiptTimeout, RPCError, SessionError, TransactionFailed, TransientRPCError
from .results import Receipt

__all__ = ["Outcome", "TxRequest", "run_pipeline", "send_signed"]

log = logging.getLogger(__name__)

#: A batch request stops growing past this many bytes of signed transactions (nodes cap request bodies).
MAX_BATCH_BYTES = 512 * 1024


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


def _sign_all(requests: Sequence[TxRequest], fee_kwargs: Mapping[str, Any]) -> list[SignedTx]:
    """Sign every request, reserving each key's nonces as one consecutive run."""
    by_sender: dict[str, list[int]] = {}
    for i, request in enumerate(requests):
        by_sender.setdefault(request.sender.address, []).append(i)
    signed: list[SignedTx | None] = [None] * len(requests)
    for indexes in by_sender.values():
        sender = requests[indexes[0]].sender
        with sender.lock:
            first = sender.reserve(len(indexes))
            for offset, i in enumerate(indexes):
                r = requests[i]
                tx = sender.unsigned(r.to, r.data, r.value, gas=r.gas, nonce=first + offset, **fee_kwargs)
                signed[i] = sender.sign(tx)
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
        if isinstance(error, TransientRPCError) or any(m in message for m in _NONCE_USED):
            sender.resync()
            continue
        try:
            sender.fill_gap(signed[i].tx.nonce)
        except RPCError as exc:  # cannot fill: later nonces of this key stay queued
            log.warning("%s: could not fill nonce %d: %s", sender.address, signed[i].tx.nonce, exc)
            sender.resync()


def _send(rpc: Rpc, signed: Sequence[SignedTx], batch: Sequence[int]) -> dict[int, RPCError]:
    """Send one batch of signed transactions; returns the refusals by index ("already known" is success)."""
    try:
        results = rpc.batch([("eth_sendRawTransaction", [signed[i].raw_hex]) for i in batch])
    except RPCError as exc:
        results = [exc] * len(batch)
    refused: dict[int, RPCError] = {}
    for i, result in zip(batch, results):
        if isinstance(result, RPCError) and not any(m in result.rpc_message.lower() for m in _ALREADY_KNOWN):
            refused[i] = result
    return refused


def _poll(rpc: Rpc, hashes: Sequence[str], batch_size: int) -> dict[str, Receipt]:
    found: dict[str, Receipt] = {}
    for start in range(0, len(hashes), batch_size):
        chunk = hashes[start : start + batch_size]
        for h, raw in zip(chunk, rpc.batch([("eth_getTransactionReceipt", [h]) for h in chunk])):
            if isinstance(raw, RPCError):
                raise raw
            if raw:
                found[h] = Receipt.from_rpc(raw)
    return found


class _Nudge:
    """Anvil's automine can leave ready transactions unmined under load (foundry-rs/foundry#10122). After a
    stall with transactions outstanding, a development node is asked to mine (``evm_mine``); any other node is
    left alone."""

    def __init__(self, rpc: Rpc, stall: float) -> None:
        self.rpc = rpc
        self.stall = stall
        self._dev: bool | None = None

    def is_dev(self) -> bool:
        if self._dev is None:
            try:
                version = str(self.rpc.request("web3_clientVersion")).lower()
            except RPCError:
                version = ""
            self._dev = version.startswith(("anvil", "hardhat", "ganache"))
        return self._dev

    def __call__(self) -> None:
        if self.is_dev():
            try:
                self.rpc.request("evm_mine")
                log.info("nudged a stalled development node with evm_mine")
            except RPCError:
                self._dev = False


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
    return send_signed(rpc, requests, _sign_all(requests, fee_kwargs or {}), batch_size=batch_size,
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
    nudge = _Nudge(rpc, stall)
    refused: dict[int, RPCError] = {}
    inflight: dict[str, int] = {}  # hash -> request index
    inflight_gas = 0
    cursor = 0
    last_progress = last_nudge = time.monotonic()
    delay = 0.001
    while cursor < len(order) or inflight:
        # send while the window has room (always at least one transaction when nothing is outstanding)
        sent_any = False
        while cursor < len(order):
            batch: list[int] = []
            size = 0
            while cursor < len(order) and len(batch) < batch_size and size < MAX_BATCH_BYTES:
                gas = requests[order[cursor]].gas
                if (inflight or batch) and inflight_gas + gas > window:
                    break
                batch.append(order[cursor])
                size += len(signed[order[cursor]].raw)
                inflight_gas += gas
                cursor += 1
            if not batch:
                break
            rejected = _send(rpc, signed, batch)
            if rejected:
                refused.update(rejected)
                _repair(requests, signed, rejected)
            for i in batch:
                if i in rejected:
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
            raise ReceiptTimeout(next(iter(inflight)), timeout)
        if now - last_progress > stall and now - last_nudge > stall:
            nudge()
            last_nudge = now
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
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
