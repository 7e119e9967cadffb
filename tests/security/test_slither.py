"""Static analysis gate: Slither (offline, through the solcjs adapter) must analyse our contracts and report
no High/Medium finding that is not explained in security/slither-triage.json.

`slither .` on this project reports "No contract was analyzed" and zero results, which looks like a clean
pass; this test therefore also asserts that our contracts were compiled and analysed: the analysed-contract
count, and findings located in our own source files (a run that analysed nothing finds nothing).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLITHER = ROOT / ".venv-slither" / "bin" / "slither"
SOLC = ROOT / ".solcx" / "solc-v0.8.37"
TRIAGE = ROOT / "security" / "slither-triage.json"
PRODUCT_CONTRACTS = {
    "SessionManager",
    "SessionManagerExtension",
    "SessionSignatures",
    "SessionActions",
    "SessionStore",
    "SessionToken",
    "SessionFactory",
}


def _finding_key(result: dict) -> str:
    element = result["elements"][0]
    parent = element.get("type_specific_fields", {}).get("parent", {})
    # locals and parameters hang off a function; name the contract instead
    while parent.get("type") == "function":
        parent = parent.get("type_specific_fields", {}).get("parent", {})
    return f"{result['check']}:{parent.get('name', '?')}.{element['name']}"


@pytest.fixture(scope="module")
def slither_run(tmp_path_factory):
    if not SLITHER.exists():
        pytest.fail("Slither is not installed: run `make setup` (it creates .venv-slither/)")
    out = tmp_path_factory.mktemp("slither") / "report.json"
    proc = subprocess.run(
        [
            str(SLITHER),
            "contracts",
            "--solc-standard-json",
            "--solc",
            str(SOLC),
            "--solc-remaps",
            "@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/ solady/=node_modules/solady/src/",
            "--filter-paths",
            # library code (npm packages, and the copies Ape unpacks into contracts/.cache) and test-only contracts
            r"node_modules|contracts/test|contracts/\.cache",
            "--exclude-informational",
            "--exclude-low",
            "--exclude-optimization",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(out.read_text())
    return proc, report


def test_slither_analysed_our_contracts(slither_run):
    proc, report = slither_run
    assert report["success"], report.get("error")
    match = re.search(r"(\d+) contracts with \d+ detectors", proc.stderr)
    assert match, f"no analysis summary in Slither's output:\n{proc.stderr[-2000:]}"
    assert int(match.group(1)) >= len(PRODUCT_CONTRACTS)
    files = {
        element["source_mapping"]["filename_relative"]
        for result in report["results"].get("detectors", [])
        for element in result["elements"]
        if "source_mapping" in element
    }
    for source in ("contracts/SessionManager.sol", "contracts/SessionStore.sol"):
        assert source in files, f"no finding located in {source}: was it analysed? ({sorted(files)})"


def test_every_high_or_medium_finding_is_triaged(slither_run):
    _, report = slither_run
    triage = json.loads(TRIAGE.read_text())
    findings = {
        _finding_key(r)
        for r in report["results"].get("detectors", [])
        if r["impact"] in ("High", "Medium")
    }
    untriaged = sorted(findings - set(triage))
    assert not untriaged, "new High/Medium Slither findings (fix or explain in security/slither-triage.json):\n" + "\n".join(untriaged)


def test_triage_has_no_stale_entries(slither_run):
    """An entry Slither no longer reports was fixed: drop it so the file stays the truth."""
    _, report = slither_run
    triage = {k for k in json.loads(TRIAGE.read_text()) if not k.startswith("_")}
    findings = {_finding_key(r) for r in report["results"].get("detectors", [])}
    assert not sorted(triage - findings)
