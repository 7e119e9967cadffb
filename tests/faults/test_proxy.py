"""The fault proxy itself, seen by a plain HTTP client: each fault does what it says, on the calls it says, and
no more (so the SDK tests that rely on it test what they claim)."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from ._anvil import rpc
from ._proxy import MAX_DELAY, MAX_TIMES, FaultProxy


def post(url: str, payload, timeout: float = 5.0) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/", body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def call(method: str, id_: int = 1, params=None) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or []}


def test_rules_fire_on_the_counted_calls_only(proxy):
    rule = proxy.add("eth_chainId", "http", status=502, skip=1, times=2)
    statuses = [post(proxy.url, call("eth_chainId"))[0] for _ in range(5)]
    assert statuses == [200, 502, 502, 200, 200]
    assert post(proxy.url, call("eth_blockNumber"))[0] == 200  # other methods untouched
    assert (rule.seen, rule.fired) == (5, 2)
    assert proxy.log == [("eth_chainId", "http")] * 2


def test_drop_closes_without_answer_and_forwards_nothing(proxy, chain_url):
    before = rpc(chain_url, "eth_blockNumber")
    proxy.add("evm_mine", "drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        post(proxy.url, call("evm_mine"))
    assert rpc(chain_url, "eth_blockNumber") == before


def test_forward_drop_reaches_the_node_but_answers_nothing(proxy, chain_url):
    before = int(rpc(chain_url, "eth_blockNumber"), 16)
    proxy.add("evm_mine", "forward_drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        post(proxy.url, call("evm_mine"))
    assert int(rpc(chain_url, "eth_blockNumber"), 16) == before + 1


def test_delay_holds_past_the_client_timeout_then_forwards_late(proxy, chain_url):
    before = int(rpc(chain_url, "eth_blockNumber"), 16)
    proxy.add("evm_mine", "delay", delay=0.6, forward="after")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        post(proxy.url, call("evm_mine"), timeout=0.2)
    assert time.monotonic() - start < 0.5
    assert int(rpc(chain_url, "eth_blockNumber"), 16) == before  # not yet...
    time.sleep(0.8)
    assert int(rpc(chain_url, "eth_blockNumber"), 16) == before + 1  # ...the late copy arrived


def test_rpc_error_answers_the_matching_items_of_a_batch(proxy):
    proxy.add("eth_blockNumber", "rpc_error", code=-32603, message="header not found")
    status, body = post(proxy.url, [call("eth_chainId", 1), call("eth_blockNumber", 2)])
    items = {item["id"]: item for item in json.loads(body)}
    assert status == 200 and items[1]["result"] == "0x7a69"
    assert items[2]["error"] == {"code": -32603, "message": "header not found"}


def test_duplicate_answers_with_the_previous_response(proxy):
    post(proxy.url, call("eth_chainId", 41))
    proxy.add("eth_chainId", "duplicate")
    _, body = post(proxy.url, call("eth_chainId", 42))
    assert json.loads(body)["id"] == 41


@pytest.mark.parametrize("kind, ids", [("reorder", [3, 2, 1]), ("swap_ids", [2, 1, 3]), ("omit", [1, 2])])
def test_batch_answers_are_reworked(proxy, kind, ids):
    proxy.add("eth_chainId", kind)
    _, body = post(proxy.url, [call("eth_chainId", 1), call("eth_blockNumber", 2), call("eth_gasPrice", 3)])
    assert [item["id"] for item in json.loads(body)] == ids


def test_truncate_cuts_the_body(proxy):
    proxy.add("eth_chainId", "truncate")
    with pytest.raises(http.client.IncompleteRead):
        post(proxy.url, call("eth_chainId"))


def test_faults_are_bounded_and_loopback_only(chain_url):
    with pytest.raises(ValueError):
        FaultProxy("http://10.1.2.3:8545")
    with FaultProxy(chain_url) as proxy:
        with pytest.raises(ValueError):
            proxy.add("eth_chainId", "delay", delay=MAX_DELAY + 1)
        with pytest.raises(ValueError):
            proxy.add("eth_chainId", "drop", times=MAX_TIMES + 1)
        assert proxy.url.startswith("http://127.0.0.1:")
        proxy.add("eth_chainId", "delay", delay=MAX_DELAY, forward="never")
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            post(proxy.url, call("eth_chainId"), timeout=0.2)
    assert time.monotonic() - start < 2  # stop() cut the 15 s delay short
