"""``agent-sessions mcp``: serve one agent key's sessions over the Model Context Protocol (stdio)."""

from __future__ import annotations

import click

from ._app import common, env
from ._output import errors_handled, fail

__all__ = ["mcp"]


@click.command("mcp")
@common
@click.option("--session", "root", metavar="ID", default=None,
              help="Only this session and its descendants (an id or a label).")
@click.option("--owner-powers", is_flag=True,
              help="Also offer pause/resume/revoke tools, signed by --owner-key (default: the agent key).")
@click.option("--owner-key", metavar="KEY", default=None, help="The key that signs owner powers.")
@click.option("--relay", "relay_url", metavar="URL", default=None,
              help="Send execute through this relayer (agent-sessions relay --http): signed by the agent key, "
                   "submitted and paid for by the relayer, so the agent key needs no ETH.")
@click.option("--relay-fee", default="0", show_default=True, metavar="AMOUNT",
              help="ETH paid to the relayer per execute, out of the session (above 0 needs the session's "
                   "maxRelayFee).")
@errors_handled
def mcp(root: str | None, owner_powers: bool, owner_key: str | None, relay_url: str | None,
        relay_fee: str) -> None:
    """Run an MCP server on stdio for the agent key --as (or $AGENT_SESSIONS_KEY; env:VAR and keystore:PATH keep it
    off the command line): tools to see its sessions, preflight and act within them."""
    try:
        from ..mcp.server import build_server
    except ImportError:
        fail("the MCP server needs the mcp extra: pip install 'agent-sessions[mcp]'")
    from ..base import validate as v
    from ..mcp.tools import SessionTools

    if relay_url is not None and not relay_url.startswith(("http://", "https://")):
        fail(f"--relay: {relay_url!r} is not an http(s) URL")
    try:
        fee = v.amount(relay_fee, "--relay-fee", symbol="ETH")
    except ValueError as exc:
        fail(str(exc))
    if fee and relay_url is None:
        fail("--relay-fee needs --relay URL")
    e = env()
    key = e.key()
    manager = e.manager
    tools = SessionTools(manager, key, root=e.session(root, "--session") if root is not None else None,
                         owner_powers=owner_powers, owner_key=e.key(owner_key) if owner_key else None,
                         relay=relay_url, relay_fee=fee)
    build_server(tools).run("stdio")
