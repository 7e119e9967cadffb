"""The SDK's packages form layers and imports point one way: down.

Read from the source with ``ast`` (nothing is imported), bottom to top:

    base     values and the exception tree: units, parsing, models, ABI tables, errors and revert decoding, receipts
    chain    talking to a node: JSON-RPC, signing, sending (transport, pipeline), contract bindings
    domain   the sessions themselves: client, factory, manager, session, listing, tokens, admin, audit ...
    wallet   signed grants and executes, relaying (beside ``fleet``: neither imports the other)
    fleet    many sessions on many chains: the YAML spec, chains and local Anvil nodes, spawning, throughput,
             the rich console
    mcp, studio   the agent-facing server and the web app (beside each other)
    cli      the ``agent-sessions`` command and the ``ape sessions`` plugin
    (face)   ``agent_sessions/__init__.py`` re-exporting the public API, ``__main__``, the artifact build tool

A module may import its own package and any lower layer, never a higher one or a package beside it; no name
starting with ``_`` (module or attribute) crosses a package boundary.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SDK = Path(__file__).resolve().parents[2] / "sdk"
PACKAGE = "agent_sessions"

#: Layer rank of each package, bottom (0) to top. Packages of equal rank sit beside each other.
LAYERS: dict[str, int] = {
    "base": 0,
    "chain": 1,
    "domain": 2,
    "wallet": 3,
    "fleet": 3,
    "mcp": 4,
    "studio": 4,
    "cli": 5,
    "(face)": 6,
}
#: The top-level modules that are the package's face (anything else at the top level is out of place).
FACE_MODULES = {"agent_sessions", "agent_sessions.__main__", "agent_sessions._build_artifacts"}


@dataclass(frozen=True)
class Edge:
    """One import: ``source`` module imports ``names`` from ``target`` (line ``line``)."""

    source: str
    target: str
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target} {', '.join(self.names)}".rstrip()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SDK).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sdk_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((SDK / PACKAGE).rglob("*.py"))}


def imports_of(module: str, path: Path) -> Iterator[Edge]:
    """Every import of another ``agent_sessions`` module, wherever it sits (top level, function, TYPE_CHECKING)."""
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in sdk_modules():  # `from . import module`
                    yield Edge(module, submodule, (), node.lineno)
                else:
                    yield Edge(module, target, (alias.name,), node.lineno)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield Edge(module, alias.name, (), node.lineno)


def package_of(module: str) -> str:
    """The layer package of ``module``: ``agent_sessions.chain.rpc`` -> ``chain``; the face -> ``(face)``."""
    if module in FACE_MODULES:
        return "(face)"
    parts = module.split(".")
    if len(parts) >= 2 and (SDK / PACKAGE / parts[1]).is_dir():
        return parts[1]
    return module  # a loose top-level module: belongs to no layer


def all_edges() -> list[Edge]:
    return [edge for module, path in sdk_modules().items() for edge in imports_of(module, path)]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_every_module_belongs_to_a_layer() -> None:
    loose = sorted(m for m in sdk_modules() if package_of(m) not in LAYERS)
    assert loose == []


def test_no_module_imports_a_higher_layer_or_a_package_beside_it() -> None:
    wrong = []
    for edge in all_edges():
        source, target = package_of(edge.source), package_of(edge.target)
        if source == target or source not in LAYERS or target not in LAYERS:
            continue
        if LAYERS[target] >= LAYERS[source]:
            wrong.append(f"{edge} ({source} -> {target})")
    assert wrong == []


def test_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for edge in all_edges():
        source, target = package_of(edge.source), package_of(edge.target)
        if source != target:
            graph.setdefault(source, set()).add(target)
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycles.append(" -> ".join([*trail[trail.index(node):], node]))
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])

    for start in sorted(graph):
        visit(start, [])
    assert sorted(set(cycles)) == []


def test_no_private_name_crosses_a_package_boundary() -> None:
    crossing = []
    for edge in all_edges():
        if package_of(edge.source) == package_of(edge.target):
            continue
        inner = edge.target.split(".")[1:]
        if any(is_private(part) for part in inner) or any(is_private(name) for name in edge.names):
            crossing.append(str(edge))
    assert crossing == []


def test_the_wallet_layer_is_declared_between_domain_and_the_tools() -> None:
    # agent_sessions/wallet/ (signed grants, the relayer) may use the domain and the chain and is used by the tools
    assert LAYERS["domain"] < LAYERS["wallet"] < min(LAYERS["mcp"], LAYERS["studio"], LAYERS["cli"])


def test_a_nodes_error_becomes_a_typed_revert_in_one_place() -> None:
    """Only ``errors.typed_error`` reads a node's revert data and decodes it; everything else calls it."""
    both = []
    for module, path in sdk_modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            reads = any(isinstance(n, ast.Attribute) and n.attr == "revert_data" for n in ast.walk(node))
            decodes = any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "decode_revert"
                          for n in ast.walk(node))
            if reads and decodes:
                both.append(f"{module}.{node.name}")
    assert both == ["agent_sessions.base.errors.typed_error"]
