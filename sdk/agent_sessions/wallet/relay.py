"""A relayer: takes signed executes from keyless agents and submits them, paid by their relay fees.

    relayer = Relayer(client, relayer_key, min_fee="0.00001 ether")
    for outcome in relayer.relay([signed_a, signed_b, ...]):
        print(outcome.to_dict())        # {"id": ..., "status": "mined", "tx": "0x..."} or the typed refusal

Each batch goes through three gates before anything is signed:

1. the relayer's own policy: the message is a signed execute for this chain, for a manager of the canonical
   factory (or of the ``managers`` given), paying at least ``min_fee``, before its deadline, not a duplicate of
   another in the batch;
2. a dry run of the very call from the relayer's address (``eth_estimateGas``, one JSON-RPC batch for all):
   whatever would revert (a bad signature, a used nonce, a fee above the session's cap, an overspend) is refused
   with the contract's typed error and costs nothing;
3. the rest go out through the SDK's pipelined transport (local nonces, JSON-RPC batches, receipts collected in
   one pass), each reported with its transaction hash, or the typed error it met on chain (a race with another
   spend of the same session in the same block).

``RelayService`` runs a ``Relayer`` on a worker thread that gathers items into batches, for a stream (stdin) or
an HTTP endpoint (``serve_http``) alike.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..base import validate as v
from ..chain.pipeline import TxRequest, run_pipeline
from ..base.errors import ContractRevert, RPCError, SessionError, typed_error
from ..base.models import Status
from .executes import SignedExecute, SignedExecuteBatch
from .typed_data import load_signed

if TYPE_CHECKING:
    from ..domain.client import AgentSessions
    from ..domain.manager import Manager

__all__ = ["RelayOutcome", "RelayRefused", "RelayService", "Relayer", "serve_http"]

log = logging.getLogger(__name__)

SignedCall = SignedExecute | SignedExecuteBatch


class RelayRefused(SessionError, ValueError):
    """The relayer's own policy refused an item (nothing was sent): ``reason`` names the rule, ``arguments`` the
    values it looked at."""

    def __init__(self, reason: str, message: str, **arguments: Any) -> None:
        self.reason = reason
        self.arguments = arguments
        super().__init__(f"{message} ({reason})")


@dataclass
class RelayOutcome:
    """What became of one item: ``status`` is ``mined`` (with ``tx_hash``), ``refused`` (nothing sent: the relayer's
    policy or the dry run said no, ``error`` says why), ``reverted`` (sent, mined, failed: ``error`` is the
    decoded reason) or ``invalid`` (not a signed execute at all)."""

    tag: Any
    status: str
    item: SignedCall | None = None
    tx_hash: str | None = None
    block: int | None = None
    gas_used: int | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status == "mined"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.tag, "status": self.status}
        if self.item is not None:
            out.update(session=self.item.session_id, nonce=str(self.item.nonce), relay_fee=str(self.item.relay_fee))
        if self.tx_hash is not None:
            out.update(tx=self.tx_hash, block=self.block, gas_used=self.gas_used)
        if self.error is not None:
            out.update(error_json(self.error))
        return out


def _plain(value: Any) -> Any:
    """A JSON value: bytes as 0x hex, statuses by name, integers past 2^53 as decimal strings."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Status):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(x) for x in value]
    return value if isinstance(value, (str, float)) else str(value)


def error_json(error: BaseException) -> dict[str, Any]:
    """``{"error": name, "args": {...}, "message": text}`` of a typed error."""
    if isinstance(error, ContractRevert):
        name = getattr(error, "name", None) or error.error_name or type(error).__name__
        args = error.arguments
    elif isinstance(error, RelayRefused):
        name, args = error.reason, error.arguments
    else:
        name, args = type(error).__name__, {}
    return {"error": name, "args": {k: _plain(a) for k, a in args.items()}, "message": str(error)}


class Relayer:
    """Submits signed executes from ``key`` (it pays the gas, earns the relay fees) on ``client``'s chain.

    ``managers``: the only managers served (addresses); default, any manager of the canonical factory (a relayer
    must not send to a contract that merely looks like a manager). ``min_fee``: the smallest relay fee taken."""

    def __init__(self, client: AgentSessions, key: Any, *, managers: Iterable[Any] | None = None,
                 min_fee: int | str = 0, batch_size: int = 100, timeout: float = 120.0) -> None:
        self.client = client
        self.sender = client.sender(key)
        self.managers = {v.address(m, "managers") for m in managers} if managers is not None else None
        self.min_fee = v.amount(min_fee, "min_fee", symbol="ETH")
        self.batch_size = batch_size
        self.timeout = timeout
        self._known: dict[str, bool] = {}

    @property
    def address(self) -> str:
        return self.sender.address

    # --- gate 1: policy -----------------------------------------------------------------------------------------

    def _serves(self, address: str) -> bool:
        if self.managers is not None:
            return address in self.managers
        if address not in self._known:
            factory = self.client.canonical_factory()
            self._known[address] = factory is not None and factory.is_manager(address)
        return self._known[address]

    def policy_refusal(self, item: SignedCall, now: int, seen: set[bytes]) -> RelayRefused | None:
        """Why the relayer will not take ``item`` (None when it will)."""
        if item.chain_id != self.client.chain_id:
            return RelayRefused("WrongChain", f"signed for chain {item.chain_id}, this relayer serves chain "
                                f"{self.client.chain_id}", chain_id=item.chain_id, served=self.client.chain_id)
        if not self._serves(item.manager_address):
            return RelayRefused("UnknownManager", f"{item.manager_address} is not a manager this relayer serves",
                                manager=item.manager_address)
        if item.relay_fee < self.min_fee:
            return RelayRefused("FeeBelowMinimum", f"relay fee {item.relay_fee} wei is below this relayer's "
                                f"minimum {self.min_fee} wei", fee=item.relay_fee, minimum=self.min_fee)
        if item.deadline <= now:  # the next block comes at least a second later
            return RelayRefused("SignatureExpired", f"the deadline {item.deadline} has passed (chain time {now})",
                                deadline=item.deadline, now=now)
        if item.digest in seen:
            return RelayRefused("Duplicate", "the same signed execute came twice in one batch", nonce=item.nonce)
        seen.add(item.digest)
        return None

    # --- the three gates ----------------------------------------------------------------------------------------

    def relay(self, items: Sequence[SignedCall | BaseException],
              tags: Sequence[Any] | None = None) -> list[RelayOutcome]:
        """Relay a batch; one outcome per item, in order. An item may be an exception (an input that failed to
        load), reported as ``invalid``."""
        tags = list(tags) if tags is not None else [getattr(i, "tag", None) for i in items]
        outcomes = [RelayOutcome(tag=t, status="pending") for t in tags]
        now = self.client.now()
        seen: set[bytes] = set()
        candidates: list[int] = []
        for i, item in enumerate(items):
            if isinstance(item, BaseException) or not isinstance(item, (SignedExecute, SignedExecuteBatch)):
                error = item if isinstance(item, BaseException) else ValueError(
                    f"a {type(item).__name__} is not a signed execute")
                outcomes[i].status, outcomes[i].error = "invalid", error
                continue
            outcomes[i].item = item
            refusal = self.policy_refusal(item, now, seen)
            if refusal is not None:
                outcomes[i].status, outcomes[i].error = "refused", refusal
            else:
                candidates.append(i)
        for start in range(0, len(candidates), self.batch_size):
            chunk = candidates[start : start + self.batch_size]
            self._send([(i, items[i]) for i in chunk], outcomes)  # type: ignore[misc]
        return outcomes

    def _managers(self, items: Sequence[tuple[int, SignedCall]]) -> dict[str, Manager]:
        return {item.manager_address: self.client.manager(item.manager_address) for _, item in items}

    def _send(self, batch: Sequence[tuple[int, SignedCall]], outcomes: list[RelayOutcome]) -> None:
        managers = self._managers(batch)
        calldata = {i: item.calldata(managers[item.manager_address]) for i, item in batch}
        estimates = self.client.rpc.batch([
            ("eth_estimateGas", [{"from": self.address, "to": item.manager_address,
                                  "data": "0x" + calldata[i].hex()}]) for i, item in batch])
        ready: list[tuple[int, TxRequest]] = []
        for (i, item), estimate in zip(batch, estimates):
            if isinstance(estimate, RPCError):
                outcomes[i].status, outcomes[i].error = "refused", typed_error(estimate)
                continue
            gas = self.sender.gas_limit(int(estimate, 16))
            ready.append((i, TxRequest(self.sender, item.manager_address, calldata[i], 0, gas)))
        if not ready:
            return
        results = run_pipeline(self.client.rpc, [r for _, r in ready], batch_size=self.batch_size,
                               timeout=self.timeout)
        for (i, _), result in zip(ready, results):
            outcome = outcomes[i]
            if result.receipt is not None:
                outcome.tx_hash = result.receipt.tx_hash
                outcome.block = result.receipt.block_number
                outcome.gas_used = result.receipt.gas_used
            if result.ok:
                outcome.status = "mined"
            else:
                outcome.status = "reverted" if result.receipt is not None else "refused"
                outcome.error = result.error


# ================================================================================================================
# batching service: a stream or HTTP in, batches out
# ================================================================================================================


@dataclass
class _Pending:
    item: Any
    tag: Any
    future: Future = field(default_factory=Future)


class RelayService:
    """Runs ``relayer`` on a worker thread: ``submit`` queues one item and returns a future of its outcome; the
    worker takes whatever is queued (waiting ``linger`` seconds for more after the first, up to ``max_batch``) and
    relays it as one batch."""

    def __init__(self, relayer: Relayer, *, linger: float = 0.05, max_batch: int = 500,
                 on_outcome: Callable[[RelayOutcome], None] | None = None) -> None:
        self.relayer = relayer
        self.linger = linger
        self.max_batch = max_batch
        self.on_outcome = on_outcome
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)

    def __enter__(self) -> RelayService:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._queue.put(None)
        self._thread.join()

    def submit(self, item: SignedCall | BaseException, tag: Any = None) -> Future:
        pending = _Pending(item, tag if tag is not None else getattr(item, "tag", None))
        self._queue.put(pending)
        return pending.future

    def _gather(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch, stopping = [first], False
        while len(batch) < self.max_batch:
            try:
                nxt = self._queue.get(timeout=self.linger)
            except queue.Empty:
                break
            if nxt is None:
                stopping = True
                break
            batch.append(nxt)
        return batch, stopping

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            try:
                outcomes = self.relayer.relay([p.item for p in batch], [p.tag for p in batch])
            except Exception as exc:  # the node went away mid-batch: every item of it gets the error
                log.warning("relaying a batch of %d failed: %s", len(batch), exc)
                outcomes = [RelayOutcome(tag=p.tag, status="refused", error=exc) for p in batch]
            for pending, outcome in zip(batch, outcomes):
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
                pending.future.set_result(outcome)
            if stopping:
                return


def parse_item(text: str | bytes | dict[str, Any], position: int, source: str | None = None) -> tuple[Any, Any]:
    """``(signed execute or the error loading it, its id)`` from one JSON item; the id is the item's ``"id"``,
    else its 1-based position in the stream."""
    where = f"{source or 'input'} item {position}"
    try:
        parsed = json.loads(text) if isinstance(text, (str, bytes)) else text
    except json.JSONDecodeError as exc:
        return ValueError(f"{where}: not JSON: {exc}"), position
    tag = parsed.get("id", position) if isinstance(parsed, dict) else position
    try:
        item = load_signed(parsed, source=where)
    except ValueError as exc:
        return exc, tag
    if not isinstance(item, (SignedExecute, SignedExecuteBatch)):
        return ValueError(f"{where}: a signed {item.primary}, not an execute: submit it with submit_grant / "
                          "submit_spawn"), tag
    return item, tag


def serve_http(service: RelayService, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """An HTTP endpoint in front of ``service`` (not started: call ``serve_forever``; ``server_address`` has the
    port the system picked when ``port`` is 0).

    ``POST /relay`` with one signed execute (a JSON object), a list of them, or JSON lines: answers with the
    outcome (an object) or the outcomes (a list), once they are mined or refused. ``GET /health``: the relayer's
    address, chain and minimum fee."""
    relayer = service.relayer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            log.debug("relay http: " + format, *args)

        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/") != "/health":
                self._answer(404, {"error": "NotFound", "message": "GET /health or POST /relay"})
                return
            self._answer(200, {"relayer": relayer.address, "chain_id": relayer.client.chain_id,
                               "min_fee": str(relayer.min_fee)})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") not in ("/relay", ""):
                self._answer(404, {"error": "NotFound", "message": "POST /relay"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                parsed = json.loads(body)
                items, single = ([parsed], True) if isinstance(parsed, dict) else (parsed, False)
                if not isinstance(items, list):
                    raise ValueError("expected a JSON object or a list of them")
            except ValueError:
                lines = [line for line in body.decode(errors="replace").splitlines() if line.strip()]
                items, single = lines, False
            futures = [service.submit(*parse_item(item, n, "request")) for n, item in enumerate(items, 1)]
            outcomes = [f.result().to_dict() for f in futures]
            self._answer(200, outcomes[0] if single and outcomes else outcomes)

    return ThreadingHTTPServer((host, port), Handler)
