"""``agent-sessions grant --from-7715 FILE`` on a real node (click's CliRunner, ``--rpc``): the plan in units, the
sessions opened as the manager owner with their 7715 responses, and each error on one line with its exit code
(2: a bad file or request, 1: a refused action)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from agent_sessions import NATIVE
from agent_sessions.wallet import encode_context

from tests.cli.conftest import invoke
from tests.helpers import Run

DAY = 86_400
ETHER = 10**18
EXAMPLE = Path(__file__).parents[2] / "examples" / "erc7715" / "request.json"


@pytest.fixture
def grant(rpc_url, manager, tmp_path, monkeypatch) -> Callable[..., Run]:
    """``grant(requests_or_path, *options)``: the command as account 0 (the manager owner) unless ``--as``."""
    monkeypatch.setenv("AGENT_SESSIONS_HOME", str(tmp_path / "home"))
    for name in ("AGENT_SESSIONS_KEY", "AGENT_SESSIONS_CONFIG", "AGENT_SESSIONS_RPC"):
        monkeypatch.delenv(name, raising=False)

    def go(requests: Any, *options: str) -> Run:
        path = requests
        if not isinstance(requests, Path):
            path = tmp_path / "request.json"
            path.write_text(requests if isinstance(requests, str) else json.dumps(requests))
        signer = () if "--as" in options else ("--as", "anvil:0")
        return invoke("grant", "--from-7715", path, "--rpc", rpc_url, "--manager", manager.address, *signer,
                      *options)

    return go


def periodic(agent: str, expiry: int) -> dict[str, Any]:
    return {"chainId": "0x7a69", "to": agent,
            "permission": {"type": "native-token-periodic", "isAdjustmentAllowed": True,
                           "data": {"periodAmount": hex(ETHER // 100), "periodDuration": DAY,
                                    "justification": "daily gas money"}},
            "rules": [{"type": "expiry", "data": {"timestamp": expiry}}]}


def test_dry_run_prints_the_plan_in_units_and_sends_nothing(grant, client, manager, agent_key):
    expiry = client.now() + 3 * DAY + 600
    count = manager.count()
    run = grant([periodic(agent_key.address, expiry)], "--dry-run")
    assert run.code == 0, run
    at = datetime.fromtimestamp(expiry, tz=timezone.utc).isoformat()
    assert run.out.splitlines() == [
        f"plan 1 session(s) on manager {manager.address} (owner {manager.owner()}, chain 31337); nothing sent",
        f"  [0] native-token-periodic: agent {agent_key.address} escrow 0.04 ETH, 0.01 ETH per 86400 s, "
        f"expires {at}, pays any",
    ]
    assert manager.count() == count


def test_dry_run_json_is_the_plan_in_units(grant, client, manager, agent_key, token, stranger_key):
    expiry = client.now() + DAY
    request = {"chainId": "0x7a69", "to": agent_key.address,
               "permission": {"type": "erc20-token-allowance", "isAdjustmentAllowed": False,
                              "data": {"allowanceAmount": hex(25 * ETHER // 10), "tokenAddress": token.address}},
               "rules": [{"type": "expiry", "data": {"timestamp": expiry}},
                         {"type": "payee", "data": {"addresses": [stranger_key.address]}}]}
    run = grant({"method": "wallet_requestExecutionPermissions", "params": [request]}, "--dry-run", "--json")
    assert run.code == 0, run
    assert run.json == {"manager": manager.address, "owner": manager.owner(), "chain_id": 31337, "sessions": [{
        "request": 0, "type": "erc20-token-allowance", "agent": agent_key.address, "token": token.address,
        "escrow": "2.5 TUSD", "expiry": expiry,
        "expires_at": datetime.fromtimestamp(expiry, tz=timezone.utc).isoformat(),
        "recipients": [stranger_key.address], "label": ""}]}


def test_grant_opens_the_sessions_and_prints_their_7715_responses(grant, client, manager, owner_key, agent_key):
    expiry = client.now() + 3 * DAY + 600
    request = periodic(agent_key.address, expiry)
    run = grant([request], "--json")
    assert run.code == 0, run
    [response] = run.json
    session_id = manager.count()
    assert response == {**request, "chainId": "0x7a69", "from": owner_key.address,
                        "permission": {**request["permission"], "isAdjustmentAllowed": False},
                        "context": encode_context(manager.address, session_id), "dependencies": [],
                        "delegationManager": manager.address}
    budget = manager.budget(session_id, NATIVE)
    assert (budget.available, budget.period_allowance) == (4 * ETHER // 100, ETHER // 100)


def test_grant_says_which_sessions_it_opened(grant, client, manager, agent_key):
    run = grant([periodic(agent_key.address, client.now() + DAY)])
    assert run.code == 0, run
    assert run.out.splitlines() == [f"session {manager.count()} opened: native-token-periodic for "
                                    f"{agent_key.address}, escrow 0.01 ETH"]


def test_the_example_request_validates(grant, manager):
    run = grant(EXAMPLE, "--dry-run")
    assert run.code == 0, run
    lines = run.out.splitlines()
    assert lines[0].startswith("plan 2 session(s) on manager")
    assert "escrow 0.1 ETH" in lines[2] and lines[2].endswith("pays 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    ({"method": "wallet_grantPermissions", "params": []},
     "method: 'wallet_grantPermissions' is not wallet_requestExecutionPermissions"),
    ([], "no permission request"),
], ids=["not-json", "other-method", "empty"])
def test_a_bad_file_is_a_usage_error(grant, tmp_path, body, message):
    run = grant(body)
    assert run.code == 2, run
    assert run.err == f"Error: {tmp_path / 'request.json'}: {message}\n"


def test_a_bad_field_names_the_file_the_request_and_the_field(grant, client, tmp_path, agent_key):
    good = periodic(agent_key.address, client.now() + DAY)
    bad = periodic(agent_key.address, client.now() + DAY)
    bad["permission"]["data"]["periodAmount"] = "1000"
    run = grant([good, bad])
    assert run.code == 2, run
    assert run.err == (f"Error: {tmp_path / 'request.json'}[1]: permission.data.periodAmount: '1000' is not a "
                       "0x-prefixed hex string (e.g. '0x1dcd6500')\n")


def test_a_request_for_another_chain_is_refused(grant, client, tmp_path, agent_key):
    request = dict(periodic(agent_key.address, client.now() + DAY), chainId="0x1")
    run = grant([request])
    assert run.code == 2, run
    assert run.err == f"Error: {tmp_path / 'request.json'}: chainId: 0x1 (1) is not this chain (31337)\n"


def test_a_stream_is_unsupported(grant, client, tmp_path, agent_key):
    request = {"chainId": "0x7a69", "to": agent_key.address,
               "permission": {"type": "native-token-stream", "isAdjustmentAllowed": True,
                              "data": {"amountPerSecond": "0x1"}},
               "rules": [{"type": "expiry", "data": {"timestamp": client.now() + DAY}}]}
    run = grant(request)
    assert run.code == 2, run
    assert run.err.startswith(f"Error: {tmp_path / 'request.json'}: unsupported: native-token-stream: a stream "
                              "accrues linearly per second")
    assert run.err.count("\n") == 1


def test_a_signer_who_does_not_own_the_manager_is_refused(grant, client, manager, agent_key):
    count = manager.count()
    run = grant([periodic(agent_key.address, client.now() + DAY)], "--as", "anvil:3")
    assert run.code == 1, run
    assert run.err.startswith("Error: NotManagerOwner(")
    assert run.err.count("\n") == 1
    assert manager.count() == count


def test_a_missing_file_is_a_usage_error(rpc_url, tmp_path):
    run = invoke("grant", "--from-7715", tmp_path / "absent.json", "--rpc", rpc_url)
    assert run.code == 2, run
    assert "does not exist" in run.err and run.err.count("\n") == 1
