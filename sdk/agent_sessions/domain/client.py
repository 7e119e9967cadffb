"""The entry point: ``AgentSessions`` (one chain), ``Factory`` (the managers' registry).

    client = AgentSessions("http://127.0.0.1:8545")
    factory = client.deploy_factory(owner_key)           # or client.factory(address)
    manager = factory.deploy_manager(owner, salt=0, sender=owner_key)
    session = manager.create_session(SessionParams(agent=agent, expiry="1d", budgets={NATIVE: "1 ether"}), owner_key)
    session.execute(target, "0.1 ether", sender=agent_key)

It needs no Ape project: web3.py's provider over any JSON-RPC endpoint, eth-account keys, and the compiled
artifacts shipped in the package.
"""

from __future__ import annotations

import threading
from typing import Any

import eth_abi
from eth_utils import keccak
from web3 import Web3
from web3.providers.base import BaseProvider

from ..base.abi import artifact_abi, load_artifact
from ..base.errors import ChainMismatch, SessionError
from ..base.models import NATIVE, checksum
from ..base.results import Receipt
from ..base.validate import amount
from ..chain.contract import Contract
from ..chain.rpc import Rpc
from ..chain.signing import signer_for
from ..chain.transport import FeeOracle, Sender
from .listing import Inventory
from .manager import Manager

__all__ = ["AgentSessions", "Factory", "salt_bytes"]


def salt_bytes(salt: int | str | bytes) -> bytes:
    """A CREATE2 salt as 32 bytes from an int, 32 bytes (raw or 0x hex) or a short text (UTF-8, right-padded)."""
    if isinstance(salt, bool):
        raise ValueError("salt must be an int, str or bytes")
    if isinstance(salt, int):
        if not 0 <= salt < 2**256:
            raise ValueError(f"salt {salt} does not fit in 32 bytes")
        return salt.to_bytes(32, "big")
    if isinstance(salt, str):
        if salt.startswith("0x") and len(salt) == 66:
            return bytes.fromhex(salt[2:])
        raw = salt.encode()
    else:
        raw = bytes(salt)
    if len(raw) > 32:
        raise ValueError(f"salt {salt!r} is longer than 32 bytes")
    return raw if len(raw) == 32 else raw.ljust(32, b"\x00")


class Factory(Contract):
    """A ``SessionFactory``: deploys one manager per owner and salt, lists them per owner."""

    def __init__(self, client: AgentSessions, address: str) -> None:
        super().__init__(client, address, artifact_abi("SessionFactory"), name="Factory")

    def implementation(self) -> str:
        return checksum(self.call("implementation"))

    def deploy_manager(self, owner: Any, salt: int | str | bytes = 0, sender: Any = None,
                       **txn_kwargs: Any) -> Manager:
        """Deploy ``owner``'s manager at its CREATE2 address (``ManagerExists`` if taken). Only the owner deploys
        its own managers (``DeployerNotOwner`` otherwise): ``sender`` defaults to ``owner`` when that is a key."""
        if sender is None:
            sender = owner
        receipt = self.transact("deployManager", checksum(owner, "owner"), salt_bytes(salt), sender=sender,
                                **txn_kwargs)
        (event,) = self.events(receipt, "ManagerDeployed")
        return Manager(self.client, event.args["manager"])

    def predict_manager(self, owner: Any, salt: int | str | bytes = 0) -> str:
        return checksum(self.call("predictManager", checksum(owner), salt_bytes(salt)))

    #: Managers asked for per call of the paged ``managersOf``.
    MANAGERS_PAGE = 200

    def managers_of(self, owner: Any) -> list[Manager]:
        """Managers deployed for ``owner``, oldest first (read page by page)."""
        owner = checksum(owner)
        count = int(self.call("managerCount", owner))
        addresses: list[str] = []
        while len(addresses) < count:
            page = self.call("managersOf", owner, len(addresses), self.MANAGERS_PAGE)
            if not page:
                break
            addresses.extend(page)
        return [Manager(self.client, a) for a in addresses]

    def is_manager(self, address: Any) -> bool:
        return bool(self.call("isManager", checksum(address)))


class AgentSessions:
    """One chain behind one JSON-RPC endpoint (URL or web3 provider).

    ``chain_id``, when given, is checked against the node. Keys become ``Sender``s through ``sender(key)``,
    one per address and cached, so nonces stay consistent however many objects send with the same key.
    """

    def __init__(
        self,
        rpc_url: str | BaseProvider,
        chain_id: int | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        gas_multiplier: float = 1.2,
        receipt_timeout: float = 120.0,
    ) -> None:
        self.rpc = Rpc(rpc_url, timeout=timeout, retries=retries)
        actual = self.rpc.chain_id()
        if chain_id is not None and chain_id != actual:
            raise ChainMismatch(chain_id, actual)
        self.chain_id = actual
        self.fees = FeeOracle(self.rpc)
        self.gas_multiplier = gas_multiplier
        self.receipt_timeout = receipt_timeout
        self._senders: dict[str, Sender] = {}
        self._senders_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<AgentSessions chain={self.chain_id} {self.rpc.endpoint}>"

    @property
    def w3(self) -> Web3:
        return self.rpc.w3

    # --- keys -----------------------------------------------------------------------------------------------

    def sender(self, key: Any) -> Sender:
        """The ``Sender`` for ``key``: a Sender, a LocalAccount, a private key, an object with ``.private_key``,
        or an Ape account of any kind (it signs through its own ``sign_transaction``; its key is never read)."""
        if isinstance(key, Sender) and key.rpc is self.rpc:
            return key
        if key is None:
            raise TypeError("sender is required: the key that signs this transaction")
        try:
            signer = key.signer if isinstance(key, Sender) else signer_for(key)
        except ValueError:  # a malformed private key: never echo it
            raise ValueError(f"sender: the {type(key).__name__} given is not a signing key (a LocalAccount, a "
                             "Sender, an Ape account or a 32-byte private key)") from None
        with self._senders_lock:
            existing = self._senders.get(signer.address)
            if existing is None:
                existing = Sender(self.rpc, signer, self.chain_id, fees=self.fees,
                                  gas_multiplier=self.gas_multiplier, receipt_timeout=self.receipt_timeout)
                self._senders[signer.address] = existing
            return existing

    def fee_kwargs(self, txn_kwargs: dict[str, Any]) -> dict[str, Any]:
        """Fee overrides from ``txn_kwargs`` (aliases folded) for pipelined sends."""
        return {
            "max_fee_per_gas": txn_kwargs.get("max_fee_per_gas", txn_kwargs.get("max_fee")),
            "max_priority_fee_per_gas": txn_kwargs.get("max_priority_fee_per_gas",
                                                       txn_kwargs.get("max_priority_fee")),
            "gas_price": txn_kwargs.get("gas_price"),
        }

    # --- chain ----------------------------------------------------------------------------------------------

    def now(self) -> int:
        """The latest block's timestamp (the chain's clock, not the machine's)."""
        return self.rpc.timestamp("latest")

    def balance(self, account: Any, token: Any = NATIVE) -> int:
        """ETH (or ERC-20 ``token``) balance of ``account`` in base units."""
        address = checksum(account)
        token = checksum(token)
        if token == NATIVE:
            return self.rpc.balance(address)
        data = keccak(text="balanceOf(address)")[:4] + eth_abi.encode(["address"], [address])
        return int(eth_abi.decode(["uint256"], self.rpc.call(token, data))[0])

    def transfer(self, sender: Any, to: Any, value: int, **txn_kwargs: Any) -> Receipt:
        """Plain ETH transfer (e.g. to give agent keys gas money); gas is estimated (a contract may receive)."""
        wei = amount(value, "value", symbol="ETH")
        result = self.sender(sender).transact(checksum(to, "to"), b"", wei, **txn_kwargs)
        assert isinstance(result, Receipt)
        return result

    # --- contracts ------------------------------------------------------------------------------------------

    def deploy(self, artifact: str, *args: Any, sender: Any, value: int = 0, **txn_kwargs: Any) -> Contract:
        """Deploy a shipped artifact (``"DenylistGuard"``, ``"testing/TestToken"``...) with constructor ``args``."""
        spec = load_artifact(artifact)
        if "bytecode" not in spec:
            raise SessionError(f"{artifact} ships without bytecode (an interface)")
        ctor = next((item for item in spec["abi"] if item.get("type") == "constructor"), None)
        types = [p["type"] for p in ctor["inputs"]] if ctor else []
        code = bytes.fromhex(spec["bytecode"][2:]) + (eth_abi.encode(types, list(args)) if types else b"")
        result = self.sender(sender).transact(None, code, value, **txn_kwargs)
        assert isinstance(result, Receipt)
        if not result.contract_address:
            raise SessionError(f"deploying {artifact} created no contract (tx {result.tx_hash})")
        return Contract(self, result.contract_address, artifact_abi(artifact), name=artifact.split("/")[-1])

    def contract(self, artifact: str, address: Any) -> Contract:
        """Bind ``address`` to a shipped artifact's ABI."""
        return Contract(self, checksum(address), artifact_abi(artifact), name=artifact.split("/")[-1])

    def deploy_factory(self, sender: Any, **txn_kwargs: Any) -> Factory:
        """Deploy the system: a SessionSignatures, a SessionManagerExtension that knows it, then a SessionFactory
        (which deploys the SessionManager implementation every manager is a copy of)."""
        signatures = self.deploy("SessionSignatures", sender=sender, **txn_kwargs)
        extension = self.deploy("SessionManagerExtension", signatures.address, sender=sender, **txn_kwargs)
        factory = self.deploy("SessionFactory", extension.address, sender=sender, **txn_kwargs)
        return Factory(self, factory.address)

    def factory(self, address: Any) -> Factory:
        return Factory(self, checksum(address))

    # --- canonical deployment (see chains.py) ---------------------------------------------------------------

    def canonical_factory_address(self) -> str:
        """Where the canonical factory lives on every chain: CREATE2 through the deterministic deployer, so a
        pure function of the shipped bytecode."""
        from .deployment import canonical_factory_address

        return canonical_factory_address(self)

    def canonical_factory(self) -> Factory | None:
        """The canonical factory if it is deployed on this chain, else None (reads code only, sends nothing)."""
        from .deployment import canonical_factory_address, has_code

        address = canonical_factory_address(self)
        return Factory(self, address) if has_code(self, address) else None

    def ensure_factory(self, sender: Any, **txn_kwargs: Any) -> Factory:
        """The canonical factory, deployed first (paid by ``sender``) when this chain lacks it. Idempotent."""
        from .deployment import ensure_deployment

        return ensure_deployment(self, sender, **txn_kwargs)

    def manager(self, address: Any) -> Manager:
        return Manager(self, checksum(address))

    def inventory(self, factory: Factory | str, owner: Any, *, page_size: int = 200) -> Inventory:
        """Everything ``owner`` has under ``factory``, rebuilt from the chain."""
        return Inventory.load(self, factory, owner, page_size=page_size)
