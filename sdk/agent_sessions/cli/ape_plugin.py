"""``ape sessions ...``: the ``agent-sessions`` command as an Ape plugin (the ``ape_cli_subcommands`` entry point;
install the ``ape`` extra). It runs on the network Ape connects to (``--network``, passed on as ``--rpc``), and
``--as``/``--owner`` take Ape's accounts as well: a test account index (``3``, ``TEST::3``) is the same
development key, and the alias of an account of ``ape accounts list`` is unlocked in this process with
``APE_ACCOUNTS_<alias>_PASSPHRASE`` or a prompt; the key stays in memory, it is never written out or passed on a
command line.

    ape sessions list --status active --network ethereum:local:foundry
    ape sessions pause 7 --as my-alias

Only Ape loads this module; nothing else in the package imports Ape.
"""

from __future__ import annotations

import os
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from . import cli as sdk_cli
from ._env import Env, Options
from ._output import _EnvHolder

__all__ = ["cli", "forward", "provider_uri"]

_KEY_FLAGS = ("--as", "--owner", "--agent", "--holder", "--to", "--caller", "--owner-key")
_BUILT_IN = ("anvil:", "env:", "file:", "keystore:", "test::", "0x")


def provider_uri(provider: Any) -> str:
    """The JSON-RPC URL of the node behind Ape's connected ``provider``."""
    uri = getattr(provider, "http_uri", None) or getattr(provider, "uri", None)
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise click.ClickException(f"the network's provider has no http(s) URL ({uri!r})")
    return uri


def _ape_account_key(alias: str) -> Any:
    """The signing key of the Ape account ``alias``, unlocked in memory (``KeyError`` when there is none)."""
    from ape import accounts
    from eth_account import Account

    account = accounts.load(alias)
    keyfile = getattr(account, "keyfile", None)
    if keyfile is None:
        raise click.ClickException(f"'{alias}' ({type(account).__name__}) cannot sign locally")
    passphrase = os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE")
    if passphrase is None:
        passphrase = click.prompt(f"Passphrase of '{alias}'", hide_input=True, err=True)
    try:
        return Account.from_key(Account.decrypt(keyfile, passphrase))
    except ValueError as exc:
        raise click.ClickException(f"cannot unlock '{alias}': {exc}") from None


def forward(args: list[str], *, provider: Any = None, prog_name: str = "ape sessions") -> None:
    """Run ``agent-sessions ARGS`` in this process (exits with its code), on Ape's node when ``provider`` is given,
    with the Ape account aliases among the account options unlocked here and handed over in memory."""
    env = Env(Options())
    for i, arg in enumerate(args[:-1]):
        value = args[i + 1]
        if arg in _KEY_FLAGS and not value.isdigit() and not value.lower().startswith(_BUILT_IN):
            try:
                env._keys[value] = _ape_account_key(value)
            except KeyError:
                raise click.BadParameter(f"no account '{value}': use a test account index (0, TEST::3), an alias "
                                         "from `ape accounts list`, or anvil:N / env:VAR / file:PATH",
                                         param_hint=arg) from None
    holder = _EnvHolder()
    holder.env = env
    extra = ["--rpc", provider_uri(provider)] if provider is not None and args and not args[0].startswith("-") else []
    sdk_cli.main(args=[*args, *extra], prog_name=prog_name, obj=holder, standalone_mode=True)


@click.command("sessions", cls=ConnectedProviderCommand, add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli(provider: Any, args: tuple[str, ...]) -> None:
    """Agent Sessions on Ape's network: the agent-sessions commands (list, inspect, pause, ...)."""
    forward(list(args), provider=provider, prog_name="ape sessions")
