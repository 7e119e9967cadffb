"""`ape run gas --check` (`make gas-check`): the committed gas snapshot is compared with what the contracts cost now,
and any difference fails with one line per operation.

The end-to-end test runs the real command as a subprocess, as `make gas-check` does: it measures on an Anvil of
its own (fresh, on a free port, its clock pinned), never on the node `ape test` runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scripts.gas import EXPIRY, differences, snapshot_text

REPO = Path(__file__).resolve().parents[2]
APE = Path(sys.executable).parent / "ape"
SNAPSHOT = REPO / "gas-snapshot.json"


def test_differences_name_each_changed_missing_and_new_operation():
    committed = {"revoke": 34_109, "pause": 38_390, "checkpoint": 43_120}
    measured = {"revoke": 34_133, "pause": 38_390, "resume": 38_354}

    assert differences(committed, measured) == [
        "checkpoint: 43,120 gas in the snapshot, no longer measured",
        "resume: 38,354 gas now, not in the snapshot",
        "revoke: 34,133 gas now, 34,109 in the snapshot (+24)",
    ]
    assert differences(committed, dict(committed)) == []


def test_snapshot_text_is_the_same_bytes_for_the_same_numbers_in_any_order():
    forward = {"b": 2, "a": 1}
    assert snapshot_text(forward) == snapshot_text(dict(reversed(forward.items()))) == '{\n  "a": 1,\n  "b": 2\n}\n'


def test_the_fixed_expiry_has_no_zero_byte():
    # calldata costs 4 gas per zero byte and 16 otherwise: a wall-clock expiry moved creations by 24 gas
    assert all(EXPIRY.to_bytes(4, "big"))


def test_check_fails_naming_the_one_operation_whose_committed_gas_is_off(tmp_path):
    committed = json.loads(SNAPSHOT.read_text())
    name = "execute ETH transfer"
    tampered = dict(committed, **{name: committed[name] - 1})
    snapshot = tmp_path / "gas-snapshot.json"
    snapshot.write_text(json.dumps(tampered, indent=2, sort_keys=True) + "\n")

    result = subprocess.run([str(APE), "run", "gas", "--check", "--snapshot", str(snapshot)], cwd=REPO,
                            env=dict(os.environ, COLUMNS="140"), capture_output=True, text=True, timeout=300)

    assert result.returncode == 1, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    listed = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    # every other operation matched the committed snapshot: the measurement reproduces it exactly
    assert listed == [f"{name}: {committed[name]:,} gas now, {committed[name] - 1:,} in the snapshot (+1)"]
    assert f"differs from what the contracts cost now (1 of {len(committed)} operations)" in result.stderr
    assert snapshot.read_text() == json.dumps(tampered, indent=2, sort_keys=True) + "\n"  # --check never writes
