"""Manage the sessions of a manager on Ape's network: `ape run sessions VERB ...` is `agent-sessions VERB ...`
with `--rpc` set to the node Ape connected to (`--network`), signed by Ape's `--account` (any Ape account, through
its own signing) and Ape's account aliases usable for `--as`/`--owner`.

    ape run sessions list --status active --json
    ape run sessions inspect 7 --detail full
    ape run sessions update 7 --expiry 72h --per-call 0.1 --per-period 1
    ape run sessions close 7 8 9

`agent-sessions --help` lists the verbs; all logic lives in `agent_sessions.cli`.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand, account_option, network_option

from scripts._cli import forward


@click.command(cls=ConnectedProviderCommand, add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@network_option(default=None)
@account_option(prompt=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli(provider, account, args):
    """Manage the sessions of a manager (`agent-sessions` on Ape's network)."""
    forward(list(args), provider=provider, account=account, prog_name="ape run sessions")
