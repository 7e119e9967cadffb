"""JSON-RPC over a web3.py provider: raw requests and batches, errors classified, transient ones retried.

Why below ``w3.eth``: the SDK needs the node's error objects as they are (revert data, ``nonce too low``)
and batches of raw requests; web3's formatters and middleware add work and hide both. Retrying lives here,
once, for every method: reads are idempotent and ``eth_sendRawTransaction`` resends the very same signed
bytes (same hash), so a retry can never create a second transaction.

Why its own HTTP client for URLs: every answer is matched to its request by JSON-RPC id. web3's provider does
not check the id of a single answer, and matches a batch by sorting ids and zipping, so a stale answer (a proxy
or load balancer replaying the previous response), a missing batch item or a duplicated one would be taken for
the answer to another request: a wrong nonce, another transaction's receipt, another call's result. Here an
answer whose id is not the request's is a transient failure (retried), and a batch item without its answer is
retried alone. A response cut short or unreadable is transient too (the request may or may not have been
processed: every method the SDK retries is safe to repeat).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from typing import Any, Sequence

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential_jitter
from web3 import HTTPProvider, IPCProvider, Web3
from web3.providers.base import BaseProvider

from ..base.errors import RPCError, TransientRPCError

__all__ = ["MAX_REQUEST_BYTES", "Rpc", "classify_error", "request_bytes", "split_batch"]

log = logging.getLogger(__name__)

#: The most JSON one request body carries. Nodes and proxies cap request bodies (hosted endpoints often far below
#: geth's 5 MiB), so every batch the SDK sends (estimates, reads, raw transactions) is split under this one cap.
MAX_REQUEST_BYTES = 512 * 1024
#: ``{"jsonrpc":"2.0","id":N,"method":"","params":[]}`` and separators: what a call costs besides its method and params.
_ENVELOPE_BYTES = 64


def request_bytes(method: str, params: Sequence[Any]) -> int:
    """About how many bytes of JSON the call ``method(*params)`` adds to a batch request body (never fewer)."""
    size = _ENVELOPE_BYTES + len(method)
    for param in params:
        size += len(param) + 3 if isinstance(param, str) else len(json.dumps(param, separators=(",", ":"))) + 1
    return size


def split_batch(calls: Sequence[tuple[str, Sequence[Any]]],
                limit: int = MAX_REQUEST_BYTES) -> list[list[tuple[str, Sequence[Any]]]]:
    """``calls`` in order, cut into consecutive groups whose request body stays under ``limit`` bytes (a call
    larger than ``limit`` on its own goes alone)."""
    groups: list[list[tuple[str, Sequence[Any]]]] = []
    size = 0
    for call in calls:
        cost = request_bytes(call[0], call[1])
        if not groups or size + cost > limit:
            groups.append([])
            size = 0
        groups[-1].append(call)
        size += cost
    return groups

# Messages that mean "the request was understood and refused": never worth retrying.
_DETERMINISTIC = (
    "revert",
    "nonce",
    "insufficient",
    "already",
    "underpriced",
    "intrinsic gas",
    "gas limit",
    "invalid",
    "not supported",
    "does not exist",
    "unknown account",
    "max fee",
    "fee cap",
)
# Messages that mean "busy or broken right now": a retry may succeed.
# "BlockOutOfRangeError": an Anvil running --prune-history can resolve "latest" to a block it has just pruned
# while the next one is mined; asking again reads the new head.
_TRANSIENT_HINTS = ("timeout", "timed out", "try again", "busy", "rate limit", "too many requests", "header not found",
                    "blockoutofrangeerror")


def classify_error(error: dict[str, Any], method: str | None = None, *, status: int | None = None) -> RPCError:
    """An ``RPCError`` (or ``TransientRPCError``) from a JSON-RPC error object (``status``: the HTTP status it
    came with, when not 200: a 5xx, 408 or 429 makes an error that is not plainly a refusal transient)."""
    code = error.get("code")
    message = str(error.get("message", "unknown error"))
    lower = message.lower()
    transient = False
    if not any(marker in lower for marker in _DETERMINISTIC):
        transient = (code in (-32603, -32005, 429) or any(hint in lower for hint in _TRANSIENT_HINTS)
                     or _transient_status(status))
    cls = TransientRPCError if transient else RPCError
    return cls(message, code=code, data=error.get("data"), method=method)


#: Transport failures after which the request may or may not have been processed: retrying is the remedy.
_TRANSIENT_TRANSPORT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # the response was cut short
    requests.exceptions.ContentDecodingError,
    ConnectionError,
    TimeoutError,
    json.JSONDecodeError,  # an unreadable (e.g. truncated) body
)


def _transient_status(status: int | None) -> bool:
    return status is not None and (status >= 500 or status in (408, 429))


def _transport_error(exc: Exception, method: str) -> RPCError:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        cls = TransientRPCError if _transient_status(status) else RPCError
        return cls(f"HTTP {status}: {exc}", code=status, method=method)
    if isinstance(exc, _TRANSIENT_TRANSPORT):
        return TransientRPCError(f"{type(exc).__name__}: {exc}", method=method)
    return RPCError(f"{type(exc).__name__}: {exc}", method=method)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


class _Http:
    """JSON-RPC over HTTP(S) with the SDK's own request ids (one ``requests.Session`` per thread)."""

    def __init__(self, uri: str, timeout: float) -> None:
        self.uri = uri
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._local = threading.local()
        self._headers = {"Content-Type": "application/json"}

    def next_id(self) -> int:
        return next(self._ids)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def post(self, payload: Any) -> tuple[int, Any]:
        """POST ``payload``; the HTTP status and the decoded JSON answer. An HTTP error status raises
        ``HTTPError`` unless its body is a JSON-RPC answer (some nodes send their errors with 4xx/5xx)."""
        body = json.dumps(payload, default=_json_default, separators=(",", ":"))
        response = self._session().post(self.uri, data=body, headers=self._headers, timeout=self.timeout)
        try:
            decoded = json.loads(response.content)
        except ValueError:
            response.raise_for_status()
            raise
        if response.status_code >= 400 and not _rpc_shaped(decoded):
            response.raise_for_status()
        return response.status_code, decoded


def _rpc_shaped(decoded: Any) -> bool:
    if isinstance(decoded, list):
        return bool(decoded) and all(isinstance(i, dict) and "jsonrpc" in i for i in decoded)
    return isinstance(decoded, dict) and "jsonrpc" in decoded and ("result" in decoded or "error" in decoded)


def _same_id(got: Any, sent: int) -> bool:
    return got == sent or str(got) == str(sent)  # some gateways echo ids as strings


def _error(error: Any, method: str, status: int) -> RPCError:
    return classify_error(dict(error) if isinstance(error, dict) else {"message": str(error)}, method,
                          status=status if status != 200 else None)


def _mismatch(method: str, expected: Any, got: Any) -> TransientRPCError:
    return TransientRPCError(
        f"the answer carries id {got!r}, not the request's {expected!r} (a stale or misrouted response; retried)",
        method=method,
    )


class Rpc:
    """One endpoint. Thread-safe (one HTTP session per thread).

    After a transient failure: up to ``retries`` more attempts, waiting ``backoff`` seconds doubled each time
    (with jitter) up to ``max_backoff``, and never longer than ``retry_deadline`` seconds overall.
    """

    def __init__(
        self,
        endpoint: str | BaseProvider,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        backoff: float = 0.02,
        max_backoff: float = 1.0,
        retry_deadline: float = 30.0,
    ) -> None:
        self._http: _Http | None = None
        if isinstance(endpoint, BaseProvider):
            self.provider = endpoint
        elif endpoint.startswith(("http://", "https://")):
            # Web3's own retry stays off: retrying is this class's job, for every method alike. The provider
            # serves ``w3``; the SDK's own requests go through ``_Http`` (answers matched by id).
            self.provider = HTTPProvider(
                endpoint, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
            )
            self._http = _Http(endpoint, timeout)
        elif endpoint.endswith(".ipc"):
            self.provider = IPCProvider(endpoint, timeout=int(timeout))
        else:
            raise ValueError(f"unsupported RPC endpoint {endpoint!r}: use an http(s):// URL, an .ipc path or a provider")
        self._backoff = backoff
        self.endpoint = getattr(self.provider, "endpoint_uri", None) or str(endpoint)
        self._retrying = Retrying(
            stop=stop_after_attempt(retries) | stop_after_delay(retry_deadline),
            wait=wait_exponential_jitter(multiplier=backoff, max=max_backoff, jitter=backoff),
            retry=retry_if_exception_type(TransientRPCError),
            reraise=True,
        )
        self._w3: Web3 | None = None

    @property
    def w3(self) -> Web3:
        """A ``Web3`` over the same provider, for anything the SDK does not wrap."""
        if self._w3 is None:
            self._w3 = Web3(self.provider)
        return self._w3

    def __repr__(self) -> str:
        return f"<Rpc {self.endpoint}>"

    # ------------------------------------------------------------------------------------------------------------

    def request_once(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One request, no retry; raises ``RPCError`` / ``TransientRPCError``."""
        if self._http is not None:
            return self._request_http(self._http, method, params)
        try:
            response = self.provider.make_request(method, list(params))  # type: ignore[arg-type]
        except RPCError:
            raise
        except Exception as exc:  # transport: connection, timeout, HTTP status
            raise _transport_error(exc, method) from exc
        error: Any = response.get("error")
        if error is not None:
            raise classify_error(dict(error) if isinstance(error, dict) else {"message": str(error)}, method)
        return response.get("result")

    @staticmethod
    def _request_http(http: _Http, method: str, params: Sequence[Any]) -> Any:
        request_id = http.next_id()
        try:
            status, response = http.post({"jsonrpc": "2.0", "id": request_id, "method": method,
                                          "params": list(params)})
        except Exception as exc:
            raise _transport_error(exc, method) from exc
        if not isinstance(response, dict):
            raise TransientRPCError(f"malformed answer: {str(response)[:120]}", method=method)
        error: Any = response.get("error")
        if not _same_id(response.get("id"), request_id):
            if response.get("id") is None and error is not None:  # the node could not read the request at all
                raise _error(error, method, status)
            raise _mismatch(method, request_id, response.get("id"))
        if error is not None:
            raise _error(error, method, status)
        return response.get("result")

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """``request_once`` with bounded exponential backoff on transient errors."""
        try:
            return self.request_once(method, params)
        except TransientRPCError as exc:
            # the fast path failed: back off, then the bounded retry loop takes over
            log.debug("%s failed transiently (%s); retrying", method, exc)
            time.sleep(self._backoff)
        return self._retrying.copy()(self.request_once, method, params)

    def batch_once(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """A JSON-RPC batch; each item is the result or an ``RPCError`` instance (not raised). The batch as a
        whole raises when the transport fails. Answers are matched to requests by id; an item left without its
        answer gets a ``TransientRPCError``."""
        if not calls:
            return []
        if self._http is not None:
            return self._batch_http(self._http, calls)
        try:
            batch = [(m, list(p)) for m, p in calls]
            responses: Any = self.provider.make_batch_request(batch)  # type: ignore[attr-defined]
        except RPCError:
            raise
        except Exception as exc:
            raise _transport_error(exc, "batch") from exc
        if isinstance(responses, dict):  # the node refused the whole batch
            error = responses.get("error") or {"message": "batch refused"}
            raise classify_error(error if isinstance(error, dict) else {"message": str(error)}, "batch")
        if len(responses) != len(calls):  # the provider zips by position: it cannot tell which one is missing
            raise TransientRPCError(f"{len(responses)} answers to a batch of {len(calls)}", method="batch")
        out: list[Any] = []
        for (method, _), response in zip(calls, responses):
            error = response.get("error")
            out.append(classify_error(error, method) if error else response.get("result"))
        return out

    @staticmethod
    def _batch_http(http: _Http, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        ids = [http.next_id() for _ in calls]
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in zip(ids, calls)]
        try:
            status, responses = http.post(payload)
        except Exception as exc:
            raise _transport_error(exc, "batch") from exc
        if isinstance(responses, dict):
            error = responses.get("error")
            if responses.get("id") is None and error is not None:  # the node refused the whole batch
                raise _error(error, "batch", status)
            raise TransientRPCError("a single answer to a batch (a stale or misrouted response)", method="batch")
        if not isinstance(responses, list):
            raise TransientRPCError(f"malformed batch answer: {str(responses)[:120]}", method="batch")
        by_id: dict[str, dict[str, Any]] = {}
        for response in responses:
            if isinstance(response, dict):
                by_id.setdefault(str(response.get("id")), response)
        out: list[Any] = []
        for request_id, (method, _) in zip(ids, calls):
            response = by_id.get(str(request_id))
            if response is None:
                out.append(TransientRPCError("the batch answer lacks this item", method=method))
                continue
            error = response.get("error")
            out.append(_error(error, method, status) if error is not None else response.get("result"))
        return out

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """``batch_once``, in requests under ``MAX_REQUEST_BYTES`` each, retried as a whole on a transport failure,
        and item by item when single items failed transiently or came back without their answer (idempotent
        methods only: reads and raw sends). Answers come back in the order of ``calls``."""
        groups = split_batch(calls)
        if len(groups) > 1:
            return [answer for group in groups for answer in self._batch_retried(group)]
        return self._batch_retried(calls)

    def _batch_retried(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        try:
            results = self.batch_once(calls)
        except TransientRPCError as exc:
            log.debug("batch of %d failed transiently (%s); retrying", len(calls), exc)
            time.sleep(self._backoff)
            results = self._retrying.copy()(self.batch_once, calls)
        for i, item in enumerate(results):
            if isinstance(item, TransientRPCError):
                method, params = calls[i]
                try:
                    results[i] = self.request(method, params)
                except RPCError as exc:
                    results[i] = exc
        return results

    # --- small typed helpers --------------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def get_block(self, block: int | str = "latest") -> dict[str, Any]:
        tag = hex(block) if isinstance(block, int) else block
        return self.request("eth_getBlockByNumber", [tag, False])

    def timestamp(self, block: int | str = "latest") -> int:
        """Unix time of ``block`` (the chain's clock, which tests move)."""
        return int(self.get_block(block)["timestamp"], 16)

    def balance(self, address: str, block: int | str = "latest") -> int:
        return int(self.request("eth_getBalance", [address, block if isinstance(block, str) else hex(block)]), 16)

    def code(self, address: str) -> bytes:
        return bytes.fromhex(self.request("eth_getCode", [address, "latest"])[2:])

    def call(self, to: str, data: bytes, *, sender: str | None = None, value: int = 0, block: int | str = "latest",
             gas: int | None = None) -> bytes:
        """``eth_call``; raises ``RPCError`` (with ``.revert_data``) when it reverts."""
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
        if sender:
            tx["from"] = sender
        if value:
            tx["value"] = hex(value)
        if gas:
            tx["gas"] = hex(gas)
        result = self.request("eth_call", [tx, block if isinstance(block, str) else hex(block)])
        return bytes.fromhex(result[2:]) if result else b""
