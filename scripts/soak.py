"""Soak: the whole-tree invariant campaigns (tests/forge/invariant/) at volume.

    make soak                                  # 100,000,000 handler calls, seed 1
    python scripts/soak.py --calls 5000000 --seed 7 --out /tmp/soak.json

Runs forge's `soak` profile in chunks, each with its own seed (seed, seed + 1, ...), until at least ``--calls``
handler calls are made, and writes ``soak-results.json`` after every chunk (so an interrupted soak keeps what it
did; ``--resume`` continues from the file): ``calls``, ``violations`` (campaigns that failed: 0 expected; each
failure's output is kept under .forge/soak/), ``seed``, ``calls_per_s``, ``commit``, ``chunks``, ``target_calls``,
``complete`` and ``seconds``. Every promise counts: a campaign that finds a break is a violation. A chunk of the
soak profile is about 400,000 calls.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
PASSED = re.compile(r"^\[PASS\] (?P<test>invariant_\w+)\(\) \(runs: \d+, calls: (?P<calls>\d+), reverts: \d+\)")
FAILED = re.compile(r"^\[FAIL")
CALLS = re.compile(r"calls: (?P<calls>\d+)")


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_chunk(seed: int, log: Path) -> tuple[int, int]:
    """One soak-profile run of every campaign with `seed`; returns (calls made, campaigns failed)."""
    env = {**os.environ, "FOUNDRY_PROFILE": "soak"}
    cmd = ["forge", "test", "--match-path", "tests/forge/invariant/*", "--fuzz-seed", hex(seed)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    lines = out.splitlines()
    calls = sum(int(m["calls"]) for line in lines if (m := PASSED.match(line)))
    # a failing campaign prints its counts on the line after the [FAIL ...] line (and again in the summary)
    failed = {line for line in lines if FAILED.match(line)}
    for i, line in enumerate(lines[:-1]):
        if FAILED.match(line) and (m := CALLS.search(lines[i + 1])):
            calls += int(m["calls"])
    if proc.returncode != 0 and not failed:
        # forge itself failed (a build error): nothing ran, and that must not pass as a quiet soak
        log.write_text(out)
        raise click.ClickException(f"forge failed without running the campaigns; see {log}")
    if failed:
        log.write_text(out)
    # each failure is printed twice (in its suite and in the final summary)
    return calls, len(failed) // 2 if failed else 0


@click.command()
@click.option("--calls", "target", default=100_000_000, show_default=True, help="Handler calls to make, at least.")
@click.option("--seed", default=1, show_default=True, help="Seed of the first chunk (chunk i uses seed + i).")
@click.option("--out", type=click.Path(dir_okay=False), default=str(ROOT / "soak-results.json"), show_default=True)
@click.option("--resume", is_flag=True, help="Continue the soak recorded in --out (same seed, next chunk).")
def cli(target: int, seed: int, out: str, resume: bool) -> None:
    """Run the invariant campaigns until TARGET handler calls are made; write soak-results.json."""
    out_path = Path(out)
    logs = ROOT / ".forge" / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    state = {"calls": 0, "violations": 0, "seed": seed, "chunks": 0, "seconds": 0.0}
    if resume and out_path.exists():
        previous = json.loads(out_path.read_text())
        state.update({k: previous[k] for k in ("calls", "violations", "seed", "chunks", "seconds")})
        if state["calls"] >= target:
            print(f"{out_path} already records {state['calls']:,} calls of a target of {target:,}: nothing to run")
            print(out_path.read_text(), end="")
            sys.exit(1 if state["violations"] else 0)
    while state["calls"] < target:
        chunk_seed = int(state["seed"]) + state["chunks"]
        started = time.monotonic()
        calls, failed = run_chunk(chunk_seed, logs / f"chunk-{chunk_seed}.log")
        state["seconds"] += time.monotonic() - started
        state["calls"] += calls
        state["violations"] += failed
        state["chunks"] += 1
        results = {
            "calls": state["calls"],
            "violations": state["violations"],
            "seed": state["seed"],
            "calls_per_s": round(state["calls"] / state["seconds"], 1) if state["seconds"] else 0.0,
            "commit": _commit(),
            "chunks": state["chunks"],
            "target_calls": target,
            "complete": state["calls"] >= target,
            "seconds": round(state["seconds"], 1),
        }
        out_path.write_text(json.dumps(results, indent=2) + "\n")
        mark = "" if failed == 0 else f"  {failed} campaign(s) FAILED: see {logs / f'chunk-{chunk_seed}.log'}"
        print(
            f"chunk {state['chunks']} (seed {chunk_seed}): {calls:,} calls; total {state['calls']:,} of "
            f"{target:,} at {results['calls_per_s']:,} calls/s{mark}",
            flush=True,
        )
    print(json.dumps(results, indent=2))
    sys.exit(1 if state["violations"] else 0)


if __name__ == "__main__":
    cli()
