"""Property: one random mutation of a valid fleet spec is always refused with a SpecError, never with another
exception, and nothing is sent.

Hypothesis starts from BASE (a valid spec, as a Python dict), applies one mutation (delete a required key, add an
unknown key, a bad unit, a negative amount, a duplicate label, an unknown reference, a child budget over its
parent's, a child expiry after its parent's, a value of the wrong type; and beyond those, nulls, empty
containers, out-of-range numbers, odd keys and structural limits), dumps it to YAML and checks:

- `parse_spec(text, source=...)` raises SpecError (any other exception fails the property) with >= 1 issue;
- every issue names the file and a path that exists in the mutated document (for a deletion, the parent of the
  deleted key exists: it is the path such issues name);
- `spawn_fleet` on the same file, with the chain of `ape test`'s Anvil opened, raises SpecError too and the
  nonces of every key of the spec stay unchanged (a positive control shows the same call does send for BASE).

Knobs: SPEC_EXAMPLES (default 200), SPEC_SEED (default: derandomized; "random" for a fresh run)."""

from __future__ import annotations

import copy
import os
from datetime import date, datetime
from typing import Any, Callable
from urllib.parse import urlparse

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions import SpecError, open_chains, parse_spec, spawn_fleet
from agent_sessions.fleet.spec import format_path
from agent_sessions.fleet.throughput import dev_keys

EXAMPLES = int(os.environ.get("SPEC_EXAMPLES", "200"))
RANDOM = os.environ.get("SPEC_SEED", "") == "random"
SOURCE = "mutated.yaml"
SWAP = "swap(address,uint256,address,address)"


def base_spec(port: int, factory: str) -> dict[str, Any]:
    """A valid fleet on one local chain (the port and factory of `ape test`'s Anvil)."""
    return {
        "chains": {"alpha": {"anvil": {"chain_id": 31337, "port": port}, "factory": factory}},
        "keys": {"owner": "anvil:0", "bot": "anvil:1", "sub": "anvil:2"},
        "tokens": {"USDC": {"decimals": 6, "chains": {"alpha": {"deploy": "test", "mint": "1000000 USDC"}}}},
        "contracts": {"dex": {"deploy": "MockDex"}, "target": {"deploy": "Target"}},
        "managers": {"main": {"owner": "owner", "salt": 7}},
        "sessions": [
            {
                "label": "root",
                "chain": "alpha",
                "manager": "main",
                "agent": "bot",
                "expires": "72h",
                "period": "1d",
                "budgets": {
                    "ETH": {"total": "1 ether", "per_call": "0.5 ether", "per_period": "0.5 ether"},
                    "USDC": "100 USDC",
                },
                "allow": [{"target": "dex", "selectors": [SWAP]}, {"target": "target"}],
                "children": [
                    {
                        "label": "child",
                        "agent": "sub",
                        "expires": "24h",
                        "budgets": {"ETH": "0.2 ether", "USDC": "10 USDC"},
                        "allow": [{"target": "dex", "selectors": [SWAP]}],
                    }
                ],
            },
            {
                "label": "second",
                "chain": "alpha",
                "manager": "main",
                "agent": "bot",
                "expires": "1d",
                "allow": "any",
                "budgets": {"ETH": "0.1 ether"},
            },
        ],
    }


# --------------------------------------------------------------------------------------------------
# document helpers
# --------------------------------------------------------------------------------------------------

Path = tuple[Any, ...]


def get(doc: Any, path: Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(doc: Any, path: Path, value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


def rename(doc: Any, path: Path, new: str) -> None:
    """Rename the key at `path`, keeping its place in the mapping."""
    parent, old = get(doc, path[:-1]), path[-1]
    items = [(new if k == old else k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(items)


def paths(doc: Any, prefix: Path = ()) -> set[str]:
    """Every node path of `doc` as the spec formats it (`sessions[0].budgets.ETH`), the root as ""."""
    out = {format_path(prefix)}
    if isinstance(doc, dict):
        for k, v in doc.items():
            out |= paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out |= paths(v, (*prefix, i))
    return out


def mappings(doc: Any, prefix: Path = ()) -> list[Path]:
    out = [prefix] if isinstance(doc, dict) else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += mappings(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += mappings(v, (*prefix, i))
    return out


# --------------------------------------------------------------------------------------------------
# mutations: each takes (doc, data) and changes doc in place; returns a short description
# --------------------------------------------------------------------------------------------------

R0, R1, C0 = ("sessions", 0), ("sessions", 1), ("sessions", 0, "children", 0)

REQUIRED: list[Path] = [
    ("chains",), ("chains", "alpha"), ("chains", "alpha", "anvil", "port"), ("tokens", "USDC", "decimals"),
    ("tokens", "USDC", "chains"), ("tokens", "USDC"), ("managers", "main", "owner"), ("managers", "main"),
    ("keys", "bot"), ("keys", "sub"), ("contracts", "dex"), ("contracts", "target"),
    (*R0, "label"), (*R0, "agent"), (*R0, "chain"), (*R0, "manager"), (*R0, "expires"),
    (*R1, "label"), (*R1, "agent"), (*R1, "chain"), (*R1, "manager"), (*R1, "expires"),
    (*C0, "label"), (*C0, "agent"), (*R0, "budgets", "ETH", "total"), (*R0, "budgets", "ETH"),
    (*R0, "budgets", "USDC"), (*R0, "allow", 0, "target"),
]

# (path, token of the amount)
AMOUNTS: list[tuple[Path, str]] = [
    ((*R0, "budgets", "ETH", "total"), "ETH"), ((*R0, "budgets", "ETH", "per_call"), "ETH"),
    ((*R0, "budgets", "ETH", "per_period"), "ETH"), ((*R0, "budgets", "USDC"), "USDC"),
    ((*C0, "budgets", "ETH"), "ETH"), ((*C0, "budgets", "USDC"), "USDC"), ((*R1, "budgets", "ETH"), "ETH"),
    (("tokens", "USDC", "chains", "alpha", "mint"), "USDC"),
]
BAD_UNITS = {"ETH": ["FOO", "USDC", "ethers", "weis"], "USDC": ["FOO", "ether", "gwei", "DAI", "USD"]}

# (path, new label): a label another session of the same manager already has
DUPLICATES: list[tuple[Path, str]] = [
    ((*R1, "label"), "root"), ((*R1, "label"), "child"), ((*C0, "label"), "root"), ((*C0, "label"), "second"),
]

# (description, change)
REFERENCES: list[tuple[str, Callable[[Any], None]]] = [
    ("root chain", lambda d: put(d, (*R0, "chain"), "gamma")),
    ("second manager", lambda d: put(d, (*R1, "manager"), "side")),
    ("root agent", lambda d: put(d, (*R0, "agent"), "robot")),
    ("child agent", lambda d: put(d, (*C0, "agent"), "robot")),
    ("manager owner", lambda d: put(d, ("managers", "main", "owner"), "nobody")),
    ("allow target", lambda d: put(d, (*R0, "allow", 1, "target"), "router")),
    ("allow token target", lambda d: put(d, (*R0, "allow", 1, "target"), "token:DAI")),
    ("guard", lambda d: put(d, (*R1, "guards"), ["nowhere"])),
    ("budget token", lambda d: rename(d, (*R1, "budgets", "ETH"), "DAI")),
    ("token chain", lambda d: rename(d, ("tokens", "USDC", "chains", "alpha"), "gamma")),
    ("deployer", lambda d: d.update(deployer="nobody")),
    ("key reference", lambda d: put(d, ("keys", "sub"), "ledger:2")),
]

OVER_PARENT: list[tuple[str, Callable[[Any], None]]] = [
    ("child ETH", lambda d: put(d, (*C0, "budgets", "ETH"), "1.5 ether")),
    ("child USDC", lambda d: put(d, (*C0, "budgets", "USDC"), "100.000001 USDC")),
    ("two children", lambda d: get(d, (*R0, "children")).append(
        {"label": "child-2", "agent": "sub", "budgets": {"ETH": "0.9 ether"}})),
]

LATE_EXPIRIES = ["72h1s", "73h", "4d", "30d", "1w"]

# (path, wrong value)
WRONG_TYPES: list[tuple[Path, Any]] = [
    ((*R0, "label"), 123), ((*R0, "agent"), 123), (("chains", "alpha", "anvil", "chain_id"), "abc"),
    (("chains", "alpha", "anvil", "port"), "high"), (("tokens", "USDC", "decimals"), "six"),
    ((*R0, "period"), [1]), ((*R0, "max_calls_per_period"), "many"), ((*R1, "draft"), "maybe"),
    ((*R1, "budgets"), "lots"), ((*R0, "allow"), 5), ((*R0, "children"), "none"), (("sessions",), "all"),
    (("keys",), ["anvil:0"]), (("managers", "main", "salt"), [1]), ((*R0, "expires"), [1]),
    ((*R0, "guards"), "dex"), (("chains", "alpha", "anvil"), 8545), ((*R0, "budgets", "ETH", "total"), True),
]


# (path, value): nulls, empty containers, out-of-range numbers, odd keys and forms a YAML file can hold
EDGE_VALUES: list[tuple[Path, Any]] = [
    ((*R0, "label"), None), ((*R0, "label"), ""), ((*R0, "label"), "x" * 32), ((*R0, "label"), "a\x00b"),
    ((*R0, "agent"), None), ((*R0, "budgets"), None), ((*R0, "expires"), None), (("chains",), None),
    ((*R0, "budgets", "ETH"), None), ((*R0, "budgets", "ETH", "total"), None), ((*R0, "period"), None),
    (("tokens", "USDC", "decimals"), None), (("tokens", "USDC", "decimals"), 78),
    ((*R0, "allow", 0, "selectors"), None),
    ((*R0, "allow", 0, "selectors"), []), ((*R0, "allow", 0, "selectors"), [123]),
    ((*R0, "allow", 0, "selectors"), ["0x1234"]), (("chains",), {}), (("tokens", "USDC", "chains"), {}),
    ((*R0, "budgets"), {1: "1 ether"}), (("keys",), {1: "anvil:1"}), (("chains", "alpha", "anvil", "port"), 0),
    (("chains", "alpha", "anvil", "port"), 70_000), (("chains", "alpha", "anvil", "chain_id"), 0),
    ((*R0, "max_calls_per_period"), 70_000), ((*R0, "max_calls_per_period"), -1), ((*R0, "period"), 2**32),
    ((*R0, "expires"), "0s"), ((*R0, "expires"), 0), ((*R0, "expires"), "tomorrow"),
    ((*R0, "expires"), datetime(2030, 1, 1)), ((*R0, "expires"), date(2030, 1, 1)), ((*R0, "spawned_by"), "agent"),
    ((*C0, "spawned_by"), "robot"), ((*C0, "chain"), "alpha"), (("version",), 2), (("keys", "sub"), "0x" + "ab" * 32),
    (("contracts", "token:x"), {"deploy": "Target"}), (("managers", "main", "salt"), "x" * 40),
    ((*R1, "allow"), ["*", {"target": "dex"}]), ((*C0, "allow"), "any"),
    ((*C0, "allow"), [{"target": "dex", "selectors": ["0x12345678"]}]), ((*R0, "draft"), True),
    ((*C0, "children"), [{"label": f"deep-{i}", "agent": "sub"} for i in range(1)]),
    (("chains", "alpha", "rpc"), "http://127.0.0.1:1"), (("chains", "alpha", "factory"), "0x1234"),
    (("contracts", "dex"), {"deploy": "DenylistGuard"}), (("contracts", "dex"), {"deploy": "Uniswap"}),
    (("tokens", "USDC", "chains", "alpha"), {"address": "0x" + "11" * 20, "mint": "1 USDC"}),
]


def nested_children(depth: int) -> list[dict[str, Any]]:
    """A chain of `depth` single children."""
    children: list[dict[str, Any]] = []
    for level in range(depth, 0, -1):
        children = [{"label": f"level-{level}", "agent": "sub", "children": children}]
    return children


def edge_value(doc, data) -> str:
    path, value = data.draw(st.sampled_from(EDGE_VALUES), label="edge")
    if path == (*C0, "children"):  # below the child: 9 levels in all, one past MAX_DEPTH
        value = nested_children(8)
    put(doc, path, value)
    return f"edge {format_path(path)}={value!r}"[:200]


def delete_required(doc, data) -> str:
    path = data.draw(st.sampled_from(REQUIRED), label="deleted")
    del get(doc, path[:-1])[path[-1]]
    return f"delete {format_path(path)}"


def add_unknown_key(doc, data) -> str:
    where = data.draw(st.sampled_from(mappings(doc)), label="mapping")
    key = data.draw(st.sampled_from(["colour", "zz_unknown", "per_day", "budget", "childs"]), label="key")
    if key in get(doc, where):
        key = "zz_" + key
    value = data.draw(st.sampled_from(["red", 7, ["x"], {"a": 1}]), label="value")
    get(doc, where)[key] = value
    return f"add {format_path((*where, key))}={value!r}"


def bad_unit(doc, data) -> str:
    path, token = data.draw(st.sampled_from(AMOUNTS), label="amount")
    unit = data.draw(st.sampled_from(BAD_UNITS[token]), label="unit")
    number = str(get(doc, path)).split()[0]
    put(doc, path, f"{number} {unit}")
    return f"unit {format_path(path)}={number} {unit}"


def negative_amount(doc, data) -> str:
    path, token = data.draw(st.sampled_from(AMOUNTS), label="amount")
    value = data.draw(st.sampled_from([f"-{get(doc, path)}", -1, f"-0.5 {'ether' if token == 'ETH' else token}"]),
                      label="negative")
    put(doc, path, value)
    return f"negative {format_path(path)}={value!r}"


def duplicate_label(doc, data) -> str:
    path, label = data.draw(st.sampled_from(DUPLICATES), label="duplicate")
    put(doc, path, label)
    return f"duplicate {format_path(path)}={label}"


def unknown_reference(doc, data) -> str:
    name, change = data.draw(st.sampled_from(REFERENCES), label="reference")
    change(doc)
    return f"unknown {name}"


def child_over_parent(doc, data) -> str:
    name, change = data.draw(st.sampled_from(OVER_PARENT), label="over")
    change(doc)
    return f"over parent: {name}"


def child_expiry_after_parent(doc, data) -> str:
    late = data.draw(st.sampled_from(LATE_EXPIRIES), label="late")
    put(doc, (*C0, "expires"), late)
    return f"child expires {late} (parent 72h)"


def wrong_type(doc, data) -> str:
    path, value = data.draw(st.sampled_from(WRONG_TYPES), label="wrong")
    put(doc, path, value)
    return f"type {format_path(path)}={value!r}"


MUTATIONS = [delete_required, add_unknown_key, bad_unit, negative_amount, duplicate_label, unknown_reference,
             child_over_parent, child_expiry_after_parent, wrong_type, edge_value]


# --------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(rpc_url, deployment) -> dict[str, Any]:
    return base_spec(urlparse(rpc_url).port, deployment.factory)


@pytest.fixture(scope="module")
def chains(base, tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "base.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    with open_chains(str(path)) as opened:
        assert opened.started == []  # the node of `ape test`, reused
        yield opened


KEYS = dev_keys(3)


def nonces(client) -> list[int]:
    return [int(client.rpc.request("eth_getTransactionCount", [k.address, "pending"]), 16) for k in KEYS]


# --------------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------------


def test_base_spec_is_valid(base):
    spec = parse_spec(yaml.safe_dump(base, sort_keys=False), source=SOURCE)
    assert [s.label for s in spec.sessions_flat()] == ["root", "child", "second"]


def test_spawn_fleet_sends_for_the_base_spec(base, chains, tmp_path):
    """Positive control: the check below ('nonces unchanged') would see a fleet being sent."""
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    client = chains["alpha"].client
    before = nonces(client)
    report = spawn_fleet(str(path), chains)
    assert len(report.created) == 3
    assert nonces(client) != before


def test_a_child_reservation_over_the_parents_per_call_cap_is_a_valid_spec(base):
    """A reservation only sets money aside: the parent's per-call cap binds what the child spends, when it spends
    (PerCallCapExceeded naming the parent, on chain), not what is reserved. So a child reserving more than the
    parent's per_call is a valid spec (the contract tests show the chain takes it)."""
    doc = copy.deepcopy(base)
    put(doc, (*R0, "budgets", "ETH", "per_call"), "0.1 ether")  # the child reserves 0.2 ether
    spec = parse_spec(yaml.safe_dump(doc, sort_keys=False), source=SOURCE)
    assert spec.sessions[0].children[0].label == "child"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_one_mutation_of_a_valid_spec_is_one_spec_error_naming_file_and_paths_and_sends_nothing(
    base, chains, tmp_path, data
):
    doc = copy.deepcopy(base)
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    described = mutation(doc, data)
    text = yaml.safe_dump(doc, sort_keys=False)

    try:
        parse_spec(text, source=SOURCE)
    except SpecError as exc:
        error = exc
    except BaseException as exc:  # any other exception is a crash the user should never see
        pytest.fail(f"{described}: {type(exc).__module__}.{type(exc).__name__} instead of SpecError: {exc}")
    else:
        pytest.fail(f"{described}: the mutated spec was accepted")

    assert error.issues, described
    existing = paths(doc)
    for issue in error.issues:
        assert issue.file == SOURCE, (described, issue)
        assert issue.message, (described, issue)
        assert issue.path in existing, f"{described}: issue path {issue.path!r} is not in the document ({issue})"

    # the spawning entry point refuses the same file before sending anything
    path = tmp_path / "mutated.yaml"
    path.write_text(text)
    client = chains["alpha"].client
    before = nonces(client)
    with pytest.raises(SpecError) as info:
        spawn_fleet(str(path), chains)
    assert all(i.file == str(path) for i in info.value.issues)
    assert nonces(client) == before, described
