"""`ape run spawn SPEC`: a fleet spec spawned on real chains (the test Anvil, plus an Anvil the command starts)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from agent_sessions import NATIVE, Status
from agent_sessions.domain.deployment import canonical_factory_address
from scripts._ports import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLEET = EXAMPLES / "fleet-20.yaml"


@pytest.fixture
def alpha_port(rpc_url) -> str:
    """The example's chain alpha (31337) is the Anvil `ape test` runs."""
    return str(urlparse(rpc_url).port)


@pytest.fixture
def beta_port() -> int:
    """The example's second chain (beta, 31338): an Anvil the command starts and stops, on a free port."""
    return free_port()


def test_spawn_example_creates_the_fleet_and_a_rerun_creates_nothing(run, alpha_port, beta_port, tmp_path, client,
                                                                     keys):
    args = (FLEET, "--port", f"alpha={alpha_port}", "--port", f"beta={beta_port}", "--state-dir", tmp_path,
            "--json")

    first = run("spawn", *args)

    assert first.code == 0, first
    data = first.json
    assert len(data["created"]) == 23 and data["skipped"] == []
    assert data["chains"]["alpha"]["started_here"] is False  # the running node was used
    assert data["chains"]["beta"]["started_here"] is True and data["chains"]["beta"]["kept"] is True
    assert (tmp_path / "beta.json").is_file()
    probe = data["sessions"]["trader-dex-probe"]
    assert (probe["chain"], probe["manager"], probe["parent"], probe["depth"]) == ("alpha", "ops", "trader-dex", 2)
    assert probe["status"] == "active"
    trader = data["sessions"]["trader"]
    assert trader["budgets"][NATIVE]["per_call_cap"] == str(10**18)
    ops = data["managers"]["alpha"]["ops"]
    assert client.factory(canonical_factory_address()).managers_of(keys[0].address)[0].address == ops

    second = run("spawn", *args)

    assert second.code == 0, second
    assert second.json["created"] == [] and len(second.json["skipped"]) == 23
    assert second.json["transactions"] == 0


def test_spawned_sessions_are_managed_by_the_sessions_command(run, alpha_port, beta_port, tmp_path):
    spawned = run("spawn", FLEET, "--port", f"alpha={alpha_port}", "--port", f"beta={beta_port}", "--json")
    assert spawned.code == 0, spawned
    trader_id = spawned.json["sessions"]["trader"]["id"]

    listed = run("sessions", "list", "--label", "trader", "--json")
    paused = run("sessions", "pause", trader_id)
    children = run("sessions", "list", "--parent", trader_id, "--status", "paused", "--json")
    audited = run("sessions", "audit")

    assert [s["id"] for s in listed.json] == [trader_id]
    assert paused.code == 0, paused
    assert {s["label"] for s in children.json} == {"trader-dex", "trader-ping"}
    assert audited.code == 0, audited


def test_spawn_shows_progress_and_a_summary_table(run, alpha_port, beta_port, tmp_path):
    result = run("spawn", FLEET, "--port", f"alpha={alpha_port}", "--port", f"beta={beta_port}")

    assert result.code == 0, result
    out = result.out
    assert "23/23" in out  # the progress bar, finished
    assert "trader-dex-probe" in out and "created" in out and "active" in out
    assert "23 created, 0 already there" in out
    # beta's Anvil was started for the command, without a state file: the command says so
    assert "chain beta: the Anvil started for this command" in out


def test_spawn_of_an_invalid_spec_exits_2_listing_every_problem(run, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "chains:\n"
        "  local: {anvil: {chain_id: 31337, port: 8545}}\n"
        "keys: {owner: anvil:0}\n"
        "managers: {main: {owner: owner}}\n"
        "sessions:\n"
        "  - {label: a, chain: local, manager: main, agent: anvil:1, expires: 1d, budgets: {ETH: lots}}\n"
        "  - {label: b, chain: local, manager: main, agent: anvil:1, expires: soon}\n"
    )

    result = run("spawn", spec)

    assert result.code == 2, result
    assert result.err.startswith(f"Error: invalid spec {spec}")
    assert f"{spec}:6: sessions[0].budgets.ETH: cannot read 'lots' as an amount" in result.err
    assert f"{spec}:7: sessions[1].expires: cannot read 'soon' as an expiry" in result.err
    assert "Traceback" not in result.out + result.err


def test_spawn_names_the_item_that_fails_on_chain_and_exits_1(run, alpha_port, tmp_path, client, keys):
    spec = tmp_path / "past.yaml"
    spec.write_text(
        "chains:\n"
        f"  local: {{anvil: {{chain_id: 31337, port: {alpha_port}}}}}\n"
        "keys: {owner: anvil:0}\n"
        "managers: {main: {owner: owner, salt: 9}}\n"
        "sessions:\n"
        "  - {label: fine, chain: local, manager: main, agent: anvil:1, expires: 1d, budgets: {ETH: 0.5 ether}}\n"
        "  - {label: too-late, chain: local, manager: main, agent: anvil:1, expires: '2001-01-01T00:00:00Z'}\n"
    )

    result = run("spawn", spec, "--json")

    assert result.code == 1, result
    assert result.err.startswith("Error: sessions[1] 'too-late' on local/main:")
    assert "reason: ExpiryInPast(expiry=2001-01-01T00:00:00+00:00, now=" in result.err
    assert "Traceback" not in result.out + result.err
    # the roots go in one atomic batch: the valid one was not created either
    manager = client.factory(canonical_factory_address()).predict_manager(keys[0].address, 9)
    assert client.manager(manager).count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("examples/nothere.yaml",), "does not exist"),
        ((str(FLEET), "--port", "alpha"), "expected CHAIN=PORT"),
        ((str(FLEET), "--port", "gamma=8612"), "no local (anvil) chain 'gamma'"),
        ((str(FLEET), "--chunk-size", "0"), "0 is not in the range x>=1"),
        ((), "Missing argument 'SPEC'"),
    ],
    ids=["missing-file", "port-format", "port-unknown-chain", "chunk-size", "no-spec"],
)
def test_spawn_bad_arguments_exit_2(run, args, message):
    result = run("spawn", *args)

    assert result.code == 2, result
    assert message in result.err
    assert "Traceback" not in result.out + result.err


def test_spawned_example_sessions_keep_their_tree(run, alpha_port, beta_port, tmp_path, client):
    result = run("spawn", FLEET, "--port", f"alpha={alpha_port}", "--port", f"beta={beta_port}", "--json")
    assert result.code == 0, result
    sessions = result.json["sessions"]
    manager = client.manager(sessions["trader"]["manager_address"])

    probe = manager.state(sessions["trader-dex-probe"]["id"])

    assert probe.parent_id == sessions["trader-dex"]["id"]
    assert manager.state(probe.parent_id).parent_id == sessions["trader"]["id"]
    assert probe.status is Status.ACTIVE
