"""The ``agent-sessions`` command line (click): deploy, spawn, list, inspect and manage sessions, run a local
node, audit the escrow, and (with the ``mcp`` extra) serve an agent's session over the Model Context Protocol.

It sits on top of the SDK and adds no logic of its own: ``agent_sessions.domain.admin``, ``.audit``, ``.console``,
``.fleet`` and ``.tokens`` do the work.
"""

from ._app import cli, main

__all__ = ["cli", "main"]
