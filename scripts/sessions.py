"""Manage the sessions of a manager: list, inspect, pause, resume, revoke, rotate, update, complete, close,
claim payouts a token refused at close, watch them live, audit the escrow.

    ape run sessions list --status active --json
    ape run sessions inspect 7
    ape run sessions pause 7
    ape run sessions update 7 --expiry 72h --token ETH --per-call 0.1 --per-period 1
    ape run sessions dashboard
    ape run sessions audit
    ape run sessions claim 0xTOKEN --to 0xELSEWHERE

Every command takes `--manager ADDRESS` (default: the owner's first manager, found through the chain's
canonical factory), `--owner` (default: test account 0) and `--network` (default: the local Anvil; run
`make node` first to keep state between commands). Transactions are signed by `--as` (default: the owner).
A contract error prints its typed message (`BudgetExceeded(session=7, ...)`) and exits 1; bad arguments exit 2.
"""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand
from rich.text import Text

from agent_sessions import Status
from agent_sessions.admin import find_managers, update_session
from agent_sessions.audit import audit as run_audit
from agent_sessions.console import (
    Dashboard,
    audit_table,
    session_panel,
    session_tree,
    sessions_table,
    status_text,
    to_jsonable,
)
from scripts._cli import (
    ACCOUNT,
    ADDRESS,
    AMOUNT,
    EXPIRY,
    TOKEN,
    Env,
    echo_json,
    errors_handled,
    json_option,
    make_console,
    owner_option,
)

SESSION_ID = click.IntRange(min=1)
STATUSES = [s.name.lower() for s in Status if s is not Status.NONE]


def common_options(f: Any) -> Any:
    """--manager, --owner and --as, on every subcommand."""
    f = click.option("--as", "signer", type=ACCOUNT, default=None,
                     help="Who signs: a test account index, an alias or their address (default: the owner).")(f)
    f = owner_option(f)
    f = click.option("--manager", "manager", type=ADDRESS, default=None,
                     help="The manager's address (default: the owner's first manager).")(f)
    return f


def env(provider: Any, owner: Any, manager: Any, signer: Any = None) -> Env:
    return Env(provider, owner, manager, signer)


@click.group()
def cli() -> None:
    """Manage the sessions of a manager."""


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------


@cli.command("list", cls=ConnectedProviderCommand)
@common_options
@click.option("--status", "statuses", type=click.Choice(STATUSES, case_sensitive=False), multiple=True,
              help="Only sessions in this status (repeat for several).")
@click.option("--label", help="Only sessions with this label.")
@click.option("--agent", type=ADDRESS, help="Only sessions of this agent.")
@click.option("--parent", type=click.IntRange(min=0), help="Only children of this session (0: roots).")
@click.option("--holder", type=ADDRESS, help="Only sessions whose token this account holds.")
@click.option("--open", "only_open", is_flag=True, help="Leave out closed sessions.")
@click.option("--tree", "as_tree", is_flag=True, help="Draw children under their parents.")
@json_option
@errors_handled
def list_(provider, manager, owner, signer, statuses, label, agent, parent, holder, only_open, as_tree, as_json):
    """List sessions, with filters."""
    e = env(provider, owner, manager, signer)
    found = e.manager.list_sessions(status=statuses or None, label=label, agent=agent, parent=parent,
                                    holder=holder, closed=False if only_open else None)
    states = [s.state for s in found]
    if as_json:
        echo_json([to_jsonable(s, book=e.book) for s in states])
        return
    now = e.now()
    console = make_console()
    if as_tree:
        console.print(session_tree(states, book=e.book, now=now, title=f"manager {e.manager.address}"))
    else:
        console.print(sessions_table(states, book=e.book, now=now, title=f"manager {e.manager.address}"))
    console.print(f"{len(states)} session(s)", style="dim")


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.argument("session_id", metavar="ID", type=SESSION_ID)
@json_option
@errors_handled
def inspect(provider, manager, owner, signer, session_id, as_json):
    """Show everything about session ID: status, agent, holder, timing, every budget, guards, children."""
    e = env(provider, owner, manager, signer)
    m = e.manager
    state = m.state(session_id)
    guards = m.guards_of(session_id)
    children = [s.state for s in m.list_sessions(start=session_id + 1, parent=session_id)]
    if as_json:
        data = to_jsonable(state, book=e.book)
        data.update(manager=m.address, guards=guards, children=[c.id for c in children])
        echo_json(data)
        return
    make_console().print(session_panel(state, book=e.book, now=e.now(), guards=guards, children=children))


# ---------------------------------------------------------------------------------------------------------
# Acting (controllers; `complete` also the agent; `close` anyone)
# ---------------------------------------------------------------------------------------------------------


def _report(e: Env, action: str, session_ids: list[int], receipts: list[Any], as_json: bool) -> None:
    states = e.manager.sessions(session_ids)
    if as_json:
        echo_json({
            "action": action,
            "manager": e.manager.address,
            "sessions": [{"id": s.id, "status": str(s.state.status), "closed": s.state.closed} for s in states],
            "transactions": [{"hash": r.tx_hash, "block": r.block_number, "gas_used": r.gas_used} for r in receipts],
        })
        return
    console = make_console()
    for s in states:
        console.print(Text(f"{action} #{s.id}: now ") + status_text(s.state))
    for r in receipts:
        console.print(f"  tx {r.tx_hash} (block {r.block_number}, {r.gas_used:,} gas)", style="dim")


def _action(name: str, help_text: str, call: str) -> None:
    """A subcommand `name ID` that sends `manager.<call>(ID, sender=--as)`."""

    @cli.command(name, cls=ConnectedProviderCommand, help=help_text)
    @common_options
    @click.argument("session_id", metavar="ID", type=SESSION_ID)
    @json_option
    @errors_handled
    def command(provider, manager, owner, signer, session_id, as_json):
        e = env(provider, owner, manager, signer)
        receipt = getattr(e.manager, call)(session_id, sender=e.sender())
        _report(e, name, [session_id], [receipt], as_json)


_action("pause", "Pause session ID (and, through it, its descendants). Controller only.", "pause")
_action("resume", "Resume paused session ID. Controller only.", "resume")
_action("revoke", "Revoke session ID and its whole subtree (O(1)); its escrow waits for `close`. Controller only.",
        "revoke")
_action("complete", "Mark session ID done and settle it at once (agent or controller; sign with --as).",
        "complete")


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.argument("session_ids", metavar="ID...", type=SESSION_ID, nargs=-1, required=True)
@json_option
@errors_handled
def close(provider, manager, owner, signer, session_ids, as_json):
    """Close ended sessions: burn their tokens, return their unspent escrow up the tree. Anyone may close;
    with several IDs, already closed ones are skipped."""
    e = env(provider, owner, manager, signer)
    ids = list(dict.fromkeys(session_ids))
    if len(ids) == 1:
        receipt = e.manager.close(ids[0], sender=e.sender())
    else:
        receipt = e.manager.close_many(ids, sender=e.sender())
    _report(e, "close", ids, [receipt], as_json)


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.argument("token", metavar="TOKEN", type=TOKEN)
@click.option("--to", "to", type=ADDRESS, default=None,
              help="Where the tokens go (default: the signer; name another address if the token blocks it).")
@json_option
@errors_handled
def claim(provider, manager, owner, signer, token, to, as_json):
    """Claim the payouts of TOKEN (an ERC-20 address) owed to the signer: what the token refused to pay it
    when its sessions were closed (a blocklist, a pause)."""
    e = env(provider, owner, manager, signer)
    payee = e.signer.address
    to = to or payee
    amount = e.manager.owed(payee, token)
    receipt = e.manager.claim(token, to, sender=e.sender())
    info = e.book.get(token)
    if as_json:
        echo_json({"action": "claim", "manager": e.manager.address, "payee": payee, "token": token, "to": to,
                   "amount": str(amount), "transactions": [
                       {"hash": receipt.tx_hash, "block": receipt.block_number, "gas_used": receipt.gas_used}]})
        return
    from agent_sessions.units import format_amount

    console = make_console()
    console.print(f"claimed {format_amount(amount, info.decimals, info.symbol)} owed to {payee}, sent to {to}")
    console.print(f"  tx {receipt.tx_hash} (block {receipt.block_number}, {receipt.gas_used:,} gas)", style="dim")


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.argument("session_id", metavar="ID", type=SESSION_ID)
@click.argument("new_agent", metavar="NEW_AGENT", type=ADDRESS)
@json_option
@errors_handled
def rotate(provider, manager, owner, signer, session_id, new_agent, as_json):
    """Replace the agent key of session ID with NEW_AGENT (an address or an account); the old key stops
    working in the same block. Controller only."""
    e = env(provider, owner, manager, signer)
    receipt = e.manager.rotate_agent(session_id, new_agent, sender=e.sender())
    _report(e, "rotate", [session_id], [receipt], as_json)


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.argument("session_id", metavar="ID", type=SESSION_ID)
@click.option("--expiry", type=EXPIRY, help="New expiry: a duration from now (72h, 1d12h) or an ISO date/time.")
@click.option("--token", type=TOKEN, help="The budget whose limits change: ETH or an ERC-20 address.")
@click.option("--per-call", type=AMOUNT, help="New per-call cap in the token's units (0 removes it).")
@click.option("--per-period", type=AMOUNT, help="New allowance per period in the token's units (0 removes it).")
@json_option
@errors_handled
def update(provider, manager, owner, signer, session_id, expiry, token, per_call, per_period, as_json):
    """Change the expiry and/or the limits of one budget of live session ID. Controller only."""
    if expiry is None and token is None and per_call is None and per_period is None:
        raise click.UsageError("nothing to update: give --expiry and/or --token with --per-call/--per-period")
    if (per_call is not None or per_period is not None) and token is None:
        raise click.UsageError("--per-call/--per-period need --token (ETH or an ERC-20 address)")
    if token is not None and per_call is None and per_period is None:
        raise click.UsageError("--token needs --per-call and/or --per-period")
    e = env(provider, owner, manager, signer)
    receipts = update_session(e.manager, session_id, sender=e.sender(), expiry=expiry, token=token,
                              per_call=per_call, per_period=per_period, book=e.book)
    _report(e, "update", [session_id], receipts, as_json)


# ---------------------------------------------------------------------------------------------------------
# Watching
# ---------------------------------------------------------------------------------------------------------


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.option("--once", is_flag=True, help="Draw one frame and exit.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True,
              help="Seconds between refreshes.")
@click.option("--duration", type=click.FloatRange(min=0), default=None, help="Stop after this many seconds.")
@click.option("--all", "include_closed", is_flag=True, help="List closed sessions too.")
@click.option("--all-managers", is_flag=True, help="Every manager of the owner, not only the first.")
@errors_handled
def dashboard(provider, manager, owner, signer, once, interval, duration, include_closed, all_managers):
    """A live view of the sessions: status, agent, spent / left per token, calls, expiry, children under
    their parents, totals. Ctrl-C stops it."""
    e = env(provider, owner, manager, signer)
    managers = find_managers(e.client, owner.address) if all_managers else [e.manager]
    Dashboard(managers, refresh=interval, console=make_console(), book=e.book,
              include_closed=include_closed).run(once=once, duration=duration)


@cli.command(cls=ConnectedProviderCommand)
@common_options
@click.option("--token", "tokens", type=TOKEN, multiple=True, help="Also audit this ERC-20 (repeatable).")
@click.option("--allow-surplus", is_flag=True,
              help="Exit 0 when the only finding is a surplus (tokens sent straight to the manager).")
@json_option
@errors_handled
def audit(provider, manager, owner, signer, tokens, allow_surplus, as_json):
    """Reconcile the manager's balances with its sessions' escrow, per token; the executor must hold nothing.
    Exits 1 unless every token balances exactly (--allow-surplus: unless there is a deficit or executor
    balance)."""
    e = env(provider, owner, manager, signer)
    report = run_audit(e.manager, tokens=tokens, book=e.book)
    if as_json:
        echo_json(report.to_dict())
    else:
        make_console().print(audit_table(report))
    passed = report.solvent if allow_surplus else report.ok
    if not passed:
        raise SystemExit(1)
