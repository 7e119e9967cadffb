"""Deploy Agent Sessions on a chain: the canonical SessionFactory (at its deterministic address; deployed only if
missing) and the owner's SessionManager (reused if the owner has one). Safe to run again.

    ape run deploy                      # local Anvil, test account 0 as owner
    ape run deploy --owner 3 --json
    ape run deploy --network ethereum:sepolia:node --owner my-alias

On the local network Ape starts a throw-away Anvil unless one is running at the configured host: run
`make node` first to keep the deployment between commands.
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand

from agent_sessions.admin import ensure_manager
from scripts._cli import ACCOUNT, Env, echo_json, errors_handled, json_option, make_console, owner_option


@click.command(cls=ConnectedProviderCommand)
@owner_option
@click.option("--as", "signer", type=ACCOUNT, default=None, help="Who pays for the deployment (default: the owner).")
@click.option("--salt", default=None,
              help="Manager salt (an int, a short text or 32 bytes hex). Default: reuse the owner's first manager, "
                   "else salt 0.")
@json_option
@errors_handled
def cli(provider, owner, signer, salt, as_json):
    """Ensure the canonical factory and the owner's manager; print their addresses."""
    e = Env(provider, owner, signer=signer)
    if salt is not None and salt.isdigit():
        salt = int(salt)
    deployment = ensure_manager(e.client, owner.address, sender=e.sender(), salt=salt)
    if as_json:
        echo_json(deployment.to_dict())
        return
    console = make_console()
    rows = [
        ("chain", str(deployment.chain_id), ""),
        ("owner", deployment.owner, ""),
        ("factory", deployment.factory.address, "deployed" if deployment.factory_created else "existing"),
        ("manager", deployment.manager.address, "deployed" if deployment.manager_created else "existing"),
        ("executor", deployment.executor, ""),
    ]
    for name, value, note in rows:
        console.print(f"[bold]{name:<9}[/] {value}  [dim]{note}[/]")
