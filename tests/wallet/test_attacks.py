"""Attacks on the signed entry points: each is refused with the exact typed error and its arguments, and no balance
moves (the SDK's dry run catches it, so the submitter does not even pay gas)."""

from __future__ import annotations

import pytest
from eth_account import Account

from agent_sessions import (
    AgentSessions,
    InvalidSignatureLength,
    InvalidSignatureS,
    InvalidSigner,
    NonceUsed,
    SignatureExpired,
)
from agent_sessions.base.parsing import UnixTime
from agent_sessions.wallet import SignedGrant, deposit, load_signed, sign_grant, submit_grant
from agent_sessions.wallet.typed_data import recover_signer

ETHER = 10**18
#: secp256k1's group order: s and n - s are both valid, only the low one is accepted.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def grant(manager, people, params, funded_owner):
    """A good grant of 0.5 ETH (the owner deposited 1 ETH)."""
    funded_owner(ETHER)
    return sign_grant(manager, params(), people.owner)


def _refused(error_type, action):
    with pytest.raises(error_type) as info:
        action()
    return info.value


def test_replay_on_another_chain_is_refused(grant, people, world_b):
    chain_b = AgentSessions(world_b.url, chain_id=31338)
    manager_b = chain_b.manager(world_b.manager)
    assert manager_b.address == grant.manager_address  # the same deterministic deployment on both chains
    deposit(manager_b, ETHER, people.owner)
    before = {a: chain_b.balance(a) for a in (people.owner.address, people.submitter.address, manager_b.address)}
    count = manager_b.count()

    error = _refused(InvalidSigner, lambda: submit_grant(grant, people.submitter, client=chain_b))

    typed_b = {**grant.typed_data, "domain": {**grant.typed_data["domain"], "chainId": 31338}}  # chain B's reading
    assert error.arguments == {"expected": people.owner.address, "recovered": recover_signer(typed_b, grant.signature)}
    assert error.arguments["recovered"] != people.owner.address
    assert {a: chain_b.balance(a) for a in before} == before and manager_b.count() == count


def test_replay_on_another_manager_of_the_same_owner_is_refused(grant, client, other_manager, people, balances):
    deposit(other_manager, ETHER, people.owner)
    typed_other = {**grant.typed_data, "domain": {**grant.typed_data["domain"],
                                                  "verifyingContract": other_manager.address}}
    before = balances().read()
    error = _refused(InvalidSigner, lambda: submit_grant(grant, people.submitter, client=other_manager))
    assert error.arguments == {"expected": people.owner.address,
                               "recovered": recover_signer(typed_other, grant.signature)}
    assert balances().read() == before
    assert other_manager.count() == 0


def test_a_reused_nonce_is_refused(grant, client, people, balances):
    submit_grant(grant, people.submitter, client=client)
    before = balances().read()
    error = _refused(NonceUsed, lambda: submit_grant(grant, people.relayer, client=client))
    assert error.arguments == {"signer": people.owner.address, "nonce": grant.nonce}
    assert balances().read() == before


def test_a_reused_nonce_is_refused_even_for_other_params(client, manager, people, params, funded_owner, balances):
    funded_owner(ETHER)
    first = sign_grant(manager, params(label="first"), people.owner, nonce=77)
    submit_grant(first, people.submitter, client=client)
    second = sign_grant(manager, params(label="second"), people.owner, nonce=77)
    before = balances().read()
    error = _refused(NonceUsed, lambda: submit_grant(second, people.submitter, client=client))
    assert error.arguments == {"signer": people.owner.address, "nonce": 77}
    assert balances().read() == before


def test_an_expired_deadline_is_refused(client, manager, people, params, funded_owner, balances):
    funded_owner(ETHER)
    deadline = client.now() + 60
    signed = sign_grant(manager, params(), people.owner, deadline=UnixTime(deadline))
    client.rpc.request("evm_increaseTime", [120])
    client.rpc.request("evm_mine")
    before = balances().read()
    error = _refused(SignatureExpired, lambda: submit_grant(signed, people.submitter, client=client))
    assert error.arguments == {"deadline": deadline}
    assert balances().read() == before


def test_a_high_s_signature_is_refused(grant, client, people, balances):
    r, s, v = grant.signature[:32], int.from_bytes(grant.signature[32:64], "big"), grant.signature[64]
    high_s = N - s
    malleable = r + high_s.to_bytes(32, "big") + bytes([55 - v])  # the same point: ecrecover still finds the owner
    assert recover_signer(grant.typed_data, malleable) == people.owner.address
    forged = SignedGrant(typed_data=grant.typed_data, signature=malleable)
    before = balances().read()
    error = _refused(InvalidSignatureS, lambda: submit_grant(forged, people.submitter, client=client))
    assert error.arguments == {"s": "0x" + high_s.to_bytes(32, "big").hex()}
    assert balances().read() == before


def test_a_signature_of_the_wrong_length_is_refused(grant, client, people, balances):
    short = SignedGrant(typed_data=grant.typed_data, signature=grant.signature[:64])
    before = balances().read()
    error = _refused(InvalidSignatureLength, lambda: submit_grant(short, people.submitter, client=client))
    assert error.arguments == {"length": 64}
    assert balances().read() == before


def test_a_grant_signed_by_someone_else_is_refused(client, manager, people, params, funded_owner, balances):
    funded_owner(ETHER)
    mallory = Account.create()
    signed = sign_grant(manager, params(), mallory, owner=people.owner.address)  # claims to be the owner's
    before = balances().read()
    error = _refused(InvalidSigner, lambda: submit_grant(signed, people.submitter, client=client))
    assert error.arguments == {"expected": people.owner.address, "recovered": mallory.address}
    assert balances().read() == before


def test_a_signature_over_other_params_is_refused(grant, client, people, balances):
    tampered_data = grant.to_dict()
    tampered_data["typedData"]["message"]["sessions"][0]["budgets"][0]["amount"] = str(ETHER)  # 0.5 -> 1 ETH
    tampered = load_signed(tampered_data)
    before = balances().read()
    error = _refused(InvalidSigner, lambda: submit_grant(tampered, people.submitter, client=client))
    assert error.arguments == {"expected": people.owner.address,
                               "recovered": recover_signer(tampered.typed_data, grant.signature)}
    assert error.arguments["recovered"] != people.owner.address
    assert balances().read() == before


def test_a_grant_naming_someone_other_than_the_manager_owner_is_refused(client, manager, people, params,
                                                                          funded_owner, balances):
    from agent_sessions import NotManagerOwner

    funded_owner(ETHER)
    signed = sign_grant(manager, params(), people.stranger)  # a valid signature, but not by the owner
    before = balances().read()
    error = _refused(NotManagerOwner, lambda: submit_grant(signed, people.submitter, client=client))
    assert error.arguments == {"caller": people.stranger.address}
    assert balances().read() == before


def test_a_refused_grant_mined_anyway_moves_nothing_but_the_submitters_gas(grant, client, people, balances):
    """Sent without the dry run (a fixed gas limit): the transaction is mined, reverts, and the typed error is read
    from the chain; only the submitter's gas is spent."""
    submit_grant(grant, people.submitter, client=client)
    before = balances().read()
    error = _refused(NonceUsed, lambda: submit_grant(grant, people.relayer, client=client, gas=600_000))
    assert error.tx_hash is not None and error.arguments == {"signer": people.owner.address, "nonce": grant.nonce}
    after = balances().read()
    assert after.pop(people.relayer.address) < before.pop(people.relayer.address)
    assert after == before
