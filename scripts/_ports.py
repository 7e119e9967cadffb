"""Local chains on free ports for the demo and the benchmark, which must run beside whatever else is running.

Not a command: `ape run` skips modules whose name starts with `_`.

A port that looked free can be taken before our node binds it (another tool starting its own), and
`open_chains` adopts a node that already serves the same chain id on a port. So ports are picked at the last
moment, and a chain set that did not start fresh nodes on all of them is closed and tried again elsewhere.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence

from agent_sessions import ChainMismatch, ChainSet, FleetSpec, open_chains
from agent_sessions.chains import AnvilError

__all__ = ["free_ports", "open_fresh_chains"]


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_ports(count: int, candidates: Iterable[int], skip: Iterable[int] = ()) -> list[int]:
    """The first ``count`` ports of ``candidates`` (not in ``skip``) nothing listens on."""
    skipped = set(skip)
    found = [p for p in candidates if p not in skipped and not listening(p)][:count]
    if len(found) < count:
        raise RuntimeError(f"need {count} free ports, found {len(found)} in {list(candidates)}")
    return found


def open_fresh_chains(spec: FleetSpec, names: Sequence[str], candidates: Sequence[int],
                      attempts: int = 3) -> ChainSet:
    """``open_chains(spec)`` with the local chains ``names`` moved to free ports of ``candidates``, each served by
    a node started for this call (never an adopted one)."""
    tried: set[int] = set()
    last: Exception | None = None
    for _ in range(attempts):
        ports = dict(zip(names, free_ports(len(names), candidates, skip=tried)))
        tried |= set(ports.values())
        try:
            chains = open_chains(spec, ports=ports)
        except (ChainMismatch, AnvilError) as exc:  # a port was taken meanwhile
            last = exc
            continue
        if all(chains[n].anvil is not None and not chains[n].anvil.reused for n in names):
            return chains
        chains.close()
        last = RuntimeError(f"another node answered on one of {sorted(ports.values())}")
    raise RuntimeError(f"could not start fresh local chains on {list(candidates)}: {last}")
