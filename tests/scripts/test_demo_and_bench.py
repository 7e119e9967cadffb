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
    "commit", "dirty", "timestamp", "cores", "noisy", "noisy_reasons", "load_average", "sizes", "design_sizes",
    "elapsed_s", "throughput", "scale", "targets", "pass", "all_pass", "anvil", "machine",
}
#: A tiny benchmark: 3 pairs of 40-transaction rounds by 4 agents, 300 sessions in slices of 100.
BENCH_ARGS = ("--pairs", "3", "--txs", "40", "--agents", "4", "--sessions", "300", "--slice", "100",
              "--list-sample", "100", "--list-repeats", "2", "--probe-blocks", "1")


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
    result = ape_run("bench", *BENCH_ARGS, "--out", str(out), timeout=300)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result, json.loads(out.read_text())


def test_bench_records_its_run(bench):
    _, results = bench
    assert BENCH_KEYS <= set(results)
    assert results["cores"] == os.cpu_count()
    assert re.fullmatch(r"[0-9a-f]{40}", results["commit"])
    assert isinstance(results["dirty"], bool)
    assert datetime.fromisoformat(results["timestamp"]).tzinfo is not None
    assert "--prune-history" in results["anvil"]["throughput_command"]
    assert "--block-time 0.05" in results["anvil"]["throughput_command"]
    assert "--prune-history" in results["anvil"]["scale_command"]
    assert "--block-time" not in results["anvil"]["scale_command"]
    assert results["anvil"]["version"].lower().startswith("anvil")
    assert results["sizes"] == {"pairs": 3, "transactions_per_round": 40, "agents": 4, "batch_size": 100,
                                "block_time_s": 0.05, "sessions": 300, "slice": 100, "chunk_size": 100, "list_sample": 100,
                                "list_repeats": 2, "probe_blocks": 1, "gas_limit": None}
    assert results["design_sizes"] is False
    for when in ("before", "after"):
        assert len(results["load_average"][when]) == 3 and min(results["load_average"][when]) >= 0


def test_bench_pairs_rounds_in_abba_order(bench):
    _, results = bench
    t = results["throughput"]
    assert t["pairs"] == 3
    assert [r["order"] for r in t["rounds"]] == ["raw,sdk", "sdk,raw", "raw,sdk"]
    assert [r["pair"] for r in t["rounds"]] == [1, 2, 3]
    for r in t["rounds"]:
        for side in ("raw", "sdk"):
            assert r[side]["count"] == 40
            assert r[side]["seconds"] > 0 and r[side]["per_s"] > 0 and r[side]["blocks"] >= 1
            assert r[side]["cpu_s"] > 0 and r[side]["nudges"] >= 0
            assert r[side]["per_s"] == pytest.approx(40 / r[side]["seconds"], rel=1e-2)
        assert r["ratio"] > 0
        assert r["ratio"] == pytest.approx(r["sdk"]["per_s"] / r["raw"]["per_s"], rel=1e-2)


def test_bench_median_ratio_has_its_interval(bench):
    _, results = bench
    t = results["throughput"]
    ratios = [r["ratio"] for r in t["rounds"]]
    assert t["median_ratio"] == pytest.approx(statistics.median(ratios), rel=1e-3)
    low, high = t["median_ratio_ci95"]
    assert 0 < low <= t["median_ratio"] <= high
    assert min(ratios) - 1e-4 <= low and high <= max(ratios) + 1e-4  # a median of resamples stays in the range
    assert t["bootstrap"] == {"resamples": 10_000, "seed": 20_261_206, "confidence": 0.95, "method": "percentile"}
    raw = sum(r["raw"]["count"] for r in t["rounds"]) / sum(r["raw"]["seconds"] for r in t["rounds"])
    sdk = sum(r["sdk"]["count"] for r in t["rounds"]) / sum(r["sdk"]["seconds"] for r in t["rounds"])
    assert t["total_ratio"] == pytest.approx(sdk / raw, rel=1e-2)
    cpu = sum(r["sdk"]["cpu_s"] for r in t["rounds"]) * 1000 / (3 * 40)
    assert t["sdk_cpu_ms_per_execute"] == pytest.approx(cpu, rel=1e-2)
    assert t["sdk_cpu_ms_per_execute"] > 0 and t["raw_cpu_ms_per_transfer"] > 0


def test_bench_median_interval_is_seeded():
    from agent_sessions.fleet.throughput import median_interval

    ratios = [0.8, 0.95, 0.9, 1.1, 0.85, 0.92, 0.88, 0.97, 0.91, 0.89]
    first = median_interval(ratios, resamples=10_000, seed=7)
    assert first == median_interval(ratios, resamples=10_000, seed=7)
    median, low, high = first
    assert median == statistics.median(ratios) and low <= median <= high
    assert min(ratios) <= low < high <= max(ratios)


def test_bench_spawns_and_lists_in_counted_slices(bench):
    _, results = bench
    s = results["scale"]
    assert s["sessions"] == 300 and s["all_spawned"] and s["all_listed"]
    for part in ("spawn", "list"):
        slices = s[part]["slices"]
        assert [x["slice"] for x in slices] == [1, 2, 3]
        assert [(x["first_id"], x["last_id"], x["count"]) for x in slices] == [(1, 100, 100), (101, 200, 100),
                                                                              (201, 300, 100)]
        assert all(x["seconds"] > 0 and x["per_s"] > 0 for x in slices)
        assert s[part]["seconds"] == pytest.approx(sum(x["seconds"] for x in slices), abs=1e-2)
    for x in s["spawn"]["slices"]:
        assert x["transactions"] == 1 and x["blocks"] >= 1 and x["empty_block_ms"] > 0
    sample = s["list_sample"]
    assert sample["sessions"] == 100 and sample["manager_held"] == 100 and len(sample["seconds"]) == 2
    assert sample["median_s"] == pytest.approx(statistics.median(sample["seconds"]), abs=1e-3)


def test_bench_judges_each_target_and_flags_noise(bench):
    _, results = bench
    assert results["targets"] == {"median_ratio": {"op": ">=", "bound": 0.9},
                                  "list_10000_s": {"op": "<", "bound": 0.3}}
    assert results["pass"] == {
        "median_ratio": results["throughput"]["median_ratio"] >= 0.9,
        "list_10000_s": results["scale"]["list_sample"]["median_s"] < 0.3,
        "spawned_and_listed": True,
    }
    assert results["all_pass"] == all(results["pass"].values())
    assert results["noisy"] == bool(results["noisy_reasons"])
    if results["load_average"]["before"][0] > results["cores"] / 2:
        assert results["noisy"]


def test_bench_prints_tables_and_stops_its_node(bench):
    result, _ = bench
    for title in ("Throughput: paired rounds", "Scale: per slice", "median paired ratio", "bootstrap 95% interval",
                  "total-over-total ratio", "SDK CPU ms per execute", "1-minute load average"):
        assert title in result.stdout, title
    ports = node_ports(result.stdout)
    assert len(ports) == 2  # one node per part
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
    assert re.search(r"a stranger submits it and pays the gas: session #\d+ 'wallet-scout'", out)
    assert "ops spent 0 ETH on it" in out
    assert "the same signature again -> NonceUsed" in out
    assert re.search(r"the relayer submits 100 signed executes: 100 mined", out)
    assert "the relayer earned 0.015 ETH in relay fees" in out and "the 100 agents hold 0 ETH" in out
    assert "RelayFeeAboveCap(session=" in out and "(refused: nothing sent)" in out
    ports = node_ports(out)
    assert len(ports) == 2
    assert wait_closed(ports) == []
