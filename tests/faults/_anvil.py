"""Anvil nodes of the fault tests (ports 8642-8649; `ape test` itself runs on APE_FOUNDRY_HOST, 8641), and a raw
JSON-RPC helper: the tests' own view of the node, independent of the SDK under test."""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any

from agent_sessions.chains import LocalAnvil

__all__ = ["PORTS", "fresh_anvil", "rpc"]

PORTS = range(8642, 8650)


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One raw JSON-RPC request (urllib, no SDK involved); raises RuntimeError on a JSON-RPC error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def fresh_anvil(port: int) -> LocalAnvil:
    """A new Anvil on ``port`` (never an adopted one: a leftover node would carry old state and nonces)."""
    if port not in PORTS:
        raise ValueError(f"the fault tests use ports {PORTS.start}-{PORTS.stop - 1}, not {port}")
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken: a leftover Anvil? (the fault tests own 8642-8649)")
    anvil = LocalAnvil(31337, port).start()
    assert not anvil.reused
    return anvil
