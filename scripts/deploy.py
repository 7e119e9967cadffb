"""Deploy Agent Sessions on Ape's network: `ape run deploy [--owner 3] [--as 1] [--salt 7] [--json]` is
`agent-sessions deploy` on the node Ape connected to. Safe to run again: the canonical factory and the owner's
manager are reused when they exist.
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
    """Ensure the canonical factory and the owner's manager; print their addresses."""
    forward(["deploy", *args], provider=provider, account=account, prog_name="ape run deploy")
