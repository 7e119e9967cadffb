"""``ape sessions ...``: the ``agent-sessions`` command as an Ape plugin (the ``ape_cli_subcommands`` entry point;
install the ``ape`` extra). It runs on the network of Ape's ``--network`` option (passed on as ``--rpc``) and signs
with the Ape account of Ape's ``--account`` option: any kind of Ape account (a keyfile account asks for its
passphrase, or reads ``APE_ACCOUNTS_<alias>_PASSPHRASE``; a hardware wallet asks the device; a test account signs
in memory), always through the account's own ``sign_transaction``: no key is read out of it, written out or passed
on a command line. ``--as``/``--owner``/... take Ape account aliases too, with the same guarantee; a test account
index (``3``, ``TEST::3``) is the same development key as ``anvil:3``.

    ape sessions list --status active --network ethereum:local:foundry
    ape sessions pause 7 --account my-alias

Only Ape loads this module; nothing else in the package imports Ape.
"""

from __future__ import annotations

from typing import Any

import click
from ape.cli import ConnectedProviderCommand, account_option, network_option

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


def _ape_account(alias: str) -> Any:
    """The Ape account ``alias`` (``KeyError`` when there is none). It stays locked: it unlocks itself (prompt,
    passphrase variable, device) when it signs."""
    from ape import accounts

    return accounts.load(alias)


def account_ref(account: Any) -> str:
    """The name the command line knows ``account`` by in this process: its alias, else its address."""
    return str(getattr(account, "alias", None) or account.address)


def forward(args: list[str], *, provider: Any = None, account: Any = None, prog_name: str = "ape sessions") -> None:
    """Run ``agent-sessions ARGS`` in this process (exits with its code): on Ape's node when ``provider`` is given,
    signed by the Ape ``account`` when one is given (unless ``--as`` names another), with the Ape account aliases
    among the account options loaded here and handed over in memory as accounts that sign for themselves."""
    env = Env(Options())
    for i, arg in enumerate(args[:-1]):
        value = args[i + 1]
        if arg in _KEY_FLAGS and not value.isdigit() and not value.lower().startswith(_BUILT_IN):
            try:
                env._keys[value] = _ape_account(value)
            except KeyError:
                raise click.BadParameter(f"no account '{value}': use a test account index (0, TEST::3), an alias "
                                         "from `ape accounts list`, or anvil:N / env:VAR / file:PATH",
                                         param_hint=arg) from None
    command = bool(args) and not args[0].startswith("-")
    extra = ["--rpc", provider_uri(provider)] if provider is not None and command else []
    if account is not None and command and "--as" not in args:
        env._keys[account_ref(account)] = account
        extra += ["--as", account_ref(account)]
    holder = _EnvHolder()
    holder.env = env
    sdk_cli.main(args=[*args, *extra], prog_name=prog_name, obj=holder, standalone_mode=True)


@click.command("sessions", cls=ConnectedProviderCommand, add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@network_option(default=None)  # without --network: Ape's default network, or the one already connected
@account_option(prompt=False)  # without --account: --as, else $AGENT_SESSIONS_KEY, else anvil:0 on a dev chain
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli(provider: Any, account: Any, args: tuple[str, ...]) -> None:
    """Agent Sessions on Ape's network, signed by Ape's --account: the agent-sessions commands (list, pause, ...)."""
    forward(list(args), provider=provider, account=account, prog_name="ape sessions")
