"""``agent-sessions studio``: serve the Session Studio for a fleet spec or for managers at RPC endpoints.

Registered into the ``agent-sessions`` group with ``from agent_sessions.studio.command import studio``; also runs
on its own as ``python -m agent_sessions.studio``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

__all__ = ["studio"]


def _keys(refs: tuple[str, ...], spec: Any) -> list[Any]:
    """LocalAccounts from ``anvil:N`` (a development key), ``env:VAR``, ``file:PATH`` or a key name of the spec."""
    import os
    from pathlib import Path

    from eth_account import Account

    from ..fleet.throughput import dev_keys

    out = []
    for ref in refs:
        kind, _, value = ref.partition(":")
        try:
            if spec is not None and (ref in spec.keys or kind in ("anvil", "env", "file")):
                out.append(spec.resolve_key(ref))
            elif kind == "anvil":
                out.append(dev_keys(1, start=int(value))[0])
            elif kind == "env":
                out.append(Account.from_key(os.environ[value].strip()))
            elif kind == "file":
                out.append(Account.from_key(Path(value).expanduser().read_text().strip()))
            else:
                raise ValueError("unknown key reference")
        except Exception as exc:  # never echo key material: name the reference only
            raise click.BadParameter(f"{ref}: cannot load a key from it ({type(exc).__name__}); use anvil:N, env:VAR, "
                                     "file:PATH or a key name of the spec", param_hint="--dev-key") from None
    return out


@click.command("studio")
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False),
              help="A fleet spec (YAML): every manager of it on every chain it names.")
@click.option("--rpc", "rpcs", multiple=True, metavar="URL", help="A JSON-RPC endpoint (repeatable).")
@click.option("--manager", "managers", multiple=True, metavar="ADDR", help="A manager address (repeatable).")
@click.option("--owner", "owners", multiple=True, metavar="ADDR",
              help="Every manager of this owner under the canonical factory (repeatable).")
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--allow-actions", is_flag=True,
              help="Offer pause, resume, revoke, rotate, fund, close and pause-all (each checked with the contract "
                   "before it is sent).")
@click.option("--dev-key", "dev_keys", multiple=True, metavar="KEY",
              help="DEV MODE: sign actions on this machine with KEY (anvil:N, env:VAR, file:PATH or a key name of "
                   "the spec) when the browser has no wallet. Never with keys that hold real funds.")
@click.option("--activity-blocks", type=int, default=2000, show_default=True,
              help="Fill the activity feed with the events of this many recent blocks at start.")
def studio(config: str | None, rpcs: tuple[str, ...], managers: tuple[str, ...], owners: tuple[str, ...], port: int,
           allow_actions: bool, dev_keys: tuple[str, ...], activity_blocks: int) -> None:
    """Serve the Session Studio: a local web app (read-only unless --allow-actions) showing every session of
    a fleet live: the fleet as a tree and a table, each session's budgets and history, and the activity feed."""
    try:
        from .app import Studio
        from .fleet import FleetView
        from .server import serve
    except ImportError as exc:  # the extra is not installed
        raise click.ClickException(f"the studio needs its extra: pip install 'agent-sessions[studio]' ({exc})")
    from ..base.errors import SessionError

    if config is None and not rpcs:
        raise click.UsageError("give --config FLEET.yaml, or --rpc URL with --manager ADDR / --owner ADDR")
    if config is None and not (managers or owners):
        raise click.UsageError("with --rpc, name the managers: --manager ADDR or --owner ADDR")
    if dev_keys and not allow_actions:
        raise click.UsageError("--dev-key signs actions: add --allow-actions")
    try:
        if config is not None:
            view = FleetView.from_spec(config)
        else:
            view = FleetView.from_rpc(list(rpcs), managers=managers, owners=owners)
    except SessionError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        keys = _keys(dev_keys, view.spec)
        view.load()
        if activity_blocks:
            view.backfill_activity(activity_blocks)
    except SessionError as exc:
        view.close()
        raise click.ClickException(str(exc)) from None
    except BaseException:
        view.close()  # stops the local chains this studio started
        raise
    if not view.managers:
        click.echo("warning: no manager found (none deployed at the given addresses, for the given owners or for "
                   "the spec's managers): nothing to show", err=True)
    app_studio = Studio(view, allow_actions=allow_actions, dev_keys=keys)
    view.start()

    def ready(url: str) -> None:
        click.echo(f"Session Studio on {url}  ({view.total()} sessions, {len(view.managers)} managers, "
                   f"{'actions ON' if allow_actions else 'read-only'})")
        if app_studio.dev_mode:
            click.secho("DEV MODE: actions are signed here with " + ", ".join(k.address for k in keys),
                        fg="red", bold=True, err=True)
        sys.stdout.flush()

    try:
        serve(app_studio, port, ready=ready)
    except OSError as exc:  # the port is taken
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); --port 0 picks a free port")
    finally:
        view.close()
