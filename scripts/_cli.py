"""Glue between Ape's command line (networks, accounts) and the SDK, shared by `deploy`, `spawn` and `sessions`.

Not a command: `ape run` skips modules whose name starts with `_`.

- `client(provider)`: an `AgentSessions` over the node Ape connected to (`--network`).
- `AccountRef`: an Ape account named on the command line (`0`, `TEST::3`, an alias, or an address of one of
  them), resolved to an address at once and to a signing key only when a transaction needs one.
- `errors_handled`: every SDK error (an on-chain revert, a missing deployment, an RPC failure) becomes one
  line on stderr and exit code 1; a bad value found after parsing becomes click's usage error (exit 2).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from typing import Any, Callable

import click
from rich.console import Console

from agent_sessions import AgentSessions, SessionError
from agent_sessions.admin import NotDeployed, parse_expiry, parse_token
from agent_sessions.console import error_explanation, error_line
from agent_sessions.models import checksum
from agent_sessions.tokens import TokenBook
from agent_sessions.units import parse_amount

# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------


def make_console() -> Console:
    """A rich console on stdout; 140 columns wide when stdout is not a terminal (pipes, CI, tests)."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(width=140, highlight=False)


def echo_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    click.echo(json.dumps(data, indent=2, sort_keys=False))


# ---------------------------------------------------------------------------------------------------------
# Chain and accounts
# ---------------------------------------------------------------------------------------------------------


#: Token names of the chain the command talks to, for error messages (set by `client`).
_BOOK: list[TokenBook] = []


def client(provider: Any) -> AgentSessions:
    """The SDK's client over the node behind Ape's connected `provider`."""
    uri = getattr(provider, "http_uri", None) or getattr(provider, "uri", None)
    if isinstance(uri, str) and uri.startswith(("http://", "https://")):
        sdk = AgentSessions(uri)
    else:
        sdk = AgentSessions(provider.web3.provider)
    _BOOK[:] = [TokenBook(sdk)]
    return sdk


def token_book() -> TokenBook:
    """The token names of the chain of the last `client` (ETH only before one exists)."""
    return _BOOK[0] if _BOOK else TokenBook()


class AccountRef:
    """An Ape account as named on the command line: a test account index (`0`, `TEST::3`), the alias of an
    account in `ape accounts`, or the address of either. Signing keys of test accounts come from the test
    mnemonic; a keyfile account is decrypted with `APE_ACCOUNTS_<alias>_PASSPHRASE` or a prompt."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.account = _load_account(spec)
        self.address: str = checksum(str(self.account.address))

    def __repr__(self) -> str:
        return f"<AccountRef {self.spec} {self.address}>"

    def key(self) -> Any:
        """An eth-account `LocalAccount` that signs for this account."""
        from eth_account import Account

        private = getattr(self.account, "private_key", None)
        if isinstance(private, (str, bytes)) and private:
            return Account.from_key(private)
        keyfile = getattr(self.account, "keyfile", None)
        if keyfile is not None:
            alias = self.account.alias
            passphrase = os.environ.get(f"APE_ACCOUNTS_{alias}_PASSPHRASE")
            if passphrase is None:
                passphrase = click.prompt(f"Passphrase of '{alias}'", hide_input=True, err=True)
            try:
                return Account.from_key(Account.decrypt(keyfile, passphrase))
            except ValueError as exc:
                raise click.ClickException(f"cannot unlock '{alias}': {exc}") from None
        raise click.ClickException(f"{self.spec} ({type(self.account).__name__}) cannot sign locally")


def _load_account(spec: str) -> Any:
    from ape import accounts

    text = spec.strip()
    index_text = text.removeprefix("TEST::")
    if index_text.isdigit():
        return accounts.test_accounts[int(index_text)]
    if text.startswith("0x") and len(text) == 42:
        address = checksum(text)
        for account in list(accounts.test_accounts) + list(accounts):
            if str(account.address) == address:
                return account
        raise ValueError(f"{address} is neither a test account nor one of `ape accounts list`, so it cannot sign")
    try:
        return accounts.load(text)
    except KeyError:
        raise ValueError(f"no account '{text}': use a test account index (0, TEST::3), an alias from "
                         f"`ape accounts list`, or the address of one of them") from None


class AccountType(click.ParamType):
    """A command-line account (see `AccountRef`)."""

    name = "account"

    def convert(self, value: Any, param: Any, ctx: Any) -> AccountRef:
        if isinstance(value, AccountRef):
            return value
        try:
            return AccountRef(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class AddressType(click.ParamType):
    """An address, or an account (`TEST::2`, an alias) whose address is meant."""

    name = "address"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value).strip()
        if text.startswith("0x"):
            try:
                return checksum(text)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        try:
            return AccountRef(text).address
        except ValueError as exc:
            self.fail(f"{text!r} is not an address: {exc}", param, ctx)


class ExpiryType(click.ParamType):
    """A duration from now (`72h`) or an ISO date/time (`2030-01-31T12:00:00Z`)."""

    name = "expiry"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        try:
            return parse_expiry(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class TokenType(click.ParamType):
    """`ETH` or an ERC-20 address."""

    name = "token"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            return parse_token(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class AmountType(click.ParamType):
    """An amount in the token's units (`0.1`, `0.1 ether`, `250`), checked for shape here and scaled by the
    token's decimals later."""

    name = "amount"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = str(value).strip()
        try:
            parse_amount(text, 77)  # shape only: a number, an optional unit, not negative
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return text


ACCOUNT = AccountType()
ADDRESS = AddressType()
EXPIRY = ExpiryType()
TOKEN = TokenType()
AMOUNT = AmountType()


# ---------------------------------------------------------------------------------------------------------
# Options shared by the commands
# ---------------------------------------------------------------------------------------------------------


def owner_option(f: Callable) -> Callable:
    return click.option("--owner", type=ACCOUNT, default="0", show_default=True,
                        help="The manager owner: a test account index (0, TEST::3), an alias, or their address.")(f)


def json_option(f: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


def fail(message: str, code: int = 1) -> None:
    """Print `message` on stderr and exit with `code`."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def errors_handled(f: Callable) -> Callable:
    """Decorator: an SDK error becomes `Error: <typed message>` on stderr and exit code 1 (no traceback); a
    ValueError raised after parsing (a bad combination of options) becomes a usage error, exit code 2."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except SessionError as exc:
            book = token_book()
            explanation = error_explanation(exc, book)
            hint = ""
            if isinstance(exc, NotDeployed):
                hint = ("\n  hint: on the local network each `ape run` starts a fresh Anvil unless one is already "
                        "running; start one with `make node` to keep state between commands")
            fail(error_line(exc, book) + (f"\n  {explanation}" if explanation else "") + hint)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    return wrapper


# ---------------------------------------------------------------------------------------------------------
# What a command works on
# ---------------------------------------------------------------------------------------------------------


class Env:
    """What a command works on: the chain (`client`), token names (`book`), the manager (`--manager`, else the
    owner's first manager under the canonical factory) and the key that signs (`--as`, else the owner)."""

    def __init__(self, provider: Any, owner: AccountRef, manager: str | None = None,
                 signer: AccountRef | None = None) -> None:
        self.client = client(provider)
        self.book = token_book()
        self.owner = owner
        self.signer = signer or owner
        self._manager_address = manager
        self._manager: Any = None

    @property
    def manager(self) -> Any:
        if self._manager is None:
            from agent_sessions.admin import find_manager

            self._manager = find_manager(self.client, owner=self.owner.address, manager=self._manager_address)
        return self._manager

    def sender(self) -> Any:
        """The signing key of `--as` (default: the owner)."""
        return self.signer.key()

    def now(self) -> int:
        return self.client.now()
