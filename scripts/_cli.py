"""Glue between Ape's command line (its network connection, its accounts) and the `agent-sessions` command, which
does all the work: `ape run deploy|spawn|sessions` forward their arguments to it.

Not a command: `ape run` skips modules whose name starts with `_`.

- The chain is the node Ape connected to (`--network`), passed on as `--rpc`.
- Accounts: a test account index (`3`, `TEST::3`), `anvil:N`, `env:VAR`, `file:PATH`, `keystore:PATH`, or the
  alias of an account of `ape accounts list`, unlocked in this process with `APE_ACCOUNTS_<alias>_PASSPHRASE` or a
  prompt (the key stays in memory: it is never written out or passed on the command line).
"""

from __future__ import annotations

import os
from typing import Any

import click

from agent_sessions.cli import cli as sdk_cli
from agent_sessions.cli._env import Env, Options
from agent_sessions.cli._output import _EnvHolder

__all__ = ["forward", "provider_uri"]

_KEY_FLAGS = ("--as", "--owner", "--agent", "--holder", "--to", "--caller")
_BUILT_IN = ("anvil:", "env:", "file:", "keystore:", "test::", "0x")


def provider_uri(provider: Any) -> str:
    """The JSON-RPC URL of the node behind Ape's connected ``provider``."""
    uri = getattr(provider, "http_uri", None) or getattr(provider, "uri", None)
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise click.ClickException(f"the network's provider has no http(s) URL ({uri!r})")
    return uri


def _ape_account_key(alias: str) -> Any:
    """The signing key of the Ape account ``alias`` (``KeyError`` when there is none)."""
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


def forward(args: list[str], *, provider: Any = None, prog_name: str = "ape run sessions") -> None:
    """Run ``agent-sessions ARGS`` in this process (exits with its code), on Ape's node when ``provider`` is given;
    Ape account aliases among the account options are unlocked here and handed over in memory."""
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
