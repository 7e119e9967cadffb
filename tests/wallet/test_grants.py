"""Grants and spawns by signature against the real contracts: the owner (or the parent's agent) signs offline, someone
else submits and pays the gas; deposits fund the grants' ETH budgets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from agent_sessions import NATIVE, DepositTooLow, NonceUsed
from agent_sessions.wallet import (
    SignedGrant,
    deposit,
    deposit_of,
    invalidate_nonces,
    load_signed,
    nonce_used,
    sign_grant,
    sign_spawn,
    submit_grant,
    submit_spawn,
    withdraw,
)

ETHER = 10**18
CAST = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "cast"


def test_deposit_and_withdraw_move_the_owners_unallocated_eth(client, manager, people):
    receipt = deposit(manager, "2 ether", people.owner)
    assert [e.args for e in manager.events(receipt, "Deposited")] == [{"account": people.owner.address,
                                                                       "amount": 2 * ETHER}]
    before = client.balance(people.stranger.address)
    receipt = withdraw(manager, "0.5 ether", people.stranger.address, people.owner)
    assert [e.args for e in manager.events(receipt, "Withdrawn")] == [
        {"account": people.owner.address, "to": people.stranger.address, "amount": ETHER // 2}]
    assert deposit_of(manager, people.owner.address) == 3 * ETHER // 2
    assert client.balance(people.stranger.address) - before == ETHER // 2


def test_a_grant_signed_offline_is_opened_by_whoever_submits_it(client, manager, people, params, agent, tmp_path,
                                                                 funded_owner):
    funded_owner(ETHER)
    # the owner's wallet signs with no node at all: chain id and manager address are all it needs
    signed = sign_grant((31337, manager.address), params(eth="0.4 ether", label="from-wallet"), people.owner)
    path = signed.save(tmp_path / "grant.json")
    owner_eth = client.balance(people.owner.address)

    (session,) = submit_grant(SignedGrant.load(path), people.submitter, client=client)

    state = session.state
    assert (state.agent, state.holder, state.label, state.parent_id) == (agent.address, people.owner.address,
                                                                         "from-wallet", 0)
    assert session.remaining(NATIVE) == 4 * ETHER // 10
    assert deposit_of(manager, people.owner.address) == 6 * ETHER // 10  # the budget came out of the deposit
    assert client.balance(people.owner.address) == owner_eth  # the owner paid nothing, not even gas
    assert nonce_used(manager, people.owner.address, signed.nonce)


def test_a_grant_of_several_sessions_opens_them_all_in_order(client, manager, people, params, agent, funded_owner):
    funded_owner(ETHER)
    signed = sign_grant(manager, [params(eth="0.1 ether", label=f"s{i}") for i in range(3)], people.owner)
    sessions = submit_grant(signed, people.submitter, client=client)
    assert [s.state.label for s in sessions] == ["s0", "s1", "s2"]
    assert [s.id for s in sessions] == list(range(sessions[0].id, sessions[0].id + 3))
    assert deposit_of(manager, people.owner.address) == 7 * ETHER // 10


def test_a_grant_with_an_erc20_budget_pulls_it_from_the_owners_allowance(client, manager, people, params, world):
    signed = sign_grant(manager, params(eth=0, budgets={world.token: 250 * ETHER}), people.owner)
    before = client.balance(people.owner.address, world.token)
    (session,) = submit_grant(signed, people.submitter, client=client)
    assert session.remaining(world.token) == 250 * ETHER
    assert before - client.balance(people.owner.address, world.token) == 250 * ETHER


def test_a_grant_signed_by_cast_is_accepted(client, manager, people, params, funded_owner):
    funded_owner(ETHER)
    template = sign_grant(manager, params(label="by-cast"), people.owner)
    out = subprocess.run([str(CAST), "wallet", "sign", "--data", "--private-key",
                          "0x" + bytes(people.owner.key).hex(), json.dumps(template.typed_data)],
                         capture_output=True, text=True, check=True)
    by_cast = load_signed({"typedData": template.typed_data, "signature": out.stdout.strip()})
    (session,) = submit_grant(by_cast, people.submitter, client=client)
    assert session.state.label == "by-cast"


def test_a_grant_beyond_the_deposit_is_refused_with_what_is_there(client, manager, people, params, funded_owner,
                                                                   balances):
    funded_owner(ETHER // 10)
    signed = sign_grant(manager, params(eth="0.5 ether"), people.owner)
    before = balances().read()
    with pytest.raises(DepositTooLow) as info:
        submit_grant(signed, people.submitter, client=client)
    assert info.value.arguments == {"account": people.owner.address, "needed": ETHER // 2, "available": ETHER // 10}
    assert balances().read() == before


def test_a_cancelled_nonce_cannot_be_used(client, manager, people, params, funded_owner, balances):
    funded_owner(ETHER)
    signed = sign_grant(manager, params(), people.owner)
    (receipt,) = invalidate_nonces(manager, [signed.nonce], people.owner)
    assert [e.args for e in manager.events(receipt, "NoncesInvalidated")] == [
        {"signer": people.owner.address, "wordPos": signed.nonce >> 8, "mask": 1 << (signed.nonce & 255)}]
    before = balances().read()
    with pytest.raises(NonceUsed) as info:
        submit_grant(signed, people.submitter, client=client)
    assert info.value.arguments == {"signer": people.owner.address, "nonce": signed.nonce}
    assert balances().read() == before


def test_nonces_need_no_order(client, manager, people, params, funded_owner):
    funded_owner(ETHER)
    high = sign_grant(manager, params(label="high"), people.owner, nonce=2**256 - 1)
    low = sign_grant(manager, params(label="low"), people.owner, nonce=0)
    assert [s.state.label for s in submit_grant(high, people.submitter, client=client)] == ["high"]
    assert [s.state.label for s in submit_grant(low, people.submitter, client=client)] == ["low"]


def test_a_keyless_parent_agent_signs_a_spawn_and_gets_the_child_token(client, manager, people, params, agent,
                                                                       funded_owner):
    from eth_account import Account

    funded_owner(ETHER)
    (parent,) = submit_grant(sign_grant(manager, params(eth="0.5 ether"), people.owner), people.submitter,
                             client=client)
    child_agent = Account.create()
    signed = sign_spawn(parent, params(child_agent, eth="0.2 ether", expiry=parent.state.expiry, label="child"),
                        agent)
    (child,) = submit_spawn(load_signed(signed.to_json()), people.relayer, client=client)
    state = child.state
    assert (state.parent_id, state.holder, state.agent, state.label) == (parent.id, agent.address,
                                                                         child_agent.address, "child")
    assert child.remaining(NATIVE) == 2 * ETHER // 10
    assert parent.remaining(NATIVE) == 3 * ETHER // 10
    assert client.balance(agent.address) == 0  # the parent's agent never held ETH


def test_the_sdks_domain_is_the_contracts(manager, client):
    """ERC-5267: the manager publishes the domain the SDK signs in (name, version, chain id, itself)."""
    from agent_sessions.wallet.typed_data import domain

    fields, name, version, chain_id, verifying, salt, extensions = manager.call("eip712Domain")
    assert (fields, salt, list(extensions)) == (b"\x0f", b"\x00" * 32, [])  # name, version, chainId, contract
    assert {"name": name, "version": version, "chainId": chain_id,
            "verifyingContract": to_checksum_address(verifying)} == domain(client.chain_id, manager.address)


def test_a_spawn_signs_one_child():
    """The manager's spawnChildWithSig takes one child per signature."""
    with pytest.raises(ValueError, match="one child per signature"):
        sign_spawn(((31337, "0x" + "11" * 20), 1), [{"agent": "0x" + "22" * 20, "expiry": "1d"}] * 2,
                   "0x" + "ab" * 32)


def test_withdrawing_more_than_the_deposit_is_refused(manager, people, funded_owner):
    funded_owner(ETHER // 10)
    with pytest.raises(DepositTooLow) as info:
        withdraw(manager, "1 ether", people.owner.address, people.owner)
    assert info.value.arguments == {"account": people.owner.address, "needed": ETHER, "available": ETHER // 10}
