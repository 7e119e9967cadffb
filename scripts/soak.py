"""Soak: the stateful invariant suite (tests/contracts/test_invariants.py) at volume.

    ape run soak                          # or: make soak (about 100,000 operations)
    ape run soak --ops 20000 --seed random --out /tmp/soak.json

Runs the Hypothesis state machine against Anvil with enough examples for ``--ops`` operations, then writes
``soak-results.json``: ``ops``, ``violations`` (0 expected: a broken invariant fails the run and its seed is
printed for replay with INVARIANT_SEED), ``ops_per_s`` and ``seed``. The suite itself prints the operation count
and rate; this script only sizes the run and records its figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
# Of an example's 45 steps (the suite's INVARIANT_STEPS) about 36 send an operation (the others draw a rule with
# nothing to act on); size by 35 so a run reaches at least --ops.
OPS_PER_EXAMPLE = 35
SUMMARY = re.compile(r"invariants: seed=(?P<seed>\S+) .*?operations=(?P<ops>\d+).*?=\s*(?P<rate>[\d.,]+) ops/s")


@click.command()
@click.option("--ops", default=100_000, show_default=True, help="Operations to run (approximately).")
@click.option("--seed", default="1", show_default=True, help="Hypothesis seed, or 'random'.")
@click.option("--out", type=click.Path(dir_okay=False), default=str(ROOT / "soak-results.json"), show_default=True)
def cli(ops: int, seed: str, out: str) -> None:
    """Run the invariant suite for about OPS operations and write soak-results.json."""
    examples = max(1, -(-ops // OPS_PER_EXAMPLE))
    env = {**os.environ, "INVARIANT_EXAMPLES": str(examples), "INVARIANT_SEED": seed}
    ape = shutil.which("ape") or "ape"
    cmd = [ape, "test", "tests/contracts/test_invariants.py", "-q", "-s", "-p", "no:cacheprovider"]
    click.echo(f"soak: {examples} examples (about {OPS_PER_EXAMPLE} operations each), seed {seed}")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    sys.stdout.write(proc.stdout[-4000:])
    match = SUMMARY.search(proc.stdout)
    if match is None:
        raise click.ClickException("the invariant suite printed no summary line (see its output above)")
    results = {
        "ops": int(match["ops"]),
        "violations": 0 if proc.returncode == 0 else 1,
        "ops_per_s": float(match["rate"].replace(",", "")),
        "seed": match["seed"],
    }
    Path(out).write_text(json.dumps(results, indent=2) + "\n")
    click.echo(json.dumps(results))
    if proc.returncode != 0:
        raise SystemExit(1)
