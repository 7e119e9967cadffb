"""The gas of a spawn simulated on the node (``simulate_spawn_gas``, behind ``spawn --dry-run``): the transactions
it would send, in order, with their gas; and a clear reason when the node cannot tell."""

from __future__ import annotations

import pytest

from agent_sessions import open_chains, spawn_fleet
from agent_sessions.fleet.spawn import CannotSimulate, simulate_spawn_gas
from scripts._ports import free_port
from tests.sdk.test_fleet import scratch_spec


@pytest.fixture
def port() -> int:
    return free_port()


def test_the_simulation_lists_what_the_spawn_sends_and_sends_nothing(port):
    spec = scratch_spec(port)
    with open_chains(spec) as chains:
        client = chains["scratch"].client
        block = client.w3.eth.block_number
        simulated = simulate_spawn_gas(spec, chains["scratch"])
        assert client.w3.eth.block_number == block
        assert [what for what, _ in simulated.transactions] == [
            "deploy manager m", "createSessions (1)", "spawnChildren (1)"]
        gas = dict(simulated.transactions)
        assert simulated.per_session == {"daily": gas["createSessions (1)"], "daily-kid": gas["spawnChildren (1)"]}
        spawn_fleet(spec, chains)
        again = simulate_spawn_gas(spec, chains["scratch"])
        assert (again.transactions, again.total, again.per_session) == ([], 0, {"daily": 0, "daily-kid": 0})


def test_a_test_token_not_deployed_yet_cannot_be_simulated(port):
    spec = scratch_spec(port, extra="tokens: {T: {decimals: 6, chains: {scratch: {deploy: test}}}}")
    with open_chains(spec) as chains:
        with pytest.raises(CannotSimulate, match=r"^token T is not deployed at 0x[0-9a-fA-F]{40} yet$"):
            simulate_spawn_gas(spec, chains["scratch"])


def test_a_batch_that_would_revert_is_named_with_the_contracts_typed_error(port):
    late = ("  - {label: late, chain: scratch, manager: m, agent: old, expires: 2001-01-01T00:00:00Z, "
            "budgets: {ETH: 3 wei}, allow: any}")
    spec = scratch_spec(port, extra=late)
    with open_chains(spec) as chains:
        with pytest.raises(CannotSimulate) as caught:
            simulate_spawn_gas(spec, chains["scratch"])
    assert str(caught.value).startswith("createSessions (2) would revert: expiry 978307200")
