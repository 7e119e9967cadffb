"""Session Studio: a local web app over the SDK to watch a fleet of sessions live and, when allowed, act on them.

    agent-sessions studio --config examples/fleet-20.yaml          # or: python -m agent_sessions.studio ...
    agent-sessions studio --rpc http://127.0.0.1:8545 --manager 0x... --allow-actions --dev-key anvil:0

Needs the ``studio`` extra (``pip install 'agent-sessions[studio]'``): Starlette, uvicorn, Jinja2 (and Playwright
for the browser tests). The pages use htmx and uPlot builds shipped inside the package (no CDN).
"""

from .app import Studio, create_app
from .fleet import ActivityEvent, FleetView, ManagerView, SessionQuery

__all__ = ["ActivityEvent", "FleetView", "ManagerView", "SessionQuery", "Studio", "create_app", "serve"]


def serve(*args, **kwargs):  # type: ignore[no-untyped-def]
    """``server.serve``, imported on use (uvicorn loads only when a server starts)."""
    from .server import serve as _serve

    return _serve(*args, **kwargs)
