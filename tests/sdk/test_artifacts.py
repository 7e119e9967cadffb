"""The artifacts shipped in the package are the ones Ape just compiled, and the copy script is idempotent."""

import json
from pathlib import Path

from agent_sessions import _build_artifacts
from agent_sessions.base.abi import load_artifact

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_artifacts_match_the_build(tmp_path):
    changed = _build_artifacts.build(ROOT / ".build", tmp_path)
    assert len(changed) == len(_build_artifacts.PRODUCT) + len(_build_artifacts.TESTING)
    for path in changed:
        shipped = _build_artifacts.ARTIFACTS_DIR / path.relative_to(tmp_path)
        assert json.loads(shipped.read_text()) == json.loads(path.read_text()), f"{shipped} is stale: make artifacts"
    assert _build_artifacts.build(ROOT / ".build", tmp_path) == []  # a second run changes nothing


def test_deployable_artifacts_carry_bytecode_and_interfaces_only_an_abi():
    for name, with_code in {**_build_artifacts.PRODUCT, **{f"testing/{k}": v for k, v in
                                                            _build_artifacts.TESTING.items()}}.items():
        artifact = load_artifact(name)
        assert artifact["abi"]
        assert ("bytecode" in artifact) is with_code
        if with_code:
            assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 100
