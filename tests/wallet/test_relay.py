"""The relayer: policy, a dry run of every item, pipelined sends, one typed outcome per item; in process, through
`agent-sessions relay` on stdin, and over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner
from eth_account import Account

from agent_sessions import NATIVE, InvalidSigner, NonceUsed, RelayFeeAboveCap
from agent_sessions.cli import cli
from agent_sessions.wallet import (
    Relayer,
    RelayRefused,
    SignedExecute,
    set_max_relay_fee,
    sign_execute,
    sign_grant,
    submit_grant,
)

ETHER = 10**18
MILLI = 10**15
RECIPIENT = "0x00000000000000000000000000000000000A11CE"


@pytest.fixture
def fleet(client, manager, people, params, funded_owner):
    """``fleet(n)``: n keyless agents, each with a root session of 0.1 ETH granted by one signature, relay fees up
    to 0.001 ETH allowed. Returns ``[(session, agent key)]``."""

    def make(n: int):
        funded_owner(n * ETHER // 10)
        agents = [Account.create() for _ in range(n)]
        signed = sign_grant(manager, [params(a, eth="0.1 ether") for a in agents], people.owner)
        sessions = submit_grant(signed, people.submitter, client=client)
        for s in sessions:
            set_max_relay_fee(s, MILLI, people.owner)
        return list(zip(sessions, agents))

    return make


def test_a_mixed_batch_gets_one_typed_outcome_per_item(client, manager, people, fleet, world):
    (s1, a1), (s2, a2), (s3, a3) = fleet(3)
    good = [sign_execute(s, RECIPIENT, MILLI, b"", a, relay_fee=MILLI // 10) for s, a in ((s1, a1), (s2, a2))]
    forged = sign_execute(s3, RECIPIENT, MILLI, b"", Account.create())
    greedy = sign_execute(s3, RECIPIENT, MILLI, b"", a3, relay_fee=2 * MILLI)
    wrong_chain = sign_execute(((1, manager.address), s3.id), RECIPIENT, MILLI, b"", a3)
    cheap = sign_execute(s3, RECIPIENT, MILLI, b"", a3, relay_fee=0)
    items = [good[0], forged, greedy, good[1], wrong_chain, good[0], ValueError("line 7: not JSON")]
    relayer = Relayer(client, people.relayer, min_fee=0)
    before = client.balance(RECIPIENT)

    outcomes = relayer.relay(items, tags=list(range(1, 8)))

    assert [o.status for o in outcomes] == ["mined", "refused", "refused", "mined", "refused", "refused", "invalid"]
    assert isinstance(outcomes[1].error, InvalidSigner) and outcomes[1].error.arguments["expected"] == a3.address
    assert isinstance(outcomes[2].error, RelayFeeAboveCap) and outcomes[2].error.arguments == {
        "session": s3.id, "fee": 2 * MILLI, "cap": MILLI}
    assert isinstance(outcomes[4].error, RelayRefused) and outcomes[4].error.reason == "WrongChain"
    assert isinstance(outcomes[5].error, RelayRefused) and outcomes[5].error.reason == "Duplicate"
    assert client.balance(RECIPIENT) - before == 2 * MILLI
    line = outcomes[2].to_dict()
    assert line == {"id": 3, "status": "refused", "session": s3.id, "nonce": str(greedy.nonce),
                    "relay_fee": str(2 * MILLI), "error": "RelayFeeAboveCap",
                    "args": {"session": s3.id, "fee": 2 * MILLI, "cap": MILLI}, "message": str(outcomes[2].error)}
    assert outcomes[0].to_dict()["tx"].startswith("0x") and outcomes[0].block > 0
    # below this relayer's minimum fee: refused before any dry run
    strict = Relayer(client, people.relayer, min_fee="0.0001 ether").relay([cheap])
    assert strict[0].error.reason == "FeeBelowMinimum"


def test_the_relayer_serves_only_managers_of_the_canonical_factory(client, people, fleet):
    (session, agent), = fleet(1)
    lookalike = sign_execute(((31337, people.stranger.address), session.id), RECIPIENT, MILLI, b"", agent)
    (outcome,) = Relayer(client, people.relayer).relay([lookalike])
    assert outcome.status == "refused" and outcome.error.reason == "UnknownManager"


def test_a_used_nonce_is_refused_by_the_dry_run(client, people, fleet):
    (session, agent), = fleet(1)
    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent)
    relayer = Relayer(client, people.relayer)
    assert relayer.relay([signed])[0].ok
    balance = client.balance(people.relayer.address)
    (again,) = relayer.relay([signed])
    assert isinstance(again.error, NonceUsed) and again.status == "refused"
    assert client.balance(people.relayer.address) == balance  # a refusal costs the relayer nothing


def test_relay_command_reads_json_lines_from_stdin(client, people, fleet, world):
    pairs = fleet(4)
    lines = [sign_execute(s, RECIPIENT, MILLI, b"", a, relay_fee=MILLI // 10).to_json() for s, a in pairs]
    forged = sign_execute(pairs[0][0], RECIPIENT, MILLI, b"", Account.create()).to_dict()
    forged["id"] = "forged"
    lines += [json.dumps(forged), "{not json"]
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["relay", "--rpc", world.url, "--as", "anvil:15"], input="\n".join(lines) + "\n")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["status"] for o in out] == ["mined"] * 4 + ["refused", "invalid"]
    assert [o["id"] for o in out] == [1, 2, 3, 4, "forged", 6]
    assert out[4]["error"] == "InvalidSigner" and out[4]["args"]["expected"] == pairs[0][1].address
    assert out[5]["error"] == "ValueError" and "not JSON" in out[5]["message"]
    assert result.exit_code == 1  # not every item was mined


def test_relay_command_serves_http_on_a_free_port(client, people, fleet, world, tmp_path):
    pairs = fleet(2)
    env = dict(os.environ, AGENT_SESSIONS_HOME=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-m", "agent_sessions", "relay", "--http", "--rpc", world.url,
                                "--as", "anvil:15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        first = json.loads(process.stdout.readline())
        url = first["listening"]
        assert first["relayer"] == people.relayer.address and first["chain_id"] == 31337
        with urllib.request.urlopen(url + "/health", timeout=10) as answer:
            assert json.load(answer)["relayer"] == people.relayer.address
        body = json.dumps([sign_execute(s, RECIPIENT, MILLI, b"", a).to_dict() for s, a in pairs]).encode()
        request = urllib.request.Request(url + "/relay", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            outcomes = json.load(answer)
        assert [o["status"] for o in outcomes] == ["mined", "mined"]
        assert pairs[0][0].remaining(NATIVE) == ETHER // 10 - MILLI
        logged = [json.loads(process.stdout.readline()) for _ in outcomes]
        assert sorted(o["tx"] for o in logged) == sorted(o["tx"] for o in outcomes)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_signed_execute_loads_from_what_the_relayer_reads(fleet):
    (session, agent), = fleet(1)
    signed = sign_execute(session, RECIPIENT, MILLI, b"", agent)
    assert SignedExecute.from_json(signed.to_json()) == signed


def test_the_relayer_takes_signed_batches_too(client, people, fleet):
    from agent_sessions.wallet import sign_execute_batch

    (session, agent), = fleet(1)
    signed = sign_execute_batch(session, [(RECIPIENT, MILLI), (people.stranger.address, MILLI)], agent,
                                relay_fee=MILLI // 10)
    before = client.balance(RECIPIENT)
    (outcome,) = Relayer(client, people.relayer).relay([signed])
    assert outcome.ok and outcome.to_dict()["relay_fee"] == str(MILLI // 10)
    assert client.balance(RECIPIENT) - before == MILLI
    assert session.remaining(NATIVE) == ETHER // 10 - 2 * MILLI - MILLI // 10


def test_relay_command_with_manager_serves_that_manager_only(people, fleet, world, tmp_path):
    (session, agent), = fleet(1)
    path = tmp_path / "signed.jsonl"
    path.write_text(sign_execute(session, RECIPIENT, MILLI, b"", agent).to_json() + "\n")
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["relay", str(path), "--rpc", world.url, "--as", "anvil:15", "--manager", world.other_manager])
    (line,) = [json.loads(text) for text in result.stdout.splitlines()]
    assert (line["status"], line["error"], line["args"]) == ("refused", "UnknownManager", {"manager": world.manager})
    assert result.exit_code == 1
