"""Anvil nodes of the fault tests (each on a free port the system picks, started for the session or module that
asks, never an adopted one; `ape test`'s own node is not used), and a raw JSON-RPC helper: the tests' own view of
the node, independent of the SDK under test."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from agent_sessions.fleet.chains import LocalAnvil
from scripts._ports import open_fresh_anvil

__all__ = ["fresh_anvil", "rpc"]


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One raw JSON-RPC request (urllib, no SDK involved); raises RuntimeError on a JSON-RPC error."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def fresh_anvil() -> LocalAnvil:
    """A new Anvil (chain 31337) on a free port: never an adopted node, which would carry old state and nonces."""
    return open_fresh_anvil(31337)
