"""``agent-sessions grant --from-7715 FILE [--dry-run] [--json]``: ERC-7715 permission requests become sessions.

FILE holds what a dApp sends to ``wallet_requestExecutionPermissions``: a list of PermissionRequests, one request,
or the whole JSON-RPC call (``{"method": ..., "params": [...]}``). Each request becomes one root session of the
manager, opened by its owner (``--as``, as the other commands sign); ``--json`` prints the 7715 responses.
``--dry-run`` validates and prints the plan (with ``--json``, as JSON) and sends nothing. The mapping is
documented in ``agent_sessions.wallet.erc7715``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from ..base.models import NATIVE, SessionParams
from ..wallet.erc7715 import Erc7715Error, from_erc7715, grant as open_sessions, to_erc7715
from ._app import cli, common, env
from ._output import echo_json, errors_handled, make_console

__all__ = ["grant", "read_requests"]

METHOD = "wallet_requestExecutionPermissions"


def read_requests(path: Path) -> list[Any]:
    """The PermissionRequests of FILE (a list, one object, or a JSON-RPC call); ``ValueError`` naming the file."""
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if isinstance(document, dict) and "method" in document:
        if document["method"] != METHOD:
            raise ValueError(f"{path}: method: {document['method']!r} is not {METHOD}")
        document = document.get("params")
    requests = document if isinstance(document, list) else [document]
    if not requests:
        raise ValueError(f"{path}: no permission request")
    return requests


def _plan_row(e: Any, index: int, params: SessionParams, kind: str) -> dict[str, Any]:
    """One planned session, amounts in the token's units."""
    budget = params.budgets[0]
    info = e.book.get(budget.token)
    row = {
        "request": index,
        "type": kind,
        "agent": params.agent,
        "token": "ETH" if budget.token == NATIVE else budget.token,
        "escrow": info.format(budget.amount),
        "expiry": params.expiry_timestamp(),
        "expires_at": datetime.fromtimestamp(params.expiry_timestamp(), tz=timezone.utc).isoformat(),
        "recipients": "any" if params.any_target else [p.target for p in params.permissions],
        "label": params.label,
    }
    if params.period:
        row["period_s"] = params.period
        row["per_period"] = info.format(budget.period_allowance)
    return row


@cli.command("grant")
@common
@click.option("--from-7715", "source", required=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file of ERC-7715 permission requests (wallet_requestExecutionPermissions params).")
@click.option("--dry-run", is_flag=True, help="Validate and print the plan; send nothing.")
@errors_handled
def grant(source: Path, dry_run: bool) -> None:
    """Open one session per ERC-7715 permission request of FILE, as the manager owner."""
    e = env()
    requests = read_requests(source)
    chain_id, now, owner = e.client.chain_id, e.now(), e.manager.owner()
    planned: list[tuple[SessionParams, str, list[str] | None]] = []
    for i, request in enumerate(requests):
        where = f"{source}" + (f"[{i}]" if len(requests) > 1 else "")
        try:
            params = from_erc7715(request, chain_id=chain_id, now=now, owner=owner)
        except Erc7715Error as exc:
            raise ValueError(f"{where}: {exc}") from None
        kind = request["permission"]["type"]
        kind = kind["name"] if isinstance(kind, dict) else kind
        payees = [p.target for p in params.permissions] or None
        planned.append((params, kind, payees))

    if dry_run:
        rows = [_plan_row(e, i, p, kind) for i, (p, kind, _) in enumerate(planned)]
        if e.options.as_json:
            echo_json({"manager": e.manager.address, "owner": owner, "chain_id": chain_id, "sessions": rows})
            return
        console = make_console()
        console.print(f"[bold]plan[/] {len(rows)} session(s) on manager {e.manager.address} (owner {owner}, "
                      f"chain {chain_id}); nothing sent", soft_wrap=True)
        for row in rows:
            limits = f", {row['per_period']} per {row['period_s']} s" if "period_s" in row else ""
            recipients = row["recipients"] if row["recipients"] == "any" else ", ".join(row["recipients"])
            console.print(f"  [{row['request']}] {row['type']}: agent {row['agent']} escrow {row['escrow']}"
                          f"{limits}, expires {row['expires_at']}, pays {recipients}", soft_wrap=True)
        return

    sessions = open_sessions(e.manager, [p for p, _, _ in planned], e.key())
    if e.options.as_json:
        echo_json([to_erc7715(s, payees=payees) for s, (_, _, payees) in zip(sessions, planned)])
        return
    console = make_console()
    for session, (params, kind, _) in zip(sessions, planned):
        budget = params.budgets[0]
        console.print(f"session {session.id} opened: {kind} for {params.agent}, escrow "
                      f"{e.book.get(budget.token).format(budget.amount)}", soft_wrap=True)
