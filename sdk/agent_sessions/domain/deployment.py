"""Canonical deployment: the extension and the factory (and the spec's test tokens) at the same address on every
chain, through the deterministic CREATE2 deployer; a plain deployment where a chain lacks it.

``AgentSessions.ensure_factory`` and the fleet's chains both go through here.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

import eth_abi
from eth_utils import keccak, to_checksum_address

from ..base.abi import load_artifact
from ..base.errors import RPCError, SessionError

if TYPE_CHECKING:
    from .client import AgentSessions, Factory

__all__ = [
    "CANONICAL_SALT",
    "DETERMINISTIC_DEPLOYER",
    "NoDeterministicDeployer",
    "canonical_addresses",
    "canonical_factory_address",
    "canonical_token_address",
    "create2_address",
    "deploy_deterministic",
    "deployment_block",
    "ensure_deployment",
    "has_code",
    "init_code",
]

log = logging.getLogger(__name__)

#: The deterministic CREATE2 deployer ("Arachnid's proxy"): calldata = salt (32 bytes) + init code, it creates
#: the contract with CREATE2 and returns its address. Anvil has it at genesis.
DETERMINISTIC_DEPLOYER = "0x4e59b44847b379578588920cA78FbF26c0B4956C"
#: The salt of every canonical deployment (extension, factory, test tokens, test contracts).
CANONICAL_SALT = keccak(text="agent-sessions/canonical/v1")


class NoDeterministicDeployer(SessionError):
    """The chain lacks the deterministic CREATE2 deployer, so canonical addresses cannot be used there."""

    def __init__(self, chain_id: int):
        self.chain_id = chain_id
        super().__init__(
            f"chain {chain_id} has no deterministic deployer at {DETERMINISTIC_DEPLOYER}: canonical (same on every "
            "chain) addresses are unavailable there"
        )


def init_code(artifact: str, *args: Any) -> bytes:
    """Creation code of a shipped artifact with its ABI-encoded constructor ``args``."""
    spec = load_artifact(artifact)
    if "bytecode" not in spec:
        raise SessionError(f"{artifact} ships without bytecode (an interface)")
    ctor = next((item for item in spec["abi"] if item.get("type") == "constructor"), None)
    types = [p["type"] for p in ctor["inputs"]] if ctor else []
    if len(types) != len(args):
        raise TypeError(f"{artifact}'s constructor takes {len(types)} arguments, got {len(args)}")
    return bytes.fromhex(spec["bytecode"][2:]) + (eth_abi.encode(types, list(args)) if types else b"")


def create2_address(code: bytes, salt: bytes = CANONICAL_SALT, deployer: str = DETERMINISTIC_DEPLOYER) -> str:
    """The CREATE2 address of ``code`` deployed by ``deployer`` with ``salt``."""
    if len(salt) != 32:
        raise ValueError(f"a CREATE2 salt is 32 bytes, got {len(salt)}")
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt + keccak(code))
    return to_checksum_address(digest[12:])


def canonical_addresses(client: AgentSessions | None = None) -> tuple[str, str, str]:
    """``(extension, signatures, factory)`` addresses of the canonical deployment: the same on every chain, a
    function of the shipped bytecode only (``client`` is accepted for symmetry and not needed)."""
    signatures = create2_address(init_code("SessionSignatures"))
    extension = create2_address(init_code("SessionManagerExtension", signatures))
    factory = create2_address(init_code("SessionFactory", extension))
    return extension, signatures, factory


def canonical_factory_address(client: AgentSessions | None = None) -> str:
    """Where the canonical ``SessionFactory`` lives (or will live) on any chain."""
    return canonical_addresses(client)[2]


def canonical_token_address(symbol: str, decimals: int) -> str:
    """Where a spec's ``deploy: test`` token ``symbol`` lives on every chain (a TestToken named ``Test <symbol>``)."""
    return create2_address(init_code("testing/TestToken", f"Test {symbol}", symbol, decimals))


def has_code(client: AgentSessions, address: str) -> bool:
    return len(client.rpc.code(to_checksum_address(address))) > 0


def deployment_block(client: AgentSessions, address: str) -> int:
    """The block ``address`` got its code in: the lowest block whose state has code there, found by bisection over
    ``eth_getCode`` at past blocks (about log2 of the chain's height requests). 0 (genesis: always a safe start)
    when there is no code at the latest block or the node keeps no past state (a pruned, non-archive node).

    Why: a contract's event history starts there, so log queries need not scan the chain from genesis."""
    rpc = client.rpc
    address = to_checksum_address(address)

    def has_code_at(block: int) -> bool:
        # once, not retried: a node without that state answers "header not found" or BlockOutOfRangeError, which
        # read as transient, and retrying them would only delay the fall back to genesis
        return rpc.request_once("eth_getCode", [address, hex(block)]) not in (None, "0x", "0x0")

    try:
        low, high = 0, rpc.block_number()
        if not has_code_at(high):
            return 0
        while low < high:
            middle = (low + high) // 2
            if has_code_at(middle):
                high = middle
            else:
                low = middle + 1
    except RPCError as exc:  # past state pruned ("missing trie node", "header not found"...)
        log.debug("no past state for %s (%s): its history is read from genesis", address, exc)
        return 0
    return low


def deploy_deterministic(client: AgentSessions, artifact: str, *args: Any, sender: Any,
                         salt: bytes = CANONICAL_SALT, **txn_kwargs: Any) -> tuple[str, bool]:
    """Deploy ``artifact(*args)`` through the deterministic deployer, unless code is already at its address.
    Returns ``(address, deployed_now)``. Raises ``NoDeterministicDeployer`` on a chain without it."""
    code = init_code(artifact, *args)
    address = create2_address(code, salt)
    if has_code(client, address):
        return address, False
    if not has_code(client, DETERMINISTIC_DEPLOYER):
        raise NoDeterministicDeployer(client.chain_id)
    try:
        client.sender(sender).transact(DETERMINISTIC_DEPLOYER, salt + code, 0, **txn_kwargs)
    except SessionError:
        if has_code(client, address):  # someone deployed it at the same time: same code, same address
            return address, False
        raise
    if not has_code(client, address):
        raise SessionError(f"deploying {artifact} through {DETERMINISTIC_DEPLOYER} left no code at {address}")
    return address, True


def ensure_deployment(client: AgentSessions, deployer_key: Any = None, **txn_kwargs: Any) -> Factory:
    """The canonical factory of ``client``'s chain, deployed first if missing (signatures, extension, then
    factory, all through the deterministic deployer; ``deployer_key`` pays). Idempotent: existing code is reused and
    nothing is sent.

    On a chain without the deterministic deployer it falls back to a plain deployment (new addresses each
    time) and warns: tools restarted without that address cannot find it again."""
    extension, signatures, factory = canonical_addresses()
    if has_code(client, factory):
        return client.factory(factory)
    if deployer_key is None:
        raise SessionError(f"chain {client.chain_id} has no Agent Sessions factory at {factory} and no deployer key "
                           "was given to deploy it")
    if not has_code(client, DETERMINISTIC_DEPLOYER):
        fallback = client.deploy_factory(deployer_key, **txn_kwargs)
        message = (f"chain {client.chain_id} has no deterministic deployer at {DETERMINISTIC_DEPLOYER}: deployed the "
                   f"factory with a plain CREATE at {fallback.address} (not the canonical {factory}); keep that "
                   "address, a restarted tool cannot find it on its own")
        log.warning(message)
        warnings.warn(message, stacklevel=2)
        return fallback
    deploy_deterministic(client, "SessionSignatures", sender=deployer_key, **txn_kwargs)
    deploy_deterministic(client, "SessionManagerExtension", signatures, sender=deployer_key, **txn_kwargs)
    deployed, _ = deploy_deterministic(client, "SessionFactory", extension, sender=deployer_key, **txn_kwargs)
    assert deployed == factory
    return client.factory(factory)
