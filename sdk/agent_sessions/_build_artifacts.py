"""Copy the compiled contracts the SDK needs from Ape's build output into the package.

The SDK must work without an Ape project (plain web3.py over any JSON-RPC URL), so the ABIs and deployment
bytecode ship inside the package as ``artifacts/<Name>.json`` (``{"abi": [...], "bytecode": "0x..."}``).
Ape 0.8 writes one EthPM-style manifest per project, ``.build/__local__.json``, whose ``contractTypes``
hold every compiled contract; this script picks the ones we ship. It rewrites a file only when its content
changed, so running it after every ``make setup`` keeps the work tree clean.

Run from the repository root: ``python -m agent_sessions._build_artifacts`` (``make artifacts``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

#: Contracts deployed by the SDK (ABI + bytecode), or only bound to an address (ABI only).
PRODUCT: dict[str, bool] = {
    "SessionFactory": True,
    "SessionManagerExtension": True,
    "SessionSignatures": True,
    "DenylistGuard": True,
    "IAgentSessions": False,
    "ISessionExecutor": False,
}
#: Test-only contracts that demos and tests deploy through the SDK (artifacts/testing/).
TESTING: dict[str, bool] = {"TestToken": True, "MockDex": True, "Target": True}

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"


def _load_contract_types(build_dir: Path) -> dict[str, dict[str, Any]]:
    """Every contract type Ape wrote: ``__local__.json`` first, then any other manifest in ``.build``."""
    manifests = sorted(build_dir.glob("*.json"), key=lambda p: p.name != "__local__.json")
    if not manifests:
        raise SystemExit(f"no Ape build output in {build_dir}: run `make setup` (ape compile) first")
    types: dict[str, dict[str, Any]] = {}
    for path in manifests:
        data = json.loads(path.read_text())
        for name, contract_type in (data.get("contractTypes") or {}).items():
            types.setdefault(name, contract_type)
    return types


def _bytecode(contract_type: dict[str, Any]) -> str:
    code = contract_type.get("deploymentBytecode") or {}
    value = code.get("bytecode") if isinstance(code, dict) else code
    if not value or value == "0x":
        raise SystemExit(f"{contract_type.get('contractName')}: no deployment bytecode in the build output")
    return value if value.startswith("0x") else "0x" + value


def _artifact(contract_type: dict[str, Any], with_bytecode: bool) -> dict[str, Any]:
    artifact: dict[str, Any] = {"contractName": contract_type["contractName"], "abi": contract_type["abi"]}
    if with_bytecode:
        artifact["bytecode"] = _bytecode(contract_type)
    return artifact


def _write_if_changed(path: Path, artifact: dict[str, Any]) -> bool:
    text = json.dumps(artifact, indent=1, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def build(build_dir: Path, out_dir: Path = ARTIFACTS_DIR) -> list[Path]:
    """Write every shipped artifact; return the files that changed."""
    types = _load_contract_types(build_dir)
    changed: list[Path] = []
    for folder, wanted in ((out_dir, PRODUCT), (out_dir / "testing", TESTING)):
        for name, with_bytecode in wanted.items():
            if name not in types:
                raise SystemExit(f"{name} is missing from the build output in {build_dir}")
            path = folder / f"{name}.json"
            if _write_if_changed(path, _artifact(types[name], with_bytecode)):
                changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=Path.cwd() / ".build", help="Ape's build folder")
    args = parser.parse_args(argv)
    changed = build(args.build_dir)
    for path in changed:
        print(f"updated {path.relative_to(PACKAGE_DIR.parent.parent) if path.is_relative_to(PACKAGE_DIR.parent.parent) else path}")
    if not changed:
        print("artifacts up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
