"""A real Safe (v1.4.1, 2 of 3) owns the manager: its owners sign a grant, the manager checks it with ERC-1271
(the Safe's CompatibilityFallbackHandler, then the Safe's checkSignatures); a Safe that does not agree refuses."""

from __future__ import annotations

import eth_abi
import pytest
from eth_account import Account
from eth_utils import keccak

from agent_sessions import NATIVE, ContractSignatureRejected
from agent_sessions.wallet import deposit_of, safe_signer, sign_grant, submit_grant

from tests.wallet._safe import create_safe, deploy_safe_system, exec_safe_transaction

ETHER = 10**18
OWNER_KEYS = [Account.from_key("0x" + f"{i:02x}" * 32) for i in (0x51, 0x52, 0x53)]


@pytest.fixture
def safe(client, manager, people):
    """A 2-of-3 Safe that owns the manager and has deposited 1 ETH there (a Safe transaction)."""
    system = deploy_safe_system(client, people.funder)
    safe = create_safe(client, system, [k.address for k in OWNER_KEYS], 2, people.funder)
    client.transfer(people.funder, safe.address, 2 * ETHER)
    manager.transfer_ownership(safe.address, people.owner)
    assert manager.owner() == safe.address
    exec_safe_transaction(safe, manager.address, ETHER, manager.encode("deposit"), OWNER_KEYS[:2], people.submitter)
    assert deposit_of(manager, safe.address) == ETHER
    return safe


def test_two_of_three_safe_owners_grant_a_session(client, manager, safe, params, agent, people):
    signer = safe_signer(safe.address, [OWNER_KEYS[2], OWNER_KEYS[0]])
    signed = sign_grant(manager, params(eth="0.25 ether", label="safe-grant"), signer)
    assert signed.owner == safe.address and signed.recovered != safe.address  # not an ECDSA signature of the Safe

    (session,) = submit_grant(signed, people.submitter, client=client)

    state = session.state
    assert (state.holder, state.agent, state.label) == (safe.address, agent.address, "safe-grant")
    assert session.remaining(NATIVE) == ETHER // 4
    assert deposit_of(manager, safe.address) == 3 * ETHER // 4


def _safe_error(code: str) -> bytes:
    """The Safe's revert: Error(string) with its code (GS020: signatures too short, GS026: not an owner)."""
    return keccak(text="Error(string)")[:4] + eth_abi.encode(["string"], [code])


@pytest.mark.parametrize("signers, code", [
    pytest.param(lambda: OWNER_KEYS[:1], "GS020", id="below-threshold"),
    pytest.param(lambda: [Account.from_key("0x" + "61" * 32), Account.from_key("0x" + "62" * 32)], "GS026",
                 id="non-owners"),
])
def test_a_safe_that_does_not_agree_refuses_the_grant(client, manager, safe, params, people, balances, signers,
                                                       code):
    signed = sign_grant(manager, params(), safe_signer(safe.address, signers()))
    before = balances(safe.address).read()
    with pytest.raises(ContractSignatureRejected) as info:
        submit_grant(signed, people.submitter, client=client)
    assert info.value.arguments == {"signer": safe.address, "answer": _safe_error(code)}
    assert f"reverted: {code}" in str(info.value)
    assert balances(safe.address).read() == before
