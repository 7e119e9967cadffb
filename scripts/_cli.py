"""Glue between Ape's command line and the `agent-sessions` command, which does all the work: `ape run
deploy|spawn|sessions` forward their arguments to it, as the `ape sessions` plugin does
(`agent_sessions.cli.ape_plugin`).

Not a command: `ape run` skips modules whose name starts with `_`.
"""

from __future__ import annotations

from agent_sessions.cli.ape_plugin import forward, provider_uri

__all__ = ["forward", "provider_uri"]
