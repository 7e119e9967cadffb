"""A JSON-RPC fault-injection proxy for tests: it sits between the SDK and an Anvil and breaks chosen calls.

    with FaultProxy("http://127.0.0.1:8642") as proxy:
        rule = proxy.add("eth_sendRawTransaction", "forward_drop", times=2)
        client = AgentSessions(proxy.url, timeout=0.5)
        ...
        assert rule.fired == 2

A rule names a JSON-RPC method (a batch matches when any of its items has it), a fault kind, and which of the
matching requests it breaks: it counts the matching requests it sees after it was added, lets ``skip`` of them
through, then breaks the next ``times`` ones. Faults (``KINDS``):

- ``drop``: close the connection without answering; the node never sees the request.
- ``forward_drop``: forward the request (the node acts on it: a transaction IS accepted), then close the
  connection without answering. The critical case for double sends.
- ``delay``: hold the request ``delay`` seconds (past the client's timeout). ``forward="after"`` forwards it
  late (a copy that arrives after the client gave up), ``"before"`` forwards at once and answers late (a slow
  node), ``"never"`` forwards nothing and closes.
- ``http``: answer HTTP ``status`` (500, 502, 503...) with a text body, without forwarding.
- ``rpc_error``: answer a JSON-RPC error (default ``-32603 header not found``) for the matching items; with
  ``forward=True`` the node got them first (the answer was replaced), else they are not forwarded.
- ``duplicate``: forward, but answer with the previous response seen for this method (a stale answer, with
  the stale id). Fires only when there was a previous response.
- ``reorder``: forward a batch, answer its items in reverse order (allowed by JSON-RPC: ids must be matched).
- ``swap_ids``: forward a batch, swap the ids of its first two answers (each answer is labelled as the other's).
- ``omit``: forward a batch, leave its last answer out.
- ``truncate``: forward, then send only half of the response body and close (Content-Length says more).

Bounded: at most ``MAX_TIMES`` firings per rule, ``MAX_DELAY`` seconds per delay, and ``stop()`` cuts every
delay short (delayed requests are then not forwarded). Loopback only: it listens on 127.0.0.1 and forwards
only to a loopback upstream.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

__all__ = ["KINDS", "FaultProxy", "Rule"]

KINDS = ("drop", "forward_drop", "delay", "http", "rpc_error", "duplicate", "reorder", "swap_ids", "omit", "truncate")
MAX_TIMES = 1000
MAX_DELAY = 15.0


@dataclass
class Rule:
    """One fault on one method. ``seen``: matching requests since the rule was added; ``fired``: faults done."""

    method: str
    kind: str
    skip: int = 0
    times: int = 1
    delay: float = 1.0
    forward: Any = None
    status: int = 503
    code: int = -32603
    message: str = "header not found"
    seen: int = 0
    fired: int = 0
    fired_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {KINDS}")
        if not 0 <= self.times <= MAX_TIMES or self.skip < 0:
            raise ValueError(f"times must be within 0..{MAX_TIMES}, skip >= 0")
        if not 0 <= self.delay <= MAX_DELAY:
            raise ValueError(f"delay must be within 0..{MAX_DELAY} s")
        if self.kind == "delay" and self.forward is None:
            self.forward = "after"
        if self.kind == "delay" and self.forward not in ("after", "before", "never"):
            raise ValueError("delay forward must be 'after', 'before' or 'never'")

    def wait_fired(self, timeout: float = 10.0) -> bool:
        """Block until this rule fired at least once (or ``timeout``)."""
        return self.fired_event.wait(timeout)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FaultProxy:
    """Forwards JSON-RPC over HTTP from ``url`` to ``upstream``, applying the rules added with ``add``."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        parsed = urlparse(upstream)
        if parsed.scheme != "http" or not parsed.hostname or not _loopback(parsed.hostname):
            raise ValueError(f"the fault proxy forwards to a loopback http:// upstream only, not {upstream!r}")
        self.upstream = (parsed.hostname, parsed.port or 80)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.rules: list[Rule] = []
        #: HTTP requests seen per method (a batch counts once per method it contains).
        self.requests: Counter[str] = Counter()
        #: JSON-RPC items seen per method.
        self.items: Counter[str] = Counter()
        #: (method, kind) of every fault done, in order.
        self.log: list[tuple[str, str]] = []
        self._last: dict[str, bytes] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- control --------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, method: str, kind: str, **options: Any) -> Rule:
        """Break the matching requests from now on (see the module docstring); returns the rule."""
        rule = Rule(method, kind, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule (requests already being delayed finish their delay)."""
        with self._lock:
            self.rules.clear()

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fault-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- decisions ------------------------------------------------------------------------------------------

    def _decide(self, methods: list[str]) -> Rule | None:
        with self._lock:
            for m in set(methods):
                self.requests[m] += 1
            for m in methods:
                self.items[m] += 1
            chosen = None
            for rule in self.rules:
                if rule.method not in methods:
                    continue
                rule.seen += 1
                if chosen is None and rule.skip < rule.seen and rule.fired < rule.times:
                    if rule.kind == "duplicate" and rule.method not in self._last:
                        continue  # nothing to duplicate yet: let it through, try on the next one
                    chosen = rule
            if chosen is not None:
                chosen.fired += 1
                self.log.append((chosen.method, chosen.kind))
                chosen.fired_event.set()
            return chosen

    def _remember(self, methods: list[str], body: bytes) -> None:
        with self._lock:
            for m in methods:
                self._last[m] = body

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def _sleep(self, seconds: float) -> bool:
        """Sleep (cut short by ``stop``); True when the proxy is still running."""
        return not self._stop.wait(seconds)

    # --- the HTTP side --------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, body: bytes, *, content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except OSError:  # the client gave up (timeout) and closed: nothing to answer
                    self.close_connection = True

            def _hang_up(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                calls = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else []
                methods = [str(c.get("method")) for c in calls if isinstance(c, dict)]
                rule = proxy._decide(methods)
                kind = rule.kind if rule else None

                if kind == "drop":
                    return self._hang_up()
                if kind == "http":
                    return self._reply(rule.status, f"injected HTTP {rule.status}".encode(), content_type="text/plain")
                if kind == "delay":
                    if rule.forward == "before":
                        status, answer = proxy._forward(body)
                        proxy._remember(methods, answer)
                        proxy._sleep(rule.delay)
                        return self._reply(status, answer)
                    if not proxy._sleep(rule.delay) or rule.forward == "never":
                        return self._hang_up()
                    status, answer = proxy._forward(body)  # a late copy: the client has timed out by now
                    proxy._remember(methods, answer)
                    return self._reply(status, answer)
                if kind == "rpc_error":
                    return self._rpc_error(rule, body, payload, calls)

                status, answer = proxy._forward(body)
                previous = proxy._last.get(rule.method) if kind == "duplicate" else None
                proxy._remember(methods, answer)
                if kind == "forward_drop":
                    return self._hang_up()
                if kind == "duplicate" and previous is not None:
                    return self._reply(status, previous)
                if kind == "truncate":
                    return self._truncated(status, answer)
                if kind in ("reorder", "swap_ids", "omit"):
                    answer = self._rework(kind, answer)
                return self._reply(status, answer)

            def _rpc_error(self, rule: Rule, body: bytes, payload: Any, calls: list[Any]) -> None:
                def error(call: Any) -> dict[str, Any]:
                    return {"jsonrpc": "2.0", "id": call.get("id"),
                            "error": {"code": rule.code, "message": rule.message}}

                if isinstance(payload, dict):
                    if rule.forward:
                        proxy._forward(body)
                    return self._reply(200, json.dumps(error(payload)).encode())
                hit = [c for c in calls if c.get("method") == rule.method]
                rest = [c for c in calls if c.get("method") != rule.method]
                answers: dict[Any, Any] = {}
                to_send = calls if rule.forward else rest
                if to_send:
                    _, raw = proxy._forward(json.dumps(to_send).encode())
                    for item in json.loads(raw):
                        answers[item.get("id")] = item
                out = [error(c) if c in hit else answers.get(c.get("id")) for c in calls]
                return self._reply(200, json.dumps([o for o in out if o is not None]).encode())

            def _rework(self, kind: str, answer: bytes) -> bytes:
                items = json.loads(answer)
                if not isinstance(items, list) or len(items) < 2:
                    return answer
                if kind == "reorder":
                    items.reverse()
                elif kind == "swap_ids":
                    items[0]["id"], items[1]["id"] = items[1].get("id"), items[0].get("id")
                else:  # omit
                    items.pop()
                return json.dumps(items).encode()

            def _truncated(self, status: int, answer: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer[: len(answer) // 2])
                    self.wfile.flush()
                except OSError:
                    pass
                self._hang_up()

        return Handler


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true (or ``timeout`` seconds pass); returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return bool(value)
        time.sleep(interval)
