"""The YAML fleet spec: chains, keys, tokens, contracts, managers and a tree of sessions, validated before
anything is sent.

    spec = load_spec("examples/treasury.yaml")        # SpecError lists every problem, one line each
    for item in spec.sessions_flat():                  # depth-first, with parent labels
        print(item.path, item.label, item.parent)

The format (``examples/README.md`` walks through it)::

    chains:                      # a local Anvil the tools start, or any JSON-RPC endpoint
      alpha: {anvil: {chain_id: 31337, port: 8545, state: alpha.json}}
      sepolia: {rpc: "https://...", chain_id: 11155111}
    keys:                        # who signs: anvil:N (dev account N), env:VAR (hex key), file:path
      treasury: anvil:0
    tokens:                      # per chain an address, or a TestToken deployed on a local chain
      USDC: {decimals: 6, chains: {alpha: {deploy: test, mint: "1000000 USDC"}, sepolia: "0x..."}}
    contracts:                   # names for allowlist targets and guards
      dex: {deploy: MockDex}
    managers:                    # one manager per owner (and salt) on every chain it is used on
      treasury: {owner: treasury, salt: 0}
    sessions:
      - label: swapper           # unique per manager: the on-chain label and the idempotency key
        chain: alpha
        manager: treasury
        agent: swapper           # a key name or a 0x address
        expires: 72h             # or an ISO datetime with a timezone
        budgets: {ETH: {total: 0.5 ether, per_call: 0.1 ether, per_period: 0.2 ether}, USDC: 100 USDC}
        period: 1d
        allow: [{target: dex, selectors: ["swap(address,uint256,address,address)"]}]   # or: any
        children: [{label: swapper-sub, agent: anvil:5, budgets: {ETH: 0.1 ether}}]

Amounts carry a unit, ``0.5 ether`` / ``10 gwei`` / ``1 wei`` for ETH, the token's own name for a token
(``100 USDC``, whole tokens, up to its decimals), or none: a bare number is in the token's own units (``0.5`` of
ETH is 0.5 ether), as in the SDK and on the command line (``parsing`` is the one reading they share).
"""

from __future__ import annotations

import os
import re
import typing
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from eth_utils import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from ..base.errors import SessionError
from ..base.models import ANY_SELECTOR, selector_of
from ..base.units import ETHER_UNITS, parse_amount, parse_duration

__all__ = [
    "MAX_DEPTH",
    "AllowSpec",
    "AnvilSpec",
    "BudgetSpec",
    "ChainSpec",
    "ContractSpec",
    "FlatSession",
    "FleetSpec",
    "ManagerSpec",
    "ResolvedBudget",
    "SessionSpec",
    "SpecError",
    "SpecIssue",
    "TokenChainSpec",
    "TokenSpec",
    "load_spec",
    "parse_spec",
]

#: Deepest level a child may sit at (roots are depth 0), as the contract's ``MAX_DEPTH``.
MAX_DEPTH = 8
#: The token name of native ETH in budgets.
ETH = "ETH"
#: Test-only contracts a spec may deploy by name, and the product guard.
DEPLOYABLE = ("Target", "MockDex", "DenylistGuard")

_UINT128 = 2**128 - 1
_UINT32 = 2**32 - 1
_TOKEN_NAME = re.compile(r"^[A-Za-z][\w.-]*$")
_KEY_REF = re.compile(r"^(anvil:\d+|env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$")


# ================================================================================================================
# Errors
# ================================================================================================================


@dataclass(frozen=True)
class SpecIssue:
    """One problem of a spec: the file, where in it (``sessions[0].children[1].budgets.ETH``), why, and the
    YAML line when known."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(SessionError, ValueError):
    """A fleet spec is invalid; ``.issues`` lists every problem found (one line each in the message)."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid spec")

    @property
    def paths(self) -> list[str]:
        return [i.path for i in self.issues]


def format_path(path: tuple[Any, ...]) -> str:
    """``("sessions", 0, "budgets", "ETH")`` -> ``sessions[0].budgets.ETH``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# ================================================================================================================
# Field types
# ================================================================================================================


def _amount_text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"amount must not be negative, got {value}")
        return str(value)
    if isinstance(value, (float, Decimal)):
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise ValueError(f"{value!r} is not an amount")
        return format(Decimal(repr(value)) if isinstance(value, float) else value, "f")  # in the token's units
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an amount: expected text such as '0.5 ether' or '100 USDC'")
    parse_amount(value, 77)  # the shape (a number, not negative, an optional unit); the token's unit comes later
    return value.strip()


def _duration(value: Any) -> int:
    if value is None:
        return 0
    seconds = parse_duration(value)
    if seconds > _UINT32:
        raise ValueError(f"{seconds} s is too long (at most {_UINT32} s)")
    return seconds


def _expiry(value: Any) -> Any:
    """A duration from now (timedelta) or an aware datetime."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an expiry")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"expiry {value.isoformat()} has no timezone: add one, e.g. '{value.isoformat()}Z'")
        return value
    if isinstance(value, date):
        raise ValueError(f"expiry {value.isoformat()} is a date: give a time and a timezone, e.g. "
                         f"'{value.isoformat()}T00:00:00Z', or a duration such as '72h'")
    if isinstance(value, (int, str)):
        from ..base.parsing import parse_expiry  # the reading the SDK and the command line share

        try:
            return parse_expiry(value)
        except ValueError as exc:
            if "must be positive" in str(exc):
                raise ValueError("expires must be a positive duration") from None
            raise
    raise ValueError(f"{value!r} is not an expiry: expected a duration ('72h') or an ISO datetime")


def _key_ref(value: str) -> str:
    if _KEY_REF.match(value) is None:
        if value.startswith("0x") and len(value) == 66:
            raise ValueError("a raw private key does not belong in a spec file: use env:VAR or file:path")
        raise ValueError(f"{value!r} is not a key reference: expected anvil:N (Anvil dev account N), env:VAR "
                         "(hex private key in an environment variable) or file:path (hex private key in a file)")
    return value


def _salt(value: Any) -> Any:
    from ..domain.client import salt_bytes

    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} is not a salt: expected an integer or a short text")
    salt_bytes(value)
    return value


def _address(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{value!r} is not an address (0x and 40 hex digits)")
    return to_checksum_address(value)


AmountText = Annotated[str, BeforeValidator(_amount_text)]
Duration = Annotated[int, BeforeValidator(_duration)]
Expiry = Annotated[timedelta | datetime | None, BeforeValidator(_expiry)]
KeyRef = Annotated[str, AfterValidator(_key_ref)]
AddressText = Annotated[str, BeforeValidator(_address)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ================================================================================================================
# Sections
# ================================================================================================================


class AnvilSpec(_Spec):
    """A local Anvil node the tools start (or reuse when one already serves the chain on the port)."""

    chain_id: int = Field(default=31337, ge=1, description="Chain id the node serves")
    port: int = Field(ge=1, le=65535, description="Port on 127.0.0.1")
    state: str | None = Field(default=None, description="State file (relative to the spec): loaded at start, dumped "
                                                        "every second and on stop")
    block_time: float | None = Field(default=None, gt=0, description="Seconds per block (default: mine per tx)")


class ChainSpec(_Spec):
    """Where a chain is: ``anvil:`` (local, started by the tools) or ``rpc:`` + ``chain_id``."""

    anvil: AnvilSpec | None = Field(default=None, description="A local Anvil node")
    rpc: str | None = Field(default=None, description="JSON-RPC endpoint (http(s):// URL or .ipc path)")
    chain_id: int | None = Field(default=None, ge=1, description="Chain id the endpoint must serve")
    factory: AddressText | None = Field(default=None, description="Use this SessionFactory instead of the "
                                                                  "canonical one")

    @model_validator(mode="after")
    def _one_kind(self) -> ChainSpec:
        if (self.anvil is None) == (self.rpc is None):
            raise ValueError("a chain is either {anvil: {chain_id, port}} or {rpc: URL, chain_id: N}")
        if self.rpc is not None:
            if not self.rpc.startswith(("http://", "https://")) and not self.rpc.endswith(".ipc"):
                raise ValueError(f"rpc {self.rpc!r} is not an http(s):// URL or an .ipc path")
            if self.chain_id is None:
                raise ValueError("an rpc chain needs chain_id (checked against the endpoint)")
        if self.anvil is not None and self.chain_id is not None and self.chain_id != self.anvil.chain_id:
            raise ValueError(f"chain_id {self.chain_id} differs from anvil.chain_id {self.anvil.chain_id}")
        return self

    @property
    def expected_chain_id(self) -> int:
        if self.anvil is not None:
            return self.anvil.chain_id
        assert self.chain_id is not None
        return self.chain_id

    @property
    def is_local(self) -> bool:
        return self.anvil is not None


class TokenChainSpec(_Spec):
    """A token on one chain: its ``address``, or ``deploy: test`` (a TestToken at a deterministic address)."""

    address: AddressText | None = Field(default=None, description="The ERC-20's address on this chain")
    deploy: Literal["test"] | None = Field(default=None, description="'test': deploy a mintable TestToken (local "
                                                                     "chains)")
    mint: AmountText | None = Field(default=None, description="Minted to every manager owner on this chain when the "
                                                              "test token is first deployed")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"address": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_kind(self) -> TokenChainSpec:
        if (self.address is None) == (self.deploy is None):
            raise ValueError("give the token's address, or deploy: test")
        if self.mint is not None and self.deploy is None:
            raise ValueError("mint is only for deploy: test tokens")
        return self


class TokenSpec(_Spec):
    """An ERC-20 known by name (the name is also its unit in amounts: ``100 USDC``)."""

    decimals: int = Field(ge=0, le=77, description="The token's decimals (checked on chain)")
    chains: dict[str, TokenChainSpec] = Field(min_length=1, description="Where the token is, per chain")


class ContractSpec(_Spec):
    """A named contract for allowlists and guards: one ``address`` everywhere, per-chain ``chains``
    addresses, or ``deploy`` (Target, MockDex, DenylistGuard with ``owner``) at a deterministic address."""

    address: AddressText | None = Field(default=None, description="Its address on every chain")
    chains: dict[str, AddressText] | None = Field(default=None, description="Its address per chain")
    deploy: Literal["Target", "MockDex", "DenylistGuard"] | None = Field(default=None, description="Deploy this "
                                                                                                  "shipped contract")
    owner: str | None = Field(default=None, description="Key name owning a deployed DenylistGuard")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"address": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_kind(self) -> ContractSpec:
        kinds = [k for k in ("address", "chains", "deploy") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of address, chains or deploy")
        if self.deploy == "DenylistGuard" and self.owner is None:
            raise ValueError("deploy: DenylistGuard needs owner (a key name)")
        if self.owner is not None and self.deploy != "DenylistGuard":
            raise ValueError("owner is only for deploy: DenylistGuard")
        return self


class ManagerSpec(_Spec):
    """One owner's SessionManager; deployed (or found) at its CREATE2 address on every chain it is used on."""

    owner: str = Field(description="Key of the owner (creates the roots and funds them): a key name or anvil:N...")
    salt: Annotated[int | str, BeforeValidator(_salt)] = Field(default=0, description="CREATE2 salt: an owner may "
                                                                                      "have several managers")


class BudgetSpec(_Spec):
    """One token budget: escrowed ``total``, optional ``per_call`` cap and ``per_period`` allowance."""

    total: AmountText = Field(description="Escrowed amount ('0.5 ether', '100 USDC')")
    per_call: AmountText | None = Field(default=None, description="Largest amount one call may spend")
    per_period: AmountText | None = Field(default=None, description="Largest amount spent per period (needs period)")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return data
        return {"total": data}  # short form: the total


class AllowSpec(_Spec):
    """An allowlist entry: ``target`` (``0x...``, ``token:NAME``, a name in ``contracts``, or ``*`` = any
    target) and its ``selectors`` (signatures, 4-byte hex, ``0x00000000`` for plain transfers, ``*`` = all)."""

    target: str = Field(description="0x address, token:NAME, a contract name, or * (any target)")
    selectors: list[str] = Field(default_factory=lambda: ["*"], min_length=1, description="Function signatures or "
                                                                                          "selectors; * = every one")

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        return {"target": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _selectors(self) -> AllowSpec:
        for text in self.selectors:
            if not isinstance(text, str):
                raise ValueError(f"selector {text!r} is not text")
            selector_of(text)  # ValueError names the bad one
        return self

    def selector_values(self) -> list[str]:
        return sorted({selector_of(s) for s in self.selectors})


def _allow(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip() in ("any", "*"):
            return [{"target": "*"}]
        raise ValueError(f"allow {value!r}: expected 'any' or a list of {{target, selectors}}")
    if value is None:
        return []
    return value


class SessionSpec(_Spec):
    """A session (a root, or a child under ``children``)."""

    label: str = Field(min_length=1, description="Unique per manager; the on-chain label (at most 31 bytes) and the "
                                                 "key re-runs find the session by")
    chain: str | None = Field(default=None, description="Chain name (roots only; children inherit it)")
    manager: str | None = Field(default=None, description="Manager name (roots only; children inherit it)")
    agent: str = Field(description="Key name or 0x address of the agent")
    expires: Expiry = Field(default=None, description="Duration from now ('72h') or ISO datetime; children default "
                                                      "to their parent's")
    budgets: dict[str, BudgetSpec] = Field(default_factory=dict, description="Per token name (ETH or a name in "
                                                                             "tokens)")
    period: Duration = Field(default=0, description="Period window ('1d') for per_period allowances and call limits")
    max_calls_per_period: int = Field(default=0, ge=0, le=2**16 - 1, description="Calls per period; 0 = unlimited")
    max_idle: Duration = Field(default=0, description="Expire after this long without activity; 0 = never")
    allow: Annotated[list[AllowSpec], BeforeValidator(_allow)] = Field(default_factory=list,
                                                                       description="'any' or allowlist entries")
    guards: list[str] = Field(default_factory=list, description="Guard contracts: 0x addresses or contract names")
    draft: bool = Field(default=False, description="Open as a draft (editable, cannot act until activated)")
    spawned_by: Literal["owner", "agent"] = Field(default="owner", description="Children: who spawns it and holds its "
                                                                               "token (the owner or the parent's "
                                                                               "agent)")
    children: list[SessionSpec] = Field(default_factory=list, description="Child sessions, funded from this one")

    @property
    def any_target(self) -> bool:
        return any(a.target.strip() == "*" for a in self.allow)


class FleetSpec(_Spec):
    """A whole fleet file (see the module docstring)."""

    version: Literal[1] = Field(default=1, description="Format version")
    chains: dict[str, ChainSpec] = Field(min_length=1, description="Chains by name")
    keys: dict[str, KeyRef] = Field(default_factory=dict, description="Signing keys by name")
    tokens: dict[str, TokenSpec] = Field(default_factory=dict, description="ERC-20 tokens by name (= unit)")
    contracts: dict[str, ContractSpec] = Field(default_factory=dict, description="Named contracts")
    managers: dict[str, ManagerSpec] = Field(default_factory=dict, description="Managers by name")
    deployer: str | None = Field(default=None, description="Key that pays for deployments (default: the first "
                                                           "manager's owner)")
    sessions: list[SessionSpec] = Field(default_factory=list, description="Root sessions (with their children)")

    _source: str = PrivateAttr(default="<string>")
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)
    _accounts: dict[str, Any] = PrivateAttr(default_factory=dict)

    # --- where it came from ---------------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """The file name (or ``<string>``) errors are reported against."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Relative paths in the spec (state files, key files) are relative to this directory."""
        return self._base_dir

    def resolve_path(self, path: str | Path) -> Path:
        p = Path(os.path.expanduser(str(path)))
        return p if p.is_absolute() else self._base_dir / p

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """The YAML line of ``path`` (or of its nearest enclosing node)."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def issue(self, path: tuple[Any, ...], message: str) -> SpecIssue:
        return SpecIssue(self._source, format_path(path), message, self.line_of(path))

    def _adopt(self, other: FleetSpec) -> FleetSpec:
        other._source, other._base_dir, other._lines = self._source, self._base_dir, self._lines
        other._accounts = self._accounts
        return other

    def with_ports(self, ports: Mapping[str, int]) -> FleetSpec:
        """A copy with local chains moved to other ports (``{"alpha": 8612}``), e.g. to run a spec beside a node
        already on 8545."""
        chains = dict(self.chains)
        for name, port in ports.items():
            chain = chains.get(name)
            if chain is None or chain.anvil is None:
                raise KeyError(f"no local (anvil) chain {name!r} in the spec")
            chains[name] = chain.model_copy(update={"anvil": chain.anvil.model_copy(update={"port": int(port)})})
        return self._adopt(self.model_copy(update={"chains": chains}))

    # --- the session tree -----------------------------------------------------------------------------------

    def sessions_flat(self) -> list[FlatSession]:
        """Every session depth-first (a parent before its children), with its chain, manager and parent."""
        counts: dict[str, int] = defaultdict(int)
        out: list[FlatSession] = []

        def walk(s: SessionSpec, path: tuple[Any, ...], chain: str, manager: str, parent: FlatSession | None,
                 depth: int) -> None:
            expires: timedelta | datetime | None = s.expires if s.expires is not None else (
                parent.expires if parent is not None else None)
            assert expires is not None
            item = FlatSession(spec=s, path=format_path(path), path_parts=path, chain=chain, manager=manager,
                               parent=parent.label if parent is not None else None,
                               parent_path=parent.path if parent is not None else None,
                               root=parent.root if parent is not None else s.label, depth=depth,
                               expires=expires, key=s.label)
            out.append(item)
            counts[s.label] += 1
            for i, child in enumerate(s.children):
                walk(child, (*path, "children", i), chain, manager, item, depth + 1)

        for i, root in enumerate(self.sessions):
            assert root.chain is not None and root.manager is not None
            walk(root, ("sessions", i), root.chain, root.manager, None, 0)
        # a label shared by several managers is reported as manager/label
        return [i if counts[i.label] == 1 else i._qualified() for i in out]

    def budgets_of(self, session: SessionSpec | FlatSession) -> dict[str, ResolvedBudget]:
        """A session's budgets in base units, by token name (``ETH`` or a name in ``tokens``)."""
        spec = session.spec if isinstance(session, FlatSession) else session
        out = {}
        for name, b in spec.budgets.items():
            decimals = self.decimals_of(name)
            out[name] = ResolvedBudget(
                token=name,
                total=parse_spec_amount(b.total, name, decimals),
                per_call=parse_spec_amount(b.per_call, name, decimals) if b.per_call is not None else 0,
                per_period=parse_spec_amount(b.per_period, name, decimals) if b.per_period is not None else 0,
            )
        return out

    def totals(self) -> dict[tuple[str, str], dict[str, int]]:
        """What each manager's owner escrows, per ``(chain, manager)`` and token name, in base units: the sum of
        the root budgets (children are reserved out of their roots)."""
        out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for root in self.sessions:
            assert root.chain is not None and root.manager is not None
            for name, budget in self.budgets_of(root).items():
                out[(root.chain, root.manager)][name] += budget.total
        return {k: dict(v) for k, v in out.items()}

    def chains_used(self) -> list[str]:
        """Chains that hold at least one session, in spec order."""
        return list(dict.fromkeys(s.chain for s in self.sessions if s.chain is not None))

    def decimals_of(self, token: str) -> int:
        return 18 if token == ETH else self.tokens[token].decimals

    # --- keys -----------------------------------------------------------------------------------------------

    def resolve_key(self, name: str) -> Any:
        """The ``LocalAccount`` of key ``name`` (reads the environment variable or file now)."""
        if name in self._accounts:
            return self._accounts[name]
        from eth_account import Account

        from .throughput import dev_keys

        ref = self.keys.get(name, name)  # a key name, or an inline reference (anvil:5)
        if _KEY_REF.match(ref) is None:
            raise KeyError(f"unknown key {name!r}")
        kind, _, value = ref.partition(":")
        where = ("keys", name) if name in self.keys else ()
        if kind == "anvil":
            account = dev_keys(1, start=int(value))[0]
        else:
            if kind == "env":
                raw = os.environ.get(value)
                if not raw:
                    raise SpecError([self.issue(where, f"environment variable {value} is not set")])
            else:
                path = self.resolve_path(value)
                try:
                    raw = path.read_text().strip()
                except OSError as exc:
                    raise SpecError([self.issue(where, f"cannot read key file {path}: {exc.strerror}")]) from None
            try:
                account = Account.from_key(raw.strip())
            except Exception:
                raise SpecError([self.issue(where, f"{ref} does not hold a hex private key")]) from None
        self._accounts[name] = account
        return account

    def resolve_keys(self, names: list[str] | None = None) -> dict[str, Any]:
        """``LocalAccount`` per key name (all of them by default); every failure is reported in one SpecError."""
        out, issues = {}, []
        for name in names if names is not None else self.key_refs():
            try:
                out[name] = self.resolve_key(name)
            except SpecError as exc:
                issues += exc.issues
        if issues:
            raise SpecError(issues)
        return out

    def key_refs(self) -> list[str]:
        """Every key the spec signs or names agents with: the ``keys`` and inline references, in order of use."""
        refs = list(self.keys)
        if self.deployer is not None:
            refs.append(self.deployer)
        refs += [m.owner for m in self.managers.values()]
        refs += [c.owner for c in self.contracts.values() if c.owner is not None]
        refs += [f.spec.agent for f in self.sessions_flat() if self.is_key(f.spec.agent)]
        return list(dict.fromkeys(r for r in refs if self.is_key(r)))

    def is_key(self, ref: str) -> bool:
        """A key name of ``keys``, or an inline key reference (``anvil:5``, ``env:VAR``, ``file:path``)."""
        return ref in self.keys or _KEY_REF.match(ref) is not None

    def address_of(self, ref: str) -> str:
        """The address of a key (name or inline reference) or of a 0x address."""
        if self.is_key(ref):
            return str(self.resolve_key(ref).address)
        return to_checksum_address(ref)

    def deployer_key(self) -> Any:
        """The key that pays for deployments: ``deployer``, else the first manager's owner (None if neither)."""
        if self.deployer is not None:
            return self.resolve_key(self.deployer)
        for manager in self.managers.values():
            return self.resolve_key(manager.owner)
        return None


@dataclass(frozen=True)
class ResolvedBudget:
    """A budget in base units (``per_call`` / ``per_period`` 0 = none)."""

    token: str
    total: int
    per_call: int = 0
    per_period: int = 0


@dataclass(frozen=True)
class FlatSession:
    """One session of the tree, placed: its spec path, chain, manager, parent label and effective expiry."""

    spec: SessionSpec
    path: str
    path_parts: tuple[Any, ...]
    chain: str
    manager: str
    parent: str | None
    parent_path: str | None
    root: str
    depth: int
    expires: timedelta | datetime
    #: How reports name it: the label, or ``manager/label`` when several managers use the label.
    key: str

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def is_root(self) -> bool:
        return self.parent is None

    def _qualified(self) -> FlatSession:
        from dataclasses import replace

        return replace(self, key=f"{self.manager}/{self.label}")

    def __repr__(self) -> str:
        return f"<FlatSession {self.path} {self.label!r} {self.chain}/{self.manager}>"


def parse_spec_amount(text: str, token: str, decimals: int) -> int:
    """Base units of ``text`` for ``token``, read as the SDK and the command line read it (``units.parse_amount``):
    ETH takes ether units (``0.5 ether``, ``10 gwei``, ``1 wei``), a token its own name (``100 USDC``); a bare number
    is in the token's own units (``0.5`` of ETH is 0.5 ether). At most uint128."""
    scaled = parse_amount(text, decimals, symbol="ETH" if token == ETH else token)
    if scaled > _UINT128:
        raise ValueError(f"amount {text!r} does not fit in uint128")
    return scaled


# ================================================================================================================
# Loading
# ================================================================================================================


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # LibYAML's parser when present (~10x faster)


class _SpecLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """YAML 1.1 safe loading, except that ``0x...`` stays text: unquoted addresses and selectors would otherwise
    turn into integers (and lose their leading zeros). Integers are plain decimal (no octal, sexagesimal)."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:int"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(0|[1-9][0-9_]*)$"),
                                  list("-+0123456789"))


def _line_map(node: yaml.Node | None, path: tuple[Any, ...], out: dict[tuple[Any, ...], int],
              duplicates: list[tuple[tuple[Any, ...], int]]) -> None:
    if node is None:
        return
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key: Any = key_node.value
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag.endswith(":int"):
                try:
                    key = int(key)
                except ValueError:
                    pass
            if key in seen:
                duplicates.append(((*path, key), key_node.start_mark.line + 1))
            seen.add(key)
            out[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), out, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), out, duplicates)


def load_spec(path: str | Path) -> FleetSpec:
    """Read and validate a fleet file (``SpecError`` lists every problem with file, path and line)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise SpecError([SpecIssue(str(path), "", f"cannot read the spec: {exc.strerror}")]) from None
    return parse_spec(text, source=str(path), base_dir=p.resolve().parent)


def parse_spec(text: str, source: str = "<string>", base_dir: str | Path | None = None) -> FleetSpec:
    """Validate a fleet spec given as YAML text; ``source`` names it in errors, ``base_dir`` anchors its relative
    paths (default: the current directory)."""
    try:
        loader = _SpecLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(source, "", f"not valid YAML: {problem}",
                                   mark.line + 1 if mark is not None else None)]) from None
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[tuple[tuple[Any, ...], int]] = []
    _line_map(node, (), lines, duplicates)
    if duplicates:
        raise SpecError([SpecIssue(source, format_path(p), "this key appears twice in the same mapping", line)
                         for p, line in duplicates])
    if data is None:
        raise SpecError([SpecIssue(source, "", "the spec is empty")])
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(source, "", f"the spec must be a mapping (chains:, keys:, sessions:...), not a "
                                               f"{type(data).__name__}", 1)])

    def issue(path: tuple[Any, ...], message: str) -> SpecIssue:
        line = None
        for end in range(len(path), -1, -1):
            line = lines.get(tuple(path[:end]))
            if line is not None:
                break
        return SpecIssue(source, format_path(path), message, line)

    def in_file(path: tuple[Any, ...]) -> tuple[Any, ...]:
        # a short form expanded by a validator ("ETH: 0.5" -> {total: 0.5}) reports at what the file holds
        while path and path not in lines and isinstance(path[-1], str):
            path = path[:-1]
        return path

    try:
        spec = FleetSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([issue(in_file(p), m) for p, m in _pydantic_issues(exc)]) from None
    spec._source = source
    spec._base_dir = Path(base_dir) if base_dir is not None else Path.cwd()
    spec._lines = lines
    issues = _Checker(spec).run()
    if issues:
        raise SpecError(issues)
    return spec


def _pydantic_issues(exc: ValidationError) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    seen: set[tuple[tuple[Any, ...], str]] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        message = str(error["msg"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message = f"a name here must be text, got {loc[-1]!r}" if loc else message
        elif kind == "extra_forbidden":
            expected = _fields_at(loc[:-1])
            message = f"unknown key {loc[-1]!r}" + (f" (expected one of: {', '.join(expected)})" if expected else "")
        elif kind == "missing":
            message = f"missing required key {loc[-1]!r}" if loc else "missing"
            loc = loc[:-1]
        elif kind == "value_error":
            message = message.removeprefix("Value error, ")
        elif kind.startswith("literal_error") or kind.endswith("_type") or kind.endswith("_parsing"):
            message = f"{message} (got {error.get('input')!r})"
        key = (loc, message)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` (walking FleetSpec's annotations)."""
    current: Any = FleetSpec
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp


def _step(tp: Any, part: Any) -> Any:
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin = typing.get_origin(tp)
    if origin is list and isinstance(part, int):
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    return None


# ================================================================================================================
# Cross-reference and tree rules
# ================================================================================================================


class _Checker:
    """Every rule that spans sections or the session tree; collects issues instead of stopping at the first."""

    def __init__(self, spec: FleetSpec) -> None:
        self.spec = spec
        self.issues: list[SpecIssue] = []
        self.labels: dict[str, dict[str, str]] = defaultdict(dict)  # manager -> label -> path

    def add(self, path: tuple[Any, ...], message: str) -> None:
        self.issues.append(self.spec.issue(path, message))

    def run(self) -> list[SpecIssue]:
        self.chains()
        self.keys_and_owners()
        self.tokens()
        self.contracts()
        for i, root in enumerate(self.spec.sessions):
            self.root(root, ("sessions", i))
        return sorted(self.issues, key=lambda issue: issue.line or 0)

    # --- sections -------------------------------------------------------------------------------------------

    def chains(self) -> None:
        ports: dict[int, str] = {}
        ids: dict[int, str] = {}
        for name, chain in self.spec.chains.items():
            if chain.anvil is not None:
                port = chain.anvil.port
                if port in ports:
                    self.add(("chains", name, "anvil", "port"), f"port {port} is already used by chain {ports[port]!r}")
                ports.setdefault(port, name)
            cid = chain.expected_chain_id
            if cid in ids:
                self.add(("chains", name), f"chain id {cid} is already used by chain {ids[cid]!r}")
            ids.setdefault(cid, name)

    def keys_and_owners(self) -> None:
        spec = self.spec
        if spec.deployer is not None and not spec.is_key(spec.deployer):
            self.add(("deployer",), f"no key named {spec.deployer!r}{self._known('keys')}")
        for name, manager in spec.managers.items():
            if not spec.is_key(manager.owner):
                self.add(("managers", name, "owner"), f"no key named {manager.owner!r}{self._known('keys')}: the "
                                                      "owner signs, so it must be a key")

    def tokens(self) -> None:
        for name, token in self.spec.tokens.items():
            path = ("tokens", name)
            if _TOKEN_NAME.match(name) is None:
                self.add(path, f"token name {name!r} must start with a letter (it is the unit in amounts: '100 {name}')")
            elif name.lower() in ETHER_UNITS or name.upper() == ETH:
                self.add(path, f"token name {name!r} is taken by ETH and its units")
            for chain_name, on_chain in token.chains.items():
                where = (*path, "chains", chain_name)
                chain = self.spec.chains.get(chain_name)
                if chain is None:
                    self.add(where, f"unknown chain {chain_name!r}{self._known('chains')}")
                    continue
                if on_chain.deploy == "test" and not chain.is_local:
                    self.add((*where, "deploy"), f"deploy: test only works on a local (anvil) chain; give the "
                                                 f"token's address on {chain_name}")
                if on_chain.mint is not None:
                    try:
                        parse_spec_amount(on_chain.mint, name, token.decimals)
                    except ValueError as exc:
                        self.add((*where, "mint"), str(exc))

    def contracts(self) -> None:
        for name, contract in self.spec.contracts.items():
            path = ("contracts", name)
            if name.startswith("token:") or name == "*" or is_address(name):
                self.add(path, f"contract name {name!r} is reserved (token:NAME, *, and addresses are targets)")
            for chain_name in (contract.chains or {}):
                if chain_name not in self.spec.chains:
                    self.add((*path, "chains", chain_name), f"unknown chain {chain_name!r}{self._known('chains')}")
            if contract.owner is not None and not self.spec.is_key(contract.owner):
                self.add((*path, "owner"), f"no key named {contract.owner!r}{self._known('keys')}")

    def _known(self, section: str) -> str:
        names = list(getattr(self.spec, section))
        return f" (known: {', '.join(names)})" if names else f" (the spec has no {section})"

    # --- sessions -------------------------------------------------------------------------------------------

    def root(self, s: SessionSpec, path: tuple[Any, ...]) -> None:
        chain, manager = s.chain, s.manager
        ok = True
        if chain is None:
            self.add(path, "missing required key 'chain' (a root session names its chain)")
            ok = False
        elif chain not in self.spec.chains:
            self.add((*path, "chain"), f"unknown chain {chain!r}{self._known('chains')}")
            ok = False
        if manager is None:
            self.add(path, "missing required key 'manager' (a root session names its manager)")
            ok = False
        elif manager not in self.spec.managers:
            self.add((*path, "manager"), f"unknown manager {manager!r}{self._known('managers')}")
            ok = False
        if s.expires is None:
            self.add(path, "missing required key 'expires' (a duration such as '72h' or an ISO datetime)")
        self.session(s, path, chain if ok else None, manager if ok else None, parent=None, depth=0)

    def session(self, s: SessionSpec, path: tuple[Any, ...], chain: str | None, manager: str | None,
                parent: SessionSpec | None, depth: int) -> None:
        spec = self.spec
        # label: the on-chain bytes32 and the idempotency key
        raw = s.label.encode()
        if len(raw) > 31:
            self.add((*path, "label"), f"label {s.label!r} is {len(raw)} bytes; at most 31 bytes fit on chain")
        if "\x00" in s.label:
            self.add((*path, "label"), "label contains a NUL character")
        if manager is not None:
            first = self.labels[manager].get(s.label)
            if first is not None:
                self.add((*path, "label"), f"label {s.label!r} is already used by {first} in manager {manager!r} "
                                           "(labels are unique per manager: re-runs find sessions by them)")
            else:
                self.labels[manager][s.label] = format_path(path)
        if parent is not None:
            for key in ("chain", "manager"):
                if getattr(s, key) is not None:
                    self.add((*path, key), f"a child inherits its parent's {key}: remove {key} here")
        # agent
        if not spec.is_key(s.agent) and not is_address(s.agent):
            self.add((*path, "agent"), f"agent {s.agent!r} is neither a key name{self._known('keys')}, a key "
                                       "reference (anvil:N, env:VAR, file:path) nor a 0x address")
        if parent is not None and s.spawned_by == "agent" and not spec.is_key(parent.agent):
            self.add((*path, "spawned_by"), f"spawned_by: agent needs the parent's agent as a key, but it is "
                                            f"{parent.agent!r}")
        if parent is None and s.spawned_by != "owner":
            self.add((*path, "spawned_by"), "roots are always opened by the manager's owner")
        # timing
        if s.max_calls_per_period and not s.period:
            self.add((*path, "max_calls_per_period"), "a call limit per period needs a period (e.g. period: 1d)")
        # budgets
        budgets = self.budgets(s, path, chain)
        # allowlist and guards
        entries = self.allow(s, path, chain)
        for i, guard in enumerate(s.guards):
            self.target((*path, "guards", i), guard, chain, what="guard")
        # against the parent
        if parent is not None:
            self.within_parent(s, path, parent, chain, budgets, entries)
        # children
        if s.children:
            if s.draft:
                self.add((*path, "children"), "a draft session cannot have children: it cannot act (nor spawn) until "
                                              "activated")
            if depth + 1 > MAX_DEPTH:
                self.add((*path, "children"), f"children here would sit at depth {depth + 1}; sessions nest at most "
                                              f"{MAX_DEPTH} levels below a root")
                return
            sums: dict[str, int] = defaultdict(int)
            for i, child in enumerate(s.children):
                child_path = (*path, "children", i)
                self.session(child, child_path, chain, manager, parent=s, depth=depth + 1)
                for token, amount in self._child_totals(child).items():
                    sums[token] += amount
                    have = budgets.get(token)
                    if have is None:
                        continue
                    where = (*child_path, "budgets", token)
                    if sums[token] > have.total:
                        self.add(where,
                                 f"the children of {s.label!r} reserve {_show(sums[token], token, spec)} in total, "
                                 f"more than its {token} budget of {_show(have.total, token, spec)}")
                    # a reservation only sets money aside: the parent's caps bind the child's spends on chain, so
                    # they do not limit what is reserved here

    def _child_totals(self, child: SessionSpec) -> dict[str, int]:
        out = {}
        for token, b in child.budgets.items():
            try:
                out[token] = parse_spec_amount(b.total, token, self.spec.decimals_of(token))
            except (ValueError, KeyError):
                continue  # reported where the budget is
        return out

    def budgets(self, s: SessionSpec, path: tuple[Any, ...], chain: str | None) -> dict[str, ResolvedBudget]:
        spec = self.spec
        out: dict[str, ResolvedBudget] = {}
        for token, b in s.budgets.items():
            where = (*path, "budgets", token)
            if token != ETH:
                known = spec.tokens.get(token)
                if known is None:
                    self.add(where, f"unknown token {token!r}: expected ETH or a name in tokens{self._known('tokens')}")
                    continue
                if chain is not None and chain not in known.chains:
                    self.add(where, f"token {token} has no address on chain {chain!r} (add it under "
                                    f"tokens.{token}.chains)")
            decimals = spec.decimals_of(token)
            values = {}
            for key in ("total", "per_call", "per_period"):
                text = getattr(b, key)
                if text is None:
                    values[key] = 0
                    continue
                try:
                    values[key] = parse_spec_amount(text, token, decimals)
                except ValueError as exc:
                    # the long form points at total/per_call/per_period, the short form at the token
                    self.add((*where, key) if (*where, key) in spec._lines else where, str(exc))
                    values[key] = -1
            if -1 in values.values():
                continue
            if values["per_period"] and not s.period:
                self.add((*where, "per_period"), "a per_period allowance needs a period (e.g. period: 1d)")
            out[token] = ResolvedBudget(token, values["total"], values["per_call"], values["per_period"])
        return out

    def target(self, path: tuple[Any, ...], text: str, chain: str | None, *, what: str = "target") -> Any:
        """An identity for a target on ``chain`` (an address, or ('token'|'contract', name)); None if invalid."""
        spec = self.spec
        text = text.strip()
        if text.startswith("0x"):
            if not is_address(text):
                self.add(path, f"{what} {text!r} is not an address (0x and 40 hex digits)")
                return None
            return to_checksum_address(text)
        if text.startswith("token:"):
            name = text.removeprefix("token:")
            token = spec.tokens.get(name)
            if token is None:
                self.add(path, f"unknown token {name!r} in {text!r}{self._known('tokens')}")
                return None
            if chain is not None and chain not in token.chains:
                self.add(path, f"token {name} has no address on chain {chain!r}")
                return None
            on_chain = token.chains.get(chain) if chain is not None else None
            return on_chain.address if on_chain is not None and on_chain.address else ("token", name)
        contract = spec.contracts.get(text)
        if contract is None:
            self.add(path, f"unknown {what} {text!r}: expected a 0x address, token:NAME or a name in "
                           f"contracts{self._known('contracts')}")
            return None
        if contract.chains is not None and chain is not None and chain not in contract.chains:
            self.add(path, f"contract {text!r} has no address on chain {chain!r}")
            return None
        if contract.address is not None:
            return contract.address
        if contract.chains is not None and chain is not None:
            return contract.chains[chain]
        return ("contract", text)

    def allow(self, s: SessionSpec, path: tuple[Any, ...], chain: str | None) -> set[tuple[Any, str]] | None:
        """The allowlist as (target identity, selector) pairs; None means any target."""
        if s.any_target:
            if len(s.allow) > 1:
                self.add((*path, "allow"), "'any' (target *) already allows every target: list nothing else")
            return None
        entries: set[tuple[Any, str]] = set()
        for i, entry in enumerate(s.allow):
            target = self.target((*path, "allow", i, "target"), entry.target, chain)
            if target is None:
                continue
            for selector in entry.selector_values():
                entries.add((target, selector))
        return entries

    def within_parent(self, s: SessionSpec, path: tuple[Any, ...], parent: SessionSpec, chain: str | None,
                      budgets: dict[str, ResolvedBudget], entries: set[tuple[Any, str]] | None) -> None:
        # expiry: a child never outlives its parent
        child_exp, parent_exp = s.expires, parent.expires
        if child_exp is not None and parent_exp is not None and type(child_exp) is type(parent_exp):
            if child_exp > parent_exp:  # type: ignore[operator]
                self.add((*path, "expires"), f"expires {_show_expiry(child_exp)}, after its parent {parent.label!r} "
                                             f"({_show_expiry(parent_exp)}): a child never outlives its parent")
        # budgets come out of the parent's
        for token in budgets:
            if token not in parent.budgets:
                self.add((*path, "budgets", token), f"parent {parent.label!r} has no {token} budget to reserve it from")
        # allowlist within the parent's
        parent_entries = self._parent_entries(parent, chain)
        if parent_entries is None:
            return
        if entries is None:
            self.add((*path, "allow"), f"'any' target is not allowed: parent {parent.label!r} has an allowlist")
            return
        for i, entry in enumerate(s.allow):
            for selector in entry.selector_values():
                target = self._identity(entry.target, chain)
                if target is None:
                    continue
                covered = (target, ANY_SELECTOR) in parent_entries or (
                    selector != ANY_SELECTOR and (target, selector) in parent_entries)
                if not covered:
                    shown = "every selector" if selector == ANY_SELECTOR else f"selector {selector}"
                    self.add((*path, "allow", i), f"{entry.target} with {shown} is not allowed in parent "
                                                  f"{parent.label!r}")

    def _parent_entries(self, parent: SessionSpec, chain: str | None) -> set[tuple[Any, str]] | None:
        if parent.any_target:
            return None
        out = set()
        for entry in parent.allow:
            target = self._identity(entry.target, chain)
            if target is not None:
                for selector in entry.selector_values():
                    out.add((target, selector))
        return out

    def _identity(self, text: str, chain: str | None) -> Any:
        """Identity of a target without reporting (the owning session reports its own bad targets)."""
        saved = self.issues
        self.issues = []
        try:
            return self.target((), text, chain)
        finally:
            self.issues = saved


def _show(amount: int, token: str, spec: FleetSpec) -> str:
    from ..base.units import format_amount

    return format_amount(amount, spec.decimals_of(token), token)


def _show_expiry(value: Any) -> str:
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        parts = []
        for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
            if seconds >= size:
                parts.append(f"{seconds // size}{unit}")
                seconds %= size
        return f"in {''.join(parts) or '0s'}"
    return "at " + value.astimezone(timezone.utc).isoformat()


FleetSpec.model_rebuild()
SessionSpec.model_rebuild()
