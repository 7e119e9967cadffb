"""What a command works on: the chain, the keys, the manager, and the names a fleet spec gives them.

Resolution order, the same for every command:

- **chain**: ``--rpc URL`` (or ``$AGENT_SESSIONS_RPC``), else ``--chain NAME`` of ``--config``, else the only chain
  of ``--config``, else the node of ``agent-sessions node start`` (recorded in the state directory), else
  ``http://127.0.0.1:8545``.
- **signer** (``--as``): ``anvil:N`` (development key N), ``env:VAR`` (hex key in a variable), ``file:PATH`` (hex
  key in a file), ``keystore:PATH`` (an encrypted JSON keystore, passphrase from ``$AGENT_SESSIONS_PASSWORD`` or a
  prompt), a bare ``N`` (same as ``anvil:N``), or a key name of ``--config``. Default: ``$AGENT_SESSIONS_KEY``,
  else ``anvil:0`` on a local development chain (chain id 31337). A raw private key is never taken from the
  command line (it would show in the process list).
- **manager**: ``--manager`` (an address, or a manager name of ``--config``), else the only manager of ``--config``,
  else the first manager of ``--owner`` (default: the signer) under the chain's canonical factory; when the signer
  owns none, the manager ``deploy`` last recorded for this chain in the state directory, else (on a local
  development chain) the manager of development account 0.
- **sessions**: an id (``7``), a label (``swapper``), or ``MANAGER/LABEL`` with a manager name of ``--config``.
- **tokens**: ``ETH``, an address, or a token name of ``--config`` (``USDC``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..base.models import NATIVE, checksum
from ..domain.admin import NotDeployed, find_manager
from ..domain.client import AgentSessions
from ..domain.deployment import has_code
from ..domain.tokens import TokenBook

__all__ = ["Env", "Options", "state_dir", "recorded_node"]

DEFAULT_RPC = "http://127.0.0.1:8545"
DEV_CHAIN_ID = 31337


def state_dir() -> Path:
    """Where ``node start`` records its node and ``deploy`` its managers: ``$AGENT_SESSIONS_HOME``, else
    ``~/.agent_sessions`` (the session contexts' home too)."""
    from ..domain.context import agent_sessions_home

    return agent_sessions_home()


def recorded_node() -> dict[str, Any] | None:
    """The record of the node ``node start`` left running (None when there is none)."""
    path = state_dir() / "node.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def recorded_deployment(chain_id: int) -> str | None:
    """The manager ``deploy`` last ensured on chain ``chain_id`` (None when it recorded none)."""
    try:
        found = json.loads((state_dir() / "deployments.json").read_text()).get(str(chain_id))
    except (OSError, ValueError, AttributeError):
        return None
    return found.get("manager") if isinstance(found, dict) else None


def record_deployment(chain_id: int, data: dict[str, Any]) -> None:
    """Remember the manager ``deploy`` ensured on ``chain_id``: later commands on that chain use it by default."""
    path = state_dir() / "deployments.json"
    try:
        known = json.loads(path.read_text())
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    known[str(chain_id)] = data
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2))


@dataclass
class Options:
    """The options every command takes (see the module docstring)."""

    rpc: str | None = None
    config: str | None = None
    chain: str | None = None
    manager: str | None = None
    owner: str | None = None
    signer: str | None = None
    as_json: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Env:
    """Lazily resolved chain, spec, keys, manager and token names of one command run."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._spec: Any = None
        self._client: AgentSessions | None = None
        self._book: TokenBook | None = None
        self._manager: Any = None
        self._keys: dict[str, Any] = {}

    # --- spec and chain -------------------------------------------------------------------------------------

    @property
    def spec(self) -> Any:
        """The fleet spec of ``--config`` (None without one). An invalid spec raises ``SpecError``."""
        if self._spec is None and self.options.config:
            from ..fleet.spec import load_spec

            self._spec = load_spec(self.options.config)
        return self._spec

    def chain_name(self) -> str | None:
        spec = self.spec
        if spec is None:
            if self.options.chain:
                raise click.BadParameter("--chain names a chain of the fleet spec: give --config too",
                                         param_hint="--chain")
            return None
        if self.options.chain:
            if self.options.chain not in spec.chains:
                raise click.BadParameter(f"no chain {self.options.chain!r} in {self.options.config} "
                                         f"(chains: {', '.join(spec.chains)})", param_hint="--chain")
            return self.options.chain
        used = spec.chains_used() or list(spec.chains)
        return used[0] if len(used) == 1 else None

    @property
    def url(self) -> str:
        name = self.chain_name()
        if self.options.rpc:
            return self.options.rpc
        if name is not None:
            chain = self.spec.chains[name]
            if chain.rpc is not None:
                return chain.rpc
            return f"http://127.0.0.1:{chain.anvil.port}"
        if self.spec is not None and len(self.spec.chains) > 1:
            raise click.BadParameter(f"{self.options.config} has several chains ({', '.join(self.spec.chains)}): "
                                     "pick one with --chain", param_hint="--chain")
        node = recorded_node()
        if node is not None and node.get("url"):
            return str(node["url"])
        return DEFAULT_RPC

    @property
    def client(self) -> AgentSessions:
        if self._client is None:
            self._client = AgentSessions(self.url)
        return self._client

    @property
    def book(self) -> TokenBook:
        if self._book is None:
            self._book = TokenBook(self.client)
        return self._book

    def now(self) -> int:
        return self.client.now()

    # --- keys and addresses ---------------------------------------------------------------------------------

    def key(self, ref: str | None = None) -> Any:
        """The ``LocalAccount`` of a key reference (default: ``--as``)."""
        if ref is None:
            ref = self.options.signer or os.environ.get("AGENT_SESSIONS_KEY")
            if not ref:
                if self.client.chain_id != DEV_CHAIN_ID:
                    raise click.UsageError(f"who signs on chain {self.client.chain_id}? give --as (anvil:N, "
                                           "env:VAR, file:PATH, keystore:PATH) or set AGENT_SESSIONS_KEY")
                ref = "anvil:0"
        if ref not in self._keys:
            self._keys[ref] = load_key(ref, self.spec)
        return self._keys[ref]

    def address(self, ref: str, param: str = "address") -> str:
        """An address from ``0x…``, a key reference or a key name of the spec."""
        text = str(ref).strip()
        if text.startswith("0x"):
            try:
                return checksum(text, param)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint=param) from None
        try:
            return str(self.key(text).address)
        except click.BadParameter:
            raise click.BadParameter(f"{text!r} is neither an address nor a key (anvil:N, env:VAR, file:PATH, "
                                     "keystore:PATH, or a key name of --config)", param_hint=param) from None

    @property
    def owner(self) -> str:
        return self.address(self.options.owner, "--owner") if self.options.owner else str(self.key().address)

    # --- manager, sessions, tokens --------------------------------------------------------------------------

    @property
    def manager(self) -> Any:
        if self._manager is None:
            self._manager = self.manager_named(self.options.manager)
        return self._manager

    def manager_named(self, name: str | None) -> Any:
        if name is None:
            spec = self.spec
            if not self.options.owner and spec is not None and len(spec.managers) == 1:
                name = next(iter(spec.managers))
            elif not self.options.owner:
                try:
                    return find_manager(self.client, owner=self.owner)
                except NotDeployed:  # the signer owns none: the manager `deploy` recorded on this chain
                    recorded = recorded_deployment(self.client.chain_id)
                    if recorded is not None and has_code(self.client, recorded):
                        return self.client.manager(recorded)
                    if self.client.chain_id != DEV_CHAIN_ID or str(self.key().address) == str(load_key("0").address):
                        raise
                    return find_manager(self.client, owner=str(load_key("0").address))  # dev chain: account 0's
            else:
                return find_manager(self.client, owner=self.owner)
        text = name.strip()
        if text.startswith("0x"):
            return find_manager(self.client, manager=self.address(text, "--manager"))
        spec = self.spec
        if spec is None or text not in spec.managers:
            known = f" (managers: {', '.join(spec.managers)})" if spec is not None else " (give --config)"
            raise click.BadParameter(f"no manager {text!r}{known}", param_hint="--manager")
        from ..domain.deployment import canonical_factory_address

        mspec = spec.managers[text]
        owner = self.address(mspec.owner, "--manager")
        factory = self.client.factory(spec_factory(spec, self.chain_name()) or canonical_factory_address())
        return find_manager(self.client, manager=factory.predict_manager(owner, mspec.salt))

    def session(self, ref: Any, param: str = "ID") -> int:
        """A session id from ``7``, a label, or ``MANAGER/LABEL`` (switches ``self.manager`` to that manager)."""
        text = str(ref).strip()
        if text.isdigit():
            value = int(text)
            if value < 1:
                raise click.BadParameter("session ids start at 1", param_hint=param)
            return value
        manager_name, slash, label = text.rpartition("/")
        if slash:
            self._manager = self.manager_named(manager_name)
        found = [s for s in self.manager.list_sessions(label=label) if not s.state.closed] or \
            self.manager.list_sessions(label=label)
        if not found:
            raise click.BadParameter(f"no session labelled {label!r} in manager {self.manager.address}",
                                     param_hint=param)
        if len(found) > 1:
            raise click.BadParameter(f"{len(found)} sessions are labelled {label!r} "
                                     f"({', '.join(str(s.id) for s in found)}): give the id", param_hint=param)
        return found[0].id

    def token(self, ref: Any, param: str = "--token") -> str:
        """``NATIVE`` for ETH, a checksummed address, or the address of a token name of the spec."""
        text = str(ref).strip()
        if text.upper() in ("ETH", "NATIVE"):
            return NATIVE
        if text.startswith("0x"):
            try:
                return checksum(text, param)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint=param) from None
        spec = self.spec
        if spec is None or text not in spec.tokens:
            known = f" (tokens: {', '.join(spec.tokens) or 'none'})" if spec is not None else " (give --config)"
            raise click.BadParameter(f"no token {text!r}: ETH, an address, or a token name of the spec{known}",
                                     param_hint=param)
        token = spec.tokens[text]
        name = self.chain_name()
        on_chain = token.chains.get(name) if name is not None else None
        if on_chain is not None and on_chain.address is not None:
            return checksum(on_chain.address)
        from ..domain.deployment import canonical_token_address

        return canonical_token_address(text, token.decimals)

    def amount(self, token: str, text: str, param: str = "AMOUNT") -> int:
        """Base units of ``text`` (``0.5 ether``, ``0.5``, ``100 USDC``) for ``token``."""
        try:
            return self.book.get(token).parse(text)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=param) from None


def spec_factory(spec: Any, chain: str | None) -> str | None:
    if chain is None:
        return None
    factory = spec.chains[chain].factory
    return checksum(factory) if factory else None


def load_key(ref: str, spec: Any = None) -> Any:
    """A ``LocalAccount`` from a key reference (see the module docstring). ``click.BadParameter`` says why not."""
    from eth_account import Account

    from ..fleet.throughput import dev_keys

    text = str(ref).strip()
    if text.upper().startswith("TEST::"):  # Ape's name of test account N (the same development keys)
        text = text[6:]
    if text.isdigit():
        text = f"anvil:{text}"
    kind, colon, value = text.partition(":")
    if not colon:
        if spec is not None and text in spec.keys:
            try:
                return spec.resolve_key(text)
            except Exception as exc:  # SpecError: the variable is unset, the file unreadable
                raise click.BadParameter(str(exc), param_hint="--as") from None
        hint = f" (keys of the spec: {', '.join(spec.keys)})" if spec is not None else ""
        raise click.BadParameter(f"unknown key {text!r}: use anvil:N, env:VAR, file:PATH, keystore:PATH{hint}",
                                 param_hint="--as")
    if kind == "anvil":
        if not value.isdigit():
            raise click.BadParameter(f"{text!r}: anvil:N takes an account index", param_hint="--as")
        return dev_keys(1, start=int(value))[0]
    if kind == "env":
        raw = os.environ.get(value)
        if not raw:
            raise click.BadParameter(f"environment variable {value} is not set", param_hint="--as")
    elif kind == "file":
        try:
            raw = Path(value).expanduser().read_text().strip()
        except OSError as exc:
            raise click.BadParameter(f"cannot read key file {value}: {exc.strerror}", param_hint="--as") from None
    elif kind == "keystore":
        try:
            keyfile = json.loads(Path(value).expanduser().read_text())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"cannot read keystore {value}: {exc}", param_hint="--as") from None
        password = os.environ.get("AGENT_SESSIONS_PASSWORD")
        if password is None:
            password = click.prompt(f"Passphrase of {value}", hide_input=True, err=True)
        try:
            return Account.from_key(Account.decrypt(keyfile, password))
        except ValueError as exc:
            raise click.BadParameter(f"cannot unlock {value}: {exc}", param_hint="--as") from None
    else:
        raise click.BadParameter(f"{text!r}: a key is anvil:N, env:VAR, file:PATH or keystore:PATH",
                                 param_hint="--as")
    try:
        return Account.from_key(raw.strip())
    except Exception:
        raise click.BadParameter(f"{text} does not hold a hex private key", param_hint="--as") from None
