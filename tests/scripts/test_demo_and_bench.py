"""`ape run bench` and `ape run demo`, end to end, as a user runs them.

Both commands start and stop their own Anvil nodes (never the one `ape test` runs), so they run here as real
`ape run` subprocesses: what is checked is the whole path a user takes, the exit code, the output, the results
file, and that no node is left running afterwards. The bench runs at a small size: its numbers are not judged
here (that is what `make bench` is for), only that they are there and consistent.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APE = Path(sys.executable).parent / "ape"

BENCH_KEYS = {
    "spawn_10000_s", "list_10000_s", "filter_10000_s", "executes_per_s", "raw_transfers_per_s",
    "execute_rate_ratio", "cores", "commit", "timestamp", "targets", "pass", "all_pass", "sizes", "details",
}


def ape_run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="140")
    return subprocess.run([str(APE), "run", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def node_ports(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"at http://127\.0\.0\.1:(\d+)", output)]


def wait_closed(ports: list[int], seconds: float = 5.0) -> list[int]:
    """The ports still listening after ``seconds`` (a stopped node may take a moment to release its socket)."""
    deadline = time.monotonic() + seconds
    while True:
        still = [p for p in ports if listening(p)]
        if not still or time.monotonic() > deadline:
            return still
        time.sleep(0.1)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    result = ape_run("bench", "--sessions", "300", "--agents", "4", "--executes", "10", "--out", str(out),
                     timeout=300)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result, json.loads(out.read_text())


def test_bench_writes_every_metric_with_sane_values(bench):
    _, results = bench
    assert BENCH_KEYS <= set(results)
    for key in ("spawn_10000_s", "list_10000_s", "filter_10000_s", "executes_per_s", "raw_transfers_per_s"):
        assert results[key] > 0, key
    assert results["spawn_10000_s"] >= results["details"]["spawn_fleet_s"]
    ratio = results["executes_per_s"] / results["raw_transfers_per_s"]
    assert results["execute_rate_ratio"] == pytest.approx(ratio, rel=1e-3)
    assert results["cores"] == os.cpu_count()
    assert re.fullmatch(r"[0-9a-f]{40}", results["commit"])
    assert datetime.fromisoformat(results["timestamp"]).tzinfo is not None
    assert "--prune-history" in results["anvil"]["command"]
    assert results["anvil"]["version"].lower().startswith("anvil")


def test_bench_records_its_sizes_and_counts(bench):
    _, results = bench
    assert results["sizes"] == {"sessions": 300, "agents": 4, "executes_per_agent": 10, "raw_transfers": 40,
                                "rounds": 6, "chunk_size": 100}
    details = results["details"]
    # 300 sessions = 3 teams of a root and 99 children; the middle team's 99 children minus the 5 revoked
    assert details["filter_matches"] == 94
    # 10 executes per agent (4 agents) and 40 transfers, each split over 6 interleaved rounds
    assert details["executes_total"] == 4 * 10
    assert details["raw_transfers_total"] == 40
    assert [r["order"] for r in details["rounds"]] == ["raw,sdk", "sdk,raw"] * 3
    assert [r["executes"] for r in details["rounds"]] == [8, 8, 8, 8, 4, 4]
    assert [r["raw"] for r in details["rounds"]] == [7, 7, 7, 7, 6, 6]


def test_bench_rates_are_the_best_rounds(bench):
    _, results = bench
    rounds = results["details"]["rounds"]
    assert results["executes_per_s"] == pytest.approx(max(r["executes_per_s"] for r in rounds), rel=1e-3)
    assert results["raw_transfers_per_s"] == pytest.approx(max(r["raw_per_s"] for r in rounds), rel=1e-3)
    assert results["details"]["executes_per_s_median"] == pytest.approx(
        statistics.median(r["executes_per_s"] for r in rounds), rel=1e-3)


def test_bench_judges_each_target(bench):
    _, results = bench
    assert results["targets"] == {
        "spawn_10000_s": {"op": "<", "bound": 60.0},
        "list_10000_s": {"op": "<", "bound": 2.0},
        "execute_rate_ratio": {"op": ">=", "bound": 0.5},
    }
    assert results["pass"]["spawn_10000_s"] == (results["spawn_10000_s"] < 60)
    assert results["pass"]["list_10000_s"] == (results["list_10000_s"] < 2)
    assert results["pass"]["execute_rate_ratio"] == (results["execute_rate_ratio"] >= 0.5)
    assert results["all_pass"] == all(results["pass"].values())


def test_bench_prints_a_table_and_stops_its_node(bench):
    result, _ = bench
    for key in ("spawn_10000_s", "list_10000_s", "execute_rate_ratio", "executes_per_s", "raw_transfers_per_s"):
        assert key in result.stdout
    ports = node_ports(result.stdout)
    assert len(ports) == 1
    assert wait_closed(ports) == []


def test_demo_runs_end_to_end_and_stops_its_nodes():
    started = time.monotonic()
    result = ape_run("demo", timeout=180)
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    assert elapsed < 90, f"the demo took {elapsed:.0f} s"
    assert re.search(r"23 created, 0 already there", out)
    assert re.search(r"80 executes by 2 agent keys over 8 sessions of the lab: 80 ok", out)
    assert re.search(r"check: helper-1 pays .* -> BudgetExceeded\(session=\d+, token=ETH", out)
    assert re.search(r"tx 0x[0-9a-f]{64} mined and reverted", out)
    assert "SessionNotActive(session=2, status=paused)" in out
    assert re.search(r"old key pays from researcher-3 -> NotAgent\(session=3, caller=0x", out)
    assert len(re.findall(r"status Revoked", out)) == 4
    assert "SessionNotActive(session=5, status=revoked)" in out
    assert re.search(r"refund #\d+: [\d.]+ ETH -> session #\d+", out)
    assert "ops got back 3 ETH and 30000 USDC" in out
    assert "audit ok" in out
    assert "Step 12" in out and "Agent Sessions · chain 31338" in out
    ports = node_ports(out)
    assert len(ports) == 2
    assert wait_closed(ports) == []
