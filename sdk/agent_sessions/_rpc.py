"""JSON-RPC over a web3.py provider: raw requests and batches, errors classified, transient ones retried.

Why below ``w3.eth``: the SDK needs the node's error objects as they are (revert data, ``nonce too low``)
and batches of raw requests; web3's formatters and middleware add work and hide both. Retrying lives here,
once, for every method: reads are idempotent and ``eth_sendRawTransaction`` resends the very same signed
bytes (same hash), so a retry can never create a second transaction.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential_jitter
from web3 import HTTPProvider, IPCProvider, Web3
from web3.providers.base import BaseProvider

from .errors import RPCError, TransientRPCError

__all__ = ["Rpc", "classify_error"]

log = logging.getLogger(__name__)

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
_TRANSIENT_HINTS = ("timeout", "timed out", "try again", "busy", "rate limit", "too many requests", "header not found")


def classify_error(error: dict[str, Any], method: str | None = None) -> RPCError:
    """An ``RPCError`` (or ``TransientRPCError``) from a JSON-RPC error object."""
    code = error.get("code")
    message = str(error.get("message", "unknown error"))
    lower = message.lower()
    transient = False
    if not any(marker in lower for marker in _DETERMINISTIC):
        transient = code in (-32603, -32005, 429) or any(hint in lower for hint in _TRANSIENT_HINTS)
    cls = TransientRPCError if transient else RPCError
    return cls(message, code=code, data=error.get("data"), method=method)


def _transport_error(exc: Exception, method: str) -> RPCError:
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
        return TransientRPCError(f"{type(exc).__name__}: {exc}", method=method)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        cls = TransientRPCError if status >= 500 or status == 429 else RPCError
        return cls(f"HTTP {status}: {exc}", code=status, method=method)
    return RPCError(f"{type(exc).__name__}: {exc}", method=method)


class Rpc:
    """One endpoint. Thread-safe (web3's HTTP provider keeps a session per thread).

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
        if isinstance(endpoint, BaseProvider):
            self.provider = endpoint
        elif endpoint.startswith(("http://", "https://")):
            # Web3's own retry stays off: retrying is this class's job, for every method alike.
            self.provider = HTTPProvider(
                endpoint, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
            )
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
        whole raises when the transport fails."""
        if not calls:
            return []
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
        out: list[Any] = []
        for (method, _), response in zip(calls, responses):
            error = response.get("error")
            out.append(classify_error(error, method) if error else response.get("result"))
        return out

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """``batch_once``, retried as a whole on a transport failure, and item by item when single items
        failed transiently (idempotent methods only: reads and raw sends)."""
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
