"""Helpers shared by the Ape scripts: deploying the system, building SessionParams, and turning a revert
into a readable line such as ``BudgetExceeded(session=2, token=ETH, requested=0.5 ETH, remaining=0.25 ETH)``.

Not a command: `ape run` skips modules whose name starts with `_`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

NATIVE = "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
ANY_SELECTOR = "0xffffffff"
NO_SELECTOR = "0x00000000"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ETHER = 10**18
DAY = 86_400

#: Status enum of ISessionTypes, by value.
STATUS_NAMES = ("None", "Draft", "Active", "Paused", "Completed", "Revoked", "Expired")

# Error arguments that are amounts of the error's `token` (or of ETH when the error has no token).
_AMOUNT_ARGS = {"requested", "remaining", "cap", "approved", "spent", "received", "minReceived", "expected",
                "actual", "amount"}
# Errors whose amounts are ETH although they carry no `token` argument.
_ETH_ERRORS = {"ValueMismatch", "NoValueExpected"}
# Argument names shown under a friendlier name.
_RENAMED = {"id": "session"}
# Standard Solidity reverts, decoded when a wrapped `reason` carries one.
_ERROR_STRING = keccak(text="Error(string)")[:4]
_PANIC = keccak(text="Panic(uint256)")[:4]


# ---------------------------------------------------------------------------------------------------------
# Deployment
# ---------------------------------------------------------------------------------------------------------


@dataclass
class System:
    """A deployed Agent Sessions system: the shared extension and factory, and one owner's manager."""

    extension: Any
    factory: Any
    manager: Any
    #: Receipt of `factory.deployManager` (the manager's deployment).
    deploy_receipt: Any


def deploy_system(project: Any, owner: Any, salt: bytes = b"\x00" * 32) -> System:
    """Deploys SessionManagerExtension and SessionFactory, then a manager for `owner`, bound to the
    full IAgentSessions ABI."""
    extension = project.SessionManagerExtension.deploy(project.SessionSignatures.deploy(sender=owner), sender=owner)
    factory = project.SessionFactory.deploy(extension, sender=owner)
    receipt = factory.deployManager(owner, salt, sender=owner)
    address = receipt.events.filter(factory.ManagerDeployed)[0].manager
    return System(extension, factory, project.IAgentSessions.at(address), receipt)


# ---------------------------------------------------------------------------------------------------------
# Session parameters
# ---------------------------------------------------------------------------------------------------------


def budget(token: Any, amount: int, per_call_cap: int = 0, period_allowance: int = 0) -> tuple:
    """A BudgetParams tuple (`token` is an ERC-20 or NATIVE)."""
    return (str(token), amount, per_call_cap, period_allowance)


def session_params(
    agent: Any,
    *,
    expiry: int,
    budgets: Iterable[tuple] = (),
    permissions: Iterable[tuple[Any, str]] = (),
    guards: Iterable[Any] = (),
    any_target: bool = False,
    draft: bool = False,
    max_idle: int = 0,
    period: int = 0,
    max_calls: int = 0,
    label: str = "",
) -> tuple:
    """A SessionParams tuple. `budgets` holds `budget(...)` tuples, `permissions` (target, selector) pairs."""
    return (
        str(agent),
        expiry,
        max_idle,
        period,
        max_calls,
        draft,
        any_target,
        label.encode().ljust(32, b"\x00"),
        list(budgets),
        [(str(target), selector) for target, selector in permissions],
        [str(g) for g in guards],
    )


def eth_value(params: tuple) -> int:
    """The ETH a root session's params require as `msg.value` (its NATIVE budget)."""
    return sum(b[1] for b in params[8] if b[0].lower() == NATIVE.lower())


def created_id(manager: Any, receipt: Any) -> int:
    """The id of the (first) session a creation receipt opened."""
    return receipt.events.filter(manager.SessionCreated)[0].id


# ---------------------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------------------


def fmt_amount(amount: int, symbol: str = "ETH", decimals: int = 18) -> str:
    """`250000000000000000` -> `0.25 ETH` (exact, no float rounding)."""
    value = Decimal(amount).scaleb(-decimals)
    text = format(value.normalize(), "f") if value else "0"
    return f"{text} {symbol}"


def fmt_eth(wei: int) -> str:
    return fmt_amount(wei, "ETH")


def short(address: Any) -> str:
    """`0x1234…abcd`; the zero address as `—`."""
    text = str(address)
    if int(text, 16) == 0:
        return "—"
    return f"{text[:6]}…{text[-4:]}"


def status_name(value: int) -> str:
    return STATUS_NAMES[int(value)] if 0 <= int(value) < len(STATUS_NAMES) else str(value)


# ---------------------------------------------------------------------------------------------------------
# Reverts
# ---------------------------------------------------------------------------------------------------------


@dataclass
class DecodedError:
    """A custom error with its arguments in ABI order (as decoded from revert data or from Ape)."""

    name: str
    args: dict[str, Any]
    #: ABI `internalType` per argument (tells an enum Status from a plain uint8).
    internal_types: dict[str, str]


def _error_abis(contract: Any) -> list[Any]:
    return list(contract.contract_type.errors)


def decode_error(contract: Any, data: bytes | str) -> DecodedError | None:
    """Decodes revert `data` against the custom errors of `contract` (or `Error(string)` / `Panic`). Returns
    None for empty or unknown data."""
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else bytes(data)
    if len(raw) < 4:
        return None
    selector, body = raw[:4], raw[4:]
    if selector == _ERROR_STRING:
        return DecodedError("Error", {"message": abi_decode(["string"], body)[0]}, {})
    if selector == _PANIC:
        return DecodedError("Panic", {"code": hex(abi_decode(["uint256"], body)[0])}, {})
    for abi in _error_abis(contract):
        if keccak(text=abi.selector)[:4] != selector:
            continue
        values = abi_decode([i.canonical_type for i in abi.inputs], body)
        names = [i.name or f"arg{n}" for n, i in enumerate(abi.inputs)]
        return DecodedError(
            abi.name,
            dict(zip(names, values)),
            {name: str(i.internal_type or "") for name, i in zip(names, abi.inputs)},
        )
    return None


def error_from_exception(contract: Any, err: Exception) -> DecodedError | None:
    """The custom error behind an Ape exception (a CustomError carries its ABI and inputs)."""
    abi = getattr(err, "abi", None)
    inputs = getattr(err, "inputs", None)
    if abi is not None and inputs is not None and getattr(abi, "type", "") == "error":
        names = [i.name for i in abi.inputs]
        return DecodedError(
            abi.name,
            {name: inputs[name] for name in names},
            {i.name: str(i.internal_type or "") for i in abi.inputs},
        )
    # Fall back to raw revert data if Ape handed it over undecoded.
    message = getattr(err, "revert_message", None) or ""
    if isinstance(message, str) and message.startswith("0x"):
        return decode_error(contract, message)
    return None


def format_error(
    contract: Any,
    error: DecodedError | bytes | str | None,
    labels: Mapping[str, str] | None = None,
    tokens: Mapping[str, tuple[str, int]] | None = None,
) -> str:
    """One readable line: `BudgetExceeded(session=2, token=ETH, requested=0.5 ETH, remaining=0.25 ETH)`.

    `labels` names addresses (address -> name); `tokens` gives ERC-20 units (address -> (symbol, decimals)).
    Amounts of ETH (or of a known token) are shown in whole units, a Status enum by name, and a wrapped
    `reason` (CallFailed, GuardRejected...) is decoded in turn.
    """
    if not isinstance(error, DecodedError):
        error = decode_error(contract, error) if error else None
    if error is None:
        return "(no reason)"
    labels = {k.lower(): v for k, v in (labels or {}).items()}
    labels.setdefault(NATIVE.lower(), "ETH")
    tokens = {k.lower(): v for k, v in (tokens or {}).items()}

    unit: tuple[str, int] | None = None
    token = error.args.get("token")
    if token is not None:
        unit = ("ETH", 18) if str(token).lower() == NATIVE.lower() else tokens.get(str(token).lower())
    elif error.name in _ETH_ERRORS:
        unit = ("ETH", 18)

    parts = []
    for name, value in error.args.items():
        internal = error.internal_types.get(name, "")
        if "Status" in internal:
            text = status_name(value)
        elif name in _AMOUNT_ARGS and unit is not None and isinstance(value, int):
            text = fmt_amount(value, *unit)
        elif isinstance(value, (bytes, bytearray)) or (isinstance(value, str) and value.startswith("0x")
                                                        and len(value) != 42):
            text = _format_bytes(contract, value, labels, tokens)
        elif isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            address = to_checksum_address(value)
            text = labels.get(address.lower(), address)
        else:
            text = str(value)
        parts.append(f"{_RENAMED.get(name, name)}={text}")
    return f"{error.name}({', '.join(parts)})"


def _format_bytes(contract: Any, value: Any, labels: Mapping[str, str], tokens: Mapping) -> str:
    raw = bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)
    if len(raw) == 4:
        return "0x" + raw.hex()
    inner = decode_error(contract, raw)
    if inner is not None:
        return format_error(contract, inner, labels, tokens)
    return "0x" + raw.hex() if raw else "0x"


def make_console() -> "Console":
    """A rich console; wide enough for one-line steps when output is not a terminal (make, CI, a file)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=140)


@dataclass
class RevertedTx:
    """A transaction that was mined and reverted, with its revert data."""

    txn_hash: str
    block: int
    gas_used: int
    revert_data: bytes


def send_expecting_revert(contract: Any, method: str, *args: Any, sender: Any, gas: int = 500_000,
                          value: int = 0) -> RevertedTx:
    """Sends `contract.method(*args)` as a real transaction (fixed gas, so no estimate stops it first) and
    returns the mined, reverted transaction with the revert data read from its trace.

    Goes around Ape's send path on purpose: Ape prints a full call trace for every failed transaction on
    Anvil. Uses the node's unlocked dev account for `sender` (local Anvil only).
    """
    from ape import chain
    from web3 import Web3

    web3 = chain.provider.web3
    data = getattr(contract, method).encode_input(*args)
    tx_hash = web3.eth.send_transaction(
        {"from": str(sender), "to": str(contract.address), "data": data, "gas": gas, "value": value}
    )
    tx_hash = Web3.to_hex(tx_hash)
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
    if receipt["status"] != 0:
        raise AssertionError(f"{method} was expected to revert but succeeded ({tx_hash})")
    # the top call's output in a parity-style trace (Anvil answers trace_transaction; not callTracer)
    trace = chain.provider.make_request("trace_transaction", [tx_hash])
    output = (trace[0].get("result") or {}).get("output") or "0x"
    return RevertedTx(
        tx_hash,
        receipt["blockNumber"],
        receipt["gasUsed"],
        bytes.fromhex(output.removeprefix("0x")),
    )
