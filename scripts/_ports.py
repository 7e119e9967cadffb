"""Free ports for the local chains the tools and the tests start, which must run beside whatever else is running.

Not a command: `ape run` skips modules whose name starts with `_`.

No fixed port: the operating system picks an unused one (a socket bound to port 0), so two runs at once, or
another user's node on 8545, never meet. A port can still be taken between the pick and our node binding it, and
`LocalAnvil` / `open_chains` adopt a node that already serves the same chain id on a port. So ports are picked at
the last moment, and a node that was adopted rather than started (or could not start) is closed and tried again
on another port. The SDK is imported only by the functions that start nodes: the test suite's root conftest
takes `free_port` from here before anything else is loaded.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent_sessions import ChainSet, FleetSpec, LocalAnvil

__all__ = ["free_port", "free_ports", "listening", "open_fresh_anvil", "open_fresh_chains"]

HOST = "127.0.0.1"


def listening(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = HOST) -> int:
    """A port nothing listens on, chosen by the operating system (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_ports(count: int, skip: Sequence[int] = ()) -> list[int]:
    """``count`` distinct free ports (none of ``skip``)."""
    found: list[int] = []
    while len(found) < count:
        port = free_port()
        if port not in found and port not in skip:
            found.append(port)
    return found


def open_fresh_anvil(chain_id: int = 31337, attempts: int = 5, **options: Any) -> LocalAnvil:
    """A new ``LocalAnvil`` serving ``chain_id`` on a free port, started for this call (never an adopted node:
    a leftover would carry old state and nonces). ``options`` go to ``LocalAnvil``."""
    from agent_sessions import ChainMismatch, LocalAnvil
    from agent_sessions.fleet.chains import AnvilError

    last: Exception | None = None
    for _ in range(attempts):
        anvil = LocalAnvil(chain_id, free_port(), **options)
        try:
            anvil.start()
        except (ChainMismatch, AnvilError) as exc:  # the port was taken meanwhile
            last = exc
            continue
        if not anvil.reused:
            return anvil
        anvil.stop()  # leaves the other node running
        last = RuntimeError(f"another node answered on {anvil.url}")
    raise RuntimeError(f"could not start a fresh Anvil on a free port: {last}")


def open_fresh_chains(spec: FleetSpec, names: Sequence[str], ports: Sequence[int] | None = None,
                      attempts: int = 3) -> ChainSet:
    """``open_chains(spec)`` with the local chains ``names`` moved to free ports (or to ``ports``, one per name,
    when given), each served by a node started for this call (never an adopted one)."""
    from agent_sessions import ChainMismatch, open_chains
    from agent_sessions.fleet.chains import AnvilError

    tried: list[int] = []
    last: Exception | None = None
    for _ in range(attempts if ports is None else 1):
        chosen = list(ports) if ports is not None else free_ports(len(names), skip=tried)
        tried += chosen
        try:
            chains = open_chains(spec, ports=dict(zip(names, chosen)))
        except (ChainMismatch, AnvilError) as exc:  # a port was taken meanwhile
            last = exc
            continue
        if all(chains[n].anvil is not None and not chains[n].anvil.reused for n in names):
            return chains
        chains.close()
        last = RuntimeError(f"another node answered on one of {sorted(chosen)}")
    raise RuntimeError(f"could not start fresh local chains for {list(names)}: {last}")
