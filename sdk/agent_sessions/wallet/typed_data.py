"""EIP-712 typed data of the manager's signed entry points, signing it with any kind of signer, and the signed
objects that travel from a signer to whoever submits them.

The typed data is built as the full EIP-712 JSON (``types``, ``primaryType``, ``domain``, ``message``), so any
wallet (``eth_signTypedData_v4``), ``cast wallet sign --data`` or eth-account signs exactly what the contract
checks. Every integer travels as a decimal string: JSON numbers lose precision past 2^53 in most JSON parsers,
and a 256-bit nonce is far past that.

The domain is ``{name: "Agent Sessions", version: "1", chainId, verifyingContract: the manager}``: a signature is
good for one manager on one chain only.

A signer is any of:

- an eth-account ``LocalAccount``, a private key (hex or bytes), or an object with ``.private_key`` / ``.account``;
- an object with ``sign_typed_data(full_message=...)`` (eth-account's interface);
- an object with ``sign_message(SignableMessage)`` returning a signature with ``v``, ``r``, ``s`` (Ape accounts,
  which sign an EIP-712 message that way, hardware-wallet plugins included);
- a callable taking the typed data dict and returning the 65-byte signature (a browser wallet behind an HTTP hop,
  ``cast wallet sign --data``, a remote signer...).

Whoever submits never needs the signer's key: a ``SignedMessage`` is the typed data plus the signature, and
serialises to JSON (``to_json`` / ``load_signed``) for files, stdin and HTTP.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from ..base import validate as v
from ..chain.signing import to_account
from ..base.parsing import parse_expiry

if TYPE_CHECKING:
    from ..domain.client import AgentSessions
    from ..domain.manager import Manager
    from ..base.results import Receipt

__all__ = [
    "DEFAULT_DEADLINE",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "TYPES",
    "SignedMessage",
    "deadline_at",
    "domain",
    "encode_type",
    "invalidate_nonces",
    "load_signed",
    "new_nonce",
    "nonce_used",
    "recover_signer",
    "safe_signature",
    "safe_signer",
    "signer_address",
    "sign_typed",
    "typed_data",
    "typed_digest",
]

DOMAIN_NAME = "Agent Sessions"
DOMAIN_VERSION = "1"
#: How long a signature stays good when no deadline is given.
DEFAULT_DEADLINE = "1h"

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def _fields(spec: str) -> list[dict[str, str]]:
    """``"address owner,uint256 nonce"`` as EIP-712 field dicts (the encodeType text stays readable here)."""
    return [{"name": name, "type": kind} for kind, name in (item.split(" ") for item in spec.split(","))]


#: The manager's EIP-712 struct types, as its ABI fixes them.
TYPES: dict[str, list[dict[str, str]]] = {
    "Grant": _fields("address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline"),
    "Spawn": _fields("uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline"),
    "SessionParams": _fields(
        "address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,bool draft,"
        "bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,address[] guards"),
    "BudgetParams": _fields("address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance"),
    "Permission": _fields("address target,bytes4 selector"),
    "Execute": _fields("uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,"
                       "uint256 relayFee"),
    "ExecuteBatch": _fields("uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee"),
    "Call": _fields("address target,uint256 value,bytes data"),
}


def _dependencies(primary: str, types: Mapping[str, Sequence[Mapping[str, str]]] = TYPES) -> list[str]:
    """The struct types ``primary`` references, directly or not (``primary`` excluded), alphabetically."""
    found: set[str] = set()
    pending = [primary]
    while pending:
        for item in types[pending.pop()]:
            name = item["type"].split("[")[0]
            if name in types and name != primary and name not in found:
                found.add(name)
                pending.append(name)
    return sorted(found)


def encode_type(primary: str) -> str:
    """EIP-712 ``encodeType``: the primary struct, then the structs it references in alphabetical order."""
    def one(name: str) -> str:
        return name + "(" + ",".join(item["type"] + " " + item["name"] for item in TYPES[name]) + ")"

    return one(primary) + "".join(one(name) for name in _dependencies(primary))


def domain(chain_id: int, manager: str) -> dict[str, Any]:
    """The EIP-712 domain of ``manager`` on ``chain_id``."""
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": int(chain_id),
            "verifyingContract": to_checksum_address(manager)}


def typed_data(primary: str, chain_id: int, manager: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The full EIP-712 JSON of ``message`` (a ``primary`` struct) for ``manager`` on ``chain_id``."""
    types = {"EIP712Domain": EIP712_DOMAIN, primary: TYPES[primary]}
    types.update({name: TYPES[name] for name in _dependencies(primary)})
    return {"types": types, "primaryType": primary, "domain": domain(chain_id, manager), "message": dict(message)}


def typed_digest(typed: Mapping[str, Any]) -> bytes:
    """The 32-byte EIP-712 digest ``keccak(0x1901 || domainSeparator || hashStruct(message))`` a signer signs."""
    return bytes(_hash_eip191_message(encode_typed_data(full_message=dict(typed))))


# ================================================================================================================
# nonces and deadlines
# ================================================================================================================


#: Per signer, the bitmap word this process takes nonces from and the next bit of it.
_SEQUENCES: dict[str, tuple[int, int]] = {}
_SEQUENCES_LOCK = threading.Lock()


def new_nonce(signer: str | None = None) -> int:
    """A nonce ``signer`` has not used. The manager keeps a bitmap of used nonces per signer (word ``nonce >> 8``,
    bit ``nonce & 255``), so nonces need no order: many signers, or one signer on many machines, sign at once
    without coordinating.

    Per signer, this process takes the bits of one random 248-bit word in turn: the first nonce of a word writes
    a storage slot from zero (17,100 gas more for whoever submits it), the next 255 only flip a bit of it. Without
    a signer (one whose address cannot be known here), a random 256-bit nonce: each costs that first write."""
    if signer is None:
        return secrets.randbits(256)
    with _SEQUENCES_LOCK:
        word, bit = _SEQUENCES.get(signer, (0, 256))
        if bit == 256:
            word, bit = secrets.randbits(248), 0
        _SEQUENCES[signer] = (word, bit + 1)
    return (word << 8) | bit


def nonce_key(signer: Any) -> str | None:
    """The address whose nonce sequence ``signer`` draws from, or None when it cannot be known without signing (a
    callable signer)."""
    try:
        return signer_address(signer)
    except Exception:  # a callable or remote signer: its address is only known from what it signs
        return None


def deadline_at(deadline: Any, now: int | None = None) -> int:
    """Unix seconds of a deadline: a duration from ``now`` (``"10m"``, ``3600``, a ``timedelta``), an aware
    ``datetime`` or ISO date-time with a zone, or ``UnixTime`` / ``"unix:SECONDS"`` (``parsing.parse_expiry``).
    ``now`` defaults to this machine's clock (an offline signer has no chain to ask)."""
    try:
        parsed = parse_expiry(deadline)
    except ValueError as exc:
        raise ValueError(v.named("deadline", str(exc))) from None
    if isinstance(parsed, timedelta):
        return (int(time.time()) if now is None else now) + int(parsed.total_seconds())
    assert isinstance(parsed, datetime)
    return v.uint(int(parsed.timestamp()), "deadline", 256)


def nonce_used(manager: Manager, signer: Any, nonce: int) -> bool:
    """Has ``signer`` (an address) used ``nonce`` on ``manager``, or cancelled it?"""
    return bool(manager.call("nonceUsed", v.address(signer, "signer"), v.uint(nonce, "nonce", 256)))


def invalidate_nonces(manager: Manager, nonces: Sequence[int], sender: Any, **txn_kwargs: Any) -> list[Receipt]:
    """Cancel ``nonces`` of ``sender`` (its own signatures not yet used): one ``invalidateNonces`` per 256-nonce
    word of the bitmap (word ``nonce >> 8``, bit ``nonce & 255``)."""
    words: dict[int, int] = {}
    for nonce in nonces:
        n = v.uint(nonce, "nonces", 256)
        words[n >> 8] = words.get(n >> 8, 0) | (1 << (n & 255))
    return [manager.transact("invalidateNonces", word, mask, sender=sender, **txn_kwargs)
            for word, mask in sorted(words.items())]


# ================================================================================================================
# signing
# ================================================================================================================


def _rsv(result: Any) -> bytes:
    """65 bytes ``r || s || v`` from what a signer returned: bytes, 0x hex, eth-account's ``SignedMessage``, or an
    object with ``v``, ``r``, ``s`` (Ape's ``MessageSignature``; its ``r``/``s`` may be shorter than 32 bytes)."""
    signature = getattr(result, "signature", None)
    if signature is not None and not hasattr(result, "encode_rsv"):
        result = signature
    if isinstance(result, str):
        result = v.hex_bytes(result, "signature")
    if isinstance(result, (bytes, bytearray)):
        return bytes(result)
    if all(hasattr(result, part) for part in ("v", "r", "s")):
        r, s = (int.from_bytes(x, "big") if isinstance(x, (bytes, bytearray)) else int(x)
                for x in (result.r, result.s))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([int(result.v)])
    raise TypeError(f"cannot read a signature from {type(result).__name__}")


def sign_typed(signer: Any, typed: Mapping[str, Any]) -> bytes:
    """Sign full EIP-712 ``typed`` data with ``signer`` (see the module docstring); returns ``r || s || v``."""
    message = dict(typed)
    if hasattr(signer, "sign_typed_data"):
        return _rsv(signer.sign_typed_data(full_message=message))
    if hasattr(signer, "sign_message"):
        return _rsv(signer.sign_message(encode_typed_data(full_message=message)))
    if callable(signer):
        return _rsv(signer(message))
    return _rsv(to_account(signer).sign_typed_data(full_message=message))


def signer_address(signer: Any) -> str:
    """The address a signer signs for (``.address``, or the key's)."""
    address = getattr(signer, "address", None)
    return v.address(address, "signer") if address is not None else to_account(signer).address


def recover_signer(typed: Mapping[str, Any], signature: bytes) -> str | None:
    """The key that made a 65-byte ECDSA ``signature`` of ``typed``; None for another shape (a contract signer's)."""
    if len(signature) != 65:
        return None
    try:
        return Account._recover_hash(typed_digest(typed), signature=signature)
    except Exception:  # not a valid ECDSA signature: it may be a contract signer's (ERC-1271)
        return None


# --- Safe as a signer (ERC-1271) --------------------------------------------------------------------------------


def safe_message(safe: str, chain_id: int, digest: bytes) -> dict[str, Any]:
    """The typed data a Safe's owners sign so that the Safe answers ``isValidSignature(digest, ...)``: Safe's
    ``SafeMessage(bytes message)`` over the 32 bytes of ``digest``, in the Safe's own domain."""
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeMessage": [{"name": "message", "type": "bytes"}],
        },
        "primaryType": "SafeMessage",
        "domain": {"chainId": int(chain_id), "verifyingContract": to_checksum_address(safe)},
        "message": {"message": "0x" + digest.hex()},
    }


def safe_signature(safe: str, typed: Mapping[str, Any], owners: Sequence[Any]) -> bytes:
    """A Safe's signature of ``typed``: each owner's signature of the ``SafeMessage`` wrapping its digest,
    concatenated in ascending order of owner address (the order ``checkSignatures`` requires). Give at least
    the Safe's threshold of owners."""
    chain_id = int(typed["domain"]["chainId"])
    wrapped = safe_message(safe, chain_id, typed_digest(typed))
    signed = sorted((int(signer_address(owner), 16), sign_typed(owner, wrapped)) for owner in owners)
    return b"".join(signature for _, signature in signed)


def safe_signer(safe: str, owners: Sequence[Any]) -> Any:
    """A signer (a callable over typed data) that signs as the Safe ``safe`` with ``owners``' keys; its
    ``.address`` is the Safe's."""

    class _SafeSigner:
        address = to_checksum_address(safe)

        def __call__(self, typed: Mapping[str, Any]) -> bytes:
            return safe_signature(safe, typed, owners)

    return _SafeSigner()


# ================================================================================================================
# signed messages: typed data + signature, to and from JSON
# ================================================================================================================


def _uint(message: Mapping[str, Any], name: str, where: str, bits: int = 256) -> int:
    if name not in message:
        raise ValueError(f"{where}.{name}: missing")
    raw = message[name]
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = int(raw, 16) if isinstance(raw, str) and raw.startswith("0x") else int(raw)
        if value < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"{where}.{name}: {raw!r} is not an unsigned integer") from None
    return v.uint(value, f"{where}.{name}", bits)


def _address(message: Mapping[str, Any], name: str, where: str) -> str:
    if name not in message:
        raise ValueError(f"{where}.{name}: missing")
    return v.address(message[name], f"{where}.{name}")


def _bytes(message: Mapping[str, Any], name: str, where: str, size: int | None = None) -> bytes:
    if name not in message:
        raise ValueError(f"{where}.{name}: missing")
    raw = v.hex_bytes(message[name], f"{where}.{name}")
    if size is not None and len(raw) != size:
        raise ValueError(f"{where}.{name}: {len(raw)} bytes, expected {size}")
    return raw


def _list(message: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = message.get(name)
    if not isinstance(value, list):
        raise ValueError(f"{where}.{name}: expected a list, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class SignedMessage:
    """Full EIP-712 typed data and a signature of it. Subclasses name their struct (``primary``) and turn the
    message into the arguments of the manager's entry point. ``tag`` is the caller's own name for it (a relayer
    echoes it back); it is not signed."""

    typed_data: dict[str, Any]
    signature: bytes
    tag: Any = field(default=None, compare=False)

    #: The EIP-712 struct this kind of message signs.
    primary: ClassVar[str] = ""
    #: Subclasses by struct name, for ``load_signed``.
    _kinds: ClassVar[dict[str, type[SignedMessage]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.primary:
            SignedMessage._kinds[cls.primary] = cls

    def __post_init__(self) -> None:
        _check_typed(self.typed_data, self.primary)
        self.validate()

    def validate(self) -> None:
        """Read every field once, so a malformed message is refused when loaded, naming the field."""
        self.nonce, self.deadline  # noqa: B018

    # --- what was signed ----------------------------------------------------------------------------------------

    @property
    def message(self) -> dict[str, Any]:
        return self.typed_data["message"]

    @property
    def chain_id(self) -> int:
        return _uint(self.typed_data["domain"], "chainId", "domain")

    @property
    def manager_address(self) -> str:
        return _address(self.typed_data["domain"], "verifyingContract", "domain")

    @property
    def nonce(self) -> int:
        return _uint(self.message, "nonce", "message")

    @property
    def deadline(self) -> int:
        return _uint(self.message, "deadline", "message")

    @property
    def digest(self) -> bytes:
        return typed_digest(self.typed_data)

    @property
    def recovered(self) -> str | None:
        """The key that made the signature (None for a contract signer's signature, checked by ERC-1271)."""
        return recover_signer(self.typed_data, self.signature)

    # --- submitting ---------------------------------------------------------------------------------------------

    #: The manager function this message is submitted to.
    def function(self) -> str:
        raise NotImplementedError

    def arguments(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def calldata(self, manager: Manager) -> bytes:
        """The submitting call's calldata (for a relayer, a multisend, or a raw transaction)."""
        return manager.fn(self.function()).encode(*self.arguments())

    def manager(self, client: AgentSessions | Manager) -> Manager:
        """The manager this message names, on ``client``'s chain (or ``client`` itself when it is a Manager: a
        signed message can be sent to another manager, which refuses it)."""
        from ..domain.manager import Manager

        return client if isinstance(client, Manager) else client.manager(self.manager_address)

    # --- JSON ---------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out = {"typedData": self.typed_data, "signature": "0x" + self.signature.hex()}
        if self.tag is not None:
            out["id"] = self.tag
        return out

    def to_json(self, **dumps: Any) -> str:
        return json.dumps(self.to_dict(), **dumps)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_json(indent=2) + "\n")
        return target

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> SignedMessage:
        return load_signed(data, source=source, expect=cls)

    @classmethod
    def from_json(cls, text: str, *, source: str | None = None) -> SignedMessage:
        return load_signed(text, source=source, expect=cls)

    @classmethod
    def load(cls, path: str | Path) -> SignedMessage:
        return load_signed(Path(path).read_text(), source=str(path), expect=cls)


def _check_typed(typed: Any, primary: str) -> None:
    """The typed data must be exactly the manager's: the same struct definitions, its domain fields."""
    if not isinstance(typed, Mapping):
        raise ValueError(f"typedData: expected an object, got {type(typed).__name__}")
    for key in ("types", "primaryType", "domain", "message"):
        if key not in typed:
            raise ValueError(f"typedData.{key}: missing")
    if typed["primaryType"] != primary:
        raise ValueError(f"typedData.primaryType: {typed['primaryType']!r}, expected {primary!r}")
    expected = typed_data(primary, 1, "0x" + "00" * 20, {})["types"]
    if typed["types"] != expected:
        raise ValueError(f"typedData.types: not the manager's {primary} types (expected {encode_type(primary)})")
    dom = typed["domain"]
    if not isinstance(dom, Mapping) or dom.get("name") != DOMAIN_NAME or dom.get("version") != DOMAIN_VERSION:
        raise ValueError(f"typedData.domain: expected name {DOMAIN_NAME!r} and version {DOMAIN_VERSION!r}")
    if not isinstance(typed["message"], Mapping):
        raise ValueError("typedData.message: expected an object")


def load_signed(data: str | bytes | Mapping[str, Any], *, source: str | None = None,
                expect: type[SignedMessage] | None = None) -> SignedMessage:
    """A signed message from its JSON (text or parsed): ``{"typedData": {...}, "signature": "0x...", "id": ...}``.
    The kind comes from ``typedData.primaryType``. Errors name the field (and ``source``, a file name)."""
    where = f"{source}: " if source else ""
    try:
        parsed = json.loads(data) if isinstance(data, (str, bytes)) else data
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}not JSON: {exc}") from None
    try:
        if not isinstance(parsed, Mapping):
            raise ValueError(f"expected an object, got {type(parsed).__name__}")
        typed = parsed.get("typedData")
        if not isinstance(typed, Mapping):
            raise ValueError("typedData: missing")
        primary = typed.get("primaryType")
        kind = SignedMessage._kinds.get(str(primary))
        if kind is None:
            raise ValueError(f"typedData.primaryType: {primary!r} is none of {', '.join(sorted(SignedMessage._kinds))}")
        if expect is not None and expect is not SignedMessage and not issubclass(kind, expect):
            raise ValueError(f"typedData.primaryType: {primary!r}, expected {expect.primary!r}")
        if "signature" not in parsed:
            raise ValueError("signature: missing")
        signature = v.hex_bytes(parsed["signature"], "signature")
        return kind(typed_data=json.loads(json.dumps(typed)), signature=signature, tag=parsed.get("id"))
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None


def now_of(manager: Manager | tuple[int, str]) -> int:
    """The clock relative times count from: the chain's when ``manager`` is bound to a node, this machine's for an
    offline ``(chain_id, address)`` pair."""
    return int(time.time()) if isinstance(manager, tuple) else manager.client.now()


def chain_and_address(manager: Manager | tuple[int, str]) -> tuple[int, str]:
    """``(chain_id, address)`` of a Manager, or of a ``(chain_id, address)`` pair for offline signing."""
    if isinstance(manager, tuple):
        chain_id, address = manager
        return v.uint(chain_id, "chain_id", 256), v.address(address, "manager")
    return manager.client.chain_id, manager.address
