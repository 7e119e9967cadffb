"""End to end against Anvil: a 7715 request becomes a live session, opened through the SDK by the manager owner,
and ``to_erc7715`` of that session is the request with the response's fields."""

from __future__ import annotations

from typing import Any

import pytest

from agent_sessions import NATIVE, BudgetExceeded, PeriodAllowanceExceeded
from agent_sessions.wallet import UnsupportedPermission, from_erc7715, grant, parse_context, to_erc7715

DAY = 86_400
ETHER = 10**18


def expected_response(request: dict[str, Any], *, owner: str, manager: Any, session_id: int) -> dict[str, Any]:
    from agent_sessions.wallet import encode_context

    return {**request, "chainId": "0x7a69", "from": owner,
            "permission": {**request["permission"], "isAdjustmentAllowed": False},
            "context": encode_context(manager.address, session_id), "dependencies": [],
            "delegationManager": manager.address}


def test_native_periodic_request_becomes_a_live_session_and_back(client, manager, owner_key, agent_key, stranger_key):
    now = client.now()
    request = {"chainId": "0x7a69", "to": agent_key.address,
               "permission": {"type": "native-token-periodic", "isAdjustmentAllowed": True,
                              "data": {"periodAmount": hex(ETHER // 100), "periodDuration": DAY,
                                       "justification": "daily gas money"}},
               "rules": [{"type": "expiry", "data": {"timestamp": now + 3 * DAY + 600}}]}
    params = from_erc7715(request, chain_id=client.chain_id, now=now, owner=owner_key.address)
    [session] = grant(manager, [params], owner_key)

    budget = session.budget(NATIVE)
    assert (budget.available, budget.period_allowance) == (4 * ETHER // 100, ETHER // 100)
    assert session.period.total_seconds() == DAY and session.label == "daily gas money"
    assert to_erc7715(session) == expected_response(request, owner=owner_key.address, manager=manager,
                                                    session_id=session.id)
    assert parse_context(to_erc7715(session)["context"]) == (manager.address, session.id)

    # the window's step, as 7715 means it: one period amount per window, to any recipient
    session.execute(stranger_key.address, ETHER // 100, sender=agent_key)
    with pytest.raises(PeriodAllowanceExceeded):
        session.execute(stranger_key.address, 1, sender=agent_key)
    assert to_erc7715(session)["permission"]["data"]["periodAmount"] == hex(ETHER // 100)


def test_erc20_allowance_with_payees_becomes_a_live_session_and_back(client, manager, owner_key, agent_key, token,
                                                                      stranger_key, keys):
    now = client.now()
    payee = stranger_key.address
    request = {"chainId": hex(client.chain_id), "from": owner_key.address, "to": agent_key.address,
               "permission": {"type": "erc20-token-allowance", "isAdjustmentAllowed": False,
                              "data": {"allowanceAmount": hex(250 * ETHER), "tokenAddress": token.address}},
               "rules": [{"type": "expiry", "data": {"timestamp": now + DAY}},
                         {"type": "payee", "data": {"addresses": [payee]}}]}
    params = from_erc7715(request, chain_id=client.chain_id, now=now, owner=owner_key.address)
    [session] = grant(manager, [params], owner_key)

    assert session.budget(token.address).available == 250 * ETHER
    assert manager.is_allowed(session.id, payee, "0x00000000") is True
    assert manager.is_allowed(session.id, keys[5].address, "0x00000000") is False
    assert to_erc7715(session, payees=[payee]) == expected_response(request, owner=owner_key.address,
                                                                    manager=manager, session_id=session.id)
    with pytest.raises(UnsupportedPermission, match=r"^unsupported: payee: the session has an allowlist"):
        to_erc7715(session)

    # spending keeps the granted total in the response: allowanceAmount = available + spent
    session.transfer_token(token.address, payee, 100 * ETHER, sender=agent_key)
    assert to_erc7715(session, payees=[payee])["permission"]["data"]["allowanceAmount"] == hex(250 * ETHER)
    with pytest.raises(BudgetExceeded):
        session.transfer_token(token.address, payee, 151 * ETHER, sender=agent_key)


def test_native_allowance_keeps_the_granted_total_after_spending(client, manager, owner_key, agent_key,
                                                                  stranger_key):
    """allowanceAmount = available + spent: ETH spent comes from the session's events (no ETH counter on chain),
    so every way ETH leaves keeps the total the wallet granted."""
    request = {"chainId": hex(client.chain_id), "to": agent_key.address,
               "permission": {"type": "native-token-allowance", "isAdjustmentAllowed": True,
                              "data": {"allowanceAmount": hex(ETHER)}},
               "rules": [{"type": "expiry", "data": {"timestamp": client.now() + DAY}}]}
    [session] = grant(manager, [from_erc7715(request, now=client.now())], owner_key)
    session.execute(stranger_key.address, ETHER // 10, sender=agent_key)
    session.execute_batch([(stranger_key.address, 5), (stranger_key.address, 7)], sender=agent_key)
    session.transfer_token(NATIVE, stranger_key.address, ETHER // 100, sender=agent_key)
    assert session.budget(NATIVE).available == ETHER - ETHER // 10 - 12 - ETHER // 100
    assert to_erc7715(session)["permission"]["data"]["allowanceAmount"] == hex(ETHER)


def test_a_payee_the_session_does_not_allow_is_refused(client, manager, owner_key, agent_key, stranger_key, keys):
    now = client.now()
    request = {"chainId": hex(client.chain_id), "to": agent_key.address,
               "permission": {"type": "native-token-allowance", "isAdjustmentAllowed": True,
                              "data": {"allowanceAmount": hex(ETHER)}},
               "rules": [{"type": "expiry", "data": {"timestamp": now + DAY}}]}
    params = from_erc7715(request, now=now, allowlist=[stranger_key.address])
    [session] = grant(manager, [params], owner_key)
    with pytest.raises(ValueError, match=rf"^payees: session {session.id} may not pay {keys[5].address}$"):
        to_erc7715(session, payees=[keys[5].address])


def test_a_paused_session_is_no_permission_in_force(client, manager, owner_key, agent_key):
    request = {"chainId": hex(client.chain_id), "to": agent_key.address,
               "permission": {"type": "native-token-allowance", "isAdjustmentAllowed": True,
                              "data": {"allowanceAmount": hex(ETHER)}},
               "rules": [{"type": "expiry", "data": {"timestamp": client.now() + DAY}}]}
    [session] = grant(manager, [from_erc7715(request, now=client.now())], owner_key)
    session.pause(sender=owner_key)
    with pytest.raises(UnsupportedPermission, match=r"^unsupported: status paused: "):
        to_erc7715(session)


def test_grant_approves_the_escrow_of_a_token_the_manager_may_not_pull_yet(client, manager, owner_key, agent_key):
    fresh = client.deploy("testing/TestToken", "Fresh", "FRSH", 6, sender=owner_key)
    fresh.transact("mint", owner_key.address, 10**12, sender=owner_key)
    now = client.now()
    request = {"chainId": hex(client.chain_id), "to": agent_key.address,
               "permission": {"type": "erc20-token-periodic", "isAdjustmentAllowed": True,
                              "data": {"periodAmount": hex(5 * 10**6), "periodDuration": DAY,
                                       "tokenAddress": fresh.address}},
               "rules": [{"type": "expiry", "data": {"timestamp": now + 2 * DAY}}]}
    [session] = grant(manager, [from_erc7715(request, now=now)], owner_key)
    assert session.budget(fresh.address).available == 2 * 5 * 10**6
    assert int(fresh.call("balanceOf", manager.address)) == 2 * 5 * 10**6
    assert int(fresh.call("allowance", owner_key.address, manager.address)) == 0  # approved exactly what it pulled
