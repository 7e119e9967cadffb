"""`agent-sessions`: every verb's happy path against a real node, a refused action (exit 1, the contract's typed
reason on one line) and a usage error (exit 2), both without a traceback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

from agent_sessions import AgentSessions
from agent_sessions.fleet.throughput import dev_keys

from .conftest import OWNER_INDEX, SPEC, invoke

_, SWAPPER, SCOUT, OPS, _, _, NEW_AGENT, _, _, STRANGER = [k.address for k in dev_keys(10)]
OWNER = dev_keys(1, start=OWNER_INDEX)[0].address
DEAD = "0x000000000000000000000000000000000000dEaD"


def one_line_error(run, starts: str) -> None:
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run
    assert lines[0].startswith(starts), run
    assert "Traceback" not in run.err + run.out


def test_version_prints_the_package_version(run):
    r = run("--version")
    assert r.code == 0 and r.out.strip() == "agent-sessions, version 0.1.0"


def test_deploy_finds_the_existing_factory_and_manager(run, world):
    r = run("deploy", "--salt", "cli", "--json")
    assert r.code == 0, r
    assert r.json["manager"] == world["manager"]
    assert r.json["factory_created"] is False and r.json["manager_created"] is False


def test_spawn_again_creates_nothing(run, spec_file, world):
    r = run("spawn", "--config", spec_file, "--json")
    assert r.code == 0, r
    assert r.json["created"] == [] and sorted(r.json["skipped"]) == ["ops-today", "scout", "swapper"]


def test_spawn_dry_run_on_a_running_node_simulates_the_gas_and_sends_nothing(run, spec_file, rpc_url):
    block = AgentSessions(rpc_url).w3.eth.block_number
    r = run("spawn", "--config", spec_file, "--dry-run", "--json")
    assert r.code == 0, r
    plan = r.json
    assert plan["sent"] is False
    # the world's sessions are all on chain already: the spawn would send nothing, so it costs nothing
    assert [(s["label"], s["parent"], s["gas"]) for s in plan["sessions"]] == [
        ("swapper", None, 0), ("scout", "swapper", 0), ("ops-today", None, 0)]
    assert plan["sessions"][0]["budgets"] == {
        "ETH": {"total": "1 ETH", "per_call": "0.25 ETH", "per_period": "0.5 ETH"},
        "CUSD": {"total": "1000 CUSD", "per_call": "100 CUSD"}}
    assert plan["escrow"] == [{"chain": "local", "manager": "treasury", "owner": "treasury",
                               "tokens": {"ETH": "1.5 ETH", "CUSD": "1000 CUSD"}}]
    (chain,) = plan["chains"]
    assert (chain["gas"], chain["gas_source"], chain["gas_note"]) == (0, "node", None)
    assert chain["escrow_eth"] == "1.5 ETH" and chain["gas_price_wei"] is not None
    assert AgentSessions(rpc_url).w3.eth.block_number == block
    table = run("spawn", "--config", spec_file, "--dry-run")
    assert table.code == 0 and "plan (dry run: nothing is sent; gas simulated on the node)" in table.out
    assert "escrow from treasury (manager treasury on local): 1.5 ETH, 1000 CUSD" in table.out
    assert "chain local: about 0 gas, simulated on the node" in table.out


def test_spawn_dry_run_without_a_node_uses_the_snapshot_and_says_so(run, tmp_path):
    from scripts._ports import free_port

    spec = tmp_path / "offline.yaml"
    spec.write_text(SPEC.format(port=free_port()))
    r = run("spawn", "--config", spec, "--dry-run", "--json")
    assert r.code == 0, r
    snap = json.loads((Path(__file__).resolve().parents[2] / "gas-snapshot.json").read_text())
    root, child = snap["create root session (ETH budget)"], snap["spawn child session"]
    erc20 = snap["create root session (ETH + ERC20 budget)"] - root
    assert [(s["label"], s["gas"]) for s in r.json["sessions"]] == [
        ("swapper", root + erc20), ("scout", child), ("ops-today", root)]
    (chain,) = r.json["chains"]
    assert chain["gas"] == root + erc20 + child + root + snap["deploy manager"] + 46_000  # + one ERC-20 approve
    assert (chain["gas_source"], chain["gas_note"], chain["gas_price_wei"]) == ("snapshot", "the node is not running",
                                                                              None)
    table = run("spawn", "--config", spec, "--dry-run")
    assert "gas from the gas snapshot where not simulated" in table.out
    assert "from the gas snapshot, not the node: the node is not running" in table.out


def test_spawn_dry_run_gas_is_the_gas_the_spawn_then_uses(run, rpc_url, tmp_path):
    spec = tmp_path / "dry.yaml"
    spec.write_text(SPEC.format(port=urlparse(rpc_url).port).replace("salt: cli", "salt: dry"))
    dry = run("spawn", "--config", spec, "--dry-run", "--json")
    assert dry.code == 0, dry
    (chain,) = dry.json["chains"]
    assert chain["gas_source"] == "node", chain
    client = AgentSessions(rpc_url)
    before = client.w3.eth.block_number
    spawned = run("spawn", "--config", spec, "--json")
    assert spawned.code == 0, spawned
    after = client.w3.eth.block_number
    used = [client.w3.eth.get_block(n)["gasUsed"] for n in range(before + 1, after + 1)]
    # a new manager, one approve, one createSessions of two roots, one spawnChildren: each in its own block
    assert len(used) == 4
    # the simulation ran the very transactions the spawn then sent, on the same state: the same gas, exactly
    assert chain["gas"] == sum(used)
    deploy, approve, roots, children = used
    assert [(x["label"], x["gas"]) for x in dry.json["sessions"]] == [
        ("swapper", roots - roots // 2), ("scout", children), ("ops-today", roots // 2)]


def test_list_filters_by_status_label_agent_and_holder(run, world, spec_file):
    ids = world["ids"]
    r = run("list", "--json")
    assert r.code == 0, r
    assert [s["id"] for s in r.json] == sorted(ids.values())
    assert [s["id"] for s in run("list", "--label", "scout", "--json").json] == [ids["scout"]]
    assert [s["id"] for s in run("list", "--agent", OPS, "--json").json] == [ids["ops-today"]]
    assert [s["id"] for s in run("list", "--holder", "anvil:1", "--json").json] == [ids["scout"]]
    assert [s["id"] for s in run("list", "--status", "paused", "--json").json] == []
    # names of the spec work where an address would
    r = run("list", "--config", spec_file, "--agent", "scout", "--format", "json")
    assert [s["id"] for s in r.json] == [ids["scout"]]


def test_list_csv_has_one_row_per_session_and_token_in_units(run, world):
    r = run("list", "--format", "csv")
    assert r.code == 0, r
    rows = list(csv.DictReader(io.StringIO(r.out)))
    swapper = [row for row in rows if row["label"] == "swapper"]
    assert [(row["token"], row["available"], row["spent"]) for row in swapper] == [("ETH", "0.8", "0"),
                                                                                 ("CUSD", "1000", "0")]
    assert {row["label"] for row in rows} == {"swapper", "scout", "ops-today"}


def test_list_table_shows_amounts_in_units(run):
    r = run("list")
    assert r.code == 0, r
    assert "0 / 0.8 ETH" in r.out and "0 / 1000 CUSD" in r.out and "3 session(s)" in r.out


def test_inspect_by_label_and_manager_slash_label(run, world, spec_file):
    ids = world["ids"]
    r = run("inspect", "swapper", "--json")
    assert r.code == 0, r
    assert r.json["id"] == ids["swapper"] and r.json["remaining"] == {"ETH": "0.8 ETH", "CUSD": "1000 CUSD"}
    full = run("inspect", "treasury/scout", "--config", spec_file, "--detail", "full", "--json")
    assert full.code == 0, full
    assert full.json["id"] == ids["scout"]
    assert full.json["ancestors"]["can_act"] is True
    assert [s["id"] for s in full.json["ancestors"]["lineage"]] == [ids["swapper"], ids["scout"]]
    text = run("inspect", str(ids["swapper"]), "--detail", "full")
    assert f"session #{ids['swapper']}" in text.out and "every ancestor can act" in text.out


def test_inspect_full_names_the_ancestor_that_ended_a_child(run, world):
    ids = world["ids"]
    assert run("complete", str(ids["swapper"])).code == 0
    r = run("inspect", str(ids["scout"]), "--detail", "full", "--json")
    assert r.code == 0, r
    assert r.json["status"] == "revoked"
    assert r.json["ancestors"]["blocked_by"] == ids["swapper"]
    assert r.json["ancestors"]["reason"] == "was completed and closed"
    refused = run("check", ids["scout"], DEAD, "0.01 ether")
    assert refused.code == 1
    one_line_error(refused, f"Error: refused: SessionNotActive(session={ids['scout']}, status=revoked)")
    assert refused.err.strip().endswith(f"(session {ids['scout']} cannot act: its ancestor #{ids['swapper']} was "
                                        "completed and closed)")


def test_pause_then_resume(run, world):
    sid = world["ids"]["ops-today"]
    r = run("pause", sid, "--json")
    assert r.code == 0, r
    assert r.json["sessions"] == [{"id": sid, "status": "paused", "closed": False}]
    assert run("resume", sid, "--json").json["sessions"] == [{"id": sid, "status": "active", "closed": False}]


def test_revoke_then_close_says_where_each_refund_went(run, world):
    ids = world["ids"]
    assert run("revoke", ids["swapper"]).code == 0
    r = run("close", ids["scout"], ids["swapper"], "--json")
    assert r.code == 0, r
    refunds = [(x["session"], x["amount_units"], x["to_session"], x["to"], x["deferred"]) for x in r.json["refunds"]]
    assert refunds == [
        (ids["scout"], "0.2 ETH", ids["swapper"], None, False),
        (ids["swapper"], "1 ETH", None, OWNER, False),
        (ids["swapper"], "1000 CUSD", None, OWNER, False),
    ]
    still_active = run("close", ids["ops-today"])
    assert still_active.code == 1
    one_line_error(still_active, f"Error: SessionNotEnded(session={ids['ops-today']}")


def test_close_prints_refunds_in_units(run, world):
    ids = world["ids"]
    run("revoke", ids["ops-today"])
    r = run("close", ids["ops-today"])
    assert r.code == 0, r
    assert f"#{ids['ops-today']}: 0.5 ETH refunded to {OWNER}" in r.out


def test_complete_by_the_agent_refunds_the_parent(run, world, spec_file):
    ids = world["ids"]
    r = run("complete", "scout", "--as", "scout", "--config", spec_file, "--json")
    assert r.code == 0, r
    assert [(x["amount_units"], x["to_session"]) for x in r.json["refunds"]] == [("0.2 ETH", ids["swapper"])]


def test_rotate_prints_the_new_agent_and_the_old_key_is_refused(run, world):
    sid = world["ids"]["ops-today"]
    r = run("rotate", sid, "anvil:6", "--json")
    assert r.code == 0, r
    assert r.json["previous_agent"] == OPS and r.json["agent"] == NEW_AGENT
    refused = run("check", sid, DEAD, "0.1 ether", "--caller", OPS)
    assert refused.code == 1
    one_line_error(refused, f"Error: refused: NotAgent(session={sid}, caller={OPS})")
    assert f"agent {NEW_AGENT} -> {OPS}" in run("rotate", sid, "anvil:3").out  # and back: the text form


def test_fund_tops_up_eth_and_a_spec_token_by_name(run, world, spec_file, rpc_url):
    ids = world["ids"]
    r = run("fund", "ops-today", "0.1ether", "--json")
    assert r.code == 0, r
    assert r.json["amount_units"] == "0.1 ETH" and r.json["available_units"] == "0.6 ETH"
    # an ERC-20 root top-up pulls from the owner: without an approval the token refuses
    refused = run("fund", "swapper", "10 CUSD", "--token", "CUSD", "--config", spec_file)
    assert refused.code == 1
    one_line_error(refused, "Error: TransferFromFailed")
    assert "approve the manager first" in refused.err
    client = AgentSessions(rpc_url)
    owner = dev_keys(1, start=OWNER_INDEX)[0]
    client.contract("testing/TestToken", world["usdc"]).transact("approve", world["manager"], 10**12, sender=owner)
    ok = run("fund", "swapper", "10 CUSD", "--token", "CUSD", "--config", spec_file, "--json")
    assert ok.code == 0, ok
    assert ok.json["available_units"] == "1010 CUSD"


def test_check_passes_within_limits_and_explains_a_refusal(run, world):
    sid = world["ids"]["swapper"]
    ok = run("check", sid, DEAD, "0.1 ether", "--json")
    assert ok.code == 0 and ok.json["ok"] is True and ok.json["value_units"] == "0.1 ETH"
    refused = run("check", sid, DEAD, "0.5 ether")
    assert refused.code == 1
    one_line_error(refused, f"Error: refused: PerCallCapExceeded(session={sid}, token=ETH, requested=0.5 ETH, "
                            "cap=0.25 ETH)")


def test_update_sets_limits_and_expiry(run, world):
    sid = world["ids"]["swapper"]
    r = run("update", sid, "--param", "per_call_cap=0.075ether", "--param", "period_allowance=0.3 ether",
            "--param", "expiry=72h", "--json")
    assert r.code == 0, r
    assert r.json["per_call_cap"] == str(75 * 10**15) and r.json["period_allowance"] == str(3 * 10**17)
    assert len(r.json["transactions"]) == 2


def test_update_refuses_an_unknown_parameter_with_a_usage_error(run, world):
    r = run("update", world["ids"]["swapper"], "--param", "budget=1ether")
    assert r.code == 2
    assert "unknown parameter 'budget'" in r.err and "Traceback" not in r.err


def test_update_refuses_an_expiry_without_a_zone(run, world):
    r = run("update", world["ids"]["swapper"], "--param", "expiry=2030-01-01")
    assert r.code == 2 and "has no timezone" in r.err


def test_pause_all_unpause_all_and_revoke_all(run, world):
    assert run("pause-all", "--json").json["paused_all"] is True
    assert run("list", "--status", "active", "--json").json == []
    assert run("unpause-all", "--json").json["paused_all"] is False
    r = run("revoke-all", "--json")
    assert r.code == 0 and r.json["epoch"] == 1
    assert {s["status"] for s in run("list", "--json").json} == {"revoked"}


def test_a_stranger_is_refused_with_the_contracts_reason(run, world):
    r = run("pause", world["ids"]["ops-today"], "--as", "anvil:9")
    assert r.code == 1
    one_line_error(r, f"Error: NotController(session={world['ids']['ops-today']}, caller={STRANGER})")


def test_deploy_records_the_manager_that_later_commands_use(run, world, rpc_url):
    assert run("deploy", "--salt", "cli").code == 0
    # a stranger owns no manager: the one deploy recorded is used (no --manager given)
    r = invoke("pause", world["ids"]["ops-today"], "--as", "anvil:9", "--rpc", rpc_url)
    assert r.code == 1
    one_line_error(r, "Error: NotController(")


def test_dashboard_once_and_json(run, world):
    r = run("dashboard", "--once")
    assert r.code == 0, r
    assert "3 sessions: 3 active" in r.out
    j = run("dashboard", "--once", "--json")
    assert j.code == 0
    frame = json.loads(j.out)
    assert [s["label"] for s in frame["managers"][world["manager"]]] == ["swapper", "ops-today", "scout"]


def test_dashboard_refuses_a_bad_refresh(run, world):
    r = run("dashboard", "--refresh", "soon")
    assert r.code == 2 and "cannot read 'soon' as a duration" in r.err


def test_audit_balances(run, world):
    r = run("audit", "--json")
    assert r.code == 0, r
    assert r.json["ok"] is True


@pytest.mark.parametrize("args, message", [
    (("list", "--status", "bogus"), "'bogus' is not one of"),
    (("inspect", "nobody"), "no session labelled 'nobody'"),
    (("fund", "1", "1 ether", "--token", "CUSD"), "no token 'CUSD'"),
    (("pause", "1", "--as", "0xabc"), "unknown key"),
    (("spawn",), "spawn needs --config FILE"),
    (("list", "--chain", "x"), "--chain names a chain of the fleet spec"),
], ids=["bad-choice", "unknown-label", "token-without-config", "raw-key", "spawn-without-config", "chain-no-config"])
def test_usage_errors_exit_2_without_a_traceback(run, world, args, message):
    r = run(*args)
    assert r.code == 2, r
    assert message in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("Error: "), r  # one line


def test_an_encrypted_keystore_signs_with_the_passphrase_from_the_environment(run, world, tmp_path, monkeypatch):
    from eth_account import Account

    owner = dev_keys(1, start=OWNER_INDEX)[0]
    keystore = tmp_path / "owner.json"
    keystore.write_text(json.dumps(Account.encrypt(owner.key, "correct horse")))
    monkeypatch.setenv("AGENT_SESSIONS_PASSWORD", "correct horse")
    paused = run("pause", world["ids"]["ops-today"], "--as", f"keystore:{keystore}", "--json")
    assert paused.code == 0, paused
    assert paused.json["sessions"][0]["status"] == "paused"
    monkeypatch.setenv("AGENT_SESSIONS_PASSWORD", "wrong")
    wrong = run("resume", world["ids"]["ops-today"], "--as", f"keystore:{keystore}")
    assert wrong.code == 2 and wrong.err.strip() == f"Error: Invalid value for --as: cannot unlock {keystore}: MAC mismatch"
