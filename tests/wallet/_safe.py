"""A real Safe (v1.4.1, from the npm package's compiled artifacts): the singleton, the proxy factory and the
compatibility fallback handler (which answers ERC-1271 through the Safe's checkSignatures), a proxy made with
`createProxyWithNonce`, and Safe transactions signed by its owners (EIP-712 SafeTx)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from agent_sessions import AgentSessions, Contract
from agent_sessions.base.abi import ContractABI
from agent_sessions.wallet import sign_typed

ARTIFACTS = Path(__file__).resolve().parents[2] / "node_modules" / "@safe-global" / "safe-contracts" / "build" / \
    "artifacts" / "contracts"
ZERO = "0x0000000000000000000000000000000000000000"


def _artifact(path: str) -> dict[str, Any]:
    return json.loads((ARTIFACTS / path).read_text())


def _deploy(client: AgentSessions, path: str, sender: Any) -> Contract:
    spec = _artifact(path)
    receipt = client.sender(sender).transact(None, bytes.fromhex(spec["bytecode"][2:]))
    return Contract(client, receipt.contract_address, ContractABI(spec["abi"]), name=Path(path).stem)


@dataclass(frozen=True)
class SafeDeployment:
    singleton: str
    factory: str
    handler: str


def deploy_safe_system(client: AgentSessions, sender: Any) -> SafeDeployment:
    singleton = _deploy(client, "Safe.sol/Safe.json", sender)
    factory = _deploy(client, "proxies/SafeProxyFactory.sol/SafeProxyFactory.json", sender)
    handler = _deploy(client, "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json", sender)
    return SafeDeployment(singleton.address, factory.address, handler.address)


def safe_at(client: AgentSessions, address: str) -> Contract:
    return Contract(client, address, ContractABI(_artifact("Safe.sol/Safe.json")["abi"]), name="Safe")


def create_safe(client: AgentSessions, system: SafeDeployment, owners: Sequence[str], threshold: int, sender: Any,
                salt: int = 0) -> Contract:
    """A Safe proxy with ``owners`` and ``threshold``, the compatibility handler as its fallback handler."""
    safe_abi = ContractABI(_artifact("Safe.sol/Safe.json")["abi"])
    initializer = safe_abi.fn("setup").encode(list(owners), threshold, ZERO, b"", system.handler, ZERO, 0, ZERO)
    factory = Contract(client, system.factory,
                       ContractABI(_artifact("proxies/SafeProxyFactory.sol/SafeProxyFactory.json")["abi"]))
    receipt = factory.transact("createProxyWithNonce", system.singleton, initializer, salt, sender=sender)
    (created,) = factory.events(receipt, "ProxyCreation")
    return safe_at(client, created.args["proxy"])


def exec_safe_transaction(safe: Contract, to: str, value: int, data: bytes, owners: Sequence[Any],
                          sender: Any) -> Any:
    """Run a call from the Safe: a SafeTx signed (EIP-712) by ``owners``, submitted by ``sender``."""
    nonce = int(safe.call("nonce"))
    typed = {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": [{"name": n, "type": t} for t, n in (
                ("address", "to"), ("uint256", "value"), ("bytes", "data"), ("uint8", "operation"),
                ("uint256", "safeTxGas"), ("uint256", "baseGas"), ("uint256", "gasPrice"), ("address", "gasToken"),
                ("address", "refundReceiver"), ("uint256", "nonce"))],
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": safe.client.chain_id, "verifyingContract": safe.address},
        "message": {"to": to, "value": str(value), "data": "0x" + data.hex(), "operation": 0, "safeTxGas": "0",
                    "baseGas": "0", "gasPrice": "0", "gasToken": ZERO, "refundReceiver": ZERO, "nonce": str(nonce)},
    }
    signatures = b"".join(sig for _, sig in sorted((int(o.address, 16), sign_typed(o, typed)) for o in owners))
    return safe.transact("execTransaction", to, value, data, 0, 0, 0, 0, ZERO, ZERO, signatures, sender=sender)
