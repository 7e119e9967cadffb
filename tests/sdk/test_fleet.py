"""Spawning fleets on Anvil nodes the tests start themselves (LocalAnvil, on free ports the system picks; the
node of `ape test` is not used): the canonical deployment, fleet-20.yaml created exactly and idempotently, a
failing item named, and a node killed mid-spawn resumed from its state file."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest

from agent_sessions import (
    NATIVE,
    AgentSessions,
    ChainMismatch,
    ExpiryInPast,
    FleetError,
    InvalidGuard,
    LocalAnvil,
    SessionError,
    canonical_factory_address,
    ensure_deployment,
    load_spec,
    open_chains,
    parse_spec,
    spawn_fleet,
)
from agent_sessions.base.library_errors import TransferFromFailed
from agent_sessions.domain.deployment import DETERMINISTIC_DEPLOYER, canonical_addresses, has_code
from agent_sessions.fleet.spec import ETH
from agent_sessions.fleet.throughput import dev_keys
from scripts._ports import free_port, open_fresh_chains

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ETHER = 10**18


@pytest.fixture(scope="module")
def chains():
    """fleet-20.yaml's two chains, each on a fresh node of our own on a free port."""
    with open_fresh_chains(load_spec(EXAMPLES / "fleet-20.yaml"), ["alpha", "beta"]) as opened:
        assert [a.port for a in opened.started] == [opened["alpha"].anvil.port, opened["beta"].anvil.port]
        yield opened


@pytest.fixture(scope="module")
def fleet20(chains):
    """fleet-20.yaml on the ports of ``chains``."""
    return load_spec(EXAMPLES / "fleet-20.yaml").with_ports({n: chains[n].anvil.port for n in ("alpha", "beta")})


@pytest.fixture
def scratch_port() -> int:
    """A free port for the scratch chain of one test (the same all through the test: it may restart its node)."""
    return free_port()


@pytest.fixture(scope="module")
def spawned(fleet20, chains):
    calls = []
    report = spawn_fleet(fleet20, chains, progress=lambda done, total, label: calls.append((done, total, label)))
    return report, calls


# ================================================================================================================
# LocalAnvil and the canonical deployment
# ================================================================================================================


def test_local_anvil_reuses_a_node_already_serving_the_chain_and_leaves_it_running(chains):
    alpha = chains["alpha"].anvil
    again = LocalAnvil(31337, alpha.port).start()
    assert again.reused and again.pid is None and again.running
    again.stop()
    assert alpha.running and AgentSessions(alpha.url).chain_id == 31337


def test_local_anvil_refuses_a_port_serving_another_chain(chains):
    with pytest.raises(ChainMismatch) as caught:
        LocalAnvil(999, chains["alpha"].anvil.port).start()
    assert (caught.value.expected, caught.value.actual) == (999, 31337)


def test_open_chains_refuses_an_endpoint_serving_another_chain(chains):
    spec = parse_spec(f"chains: {{remote: {{rpc: 'http://127.0.0.1:{chains['beta'].anvil.port}', chain_id: 5}}}}\n")
    with pytest.raises(ChainMismatch, match="serves chain 31338, not chain 5"):
        open_chains(spec)


def test_local_anvil_stop_leaves_no_process_and_the_deployer_is_there_at_genesis(tmp_path, scratch_port):
    with LocalAnvil(31340, scratch_port) as anvil:
        pid = anvil.pid
        assert pid is not None and not anvil.reused
        cmd = anvil.command()
        assert {"--prune-history", "--silent"} <= set(cmd)
        assert cmd[cmd.index("--chain-id") + 1] == "31340" and cmd[cmd.index("--port") + 1] == str(scratch_port)
        client = AgentSessions(anvil.url)
        assert has_code(client, DETERMINISTIC_DEPLOYER)
        assert client.canonical_factory() is None
    assert not anvil.running and anvil.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_canonical_factory_has_the_same_address_on_both_chains_and_ensure_is_idempotent(chains):
    deployer = dev_keys(1)[0]
    address = canonical_factory_address()
    for name in ("alpha", "beta"):
        client = AgentSessions(chains[name].url)
        assert chains[name].factory.address == address and chains[name].canonical
        assert client.canonical_factory().address == address
        nonce = client.rpc.request("eth_getTransactionCount", [deployer.address, "latest"])
        assert ensure_deployment(client, deployer).address == address
        assert client.ensure_factory(deployer).address == address
        assert client.rpc.request("eth_getTransactionCount", [deployer.address, "latest"]) == nonce
        extension, signatures, factory = canonical_addresses()
        assert has_code(client, extension) and has_code(client, signatures)
        assert client.factory(factory).implementation()


def test_without_the_deterministic_deployer_the_factory_is_deployed_plainly_with_a_warning(scratch_port):
    with LocalAnvil(31340, scratch_port) as anvil:
        client = AgentSessions(anvil.url)
        client.rpc.request("anvil_setCode", [DETERMINISTIC_DEPLOYER, "0x"])
        with pytest.warns(UserWarning, match="no deterministic deployer"):
            factory = ensure_deployment(client, dev_keys(1)[0])
        assert factory.address != canonical_factory_address()
        assert has_code(client, factory.address)


# ================================================================================================================
# fleet-20.yaml
# ================================================================================================================


def test_fleet20_creates_exactly_the_spec_sessions_with_parents_and_budgets(fleet20, chains, spawned):
    report, calls = spawned
    flat = fleet20.sessions_flat()
    keys = [i.key for i in flat]
    assert sorted(report.created) == sorted(keys) and len(report.created) == len(flat) >= 20
    assert report.skipped == [] and report.ended == [] and report.blocked == []
    assert {name: c.created for name, c in report.per_chain.items()} == Counter(i.chain for i in flat)
    assert [c[0] for c in calls] == list(range(1, len(flat) + 1)) and {c[1] for c in calls} == {len(flat)}

    for item in flat:
        session = report[item.key].refresh()
        manager = report.managers[item.chain][item.manager]
        assert session.manager.address == manager.address
        assert session.label == item.label and session.depth == item.depth
        assert session.agent == fleet20.address_of(item.spec.agent)
        assert session.state.any_target == item.spec.any_target
        if item.parent is None:
            assert session.parent_id == 0
        else:
            assert manager.state(session.parent_id).label == item.parent
        # what a session holds itself: its budget minus what its children reserved out of it
        children = [c for c in flat if c.parent_path == item.path]
        tokens = report.tokens[item.chain] | {ETH: NATIVE}
        for name, budget in fleet20.budgets_of(item).items():
            reserved = sum(fleet20.budgets_of(c).get(name).total for c in children if name in c.spec.budgets)
            onchain = session.budgets[tokens[name]]
            assert onchain.available == budget.total - reserved, (item.label, name)
            assert (onchain.per_call_cap, onchain.period_allowance) == (budget.per_call, budget.per_period)

    # each label exactly once per manager, and the escrow is what the spec funds
    for (chain, manager_name), totals in fleet20.totals().items():
        manager = report.managers[chain][manager_name]
        labels = [s.label for s in manager.list_sessions()]
        expected = [i.label for i in flat if i.chain == chain and i.manager == manager_name]
        assert sorted(labels) == sorted(expected)
        client = chains[chain].client
        for name, amount in totals.items():
            token = NATIVE if name == ETH else report.tokens[chain][name]
            assert client.balance(manager.address, token) == amount


def test_fleet20_respawn_creates_nothing_and_moves_no_funds(fleet20, chains, spawned):
    report, _ = spawned
    owners = {fleet20.address_of(m.owner) for m in fleet20.managers.values()}
    tokens = {chain: [NATIVE, *report.tokens[chain].values()] for chain in chains}
    accounts = {chain: [*owners, *(m.address for m in report.managers[chain].values())] for chain in chains}

    def snapshot():
        out = {}
        for chain, handle in chains.items():
            for account in accounts[chain]:
                out[(chain, account, "nonce")] = handle.client.rpc.request("eth_getTransactionCount",
                                                                           [account, "latest"])
                for token in tokens[chain]:
                    out[(chain, account, token)] = handle.client.balance(account, token)
            out[(chain, "sessions")] = sum(m.count() for m in report.managers[chain].values())
        return out

    before = snapshot()
    again = spawn_fleet(fleet20, chains, chunk_size=3)
    assert again.created == [] and again.transactions == 0
    assert sorted(again.skipped) == sorted(report.created)
    assert {k: s.id for k, s in again.sessions.items()} == {k: s.id for k, s in report.sessions.items()}
    assert snapshot() == before


# ================================================================================================================
# failures
# ================================================================================================================

FAILING = """\
chains:
  alpha: {{anvil: {{chain_id: 31337, port: {port}}}}}
keys:
  owner: anvil:8
managers:
  fail: {{owner: owner, salt: {salt}}}
{extra}
sessions:
{sessions}
"""


def failing_spec(chains, salt: str, sessions: str, extra: str = ""):
    return parse_spec(FAILING.format(port=chains["alpha"].anvil.port, salt=salt, sessions=sessions, extra=extra),
                      source="failing.yaml")


def test_a_root_whose_expiry_has_passed_fails_its_batch_and_names_the_item(chains):
    spec = failing_spec(chains, "expiry", """\
  - {label: ok-1, chain: alpha, manager: fail, agent: anvil:2, expires: 1h, budgets: {ETH: 1 wei}}
  - {label: ok-2, chain: alpha, manager: fail, agent: anvil:2, expires: 1h, budgets: {ETH: 2 wei}}
  - {label: late, chain: alpha, manager: fail, agent: anvil:2, expires: 2001-01-01T00:00:00Z, budgets: {ETH: 3 wei}}
  - {label: ok-3, chain: alpha, manager: fail, agent: anvil:2, expires: 1h, budgets: {ETH: 4 wei}}
""")
    with pytest.raises(FleetError) as caught:
        spawn_fleet(spec, chains, chunk_size=10)
    error = caught.value
    assert (error.label, error.path, error.chain, error.manager) == ("late", "sessions[2]", "alpha", "fail")
    assert isinstance(error.cause, ExpiryInPast) and error.__cause__ is error.cause
    assert error.cause.expiry == 978307200
    assert str(error).startswith("sessions[2] 'late' on alpha/fail: cannot create this session: expiry 978307200")
    manager = chains["alpha"].client.manager(
        chains["alpha"].factory.predict_manager(spec.address_of("owner"), "expiry"))
    assert manager.count() == 0  # the batch is atomic: ok-1 and ok-2 were not created either


def test_a_drained_owner_fails_at_the_first_root_it_cannot_fund(chains):
    client = chains["alpha"].client
    owner = dev_keys(1, start=8)[0]
    token = client.deploy("testing/TestToken", "Scarce", "SCR", 18, sender=owner)
    token.transact("mint", owner.address, 150 * ETHER, sender=owner)
    spec = failing_spec(chains, "drained", """\
  - {label: first, chain: alpha, manager: fail, agent: anvil:2, expires: 1h, budgets: {SCR: 100 SCR}}
  - {label: second, chain: alpha, manager: fail, agent: anvil:2, expires: 1h, budgets: {SCR: 100 SCR}}
""", extra=f"tokens:\n  SCR: {{decimals: 18, chains: {{alpha: '{token.address}'}}}}")
    with pytest.raises(FleetError) as caught:
        spawn_fleet(spec, chains)
    error = caught.value
    assert (error.label, error.path) == ("second", "sessions[1]")
    assert isinstance(error.cause, TransferFromFailed) and error.cause.data == bytes.fromhex("7939f424")
    assert "TransferFromFailed()" in str(error)
    manager = client.manager(chains["alpha"].factory.predict_manager(owner.address, "drained"))
    assert manager.count() == 0 and client.balance(owner.address, token.address) == 150 * ETHER


def test_a_child_with_a_guard_that_is_no_contract_is_named(chains):
    spec = failing_spec(chains, "guard", """\
  - label: parent
    chain: alpha
    manager: fail
    agent: anvil:2
    expires: 1h
    budgets: {ETH: 10 wei}
    allow: any
    children:
      - {label: fine, agent: anvil:3, budgets: {ETH: 1 wei}, allow: any}
      - {label: guarded, agent: anvil:3, budgets: {ETH: 1 wei}, allow: any, guards: ["0x000000000000000000000000000000000000dEaD"]}
""")
    with pytest.raises(FleetError) as caught:
        spawn_fleet(spec, chains)
    error = caught.value
    assert (error.label, error.path) == ("guarded", "sessions[0].children[1]")
    assert isinstance(error.cause, InvalidGuard)
    manager = chains["alpha"].client.manager(chains["alpha"].factory.predict_manager(spec.address_of("owner"),
                                                                                     "guard"))
    assert [s.label for s in manager.list_sessions()] == ["parent"]  # the children's batch left nothing
    assert manager.remaining(1) == 10


# ================================================================================================================
# a node killed mid-spawn
# ================================================================================================================

KILL_SPEC = """\
chains:
  gamma: {{anvil: {{chain_id: 31339, port: {port}}}}}
keys:
  owner: anvil:0
managers:
  crash: {{owner: owner}}
sessions:
{sessions}
"""


def test_a_node_killed_mid_spawn_resumes_from_its_state_file_without_duplicates(tmp_path):
    lines = []
    for i in range(24):
        lines.append(f"  - {{label: s{i:02d}, chain: gamma, manager: crash, agent: anvil:{1 + i % 5}, expires: 1d, "
                     f"budgets: {{ETH: {i + 1} gwei}}, allow: any"
                     + (f", children: [{{label: s{i:02d}-kid, agent: anvil:7, budgets: {{ETH: 1 gwei}}}}]}}"
                        if i % 4 == 0 else "}"))
    port = free_port()  # the node is killed and started again on it
    spec = parse_spec(KILL_SPEC.format(port=port, sessions="\n".join(lines)), source="kill.yaml")
    total = len(spec.sessions_flat())
    anvil = LocalAnvil(31339, port, state_path=tmp_path / "gamma.json")
    anvil.start()
    try:
        kill_now, killed = threading.Event(), threading.Event()
        outcome: list[BaseException | None] = []

        def progress(done: int, total: int, label: str) -> None:
            # waves of 2 batches of 2 sessions: ticks come 4 at a time
            if done == 4:
                killed.wait(1.5)  # let a periodic state dump (every second) catch the first wave
            if done == 12:
                kill_now.set()
                killed.wait(10)

        def run() -> None:
            try:
                with open_chains(spec, retries=1, receipt_timeout=5) as chains:
                    spawn_fleet(spec, chains, progress=progress, chunk_size=2, in_flight=2)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        assert kill_now.wait(30), "the spawn never got 12 sessions in"
        anvil.kill()  # SIGKILL: no final dump, the state file has the last periodic one
        killed.set()
        worker.join(30)
        assert not worker.is_alive()
        assert isinstance(outcome[0], SessionError)  # the spawn failed with the node gone

        anvil.start()  # from the state file
        client = AgentSessions(anvil.url)
        owner = spec.address_of("owner")
        manager = client.manager(client.canonical_factory().predict_manager(owner, 0))
        survived = manager.count()
        assert 4 <= survived <= 12  # what the last periodic dump held: some, not all

        with open_chains(spec) as chains:
            report = spawn_fleet(spec, chains, chunk_size=2)
        assert len(report.skipped) == survived and len(report.created) == total - survived

        states = [s.state for s in manager.list_sessions()]
        assert sorted(s.label for s in states) == sorted(i.label for i in spec.sessions_flat())  # each exactly once
        assert client.balance(manager.address) == spec.totals()[("gamma", "crash")][ETH]
        assert client.balance(manager.address) == sum(s.budgets[NATIVE].available for s in states)
    finally:
        anvil.stop()
    assert not anvil.running


# ================================================================================================================
# rolling ended sessions, rotating agents, state across restarts
# ================================================================================================================

SCRATCH = """\
chains:
  scratch: {{anvil: {{chain_id: 31340, port: {port}}}}}
keys:
  owner: anvil:0
  old: anvil:6
  new: anvil:7
managers:
  m: {{owner: owner}}
sessions:
  - label: daily
    chain: scratch
    manager: m
    agent: {agent}
    expires: 1d
    budgets: {{ETH: 1 ether}}
    allow: any
    children:
      - {{label: daily-kid, agent: anvil:3, budgets: {{ETH: 0.25 ether}}, allow: any}}
{extra}
"""


def scratch_spec(port: int, agent: str = "old", extra: str = ""):
    return parse_spec(SCRATCH.format(port=port, agent=agent, extra=extra), source="scratch.yaml")


def test_ended_sessions_are_reported_then_rolled_over_with_replace_ended(scratch_port):
    spec = scratch_spec(scratch_port)
    with open_chains(spec) as chains:
        client = chains["scratch"].client
        first = spawn_fleet(spec, chains)
        manager = first.managers["scratch"]["m"]
        owner_before = client.balance(spec.address_of("owner"))
        client.rpc.request("evm_increaseTime", [86_400])
        client.rpc.request("evm_mine")

        # a child added to the spec under the expired parent cannot be spawned
        grown = scratch_spec(scratch_port, extra="      - {label: late-kid, agent: anvil:4, budgets: {ETH: 1 wei}}")
        report = spawn_fleet(grown, chains)
        assert report.created == [] and report.transactions == 0
        assert report.ended == ["daily", "daily-kid"] and report.blocked == ["late-kid"]

        rolled = spawn_fleet(spec, chains, replace_ended=True)
        assert rolled.replaced == ["daily", "daily-kid"]
        assert sorted(rolled.created) == ["daily", "daily-kid"]
        states = manager.list_sessions()
        assert [(s.label, s.closed) for s in states] == [("daily", True), ("daily-kid", True), ("daily", False),
                                                         ("daily-kid", False)]
        assert rolled["daily-kid"].parent_id == rolled["daily"].id
        assert client.balance(manager.address) == ETHER  # the old escrow went back, the new one came in
        # the refund (1 ether back) and the new budget (1 ether out) cancel: the owner paid gas only
        assert owner_before - ETHER // 100 < client.balance(spec.address_of("owner")) < owner_before

        again = spawn_fleet(spec, chains, replace_ended=True)
        assert again.created == [] and again.replaced == [] and again.transactions == 0


def test_a_changed_agent_is_reported_then_rotated_with_rotate_agents(scratch_port):
    with open_chains(scratch_spec(scratch_port)) as chains:
        spawn_fleet(scratch_spec(scratch_port), chains)
        rotated_spec = scratch_spec(scratch_port, agent="new")
        report = spawn_fleet(rotated_spec, chains)
        assert report.stale_agents == ["daily"] and report.rotated == [] and report.transactions == 0
        assert report["daily"].agent == rotated_spec.address_of("old")

        report = spawn_fleet(rotated_spec, chains, rotate_agents=True)
        assert report.rotated == ["daily"] and report.transactions == 1 and report.created == []
        assert report["daily"].refresh().agent == rotated_spec.address_of("new")
        assert spawn_fleet(rotated_spec, chains, rotate_agents=True).transactions == 0


def test_a_state_dir_keeps_local_chains_across_restarts(tmp_path, scratch_port):
    spec = scratch_spec(scratch_port)
    with open_chains(spec, state_dir=tmp_path) as chains:
        first = spawn_fleet(spec, chains)
        assert chains["scratch"].anvil.state_path == tmp_path / "scratch.json"
    assert (tmp_path / "scratch.json").is_file()  # dumped on a clean stop
    with open_chains(spec, state_dir=tmp_path) as chains:
        client = chains["scratch"].client
        assert chains["scratch"].factory.address == canonical_factory_address()
        again = spawn_fleet(spec, chains)
        assert again.created == [] and sorted(again.skipped) == sorted(first.created)
        assert client.balance(again.managers["scratch"]["m"].address) == ETHER
