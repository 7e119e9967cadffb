"""Many agents executing at once through AgentPool: no nonce clashes, exact totals, typed errors per job."""

import pytest

from agent_sessions import AgentPool, BudgetExceeded, Job, NotAgent, SessionParams, run_agents
from agent_sessions.fleet.throughput import dev_keys, execute_benchmark

AGENTS = 20
PER_AGENT = 10


@pytest.fixture
def fleet(client, owner_key):
    """Twenty fresh agent keys (m/44'/60'/0'/0/10..29), each given 1 ETH for gas."""
    agents = dev_keys(AGENTS, start=10)
    for agent in agents:
        client.transfer(owner_key, agent.address, 10**18)
    return agents


def test_twenty_agents_times_ten_executes_land_exactly(manager, owner_key, fleet, target, client):
    sessions = manager.create_sessions(
        [SessionParams(agent=a.address, expiry="1d", budgets={"0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE": 1000},
                       any_target=True, label=f"agent-{i}") for i, a in enumerate(fleet)],
        owner_key,
        chunk_size=8,
    )
    nonces_before = {a.address: int(client.rpc.request("eth_getTransactionCount", [a.address, "latest"]), 16)
                     for a in fleet}
    ping = target.encode("ping")
    jobs = [
        Job(session=s.id, agent=agent, target=target.address, value=k + 1, data=ping, tag=(s.id, k))
        for k in range(PER_AGENT)
        for s, agent in zip(sessions, fleet)
    ]
    results = AgentPool(manager, max_workers=4, batch_size=50).run(jobs)
    assert [r.job for r in results] == jobs
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert len({r.tx_hash for r in results}) == AGENTS * PER_AGENT
    per_session = sum(range(1, PER_AGENT + 1))
    assert target.call("pings") == AGENTS * PER_AGENT
    assert target.call("received") == AGENTS * per_session
    for s in manager.sessions(sessions):
        assert s.state.budgets["0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"].spent == per_session
    for a in fleet:  # every key used exactly PER_AGENT nonces, and its Sender is still in step with the chain
        assert int(client.rpc.request("eth_getTransactionCount", [a.address, "latest"]), 16) == \
            nonces_before[a.address] + PER_AGENT
    sessions[0].execute(target.address, 0, ping, sender=fleet[0])


def test_each_job_gets_its_own_typed_error(manager, owner_key, fleet, stranger_key, client):
    poor, rich = fleet[0], fleet[1]
    small = manager.create_session(SessionParams(agent=poor.address, expiry="1d", budgets={
        "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE": 3}, any_target=True), owner_key)
    big = manager.create_session(SessionParams(agent=rich.address, expiry="1d", budgets={
        "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE": 100}, any_target=True), owner_key)
    jobs = [Job(small.id, poor, stranger_key.address, 1) for _ in range(5)]
    jobs += [Job(big.id, rich, stranger_key.address, 2) for _ in range(3)]
    jobs += [Job(big.id, poor, stranger_key.address, 1)]  # wrong key: caught by the estimate, never sent
    results = run_agents(manager, jobs, max_workers=2)
    assert [r.ok for r in results] == [True, True, True, False, False, True, True, True, False]
    for r in results[3:5]:  # mined, then decoded by replay
        assert isinstance(r.error, BudgetExceeded)
        assert (r.error.session, r.error.requested, r.error.remaining) == (small.id, 1, 0)
        assert r.receipt is not None and r.receipt.status == 0
    assert isinstance(results[8].error, NotAgent) and results[8].receipt is None
    assert results[8].error.caller == poor.address
    assert small.remaining() == 0 and big.remaining() == 94


def test_throughput_measurement_runs_end_to_end(client, owner_key, fleet, deployment):
    """Not a timed test: it only checks the reusable measurement works; the numbers are printed."""
    out = execute_benchmark(client, owner_key, fleet, 5, factory=deployment.factory, max_workers=4)
    assert all(r.ok for r in out["results"]) and len(out["results"]) == AGENTS * 5
    assert out["raw"].count == AGENTS * 5 and out["raw"].per_second > 0
    print(f"\n{out['raw']}\n{out['sdk']}\nratio {out['ratio']:.0%}")
