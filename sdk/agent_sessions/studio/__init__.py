"""Session Studio: a local web app over the SDK to watch a fleet of sessions live and, when allowed, act on them.

    agent-sessions studio --config examples/fleet-20.yaml          # or: python -m agent_sessions.studio ...
    agent-sessions studio --rpc http://127.0.0.1:8545 --manager 0x... --allow-actions --dev-key anvil:0

Needs the ``studio`` extra (``pip install 'agent-sessions[studio]'``): Starlette, uvicorn, Jinja2 (and Playwright
for the browser tests). The pages use htmx and uPlot builds shipped inside the package (no CDN).

Importing this package (or ``agent_sessions.studio.command``, which the ``agent-sessions`` command line registers)
loads none of the extra: the web stack is imported when a studio is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ActivityEvent", "FleetView", "ManagerView", "SessionQuery", "Studio", "create_app", "serve"]

_WHERE = {"Studio": "app", "create_app": "app", "ActivityEvent": "fleet", "FleetView": "fleet",
          "ManagerView": "fleet", "SessionQuery": "fleet", "serve": "server"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)
