"""``SessionTools`` on the official MCP SDK (``mcp`` on PyPI): one ``MCPServer`` tool per method, typed arguments
with descriptions (the JSON schemas clients see), a ``Refused`` turned into a tool error whose text is the reason.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ..base.errors import SessionError
from ..base.models import NATIVE
from ..base.version import __version__
from .tools import SessionTools

__all__ = ["build_server"]

SessionId = Annotated[int, Field(ge=1, description="Session id (a positive integer)")]
Address = Annotated[str, Field(description="0x address (40 hex digits)")]
Value = Annotated[str, Field(description="ETH with a unit or in ETH: '0.1 ether', '0.1', '100 gwei'")]
Hex = Annotated[str, Field(description="Calldata as 0x hex ('0x' for a plain transfer)")]
Token = Annotated[str, Field(description="'ETH' or the ERC-20's 0x address")]
TokenAmount = Annotated[str, Field(description="Amount in the token's units: '12.5' (or '0.5 ether' for ETH)")]

INSTRUCTIONS = (
    "Tools for an agent acting through Agent Sessions: bounded, revocable on-chain authority. Start with "
    "check_session_inventory to see your sessions and what is left; preflight before execute. A refused action "
    "returns the contract's reason and sends nothing."
)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def build_server(tools: SessionTools) -> MCPServer:
    server = MCPServer("agent-sessions", instructions=INSTRUCTIONS, version=__version__)

    def run(method: Any, *args: Any, **kwargs: Any) -> str:
        try:
            return _json(method(*args, **kwargs))
        except SessionError as exc:  # Refused and anything typed the SDK raised: the reason, one line
            raise ToolError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        except ValueError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(description="List the sessions this agent key acts for (within its subtree), with status, expiry "
                             "and what is left per token.")
    def check_session_inventory() -> str:
        return run(tools.check_session_inventory)

    @server.tool(description="Everything about one session: status, budgets left and spent, limits, calls this "
                             "period, checkpoint; if it cannot act, which session of its lineage stops it and why.")
    def session_status(session: SessionId) -> str:
        return run(tools.session_status, session)

    @server.tool(description="Ask the contract whether execute(session, target, value, data) would pass right now. "
                             "Sends nothing. Answers ok, or the reason it would be refused.")
    def preflight(session: SessionId, target: Address, value: Value = "0", data: Hex = "0x") -> str:
        return run(tools.preflight, session, target, value, data)

    execute_description = ("Call target with value (ETH) and calldata from the session. The contract's check runs "
                           "first: a refused call is explained (e.g. BudgetExceeded with what was asked and what "
                           "is left) and nothing is sent.")
    if tools.relay:
        execute_description += (
            f" Goes through a relayer ({tools.relay}): signed with the agent key (no ETH needed for gas) and "
            f"submitted by the relayer, with a relay fee of {tools._fmt(NATIVE, tools.relay_fee)} paid from the "
            "session (a fee above 0 needs the session's maxRelayFee, set by a controller); the relayer's refusal "
            "(e.g. RelayFeeAboveCap, NonceUsed) is explained.")

    @server.tool(description=execute_description)
    def execute(session: SessionId, target: Address, value: Value = "0", data: Hex = "0x") -> str:
        return run(tools.execute, session, target, value, data)

    @server.tool(description="Pay an amount of a token (ETH or an ERC-20) from the session's escrow to an address. "
                             "Dry-run first: a refusal is explained and nothing is sent.")
    def transfer_token(session: SessionId, token: Token, to: Address, amount: TokenAmount) -> str:
        return run(tools.transfer_token, session, token, to, amount)

    @server.tool(description="Swap amount_in of token_in for at least min_amount_out of token_out through target "
                             "(a DEX the session may call) with calldata; the manager approves, calls and resets.")
    def swap(session: SessionId, token_in: Token, amount_in: TokenAmount, token_out: Token,
             min_amount_out: TokenAmount, target: Address, data: Hex) -> str:
        return run(tools.swap, session, token_in, amount_in, token_out, min_amount_out, target, data)

    @server.tool(description="Open a child session for a sub-agent, its ETH budget reserved out of the parent's "
                             "unspent budget. expires: a duration ('24h') or an ISO date-time with a zone; default "
                             "the parent's expiry.")
    def spawn_child(parent: SessionId, agent: Address, budget: Value,
                    expires: Annotated[str, Field(description="'24h', '2030-01-31T12:00:00Z' or '' for the "
                                                              "parent's expiry")] = "",
                    label: Annotated[str, Field(max_length=31, description="A short label")] = "") -> str:
        return run(tools.spawn_child, parent, agent, budget, expires, label)

    @server.tool(description="Anchor the agent's off-chain state on-chain: a 32-byte root (0x + 64 hex digits) and "
                             "a task counter that never decreases.")
    def checkpoint(session: SessionId, root: Annotated[str, Field(description="0x + 64 hex digits")],
                   task_count: Annotated[int, Field(ge=0, description="Tasks done so far")]) -> str:
        return run(tools.checkpoint, session, root, task_count)

    @server.tool(description="The session's calls, token transfers, swaps and relay fees, oldest first, amounts "
                             "in units.")
    def spend_history(session: SessionId,
                      limit: Annotated[int, Field(ge=1, le=1000, description="At most this many")] = 50) -> str:
        return run(tools.spend_history, session, limit)

    if tools.owner_powers:
        @server.tool(description="Owner power: pause a session (and with it its descendants).")
        def pause_session(session: SessionId) -> str:
            return run(tools.pause, session)

        @server.tool(description="Owner power: resume a paused session.")
        def resume_session(session: SessionId) -> str:
            return run(tools.resume, session)

        @server.tool(description="Owner power: revoke a session and its whole subtree.")
        def revoke_session(session: SessionId) -> str:
            return run(tools.revoke, session)

    return server
