"""An Ape account signs for the SDK through its own ``sign_transaction``: the same bytes the key would sign
locally, its key never read, and a declined signature is a typed error with nothing sent."""

from __future__ import annotations

import pytest
from ape_test.accounts import TestAccount

from agent_sessions import NATIVE, SessionParams, SigningRefused
from agent_sessions.chain import signing
from agent_sessions.chain.signing import AccountSigner, Signer, UnsignedTx, signer_for


@pytest.fixture
def ape_owner(accounts):
    """Ape's test account 0: the same key as the SDK tests' owner."""
    return list(accounts)[0]


@pytest.fixture
def key_unreadable(monkeypatch):
    """The SDK's one way to a key (``to_account``, which reads ``.private_key``) fails for Ape accounts: whatever
    signs for them must go through the account itself."""
    original = signing.to_account

    def guarded(key):
        assert not signing.is_ape_account(key), "the SDK read the key of an Ape account"
        return original(key)

    monkeypatch.setattr(signing, "to_account", guarded)


@pytest.fixture
def signatures(monkeypatch) -> list[str]:
    """Addresses of the Ape test accounts asked to sign, in order."""
    asked: list[str] = []
    original = TestAccount.sign_transaction

    def recording(self, txn, **options):
        asked.append(self.address)
        return original(self, txn, **options)

    monkeypatch.setattr(TestAccount, "sign_transaction", recording)
    return asked


def test_an_ape_account_gets_an_account_signer_and_a_local_key_a_local_signer(ape_owner, owner_key):
    assert isinstance(signer_for(ape_owner), AccountSigner)
    assert isinstance(signer_for(owner_key), Signer)


@pytest.mark.parametrize("tx", [
    UnsignedTx(chain_id=31337, nonce=3, gas=90_000, to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", value=5,
               data=b"\x12\x34", max_fee_per_gas=3 * 10**9, max_priority_fee_per_gas=10**9),
    UnsignedTx(chain_id=31337, nonce=1, gas=21_000, to="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
               gas_price=10**9),
], ids=["1559", "legacy"])
def test_an_ape_account_signs_the_bytes_its_key_would(tx, ape_owner, owner_key, signatures):
    through_ape = AccountSigner(ape_owner).sign(tx)
    local = Signer(owner_key).sign(tx)
    assert (through_ape.raw, through_ape.hash, through_ape.sender) == (local.raw, local.hash, owner_key.address)
    assert signatures == [owner_key.address]


def test_a_session_is_created_and_paused_by_an_ape_account_without_reading_its_key(
        manager, ape_owner, agent_key, key_unreadable, signatures):
    session = manager.create_session(SessionParams(agent=agent_key.address, expiry="1d", any_target=True,
                                                   budgets={NATIVE: "0.01 ether"}), ape_owner)
    session.pause(sender=ape_owner)
    assert str(session.refresh().status) == "paused"
    assert signatures == [ape_owner.address, ape_owner.address]
    assert isinstance(manager.client.sender(ape_owner).signer, AccountSigner)


def test_a_declined_signature_is_signing_refused_and_nothing_is_sent(manager, ape_owner, agent_key, monkeypatch):
    monkeypatch.setattr(TestAccount, "sign_transaction", lambda self, txn, **options: None)
    client = manager.client
    count = client.rpc.request("eth_getTransactionCount", [ape_owner.address, "pending"])
    with pytest.raises(SigningRefused) as caught:
        manager.create_session(SessionParams(agent=agent_key.address, expiry="1d", any_target=True,
                                             budgets={NATIVE: "0.01 ether"}), ape_owner)
    assert (caught.value.address, caught.value.kind) == (ape_owner.address, "TestAccount")
    assert str(caught.value) == f"TestAccount {ape_owner.address} declined to sign the transaction; nothing was sent"
    assert client.rpc.request("eth_getTransactionCount", [ape_owner.address, "pending"]) == count
