"""Gasless executes: a keyless agent signs, a relayer submits and is paid its fee out of the session's budget, within
the caps of the session and of every ancestor."""

from __future__ import annotations

import pytest
from eth_account import Account

from agent_sessions import NATIVE, BudgetExceeded, NonceUsed, RelayFeeAboveCap
from agent_sessions.wallet import (
    max_relay_fee,
    set_max_relay_fee,
    sign_execute,
    sign_execute_batch,
    sign_grant,
    sign_spawn,
    submit_execute,
    submit_grant,
    submit_spawn,
)

ETHER = 10**18
MILLI = 10**15
RECIPIENT = "0x00000000000000000000000000000000000A11CE"


@pytest.fixture
def session(client, manager, people, params, funded_owner):
    """A root session of 0.5 ETH for a keyless agent, granted by signature; relay fees up to 0.001 ETH allowed."""
    funded_owner(ETHER)
    (opened,) = submit_grant(sign_grant(manager, params(), people.owner), people.submitter, client=client)
    receipt = set_max_relay_fee(opened, MILLI, people.owner)
    assert [e.args for e in manager.events(receipt, "MaxRelayFeeSet")] == [{"id": opened.id, "fee": MILLI}]
    return opened


def test_a_keyless_agent_executes_through_a_relayer_who_is_paid_its_fee(client, manager, session, agent, people):
    signed = sign_execute(session, RECIPIENT, 10 * MILLI, b"", agent, relay_fee=MILLI // 2)
    relayer_before, recipient_before = client.balance(people.relayer.address), client.balance(RECIPIENT)

    receipt = submit_execute(signed, people.relayer, client=client)

    assert client.balance(RECIPIENT) - recipient_before == 10 * MILLI
    assert client.balance(people.relayer.address) - relayer_before == MILLI // 2 - receipt.fee
    assert session.remaining(NATIVE) == ETHER // 2 - 10 * MILLI - MILLI // 2
    assert [e.args for e in manager.events(receipt, "RelayFeePaid")] == [
        {"id": session.id, "relayer": people.relayer.address, "fee": MILLI // 2}]
    assert client.balance(agent.address) == 0


def test_a_signed_batch_runs_every_call_and_pays_one_fee(client, manager, session, agent, people):
    signed = sign_execute_batch(session, [(RECIPIENT, MILLI), (people.stranger.address, 2 * MILLI)], agent,
                                relay_fee=MILLI)
    stranger_before = client.balance(people.stranger.address)
    submit_execute(signed, people.relayer, client=client)
    assert client.balance(people.stranger.address) - stranger_before == 2 * MILLI
    assert session.remaining(NATIVE) == ETHER // 2 - 4 * MILLI


def test_no_fee_is_allowed_until_a_controller_sets_a_cap(client, manager, people, params, agent, funded_owner,
                                                        balances):
    funded_owner(ETHER)
    (session,) = submit_grant(sign_grant(manager, params(), people.owner), people.submitter, client=client)
    assert max_relay_fee(session) == 0
    submit_execute(sign_execute(session, RECIPIENT, MILLI, b"", agent), people.relayer, client=client)  # fee 0: fine
    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent, relay_fee=1)
    before = balances(RECIPIENT).read()
    with pytest.raises(RelayFeeAboveCap) as info:
        submit_execute(signed, people.relayer, client=client)
    assert info.value.arguments == {"session": session.id, "fee": 1, "cap": 0}
    assert balances(RECIPIENT).read() == before


def test_a_relay_fee_above_the_cap_is_refused_and_nothing_moves(client, session, agent, people, balances):
    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent, relay_fee=MILLI + 1)
    before = balances(RECIPIENT).read()
    with pytest.raises(RelayFeeAboveCap) as info:
        submit_execute(signed, people.relayer, client=client)
    assert info.value.arguments == {"session": session.id, "fee": MILLI + 1, "cap": MILLI}
    assert balances(RECIPIENT).read() == before


def test_an_ancestors_fee_cap_binds_its_children(client, manager, session, agent, people, params, balances):
    child_agent = Account.create()
    (child,) = submit_spawn(sign_spawn(session, params(child_agent, eth="0.1 ether", expiry=session.state.expiry),
                                       agent), people.relayer, client=client)
    set_max_relay_fee(child, 10 * MILLI, people.owner)  # the root's holder controls every descendant
    signed = sign_execute(child, RECIPIENT, MILLI, b"", child_agent, relay_fee=2 * MILLI)
    before = balances(RECIPIENT).read()
    with pytest.raises(RelayFeeAboveCap) as info:
        submit_execute(signed, people.relayer, client=client)
    assert info.value.arguments == {"session": session.id, "fee": 2 * MILLI, "cap": MILLI}
    assert balances(RECIPIENT).read() == before


def test_the_relay_fee_is_charged_like_any_spend(client, manager, people, params, agent, funded_owner, balances):
    funded_owner(ETHER)
    (session,) = submit_grant(sign_grant(manager, params(eth=2 * MILLI), people.owner), people.submitter,
                              client=client)
    set_max_relay_fee(session, MILLI, people.owner)
    signed = sign_execute(session, RECIPIENT, 2 * MILLI, b"", agent, relay_fee=MILLI)  # 3 milli > 2 milli budget
    before = balances(RECIPIENT).read()
    with pytest.raises(BudgetExceeded) as info:
        submit_execute(signed, people.relayer, client=client)
    assert info.value.arguments["session"] == session.id and info.value.arguments["token"] == NATIVE
    assert balances(RECIPIENT).read() == before


def test_a_signed_execute_counts_once(client, session, agent, people, balances):
    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent)
    submit_execute(signed, people.relayer, client=client)
    before = balances(RECIPIENT).read()
    with pytest.raises(NonceUsed) as info:
        submit_execute(signed, people.submitter, client=client)
    assert info.value.arguments == {"signer": agent.address, "nonce": signed.nonce}
    assert balances(RECIPIENT).read() == before


def test_a_rotated_out_agents_signature_is_refused(client, manager, session, agent, people, balances):
    from agent_sessions import InvalidSigner

    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent)  # signed before the rotation
    new_agent = Account.create()
    manager.rotate_agent(session, new_agent.address, people.owner)
    before = balances(RECIPIENT).read()
    with pytest.raises(InvalidSigner) as info:
        submit_execute(signed, people.relayer, client=client)
    assert info.value.arguments == {"expected": new_agent.address, "recovered": agent.address}
    assert balances(RECIPIENT).read() == before


def test_an_agents_signatures_take_the_bits_of_one_word_so_only_its_first_writes_a_fresh_slot(
    client, session, agent, people
):
    first, second, third = (sign_execute(session, RECIPIENT, MILLI, b"", agent) for _ in range(3))
    # one bitmap word, consecutive bits: out of order is fine, and only the word's first use writes a slot from zero
    assert {first.nonce >> 8, second.nonce >> 8, third.nonce >> 8} == {first.nonce >> 8}
    assert [second.nonce - first.nonce, third.nonce - second.nonce] == [1, 1]
    # a payment first (another word), so the recipient exists and the budget's spent word is non-zero
    submit_execute(sign_execute(session, RECIPIENT, MILLI, b"", agent, nonce=7), people.relayer, client=client)
    gas_third = submit_execute(third, people.relayer, client=client).gas_used
    gas_first = submit_execute(first, people.relayer, client=client).gas_used
    # the word's first use wrote a slot from zero (20,000 instead of 2,900); the next only flipped a bit of it (the
    # signatures' calldata differs by a few zero bytes: a few dozen gas)
    assert abs((gas_third - gas_first) - 17_100) < 300
    # another agent's sequence is its own
    other = Account.create()
    assert sign_execute(session, RECIPIENT, MILLI, b"", other).nonce >> 8 != first.nonce >> 8
