"""The ``agent-sessions`` command: one click group, one subcommand per action, all logic in the SDK.

    agent-sessions node start                       # a local Anvil on a free port, recorded for later commands
    agent-sessions deploy                           # canonical factory + the signer's manager (idempotent)
    agent-sessions spawn --config examples/fleet-20.yaml --dry-run
    agent-sessions list --status active --format csv
    agent-sessions inspect 7 --detail full
    agent-sessions update 7 --param per_call_cap=0.075ether --param expiry=72h
    agent-sessions close 7 --json

See ``_env`` for how the chain, keys, manager, sessions and tokens are named.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from typing import Any, Callable

import click
from rich.text import Text

from ..base.models import NATIVE, Status
from ..base.units import format_amount, parse_duration
from ..base.version import __version__
from ._env import Env, Options, record_deployment
from ._output import _EnvHolder, echo_json, errors_handled, fail, make_console, receipt_json

__all__ = ["cli", "main"]

STATUSES = [s.name.lower() for s in Status if s is not Status.NONE]


# ================================================================================================================
# the group and the options every command takes
# ================================================================================================================


class OneLineErrors(click.Group):
    """A group whose usage errors are one line (``Error: Invalid value for '--status': ...``, exit 2) instead of
    click's usage block; ``--help`` shows the usage."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="agent-sessions")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Bounded, revocable on-chain authority for agents: deploy, spawn, list, inspect and manage sessions."""
    ctx.ensure_object(_EnvHolder)


def _set(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        holder = ctx.find_object(_EnvHolder) or ctx.ensure_object(_EnvHolder)
        if holder.env is None:
            holder.env = Env(Options())
        if value not in (None, False, ()):
            setattr(holder.env.options, name, value)
        return value

    return callback


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """--rpc, --config, --chain, --manager, --owner, --as and --json on a command (stored on the context's Env)."""
    options = [
        click.option("--json", "as_json", is_flag=True, expose_value=False, callback=_set("as_json"),
                     help="Print JSON instead of tables."),
        click.option("--as", "signer", metavar="KEY", expose_value=False, callback=_set("signer"),
                     help="Who signs: anvil:N, env:VAR, file:PATH, keystore:PATH or a key name of --config "
                          "(default: $AGENT_SESSIONS_KEY, else anvil:0 on a local dev chain)."),
        click.option("--owner", metavar="ADDRESS|KEY", expose_value=False, callback=_set("owner"),
                     help="The manager owner whose first manager is used (default: the signer)."),
        click.option("--manager", metavar="ADDRESS|NAME", expose_value=False, callback=_set("manager"),
                     help="The manager: an address or a manager name of --config."),
        click.option("--chain", metavar="NAME", expose_value=False, callback=_set("chain"),
                     help="A chain of --config."),
        click.option("--config", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
                     expose_value=False, callback=_set("config"), envvar="AGENT_SESSIONS_CONFIG",
                     help="A fleet spec (YAML) whose names (keys, tokens, managers, chains) may be used."),
        click.option("--rpc", metavar="URL", expose_value=False, callback=_set("rpc"), envvar="AGENT_SESSIONS_RPC",
                     help="JSON-RPC endpoint (default: the node of `agent-sessions node start`, else "
                          "http://127.0.0.1:8545)."),
    ]
    for option in options:
        f = option(f)
    return f


def env() -> Env:
    holder = click.get_current_context().find_object(_EnvHolder)
    assert holder is not None
    if holder.env is None:
        holder.env = Env(Options())
    return holder.env


def _units(e: Env, token: str, amount: int) -> str:
    return e.book.get(token).format(amount)


# ================================================================================================================
# deploy
# ================================================================================================================


@cli.command()
@common
@click.option("--salt", default=None, help="Manager salt (an int, a short text or 32 bytes hex). Default: reuse the "
                                           "owner's first manager, else salt 0.")
@errors_handled
def deploy(salt: str | None) -> None:
    """Ensure the canonical SessionFactory and the owner's SessionManager (--owner, default the signer; signed by the
    owner's key unless --as says otherwise); print their addresses."""
    from ..domain.admin import ensure_manager

    e = env()
    owner = e.owner
    # who pays: --as, else the owner itself when --owner names a key (a manager is deployed by its own owner)
    signer = e.key(e.options.owner) if e.options.owner and not e.options.signer and \
        not e.options.owner.startswith("0x") else e.key()
    deployment = ensure_manager(e.client, owner, sender=signer, salt=int(salt) if salt and salt.isdigit() else salt)
    record_deployment(deployment.chain_id, deployment.to_dict())
    if e.options.as_json:
        echo_json(deployment.to_dict())
        return
    console = make_console()
    for name, value, note in [
        ("chain", str(deployment.chain_id), ""),
        ("owner", deployment.owner, ""),
        ("factory", deployment.factory.address, "deployed" if deployment.factory_created else "existing"),
        ("manager", deployment.manager.address, "deployed" if deployment.manager_created else "existing"),
        ("executor", deployment.executor, ""),
    ]:
        console.print(f"[bold]{name:<9}[/] {value}  [dim]{note}[/]")


# ================================================================================================================
# reading
# ================================================================================================================


@cli.command("list")
@common
@click.option("--status", "statuses", type=click.Choice(STATUSES, case_sensitive=False), multiple=True,
              help="Only sessions in this status (repeat for several).")
@click.option("--label", help="Only sessions with this label.")
@click.option("--agent", metavar="ADDRESS|KEY", help="Only sessions of this agent.")
@click.option("--holder", metavar="ADDRESS|KEY", help="Only sessions whose token this account holds.")
@click.option("--parent", metavar="ID", help="Only children of this session (0: roots).")
@click.option("--open", "only_open", is_flag=True, help="Leave out closed sessions.")
@click.option("--format", "fmt", type=click.Choice(["table", "tree", "json", "csv"]), default="table",
              show_default=True, help="Output format (--json is --format json).")
@click.option("--tree", "as_tree", is_flag=True, help="Draw children under their parents (--format tree).")
@errors_handled
def list_(statuses: tuple[str, ...], label: str | None, agent: str | None, holder: str | None, parent: str | None,
          only_open: bool, fmt: str, as_tree: bool) -> None:
    """List the manager's sessions, with filters."""
    from ..fleet.console import session_tree, sessions_table, to_jsonable

    e = env()
    if as_tree:
        fmt = "tree"
    if e.options.as_json:
        fmt = "json"
    agent_address = e.address(agent, "--agent") if agent else None
    holder_address = e.address(holder, "--holder") if holder else None
    parent_id = (0 if str(parent).strip() == "0" else e.session(parent, "--parent")) if parent is not None else None
    found = e.manager.list_sessions(status=list(statuses) or None, label=label, agent=agent_address,
                                    parent=parent_id, holder=holder_address, closed=False if only_open else None)
    states = [s.state for s in found]
    if fmt == "json":
        echo_json([to_jsonable(s, book=e.book) for s in states])
        return
    if fmt == "csv":
        click.echo(_csv(e, states), nl=False)
        return
    console = make_console()
    title = f"manager {e.manager.address}"
    if fmt == "tree":
        console.print(session_tree(states, book=e.book, now=e.now(), title=title))
    else:
        console.print(sessions_table(states, book=e.book, now=e.now(), title=title))
    console.print(f"{len(states)} session(s)", style="dim")


def _csv(e: Env, states: list[Any]) -> str:
    """One row per session and token: amounts in units (``0.5``) with the token's symbol in its own column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "parent", "label", "status", "closed", "agent", "holder", "expiry", "token", "available",
                     "spent"])
    tokens = {t for s in states for t in s.budgets}
    e.book.prefetch(tokens)
    for s in states:
        budgets = list(s.budgets.items()) or [(None, None)]
        for token, budget in budgets:
            info = e.book.get(token) if token is not None else None
            writer.writerow([
                s.id, s.parent_id, s.label, str(s.status), str(s.closed).lower(), s.agent, s.holder,
                s.expiry.isoformat().replace("+00:00", "Z"),
                info.symbol if info else "",
                format_amount(budget.available, info.decimals, "") if info else "",
                format_amount(budget.spent, info.decimals, "") if info else "",
            ])
    return out.getvalue()


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@click.option("--detail", type=click.Choice(["summary", "full"]), default="summary", show_default=True,
              help="full: also every ancestor's status, and which one stops the session (and why).")
@errors_handled
def inspect(session_ref: str, detail: str) -> None:
    """Show session ID (an id, a label or MANAGER/LABEL): status, agent, holder, timing, budgets."""
    from ..domain.diagnose import ancestors_report
    from ..fleet.console import session_panel, to_jsonable

    e = env()
    sid = e.session(session_ref)
    m = e.manager
    state = m.state(sid)
    guards = m.guards_of(sid)
    children = [s.state for s in m.list_sessions(start=sid + 1, parent=sid)]
    lineage = ancestors_report(m, sid) if detail == "full" else None
    if e.options.as_json:
        data = to_jsonable(state, book=e.book)
        data.update(manager=m.address, guards=guards, children=[c.id for c in children])
        data["remaining"] = {e.book.get(t).symbol: _units(e, t, b.available) for t, b in state.budgets.items()}
        if lineage is not None:
            data["ancestors"] = lineage.to_dict()
        echo_json(data)
        return
    console = make_console()
    console.print(session_panel(state, book=e.book, now=e.now(), guards=guards, children=children))
    if lineage is not None:
        console.print(lineage.describe())


# ================================================================================================================
# acting on one session
# ================================================================================================================


def _report(e: Env, action: str, ids: list[int], receipts: list[Any], extra: dict[str, Any] | None = None,
            lines: list[str] = ()) -> None:
    from ..fleet.console import status_text

    states = e.manager.sessions(ids)
    if e.options.as_json:
        data = {
            "action": action,
            "manager": e.manager.address,
            "sessions": [{"id": s.id, "status": str(s.state.status), "closed": s.state.closed} for s in states],
            "transactions": [receipt_json(r) for r in receipts],
        }
        data.update(extra or {})
        echo_json(data)
        return
    console = make_console()
    for s in states:
        console.print(Text(f"{action} #{s.id}: now ") + status_text(s.state))
    for line in lines:
        console.print(line)
    for r in receipts:
        console.print(f"  tx {r.tx_hash} (block {r.block_number}, {r.gas_used:,} gas)", style="dim")


def _action(name: str, call: str, help_text: str) -> None:
    @cli.command(name, help=help_text)
    @common
    @click.argument("session_ref", metavar="ID")
    @errors_handled
    def command(session_ref: str) -> None:
        e = env()
        sid = e.session(session_ref)
        receipt = getattr(e.manager, call)(sid, sender=e.key())
        _report(e, name, [sid], [receipt])


_action("pause", "pause", "Pause session ID (its descendants stop with it). Controller only.")
_action("resume", "resume", "Resume paused session ID. Controller only.")
_action("revoke", "revoke", "Revoke session ID and its whole subtree in one O(1) transaction; its escrow waits for "
                            "`close`. Controller only.")


def _refunds(e: Env, receipt: Any) -> list[dict[str, Any]]:
    """Where each unspent escrow went: ``EscrowReturned`` (to a session or an address) and ``PayoutDeferred``."""
    out = []
    for ev in e.manager.events(receipt):
        if ev.name == "EscrowReturned":
            a = ev.args
            out.append({"session": a["id"], "token": a["token"], "amount": str(a["amount"]),
                        "amount_units": _units(e, a["token"], a["amount"]),
                        "to_session": a["toSession"] or None, "to": None if a["toSession"] else a["to"],
                        "deferred": False})
        elif ev.name == "PayoutDeferred":
            a = ev.args
            out.append({"session": a["id"], "token": a["token"], "amount": str(a["amount"]),
                        "amount_units": _units(e, a["token"], a["amount"]),
                        "to_session": None, "to": a["payee"], "deferred": True})
    return out


def _refund_lines(refunds: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in refunds:
        if r["deferred"]:
            lines.append(f"  #{r['session']}: {r['amount_units']} owed to {r['to']} (the token refused the payout; "
                         "`claim` it)")
        elif r["to_session"]:
            lines.append(f"  #{r['session']}: {r['amount_units']} back to parent session #{r['to_session']}")
        else:
            lines.append(f"  #{r['session']}: {r['amount_units']} refunded to {r['to']}")
    if not lines:
        lines.append("  nothing to refund (no unspent escrow)")
    return lines


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@errors_handled
def complete(session_ref: str) -> None:
    """Mark session ID done and settle it at once (the agent or a controller; sign with --as); says where the
    unspent escrow went."""
    e = env()
    sid = e.session(session_ref)
    receipt = e.manager.complete(sid, sender=e.key())
    refunds = _refunds(e, receipt)
    _report(e, "complete", [sid], [receipt], {"refunds": refunds}, _refund_lines(refunds))


@cli.command()
@common
@click.argument("session_refs", metavar="ID...", nargs=-1, required=True)
@errors_handled
def close(session_refs: tuple[str, ...]) -> None:
    """Close ended sessions: burn their tokens and return their unspent escrow up the tree (to the nearest open
    ancestor, else the root's holder). Anyone may close. Says where each refund went."""
    e = env()
    ids = list(dict.fromkeys(e.session(r) for r in session_refs))
    receipt = e.manager.close(ids[0], sender=e.key()) if len(ids) == 1 else e.manager.close_many(ids, sender=e.key())
    refunds = _refunds(e, receipt)
    _report(e, "close", ids, [receipt], {"refunds": refunds}, _refund_lines(refunds))


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@click.argument("new_agent", metavar="NEW_AGENT")
@errors_handled
def rotate(session_ref: str, new_agent: str) -> None:
    """Replace the agent key of session ID with NEW_AGENT (an address or a key); the old key stops working at
    once. Controller only."""
    e = env()
    sid = e.session(session_ref)
    address = e.address(new_agent, "NEW_AGENT")
    old = e.manager.state(sid).agent
    receipt = e.manager.rotate_agent(sid, address, sender=e.key())
    _report(e, "rotate", [sid], [receipt], {"previous_agent": old, "agent": address},
            [f"  agent {old} -> {address}"])


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@click.argument("amount", metavar="AMOUNT")
@click.option("--token", default="ETH", show_default=True, help="ETH, an ERC-20 address or a token name of --config.")
@errors_handled
def fund(session_ref: str, amount: str, token: str) -> None:
    """Top up session ID with AMOUNT (`0.5 ether`, `100 USDC`): a root from the signer (an ERC-20 is pulled, so
    approve the manager first), a child from its parent's unspent escrow."""
    e = env()
    sid = e.session(session_ref)
    address = e.token(token)
    value = e.amount(address, amount)
    receipt = e.manager.fund(sid, address, value, sender=e.key())
    shown = _units(e, address, value)
    left = _units(e, address, e.manager.state(sid).budget(address).available)
    _report(e, "fund", [sid], [receipt], {"token": address, "amount": str(value), "amount_units": shown,
                                          "available_units": left},
            [f"  funded {shown}; {left} available"])


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@click.argument("target", metavar="TARGET")
@click.argument("value", metavar="VALUE", default="0")
@click.option("--data", default="0x", show_default=True, help="Calldata (hex).")
@click.option("--caller", metavar="ADDRESS|KEY", default=None, help="Who would send it (default: the agent).")
@errors_handled
def check(session_ref: str, target: str, value: str, data: str, caller: str | None) -> None:
    """Preflight: would session ID's agent calling TARGET with VALUE (`0.1 ether`) pass now? Sends nothing;
    exit 1 with the contract's reason when it would be refused."""
    from ..fleet.console import error_explanation, error_line

    e = env()
    sid = e.session(session_ref)
    target_address = e.address(target, "TARGET")
    wei = e.amount(NATIVE, value, "VALUE")
    who = e.address(caller, "--caller") if caller else None
    result = e.manager.check(sid, target_address, wei, data, caller=who)
    reason = None
    if not result.ok and result.error is not None:
        from ..domain.diagnose import explain_inactive

        explanation = error_explanation(result.error, e.book)
        why = explain_inactive(e.manager, result.error)
        reason = error_line(result.error, e.book) + (f": {explanation}" if explanation else "") + \
            (f" ({why})" if why else "")
    if e.options.as_json:
        echo_json({"session": sid, "target": target_address, "value": str(wei), "value_units": _units(e, NATIVE, wei),
                   "ok": result.ok, "error": type(result.error).__name__ if result.error else None,
                   "reason": reason})
    elif result.ok:
        click.echo(f"ok: session #{sid} may send {_units(e, NATIVE, wei)} to {target_address} now")
    if not result.ok:
        if not e.options.as_json:
            click.echo(f"Error: refused: {reason}", err=True)
        raise SystemExit(1)


@cli.command()
@common
@click.argument("session_ref", metavar="ID")
@click.option("--param", "params", metavar="NAME=VALUE", multiple=True,
              help="per_call_cap, period_allowance (amounts of --token), expiry (72h, an ISO date-time with a zone, "
                   "or unix:SECONDS); repeatable.")
@click.option("--token", default=None, help="The budget whose limits change (ETH, an address or a token name of "
                                            "--config; default ETH).")
@click.option("--expiry", default=None, help="Same as --param expiry=VALUE.")
@click.option("--per-call", default=None, help="Same as --param per_call_cap=VALUE (0 removes the cap).")
@click.option("--per-period", default=None, help="Same as --param period_allowance=VALUE (0 removes it).")
@errors_handled
def update(session_ref: str, params: tuple[str, ...], token: str | None, expiry: str | None, per_call: str | None,
           per_period: str | None) -> None:
    """Change the expiry and/or the per-call cap and period allowance of live session ID. Controller only. A limit
    not given keeps its value."""
    from ..domain.admin import update_session

    known = ("per_call_cap", "period_allowance", "expiry")
    given: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not value.strip():
            raise click.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="--param")
        if name not in known:
            raise click.BadParameter(f"unknown parameter {name!r} (one of: {', '.join(known)})", param_hint="--param")
        given[name] = value.strip()
    for name, value in (("expiry", expiry), ("per_call_cap", per_call), ("period_allowance", per_period)):
        if value is not None:
            given[name] = value
    limits = "per_call_cap" in given or "period_allowance" in given
    if token is not None and not limits:
        raise click.UsageError("--token needs --per-call and/or --per-period")
    if not given:
        raise click.UsageError("nothing to update: give --param NAME=VALUE (or --expiry, --per-call, --per-period)")
    e = env()
    address = e.token(token or "ETH") if limits else None
    expiry_value = None
    if "expiry" in given:
        from ..base.parsing import parse_expiry

        try:
            expiry_value = parse_expiry(given["expiry"])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="expiry") from None
    sid = e.session(session_ref)
    amounts = {k: e.amount(address, given[k], k) for k in ("per_call_cap", "period_allowance")
               if k in given and address is not None}
    receipts = update_session(e.manager, sid, sender=e.key(), expiry=expiry_value, token=address,
                              per_call=amounts.get("per_call_cap"), per_period=amounts.get("period_allowance"),
                              book=e.book)
    state = e.manager.state(sid)
    lines = [f"  expiry {state.expiry.isoformat().replace('+00:00', 'Z')}"]
    extra: dict[str, Any] = {"expiry": int(state.expiry.timestamp())}
    if address is not None:
        b = state.budget(address)
        lines.append(f"  {e.book.get(address).symbol}: per-call cap {_units(e, address, b.per_call_cap)}, period "
                     f"allowance {_units(e, address, b.period_allowance)}")
        extra.update(token=address, per_call_cap=str(b.per_call_cap), period_allowance=str(b.period_allowance))
    _report(e, "update", [sid], receipts, extra, lines)


@cli.command()
@common
@click.argument("token", metavar="TOKEN")
@click.option("--to", "to", metavar="ADDRESS|KEY", default=None, help="Where the tokens go (default: the signer).")
@errors_handled
def claim(token: str, to: str | None) -> None:
    """Claim the payouts of TOKEN owed to the signer (what a token refused to pay it at close)."""
    e = env()
    address = e.token(token, "TOKEN")
    signer = e.key()
    payee = str(signer.address)
    destination = e.address(to, "--to") if to else payee
    amount = e.manager.owed(payee, address)
    receipt = e.manager.claim(address, destination, sender=signer)
    if e.options.as_json:
        echo_json({"action": "claim", "manager": e.manager.address, "payee": payee, "token": address,
                   "to": destination, "amount": str(amount), "amount_units": _units(e, address, amount),
                   "transactions": [receipt_json(receipt)]})
        return
    click.echo(f"claimed {_units(e, address, amount)} owed to {payee}, sent to {destination}")


# ================================================================================================================
# owner-wide switches
# ================================================================================================================


def _switch(name: str, call: str, help_text: str, done: str) -> None:
    @cli.command(name, help=help_text)
    @common
    @errors_handled
    def command() -> None:
        e = env()
        receipt = getattr(e.manager, call)(sender=e.key())
        g = e.manager.global_state()
        if e.options.as_json:
            echo_json({"action": name, "manager": e.manager.address, "paused_all": g.paused_all,
                       "epoch": g.epoch, "transactions": [receipt_json(receipt)]})
            return
        click.echo(f"{done} (manager {e.manager.address}, tx {receipt.tx_hash})")


_switch("pause-all", "pause_all", "Emergency stop: no session of the manager can act until unpause-all. Owner only.",
        "every session of the manager is paused")
_switch("unpause-all", "unpause_all", "Lift pause-all. Owner only.", "pause-all lifted")
_switch("revoke-all", "revoke_all", "Revoke every existing session of the manager in one O(1) transaction; their "
                                    "escrow waits for `close`. Owner only.", "every existing session is revoked")


# ================================================================================================================
# watching and auditing
# ================================================================================================================


@cli.command()
@common
@click.option("--refresh", "--interval", "refresh", default="10s", show_default=True,
              help="Time between refreshes (10s, 1m; bare numbers are seconds).")
@click.option("--once", is_flag=True, help="Draw one frame and exit.")
@click.option("--duration", default=None, help="Stop after this long (30s, 5m).")
@click.option("--all", "include_closed", is_flag=True, help="List closed sessions too.")
@click.option("--all-managers", is_flag=True, help="Every manager of the owner, not only the first.")
@errors_handled
def dashboard(refresh: str, once: bool, duration: str | None, include_closed: bool, all_managers: bool) -> None:
    """A live view of the manager's sessions: status, agent, spent / left per token, expiry, totals. With --json,
    one JSON document per refresh (one line each). Ctrl-C stops it."""
    from ..fleet.console import Dashboard, to_jsonable

    interval = _seconds(refresh, "--refresh")
    stop_after = _seconds(duration, "--duration") if duration is not None else None
    if interval < 0.1:
        raise click.BadParameter("must be at least 0.1 s", param_hint="--refresh")
    e = env()
    from ..domain.admin import find_managers

    managers = find_managers(e.client, e.owner) if all_managers else [e.manager]
    board = Dashboard(managers, refresh=interval, console=make_console(), book=e.book,
                      include_closed=include_closed)
    if not e.options.as_json:
        board.run(once=once, duration=stop_after)
        return
    deadline = None if stop_after is None else time.monotonic() + stop_after
    import json

    try:
        while True:
            now, by_manager = board.snapshot()
            frame = {"chain_time": now, "managers": {
                address: [to_jsonable(s, book=e.book) for s in states
                          if include_closed or not s.closed] for address, states in by_manager.items()}}
            click.echo(json.dumps(frame, default=str))
            if once or (deadline is not None and time.monotonic() + interval > deadline):
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        return


@cli.command()
@common
@click.option("--token", "tokens", multiple=True, help="Also audit this ERC-20 (repeatable).")
@click.option("--allow-surplus", is_flag=True, help="Exit 0 when the only finding is a surplus.")
@errors_handled
def audit(tokens: tuple[str, ...], allow_surplus: bool) -> None:
    """Reconcile the manager's balances with its sessions' escrow, per token; exit 1 unless every token balances
    exactly (--allow-surplus: unless there is a deficit)."""
    from ..domain.audit import audit as run_audit
    from ..fleet.console import audit_table

    e = env()
    report = run_audit(e.manager, tokens=[e.token(t) for t in tokens], book=e.book)
    if e.options.as_json:
        echo_json(report.to_dict())
    else:
        make_console().print(audit_table(report))
    if not (report.solvent if allow_surplus else report.ok):
        raise SystemExit(1)


def _seconds(text: str, param: str) -> float:
    """Seconds from ``10s`` / ``1m`` / a bare number (fractions allowed: ``0.5``)."""
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else float(parse_duration(text))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=param) from None


def main() -> None:
    """Entry point of the ``agent-sessions`` console script and ``python -m agent_sessions``. An unexpected error
    is one line too (``AGENT_SESSIONS_DEBUG=1`` shows the traceback)."""
    import os

    try:
        cli(prog_name="agent-sessions", standalone_mode=True)
    except Exception as exc:  # a bug: say so in one line, keep the traceback for who asks
        if os.environ.get("AGENT_SESSIONS_DEBUG"):
            raise
        fail(f"unexpected {type(exc).__name__}: {exc} (AGENT_SESSIONS_DEBUG=1 shows where)")


def _register() -> None:
    from . import _grant, _node, _relay, _spawn  # noqa: F401  (they add their commands to ``cli``)

    try:
        from ._mcp_command import mcp
    except ImportError:
        pass
    else:
        cli.add_command(mcp)
    try:
        from ..studio.command import studio
    except ImportError:
        pass
    else:
        cli.add_command(studio)


_register()
