"""``scripts/soak.py --resume`` on a file that already reached its target: nothing runs, the file stays as it is,
and the exit status still says whether the soak found a violation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("violations, status", [(0, 0), (2, 1)])
def test_resuming_a_finished_soak_runs_nothing_and_keeps_its_verdict(tmp_path, violations, status):
    recorded = {"calls": 1_000, "violations": violations, "seed": 1, "calls_per_s": 10.0, "commit": "abc1234",
                "chunks": 2, "target_calls": 900, "complete": True, "seconds": 100.0}
    out = tmp_path / "soak-results.json"
    out.write_text(json.dumps(recorded, indent=2) + "\n")
    before = out.read_bytes()

    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak.py"), "--calls", "900", "--resume",
                          "--out", str(out)], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert run.returncode == status, run.stderr
    assert "already records 1,000 calls of a target of 900: nothing to run" in run.stdout
    assert out.read_bytes() == before
