"""ABI plumbing over eth-abi: the shipped artifacts, function codecs, event and error tables.

Why not web3's ``Contract`` objects: they validate and format on every call, which costs more than the
RPC itself on a local node, and the SDK encodes the same few functions thousands of times. Codecs here are
built once per ABI and are plain ``selector + eth_abi.encode``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping, Sequence

import eth_abi
from eth_abi.exceptions import EncodingError
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import collapse_if_tuple

__all__ = [
    "ContractABI",
    "ErrorDef",
    "Event",
    "EventDef",
    "Function",
    "load_artifact",
    "known_errors",
]


@functools.cache
def load_artifact(name: str) -> dict[str, Any]:
    """The shipped artifact ``artifacts/<name>.json`` (``"testing/TestToken"`` for test-only ones)."""
    path = resources.files("agent_sessions").joinpath("artifacts", *f"{name}.json".split("/"))
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise LookupError(
            f"no artifact {name!r} in the agent_sessions package: run `make artifacts` in the repository"
        ) from exc


def _types(params: Sequence[Mapping[str, Any]]) -> list[str]:
    return [collapse_if_tuple(dict(p)) for p in params]


def _signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(_types(item.get('inputs', [])))})"


def _normalize(abi_type: str, value: Any) -> Any:
    """Decoded values as the SDK hands them out: checksum addresses, ``0x`` hex for fixed bytes."""
    if abi_type == "address":
        return to_checksum_address(value)
    if abi_type.startswith("bytes") and abi_type != "bytes" and "[" not in abi_type:
        return "0x" + value.hex()
    if abi_type.endswith("]") and isinstance(value, (list, tuple)):
        inner = abi_type[: abi_type.rindex("[")]
        return [_normalize(inner, v) for v in value]
    return value


@dataclass(frozen=True)
class Function:
    """One ABI function: its selector and eth-abi type lists."""

    name: str
    signature: str
    selector: bytes
    input_types: tuple[str, ...]
    output_types: tuple[str, ...]
    mutability: str
    input_names: tuple[str, ...] = ()

    @classmethod
    def from_abi(cls, item: Mapping[str, Any]) -> Function:
        sig = _signature(item)
        return cls(
            name=item["name"],
            signature=sig,
            selector=keccak(text=sig)[:4],
            input_types=tuple(_types(item.get("inputs", []))),
            output_types=tuple(_types(item.get("outputs", []))),
            mutability=item.get("stateMutability", "nonpayable"),
            input_names=tuple(p.get("name") or f"argument {i}" for i, p in enumerate(item.get("inputs", []))),
        )

    def encode(self, *args: Any) -> bytes:
        """Calldata: selector followed by the ABI-encoded arguments. An argument eth-abi cannot encode raises
        ``ValueError`` naming it (the SDK validates first; this is the net under direct ``Contract`` use)."""
        if len(args) != len(self.input_types):
            raise TypeError(f"{self.signature} takes {len(self.input_types)} arguments, got {len(args)}")
        try:
            return self.selector + eth_abi.encode(self.input_types, args)
        except EncodingError as exc:
            names = self.input_names or tuple(f"argument {i}" for i in range(len(args)))
            for name, abi_type, arg in zip(names, self.input_types, args):
                try:
                    eth_abi.encode([abi_type], [arg])
                except EncodingError as inner:
                    raise ValueError(f"{name} of {self.name} ({abi_type}): {inner}") from None
            raise ValueError(f"{self.signature}: {exc}") from None

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        return tuple(eth_abi.decode(self.output_types, data))


@dataclass(frozen=True)
class Event:
    """A decoded log."""

    name: str
    args: dict[str, Any]
    address: str
    log_index: int
    block_number: int
    tx_hash: str

    def __getattr__(self, item: str) -> Any:
        try:
            return self.args[item]
        except KeyError:
            raise AttributeError(item) from None


@dataclass(frozen=True)
class EventDef:
    name: str
    topic: bytes
    names: tuple[str, ...]
    types: tuple[str, ...]
    indexed: tuple[bool, ...]

    @classmethod
    def from_abi(cls, item: Mapping[str, Any]) -> EventDef:
        inputs = item.get("inputs", [])
        return cls(
            name=item["name"],
            topic=keccak(text=_signature(item)),
            names=tuple(p["name"] for p in inputs),
            types=tuple(_types(inputs)),
            indexed=tuple(bool(p.get("indexed")) for p in inputs),
        )

    def decode(self, log: Mapping[str, Any]) -> Event:
        topics = [bytes.fromhex(t[2:]) if isinstance(t, str) else bytes(t) for t in log["topics"]][1:]
        data = log["data"]
        data = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
        plain_types = [t for t, ix in zip(self.types, self.indexed) if not ix]
        plain = iter(eth_abi.decode(plain_types, data)) if plain_types else iter(())
        args: dict[str, Any] = {}
        topic_iter = iter(topics)
        for name, abi_type, ix in zip(self.names, self.types, self.indexed):
            if ix:
                raw = next(topic_iter)
                dynamic = abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("(")
                value: Any = "0x" + raw.hex() if dynamic else eth_abi.decode([abi_type], raw)[0]
            else:
                value = next(plain)
            args[name] = value if (ix and isinstance(value, str) and abi_type != "address") else _normalize(abi_type, value)
        return Event(
            name=self.name,
            args=args,
            address=to_checksum_address(log["address"]),
            log_index=_int(log.get("logIndex", 0)),
            block_number=_int(log.get("blockNumber", 0)),
            tx_hash=_hex(log.get("transactionHash", "")),
        )


@dataclass(frozen=True)
class ErrorDef:
    name: str
    signature: str
    selector: bytes
    names: tuple[str, ...]
    types: tuple[str, ...]

    @classmethod
    def from_abi(cls, item: Mapping[str, Any]) -> ErrorDef:
        sig = _signature(item)
        inputs = item.get("inputs", [])
        return cls(
            name=item["name"],
            signature=sig,
            selector=keccak(text=sig)[:4],
            names=tuple(p["name"] for p in inputs),
            types=tuple(_types(inputs)),
        )

    def decode(self, data: bytes) -> tuple[Any, ...]:
        """The error's arguments from revert data (selector included), normalised."""
        values = eth_abi.decode(self.types, data[4:]) if self.types else ()
        return tuple(_normalize(t, v) for t, v in zip(self.types, values))


@dataclass
class ContractABI:
    """Functions, events and errors of one ABI, looked up by name / topic / selector."""

    abi: list[dict[str, Any]]
    functions: dict[str, Function] = field(init=False)
    events: dict[bytes, EventDef] = field(init=False)
    errors: dict[bytes, ErrorDef] = field(init=False)

    def __post_init__(self) -> None:
        self.functions = {}
        self.events = {}
        self.errors = {}
        for item in self.abi:
            kind = item.get("type")
            if kind == "function":
                fn = Function.from_abi(item)
                # overloads stay reachable by signature; the name maps to the first one
                self.functions.setdefault(fn.name, fn)
                self.functions[fn.signature] = fn
            elif kind == "event":
                ev = EventDef.from_abi(item)
                self.events[ev.topic] = ev
            elif kind == "error":
                er = ErrorDef.from_abi(item)
                self.errors[er.selector] = er

    def fn(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise AttributeError(f"no function {name!r} in this ABI") from None

    def event(self, name: str) -> EventDef:
        for ev in self.events.values():
            if ev.name == name:
                return ev
        raise AttributeError(f"no event {name!r} in this ABI")

    def decode_logs(
        self, logs: Iterable[Mapping[str, Any]], address: str | None = None, name: str | None = None
    ) -> list[Event]:
        """Decode the logs this ABI knows (optionally only from ``address`` / only event ``name``)."""
        wanted = address.lower() if address else None
        out: list[Event] = []
        for log in logs:
            topics = log.get("topics") or []
            if not topics or (wanted and str(log["address"]).lower() != wanted):
                continue
            topic0 = bytes.fromhex(topics[0][2:]) if isinstance(topics[0], str) else bytes(topics[0])
            ev = self.events.get(topic0)
            if ev is None or (name and ev.name != name):
                continue
            out.append(ev.decode(log))
        return out


@functools.cache
def artifact_abi(name: str) -> ContractABI:
    return ContractABI(load_artifact(name)["abi"])


#: Errors outside the shipped ABIs that the manager can still surface.
_EXTRA_ERRORS: tuple[dict[str, Any], ...] = (
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
)


@functools.cache
def known_errors() -> dict[bytes, ErrorDef]:
    """Every error selector the SDK can name: the manager (hot + extension, so Solady's ERC-721 and
    Reentrancy errors too), the factory, the guard, the executor, plus ``Error(string)`` and ``Panic(uint256)``."""
    table: dict[bytes, ErrorDef] = {}
    for name in ("IAgentSessions", "SessionManagerExtension", "SessionFactory", "DenylistGuard", "ISessionExecutor"):
        table.update(artifact_abi(name).errors)
    for item in _EXTRA_ERRORS:
        er = ErrorDef.from_abi(item)
        table[er.selector] = er
    return table


def _int(value: Any) -> int:
    if isinstance(value, str):
        return int(value, 16)
    return int(value or 0)


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value)
