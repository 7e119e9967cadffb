"""A Model Context Protocol server for one agent key: its sessions as tools an AI client can call.

    agent-sessions mcp --rpc http://127.0.0.1:8545 --manager 0x... --as env:AGENT_KEY [--session 7]

Tools (each with a JSON schema and a description): ``check_session_inventory``, ``session_status``,
``preflight``, ``execute``, ``transfer_token``, ``swap``, ``spawn_child``, ``checkpoint``, ``spend_history``; with
``--owner-powers`` also ``pause_session``, ``resume_session``, ``revoke_session``. Amounts take units
(``"0.5 ether"``, ``"100"`` of a token in its own units). A refused action answers the contract's reason in words
and sends nothing. ``SessionTools`` holds the logic and needs no MCP package; ``build_server`` (the ``mcp`` extra)
wires it to the official SDK's ``MCPServer`` on stdio.
"""

from .tools import Refused, SessionTools

__all__ = ["Refused", "SessionTools", "build_server"]


def build_server(tools: SessionTools):  # noqa: ANN201 - the MCP SDK's server type, imported lazily
    """An ``MCPServer`` exposing ``tools`` (needs the ``mcp`` extra)."""
    from .server import build_server as build

    return build(tools)
