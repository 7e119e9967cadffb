"""One request-size cap for every JSON-RPC batch the SDK sends (estimates, reads, raw transactions), and one
batch-creation path, the manager's, which fleet spawning goes through too."""

from __future__ import annotations

import json

import pytest
from web3.providers.base import BaseProvider

from agent_sessions import NATIVE, SessionParams, open_chains, spawn_fleet
from agent_sessions.chain.rpc import MAX_REQUEST_BYTES, Rpc, request_bytes, split_batch
from agent_sessions.domain.manager import Manager
from scripts._ports import free_port
from tests.sdk.test_fleet import scratch_spec


@pytest.fixture
def scratch_port() -> int:
    return free_port()


class RecordingProvider(BaseProvider):
    """Answers every batch item with its position in the whole run, and records each request body it got."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[int] = []
        self.answered = 0

    def make_batch_request(self, requests_):  # type: ignore[override]
        body = [{"jsonrpc": "2.0", "id": 10**6 + i, "method": m, "params": list(p)}
                for i, (m, p) in enumerate(requests_)]
        self.bodies.append(len(json.dumps(body, separators=(",", ":"))))
        answers = [{"jsonrpc": "2.0", "id": i, "result": hex(self.answered + i)} for i in range(len(requests_))]
        self.answered += len(requests_)
        return answers

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def call_of(size: int) -> tuple[str, list[object]]:
    """An ``eth_call`` carrying ``size`` bytes of calldata (twice that in hex)."""
    return ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x" + "ab" * size}, "latest"])


def test_a_batch_over_the_cap_goes_out_in_requests_under_it_with_answers_in_order():
    provider = RecordingProvider()
    calls = [call_of(100 * 1024) for _ in range(6)]  # ~200 KiB of JSON each: two fit under 512 KiB, three do not
    answers = Rpc(provider).batch(calls)
    assert answers == [hex(i) for i in range(6)]
    assert len(provider.bodies) == 3
    assert all(body <= MAX_REQUEST_BYTES for body in provider.bodies)


def test_a_small_batch_is_one_request():
    provider = RecordingProvider()
    assert Rpc(provider).batch([call_of(100) for _ in range(50)]) == [hex(i) for i in range(50)]
    assert len(provider.bodies) == 1


def test_a_call_larger_than_the_cap_goes_alone():
    groups = split_batch([call_of(10), call_of(MAX_REQUEST_BYTES), call_of(10)])
    assert [len(g) for g in groups] == [1, 1, 1]


@pytest.mark.parametrize("call", [call_of(0), call_of(1), call_of(4096),
                                  ("eth_sendRawTransaction", ["0x" + "02" * 300]),
                                  ("eth_getTransactionCount", ["0x" + "22" * 20, "pending"])],
                         ids=["empty-call", "one-byte", "4k", "raw-tx", "nonce"])
def test_request_bytes_never_counts_less_than_the_json_sent(call):
    method, params = call
    sent = json.dumps({"jsonrpc": "2.0", "id": 10**9, "method": method, "params": params}, separators=(",", ":"))
    assert request_bytes(method, params) >= len(sent) + 1  # + the comma between batch items


def test_fleet_spawning_builds_its_batches_with_the_managers_creation_call(scratch_port, monkeypatch):
    built: list[tuple[int | None, int]] = []
    original = Manager.creation_call

    def recording(self, params, *, parent=None, now=None):
        built.append((parent, len(params)))
        return original(self, params, parent=parent, now=now)

    monkeypatch.setattr(Manager, "creation_call", recording)
    spec = scratch_spec(scratch_port)
    with open_chains(spec) as chains:
        report = spawn_fleet(spec, chains)
    assert sorted(report.created) == ["daily", "daily-kid"]
    assert built == [(None, 1), (report["daily"].id, 1)]


def test_spawn_children_goes_out_in_chunks_on_the_same_path(manager, owner_key, agent_key, make_session):
    parent = make_session()
    kids = [SessionParams(agent=agent_key.address, expiry=parent.state.expiry, budgets={NATIVE: "1 gwei"},
                          any_target=True, label=f"kid-{i}") for i in range(5)]
    created = manager.spawn_children(parent, kids, owner_key, chunk_size=2)
    assert [s.state.label for s in created] == [f"kid-{i}" for i in range(5)]
    assert {s.state.parent_id for s in created} == {parent.id}
