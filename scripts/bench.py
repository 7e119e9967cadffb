"""Benchmark: the numbers of ../shared/DESIGN.md ("Numbers we hold ourselves to"), measured through the SDK
against a fresh Anvil this script starts and stops itself (never Ape's provider: it runs Anvil with step
tracing, which slows every transaction).

    ape run bench                                   # or: make bench (10,000 sessions, 20 agents x 100 executes)
    ape run bench --sessions 300 --agents 4 --executes 10 --out /tmp/bench.json

What is measured, in one run on one machine:
- spawn: a generated fleet spec of ``--sessions`` sessions spawned with ``spawn_fleet`` (spec load included)
- list: every session read back with the SDK listing (``Manager.list_sessions``)
- filter: the same listing filtered by status (active) and label prefix
- executes/s: ``--agents`` agents executing ``--executes`` calls each, concurrently, through their sessions
  (``AgentPool``: estimate, sign, send, confirm)
- raw transfers/s: as many pre-signed plain ETH transfers sent to the same Anvil (signing not timed)
Rates are measured in ``--rounds`` interleaved rounds (raw, SDK, raw, SDK...) and the best of each is kept:
other processes on a shared machine only ever slow a round down.

A benchmark, not a test: it prints verdicts and writes ``bench-results.json`` (``--out``); the exit code is 0
unless something failed to run (``--strict``: also 1 when a target is missed).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
from rich.table import Table

from agent_sessions import NATIVE, AgentSessions, Job, Manager, SessionParams, Status
from agent_sessions.throughput import Rate, dev_keys, measure_executes, measure_raw_transfers

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench-results.json"
#: Ports of this script's Anvil: the first free one is used.
PORTS = range(8631, 8640)

#: DESIGN.md targets: metric -> (comparison, bound, unit).
TARGETS: dict[str, tuple[str, float, str]] = {
    "spawn_10000_s": ("<", 60.0, "s"),
    "list_10000_s": ("<", 2.0, "s"),
    "execute_rate_ratio": (">=", 0.5, ""),
}

ETHER = 10**18
#: Label prefixes of the generated fleet (``team-<k>/...``); the filter step keeps one team.
TEAMS = 10
FILTER_TEAM = 3
#: One session in this many is revoked before listing, so the status filter has something to drop.
REVOKE_EVERY = 100

console = Console() if Console().is_terminal else Console(width=120)


# ---------------------------------------------------------------------------------------------------------------
# timing helpers
# ---------------------------------------------------------------------------------------------------------------


def timed(label: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` under a spinner; returns (its result, wall seconds)."""
    with console.status(f"{label}..."):
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# the chain
# ---------------------------------------------------------------------------------------------------------------


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class _Anvil:
    """Fallback while ``agent_sessions.chains.LocalAnvil`` is not there: node_modules/.bin/anvil on ``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "_Anvil":
        binary = REPO / "node_modules" / ".bin" / "anvil"
        self.proc = subprocess.Popen([str(binary), "--port", str(self.port), "--prune-history", "--silent"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with code {self.proc.returncode} (port {self.port} taken?)")
            try:
                AgentSessions(self.url, retries=1)
                return self
            except Exception:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError(f"anvil did not answer on port {self.port}")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_anvil(stack: ExitStack, port: int | None) -> tuple[str, str]:
    """A fresh local Anvil for this run (stopped when ``stack`` closes); returns (RPC URL, how it was started)."""
    try:
        from agent_sessions.chains import LocalAnvil
    except ImportError:
        LocalAnvil = None  # noqa: N806
    candidates = [port] if port else [p for p in PORTS if _port_free(p)]
    if not candidates:
        raise click.ClickException(f"no free port in {PORTS.start}-{PORTS.stop - 1} (use --port)")
    candidate = candidates[0]
    if LocalAnvil is not None:
        anvil = stack.enter_context(LocalAnvil(31337, candidate))
        return anvil.url, f"LocalAnvil, port {candidate}"
    anvil = stack.enter_context(_Anvil(candidate))
    return anvil.url, f"anvil --prune-history, port {candidate}"


# ---------------------------------------------------------------------------------------------------------------
# the measurements
# ---------------------------------------------------------------------------------------------------------------


def spawn_sessions(client: AgentSessions, manager: Manager, owner: Any, agents: list[str], count: int,
                   chunk_size: int) -> list[Any]:
    params = [
        SessionParams(agent=agents[i % len(agents)], expiry="30d", budgets={NATIVE: 1000}, any_target=True,
                      label=f"team-{i % TEAMS}/s{i}")
        for i in range(count)
    ]
    return manager.create_sessions(params, owner, chunk_size=chunk_size)


def fund(client: AgentSessions, owner: Any, keys: list[Any], amount: int) -> None:
    """Give each key ``amount`` wei for gas (one pipelined batch from the owner)."""
    from agent_sessions._pipeline import TxRequest, run_pipeline

    sender = client.sender(owner)
    requests = [TxRequest(sender, client.sender(k).address, b"", amount, 21_000) for k in keys]
    for outcome in run_pipeline(client.rpc, requests):
        if not outcome.ok:
            raise outcome.error or RuntimeError("funding transfer failed")


def measure_rates(client: AgentSessions, manager: Manager, owner: Any, agents: list[Any], per_agent: int,
                  raw_count: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of raw transfers and SDK executes; best of each."""
    addresses = [client.sender(a).address for a in agents]
    params = [
        SessionParams(agent=a, expiry="1d", budgets={NATIVE: per_agent * (rounds + 1)}, any_target=True,
                      label=f"bench-agent-{k}")
        for k, a in enumerate(addresses)
    ]
    sessions = manager.create_sessions(params, owner)

    def jobs(n: int) -> list[Job]:
        # round-robin over agents, 1 wei each to the next agent's address
        return [
            Job(session=s.id, agent=agent, target=addresses[(k + 1) % len(addresses)], value=1)
            for _ in range(n)
            for k, (s, agent) in enumerate(zip(sessions, agents))
        ]

    # warm-up (connections, caches, Anvil's first blocks): one execute per agent, untimed
    measure_executes(manager, jobs(1))
    measure_raw_transfers(client, agents, len(agents))
    raws: list[Rate] = []
    sdks: list[Rate] = []
    failures = 0
    for r in range(rounds):
        with console.status(f"round {r + 1}/{rounds}: {raw_count} raw transfers..."):
            raws.append(measure_raw_transfers(client, agents, raw_count))
        with console.status(f"round {r + 1}/{rounds}: {per_agent * len(agents)} executes by {len(agents)} agents..."):
            rate, results = measure_executes(manager, jobs(per_agent))
        sdks.append(rate)
        failures += sum(not res.ok for res in results)
        console.print(f"  round {r + 1}: raw {raws[-1].per_second:,.0f}/s, SDK {rate.per_second:,.0f}/s "
                      f"(ratio {rate.per_second / raws[-1].per_second:.2f})")
    best_raw = max(raws, key=lambda x: x.per_second)
    best_sdk = max(sdks, key=lambda x: x.per_second)
    return {
        "raw": best_raw,
        "sdk": best_sdk,
        "failures": failures,
        "rounds": [
            {"raw_per_s": round(a.per_second, 1), "raw_s": round(a.seconds, 4),
             "executes_per_s": round(b.per_second, 1), "executes_s": round(b.seconds, 4),
             "ratio": round(b.per_second / a.per_second, 4)}
            for a, b in zip(raws, sdks)
        ],
    }


# ---------------------------------------------------------------------------------------------------------------
# verdicts and output
# ---------------------------------------------------------------------------------------------------------------


def verdict(metric: str, value: float) -> bool:
    op, bound, _ = TARGETS[metric]
    return value < bound if op == "<" else value >= bound


def results_table(results: dict[str, Any]) -> Table:
    sizes = results["sizes"]
    table = Table(title=f"Agent Sessions benchmark ({results['cores']} cores, commit {results['commit'][:10]})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("verdict")
    rows = [
        ("spawn_10000_s", f"spawn {sizes['sessions']:,} sessions (spec)", f"{results['spawn_10000_s']:.2f} s"),
        ("list_10000_s", f"list {sizes['sessions']:,} sessions", f"{results['list_10000_s']:.3f} s"),
        ("filter_10000_s", "list + filter (status, label prefix)", f"{results['filter_10000_s']:.3f} s"),
        ("executes_per_s", f"SDK executes ({sizes['agents']} agents)", f"{results['executes_per_s']:,.0f} /s"),
        ("raw_transfers_per_s", "raw pre-signed transfers", f"{results['raw_transfers_per_s']:,.0f} /s"),
        ("execute_rate_ratio", "executes / raw", f"{results['execute_rate_ratio']:.2f}"),
    ]
    for key, label, value in rows:
        if key in TARGETS:
            op, bound, unit = TARGETS[key]
            ok = results["pass"][key]
            target = f"{op} {bound:g}{(' ' + unit) if unit else ''}"
            mark = "[green]pass[/]" if ok else "[red]MISS[/]"
        else:
            target, mark = "—", ""
        table.add_row(label, value, target, mark)
    return table


@click.command()
@click.option("--sessions", default=10_000, show_default=True, help="Sessions in the generated fleet spec.")
@click.option("--agents", default=20, show_default=True, help="Agents executing concurrently.")
@click.option("--executes", default=100, show_default=True, help="Executes per agent per round.")
@click.option("--raw", "raw_count", type=int, default=None, help="Raw transfers per round [agents x executes].")
@click.option("--rounds", default=3, show_default=True, help="Interleaved raw/SDK rounds (best of each is kept).")
@click.option("--chunk-size", default=100, show_default=True, help="Sessions per creation transaction.")
@click.option("--port", type=int, default=None, help=f"Anvil port [first free of {PORTS.start}-{PORTS.stop - 1}].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Where to write the results (JSON).")
@click.option("--strict", is_flag=True, help="Exit 1 when a target is missed.")
def cli(sessions: int, agents: int, executes: int, raw_count: int | None, rounds: int, chunk_size: int,
        port: int | None, out: Path, strict: bool) -> None:
    """Measure spawn, list, filter and execute throughput against a fresh Anvil; write bench-results.json."""
    if sessions < 1 or agents < 1 or executes < 1 or rounds < 1:
        raise click.BadParameter("--sessions, --agents, --executes and --rounds must be at least 1")
    raw_count = raw_count or agents * executes
    load_before = load_average()
    with ExitStack() as stack:
        url, how = start_anvil(stack, port)
        console.print(f"[bold]Agent Sessions benchmark[/]  Anvil at {url} ({how}), {os.cpu_count()} cores")
        client = AgentSessions(url)
        owner, *agent_keys = dev_keys(agents + 1, start=0)
        factory = client.deploy_factory(owner)
        fleet_manager = factory.deploy_manager(owner.address, salt="bench-fleet", sender=owner)
        agent_addresses = [a.address for a in agent_keys]

        # 1. spawn
        spawned, spawn_s = timed(
            f"spawning {sessions:,} sessions",
            lambda: spawn_sessions(client, fleet_manager, owner, agent_addresses, sessions, chunk_size),
        )
        assert len(spawned) == sessions, f"spawned {len(spawned)} of {sessions}"
        console.print(f"  spawned {sessions:,} sessions in {spawn_s:.2f} s")

        # revoke a few so the status filter drops something
        revoked = {s.id for s in spawned[::REVOKE_EVERY]}
        for sid in revoked:
            fleet_manager.revoke(sid, owner)

        # 2. list
        listed, list_s = timed(f"listing {sessions:,} sessions", lambda: fleet_manager.list_sessions())
        assert len(listed) == sessions, f"listed {len(listed)} of {sessions}"
        console.print(f"  listed {len(listed):,} sessions in {list_s:.3f} s")

        # 3. list + filter
        prefix = f"team-{FILTER_TEAM}/"

        def list_filtered() -> list[Any]:
            return [s for s in fleet_manager.list_sessions(status=Status.ACTIVE) if s.state.label.startswith(prefix)]

        matched, filter_s = timed("listing + filtering", list_filtered)
        expected = sum(1 for i, s in enumerate(spawned) if i % TEAMS == FILTER_TEAM and s.id not in revoked)
        assert len(matched) == expected, f"filter matched {len(matched)}, expected {expected}"
        console.print(f"  status=active, label {prefix}*: {len(matched):,} sessions in {filter_s:.3f} s")

        # 4. executes vs raw transfers (same Anvil, same run)
        fund(client, owner, agent_keys, 100 * ETHER)
        rate_manager = factory.deploy_manager(owner.address, salt="bench-rates", sender=owner)
        rates = measure_rates(client, rate_manager, owner, agent_keys, executes, raw_count, rounds)
        if rates["failures"]:
            raise click.ClickException(f"{rates['failures']} executes failed")

    raw_rate = rates["raw"].per_second
    sdk_rate = rates["sdk"].per_second
    results: dict[str, Any] = {
        "spawn_10000_s": round(spawn_s, 3),
        "list_10000_s": round(list_s, 4),
        "filter_10000_s": round(filter_s, 4),
        "executes_per_s": round(sdk_rate, 1),
        "raw_transfers_per_s": round(raw_rate, 1),
        "execute_rate_ratio": round(sdk_rate / raw_rate, 4),
        "cores": os.cpu_count(),
        "commit": git_commit(),
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sizes": {
            "sessions": sessions,
            "agents": agents,
            "executes_per_agent": executes,
            "executes_per_round": agents * executes,
            "raw_transfers_per_round": raw_count,
            "rounds": rounds,
            "chunk_size": chunk_size,
            "filter_matches": len(matched),
        },
        "targets": {k: {"op": op, "bound": bound} for k, (op, bound, _) in TARGETS.items()},
        "rounds": rates["rounds"],
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": load_average()},
        "anvil": how,
    }
    results["pass"] = {k: verdict(k, results[k]) for k in TARGETS}
    results["all_pass"] = all(results["pass"].values())

    console.print()
    console.print(results_table(results))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp")
    with tmp:
        json.dump(results, tmp, indent=2)
        tmp.write("\n")
    os.replace(tmp.name, out)
    console.print(f"results written to {out}")
    if strict and not results["all_pass"]:
        missed = ", ".join(k for k, ok in results["pass"].items() if not ok)
        console.print(f"[red]missed: {missed}[/]")
        sys.exit(1)


if __name__ == "__main__":
    cli()
