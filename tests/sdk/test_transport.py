"""The transport: local signing identical to eth-account, transient failures retried with the same bytes,
nonces kept in step, receipts polled fast."""


import pytest
import requests
from eth_account import Account
from web3 import HTTPProvider
from web3.providers.base import BaseProvider

from agent_sessions import AgentSessions, RPCError, TransientRPCError
from agent_sessions.chain.rpc import Rpc, classify_error
from agent_sessions.chain.signing import Signer, UnsignedTx


class FlakyProvider(BaseProvider):
    """Forwards to a real provider, failing on cue: ``plan`` maps a method to a list of faults applied to its
    next calls ("connection" before forwarding, "lost" after forwarding: the node got it, the answer was lost,
    "503", "-32603", "-32602")."""

    def __init__(self, uri: str, plan: dict[str, list[str]]):
        super().__init__()
        self.inner = HTTPProvider(uri, exception_retry_configuration=None)
        self.plan = {k: list(v) for k, v in plan.items()}
        self.calls: dict[str, int] = {}

    def _fault(self, method: str) -> str | None:
        self.calls[method] = self.calls.get(method, 0) + 1
        faults = self.plan.get(method)
        return faults.pop(0) if faults else None

    def make_request(self, method, params):  # type: ignore[override]
        fault = self._fault(method)
        if fault == "connection":
            raise requests.ConnectionError("connection reset by peer")
        if fault == "503":
            response = requests.Response()
            response.status_code = 503
            raise requests.HTTPError("503 Server Error", response=response)
        if fault in ("-32603", "-32602"):
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": int(fault), "message": "internal error" if
                                                         fault == "-32603" else "invalid params"}}
        result = self.inner.make_request(method, params)
        if fault == "lost":
            raise requests.Timeout("read timed out")
        return result

    def make_batch_request(self, requests_):  # type: ignore[override]
        return self.inner.make_batch_request(requests_)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


@pytest.mark.parametrize(
    "tx",
    [
        UnsignedTx(chain_id=31337, nonce=0, gas=21000, to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value=1,
                   max_fee_per_gas=2 * 10**9, max_priority_fee_per_gas=10**9),
        UnsignedTx(chain_id=1, nonce=2**40, gas=10**6, to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                   value=10**30, data=b"\x12\x34" * 50, max_fee_per_gas=0, max_priority_fee_per_gas=0),
        UnsignedTx(chain_id=31337, nonce=7, gas=3 * 10**6, to=None, data=b"\x60\x00", max_fee_per_gas=1,
                   max_priority_fee_per_gas=1),
        UnsignedTx(chain_id=31337, nonce=1, gas=21000, to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                   gas_price=10**9),
    ],
    ids=["1559", "large-values", "create", "legacy"],
)
def test_fast_signer_matches_eth_account_byte_for_byte(tx, owner_key):
    signed = Signer(owner_key).sign(tx)
    reference = Account.sign_transaction(tx.as_dict(), owner_key.key)
    assert signed.raw == bytes(reference.raw_transaction)
    assert signed.hash == "0x" + bytes(reference.hash).hex()


@pytest.mark.parametrize("fault", ["connection", "503", "-32603"])
def test_transient_failures_are_retried(rpc_url, fault):
    provider = FlakyProvider(rpc_url, {"eth_blockNumber": [fault, fault]})
    rpc = Rpc(provider, backoff=0.001, max_backoff=0.01)
    assert rpc.block_number() >= 0
    assert provider.calls["eth_blockNumber"] == 3


def test_retries_are_bounded(rpc_url):
    provider = FlakyProvider(rpc_url, {"eth_blockNumber": ["connection"] * 10})
    rpc = Rpc(provider, retries=3, backoff=0.001, max_backoff=0.01)
    with pytest.raises(TransientRPCError, match="connection reset"):
        rpc.block_number()
    assert provider.calls["eth_blockNumber"] == 4  # the first try and three retries


def test_deterministic_errors_are_not_retried(rpc_url):
    provider = FlakyProvider(rpc_url, {"eth_blockNumber": ["-32602"]})
    with pytest.raises(RPCError, match="invalid params") as info:
        Rpc(provider, backoff=0.001).block_number()
    assert not isinstance(info.value, TransientRPCError)
    assert provider.calls["eth_blockNumber"] == 1


@pytest.mark.parametrize(
    "error, transient",
    [
        ({"code": -32603, "message": "internal error"}, True),
        ({"code": -32000, "message": "request timed out"}, True),
        ({"code": 429, "message": "too many requests"}, True),
        ({"code": -32003, "message": "nonce too low"}, False),
        ({"code": 3, "message": "execution reverted", "data": "0x"}, False),
        ({"code": -32603, "message": "Insufficient funds for gas * price + value"}, False),
    ],
)
def test_errors_are_classified(error, transient):
    assert isinstance(classify_error(error, "eth_x"), TransientRPCError) is transient


def test_a_lost_send_is_resent_as_the_same_transaction(rpc_url, make_session, agent_key, stranger_key, client):
    """The node takes the transaction but the answer is lost: the SDK resends the same bytes (same hash), the
    node says it knows them, and exactly one transaction exists."""
    session = make_session()
    provider = FlakyProvider(rpc_url, {"eth_sendRawTransaction": ["lost"]})
    flaky = AgentSessions(provider)
    flaky.rpc._backoff = 0.001
    nonce_before = int(client.rpc.request("eth_getTransactionCount", [agent_key.address, "latest"]), 16)
    before = client.balance(stranger_key.address)
    receipt = flaky.manager(session.manager.address).execute(session, stranger_key.address, 5, sender=agent_key)
    assert receipt.ok
    assert provider.calls["eth_sendRawTransaction"] == 2
    assert client.balance(stranger_key.address) - before == 5
    assert int(client.rpc.request("eth_getTransactionCount", [agent_key.address, "latest"]), 16) == nonce_before + 1


def test_nonce_used_elsewhere_is_detected_and_resynced(rpc_url, make_session, agent_key, stranger_key, client):
    """Another process sends with the same key: the cached nonce is stale, the node says 'nonce too low', and
    the Sender resyncs and signs for the next free nonce (never reusing a taken one)."""
    session = make_session()
    sender = client.sender(agent_key)
    session.execute(stranger_key.address, 1, sender=agent_key)  # caches the nonce
    other = AgentSessions(rpc_url)
    # a different transaction (value 2) for the same nonce: an identical one would share our hash
    other.manager(session.manager.address).execute(session, stranger_key.address, 2, sender=agent_key)
    stale = sender._nonce
    receipt = session.execute(stranger_key.address, 1, sender=agent_key)
    assert receipt.ok
    assert sender._nonce == stale + 2
    assert session.budget().spent == 4


def test_one_sender_per_key_is_shared(client, agent_key):
    assert client.sender(agent_key) is client.sender(agent_key.key) is client.sender(client.sender(agent_key))
    with pytest.raises(TypeError, match="sender is required"):
        client.sender(None)


def test_batches_retry_only_their_transient_items(rpc_url):
    class PartlyFailing(FlakyProvider):
        def make_batch_request(self, requests_):  # type: ignore[override]
            out = self.inner.make_batch_request(requests_)
            out[1] = {"jsonrpc": "2.0", "id": out[1]["id"], "error": {"code": -32603, "message": "internal"}}
            return out

    provider = PartlyFailing(rpc_url, {})
    rpc = Rpc(provider, backoff=0.001)
    results = rpc.batch([("eth_chainId", []), ("eth_chainId", []), ("eth_blockNumber", [])])
    assert results[0] == results[1] == "0x7a69" and isinstance(results[2], str)
    assert provider.calls == {"eth_chainId": 1}  # the failed item went again, alone


def test_chain_id_is_checked(rpc_url):
    from agent_sessions import ChainMismatch

    with pytest.raises(ChainMismatch, match="serves chain 31337, not chain 1"):
        AgentSessions(rpc_url, chain_id=1)
