"""The YAML fleet spec: every kind of bad input is one SpecError naming file, path and reason (the corpus below
is data: a small YAML document per case), and every example in examples/ loads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agent_sessions import SessionError, SpecError, load_spec, parse_spec
from agent_sessions.domain.deployment import canonical_token_address
from agent_sessions.fleet.spec import MAX_DEPTH, FleetSpec, SpecIssue

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ETHER = 10**18

HEADER = """\
chains:
  alpha: {anvil: {chain_id: 31337, port: 8545}}
  beta: {anvil: {chain_id: 31338, port: 8546}}
keys:
  owner: anvil:0
  bot: anvil:1
tokens:
  USDC: {decimals: 6, chains: {alpha: {deploy: test}}}
contracts:
  target: {deploy: Target}
  dex: "0x00000000000000000000000000000000000000D0"
managers:
  main: {owner: owner}
"""

ROOT = """\
sessions:
  - label: root
    chain: alpha
    manager: main
    agent: bot
    expires: 72h
"""


def nested(depth: int) -> str:
    """A root with a chain of ``depth`` single children below it."""
    text = ROOT + "    budgets: {ETH: 1 ether}\n    allow: any\n"
    indent = "    "
    for level in range(1, depth + 1):
        text += f"{indent}children:\n{indent}  - label: level-{level}\n{indent}    agent: bot\n"
        indent += "    "
    return HEADER + text


# (case id, YAML text, path of the one issue, a fragment of its message)
BAD_SPECS = [
    ("unknown-top-level-key", HEADER + ROOT + "colour: red\n", "colour", "unknown key 'colour'"),
    ("unknown-session-key", HEADER + ROOT + "    colour: red\n", "sessions[0].colour", "unknown key 'colour'"),
    ("unknown-budget-key",
     HEADER + ROOT + "    budgets: {ETH: {total: 1 ether, per_day: 1 ether}}\n",
     "sessions[0].budgets.ETH.per_day", "unknown key 'per_day' (expected one of: total, per_call, per_period)"),
    ("anvil-without-port", HEADER.replace("port: 8546", "block_time: 1") + ROOT,
     "chains.beta.anvil", "missing required key 'port'"),
    ("chain-both-anvil-and-rpc",
     HEADER.replace("beta: {anvil: {chain_id: 31338, port: 8546}}",
                    "beta: {anvil: {chain_id: 31338, port: 8546}, rpc: 'http://x:1'}") + ROOT,
     "chains.beta", "either"),
    ("rpc-without-chain-id", HEADER.replace("beta: {anvil: {chain_id: 31338, port: 8546}}",
                                            "beta: {rpc: 'https://rpc.example'}") + ROOT,
     "chains.beta", "needs chain_id"),
    ("duplicate-port", HEADER.replace("port: 8546", "port: 8545") + ROOT, "chains.beta.anvil.port",
     "port 8545 is already used by chain 'alpha'"),
    ("bad-key-reference", HEADER.replace("bot: anvil:1", "bot: ledger:1") + ROOT, "keys.bot",
     "not a key reference"),
    ("raw-private-key-in-file", HEADER.replace("bot: anvil:1", "bot: '0x" + "ab" * 32 + "'") + ROOT, "keys.bot",
     "does not belong in a spec file"),
    ("unknown-manager-owner", HEADER.replace("main: {owner: owner}", "main: {owner: nobody}") + ROOT,
     "managers.main.owner", "no key named 'nobody'"),
    ("reserved-token-name", HEADER.replace("  USDC: {decimals: 6", "  gwei: {decimals: 6") + ROOT, "tokens.gwei",
     "taken by ETH"),
    ("test-token-on-rpc-chain",
     HEADER.replace("beta: {anvil: {chain_id: 31338, port: 8546}}", "beta: {rpc: 'https://x.example', chain_id: 5}")
     .replace("{alpha: {deploy: test}}", "{alpha: {deploy: test}, beta: {deploy: test}}") + ROOT,
     "tokens.USDC.chains.beta.deploy", "only works on a local (anvil) chain"),
    ("eth-amount-in-token-unit", HEADER + ROOT + "    budgets: {ETH: 0.5 USDC}\n", "sessions[0].budgets.ETH",
     "'USDC' is not an ETH unit"),
    ("negative-amount", HEADER + ROOT + "    budgets: {ETH: -5}\n", "sessions[0].budgets.ETH",
     "must not be negative"),
    ("unix-time-as-expiry", HEADER + ROOT.replace("expires: 72h", "expires: 1900000000"), "sessions[0].expires",
     "looks like a unix time"),
    ("date-without-time-or-zone", HEADER + ROOT.replace("expires: 72h", "expires: 2030-01-01"), "sessions[0].expires",
     "is a date"),
    ("token-amount-too-precise", HEADER + ROOT + "    budgets: {USDC: 0.0000001 USDC}\n",
     "sessions[0].budgets.USDC", "more than 6 decimals"),
    ("token-amount-in-other-unit", HEADER + ROOT + "    budgets: {USDC: {total: 100 DAI}}\n",
     "sessions[0].budgets.USDC.total", "does not match token USDC"),
    ("bad-duration", HEADER + ROOT + "    period: 1 fortnight\n", "sessions[0].period", "cannot read '1 fortnight'"),
    ("bad-expiry", HEADER + ROOT.replace("expires: 72h", "expires: tomorrow"), "sessions[0].expires",
     "cannot read 'tomorrow' as an expiry"),
    ("expiry-without-timezone", HEADER + ROOT.replace("expires: 72h", "expires: 2030-01-01T00:00:00"),
     "sessions[0].expires", "has no timezone"),
    ("root-without-expiry", HEADER + ROOT.replace("    expires: 72h\n", ""), "sessions[0]",
     "missing required key 'expires'"),
    ("unknown-chain", HEADER + ROOT.replace("chain: alpha", "chain: gamma"), "sessions[0].chain",
     "unknown chain 'gamma' (known: alpha, beta)"),
    ("unknown-manager", HEADER + ROOT.replace("manager: main", "manager: side"), "sessions[0].manager",
     "unknown manager 'side'"),
    ("unknown-agent", HEADER + ROOT.replace("agent: bot", "agent: robot"), "sessions[0].agent",
     "agent 'robot' is neither a key name"),
    ("unknown-token", HEADER + ROOT + "    budgets: {DAI: 5 DAI}\n", "sessions[0].budgets.DAI",
     "unknown token 'DAI'"),
    ("token-not-on-chain", HEADER + ROOT.replace("chain: alpha", "chain: beta") + "    budgets: {USDC: 5 USDC}\n",
     "sessions[0].budgets.USDC", "has no address on chain 'beta'"),
    ("unknown-target", HEADER + ROOT + "    allow: [{target: router}]\n", "sessions[0].allow[0].target",
     "unknown target 'router'"),
    ("token-target-not-on-chain", HEADER + ROOT.replace("chain: alpha", "chain: beta")
     + "    allow: [{target: 'token:USDC'}]\n", "sessions[0].allow[0].target", "has no address on chain 'beta'"),
    ("bad-selector", HEADER + ROOT + "    allow: [{target: dex, selectors: ['0x1234']}]\n", "sessions[0].allow[0]",
     "is not 4 bytes of hex"),
    ("allow-neither-any-nor-list", HEADER + ROOT + "    allow: everything\n", "sessions[0].allow",
     "expected 'any' or a list"),
    ("unknown-guard", HEADER + ROOT + "    guards: [denylist]\n", "sessions[0].guards[0]",
     "unknown guard 'denylist'"),
    ("label-too-long", HEADER + ROOT.replace("label: root", "label: " + "x" * 32), "sessions[0].label",
     "is 32 bytes; at most 31 bytes"),
    ("label-not-text", HEADER + ROOT.replace("label: root", "label: 7"), "sessions[0].label",
     "valid string"),
    ("duplicate-label", HEADER + ROOT + ROOT.replace("sessions:\n", ""), "sessions[1].label",
     "label 'root' is already used by sessions[0] in manager 'main'"),
    ("duplicate-label-in-a-child", HEADER + ROOT + "    children: [{label: root, agent: bot}]\n",
     "sessions[0].children[0].label", "already used by sessions[0]"),
    ("per-period-without-period", HEADER + ROOT + "    budgets: {ETH: {total: 1 ether, per_period: 0.1 ether}}\n",
     "sessions[0].budgets.ETH.per_period", "needs a period"),
    ("call-limit-without-period", HEADER + ROOT + "    max_calls_per_period: 10\n",
     "sessions[0].max_calls_per_period", "needs a period"),
    ("call-limit-too-large", HEADER + ROOT + "    period: 1d\n    max_calls_per_period: 70000\n",
     "sessions[0].max_calls_per_period", "less than or equal to 65535"),
    ("child-names-a-chain", HEADER + ROOT + "    children: [{label: kid, agent: bot, chain: alpha}]\n",
     "sessions[0].children[0].chain", "a child inherits its parent's chain"),
    ("children-budgets-exceed-parent",
     HEADER + ROOT + "    budgets: {ETH: 0.5 ether}\n    children:\n"
     "      - {label: a, agent: bot, budgets: {ETH: 0.25 ether}}\n"
     "      - {label: b, agent: bot, budgets: {ETH: 0.35 ether}}\n",
     "sessions[0].children[1].budgets.ETH", "reserve 0.6 ETH in total, more than its ETH budget of 0.5 ETH"),
    ("child-token-missing-in-parent",
     HEADER + ROOT + "    budgets: {ETH: 1 ether}\n    children: [{label: a, agent: bot, budgets: {USDC: 1 USDC}}]\n",
     "sessions[0].children[0].budgets.USDC", "parent 'root' has no USDC budget"),
    ("child-outlives-parent", HEADER + ROOT + "    children: [{label: a, agent: bot, expires: 73h}]\n",
     "sessions[0].children[0].expires", "a child never outlives its parent"),
    ("child-any-under-allowlist",
     HEADER + ROOT + "    allow: [{target: dex}]\n    children: [{label: a, agent: bot, allow: any}]\n",
     "sessions[0].children[0].allow", "'any' target is not allowed: parent 'root' has an allowlist"),
    ("child-target-not-in-parent",
     HEADER + ROOT + "    allow: [{target: dex}]\n    children: [{label: a, agent: bot, allow: [{target: target}]}]\n",
     "sessions[0].children[0].allow[0]", "target with every selector is not allowed in parent 'root'"),
    ("child-selector-not-in-parent",
     HEADER + ROOT + "    allow: [{target: target, selectors: ['ping()']}]\n"
     "    children: [{label: a, agent: bot, allow: [{target: target, selectors: ['other()']}]}]\n",
     "sessions[0].children[0].allow[0]", "selector 0x85295877 is not allowed in parent 'root'"),
    ("child-of-a-draft", HEADER + ROOT + "    draft: true\n    children: [{label: a, agent: bot}]\n",
     "sessions[0].children", "a draft session cannot have children"),
    ("spawned-by-agent-without-its-key",
     HEADER + ROOT.replace("agent: bot", "agent: '0x00000000000000000000000000000000000000A1'")
     + "    children: [{label: a, agent: bot, spawned_by: agent}]\n",
     "sessions[0].children[0].spawned_by", "needs the parent's agent as a key"),
    ("too-deep", nested(MAX_DEPTH + 1), "sessions[0]" + ".children[0]" * MAX_DEPTH + ".children",
     f"would sit at depth {MAX_DEPTH + 1}"),
    ("duplicate-yaml-key", HEADER + ROOT + "    agent: owner\n", "sessions[0].agent", "appears twice"),
    ("not-yaml", HEADER + ROOT + "    budgets: {ETH: [1 ether\n", "", "not valid YAML"),
    ("not-a-mapping", "- just\n- a list\n", "", "must be a mapping"),
]


@pytest.mark.parametrize(("text", "path", "reason"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_raises_one_issue_naming_file_path_and_reason(text, path, reason):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="bad.yaml")
    error = caught.value
    assert isinstance(error, SessionError) and isinstance(error, ValueError)
    assert len(error.issues) == 1, str(error)
    (issue,) = error.issues
    assert issue.file == "bad.yaml"
    assert issue.path == path
    assert reason in issue.message
    assert issue.line is not None and issue.line >= 1
    prefix = f"bad.yaml:{issue.line}: "
    assert str(error) == prefix + (f"{path}: " if path else "") + issue.message


def test_the_corpus_base_is_valid():
    spec = parse_spec(HEADER + ROOT)
    assert [s.label for s in spec.sessions] == ["root"]
    assert parse_spec(nested(MAX_DEPTH)).sessions_flat()[-1].depth == MAX_DEPTH


def test_issue_lines_point_at_the_offending_yaml_line():
    text = HEADER + ROOT + "    budgets: {ETH: 5 wei, DAI: 5 DAI}\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="fleet.yaml")
    (issue,) = caught.value.issues
    assert text.splitlines()[issue.line - 1].strip().startswith("budgets:")


def test_every_problem_of_a_spec_is_reported_at_once_in_file_order():
    text = HEADER + ROOT.replace("agent: bot", "agent: robot") + "    budgets: {DAI: 1 DAI}\n" + \
        "  - {label: other, chain: gamma, manager: main, agent: bot, expires: 1h}\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, source="many.yaml")
    assert caught.value.paths == ["sessions[0].agent", "sessions[0].budgets.DAI", "sessions[1].chain"]
    lines = str(caught.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("many.yaml:") for line in lines)


def test_a_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_loads(path):
    spec = load_spec(path)
    assert spec.source == str(path)
    assert spec.sessions_flat()
    assert all(item.depth <= MAX_DEPTH for item in spec.sessions_flat())


def test_the_examples_are_the_four_documented_ones():
    names = {p.name for p in EXAMPLES.glob("*.yaml")}
    assert names == {"treasury.yaml", "daily-budget.yaml", "key-rotation.yaml", "fleet-20.yaml"}
    readme = (EXAMPLES / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in names)


def test_fleet_20_has_at_least_20_sessions_with_children_on_two_chains():
    flat = load_spec(EXAMPLES / "fleet-20.yaml").sessions_flat()
    assert len(flat) >= 20
    assert {i.chain for i in flat} == {"alpha", "beta"}
    assert {i.chain for i in flat if not i.is_root} == {"alpha", "beta"}
    assert max(i.depth for i in flat) == 2


def test_sessions_flat_is_depth_first_with_parents_and_inherited_expiry():
    spec = parse_spec(HEADER + ROOT + """\
    budgets: {ETH: 1 ether}
    allow: any
    children:
      - label: a
        agent: bot
        budgets: {ETH: 0.5 ether}
        children: [{label: a1, agent: bot, expires: 1h}]
      - {label: b, agent: bot}
  - {label: second, chain: beta, manager: main, agent: owner, expires: 2h}
""")
    flat = spec.sessions_flat()
    assert [(i.label, i.parent, i.depth, i.root) for i in flat] == [
        ("root", None, 0, "root"), ("a", "root", 1, "root"), ("a1", "a", 2, "root"), ("b", "root", 1, "root"),
        ("second", None, 0, "second"),
    ]
    assert [i.path for i in flat] == ["sessions[0]", "sessions[0].children[0]", "sessions[0].children[0].children[0]",
                                      "sessions[0].children[1]", "sessions[1]"]
    assert [i.chain for i in flat] == ["alpha"] * 4 + ["beta"]
    assert flat[1].expires == timedelta(hours=72)  # a child without expires takes its parent's
    assert flat[2].expires == timedelta(hours=1)


def test_totals_sum_root_budgets_per_chain_manager_and_token():
    spec = load_spec(EXAMPLES / "treasury.yaml")
    assert spec.totals() == {
        ("alpha", "treasury"): {"ETH": 5 * ETHER, "USDC": 32_000 * 10**6},
        ("beta", "treasury"): {"ETH": 2 * ETHER, "USDC": 12_000 * 10**6},
    }
    swapper = next(i for i in spec.sessions_flat() if i.label == "swapper")
    eth = spec.budgets_of(swapper)["ETH"]
    assert (eth.total, eth.per_call, eth.per_period) == (5 * ETHER, ETHER // 2, ETHER)


def test_short_forms_and_unquoted_addresses():
    spec = parse_spec(HEADER + ROOT + """\
    budgets: {ETH: 0.5 ether, USDC: 250 USDC}
    allow: [{target: 0x00000000000000000000000000000000000000d0, selectors: [0x12345678, "transfer(address,uint256)"]}]
""")
    (item,) = spec.sessions_flat()
    assert {k: v.total for k, v in spec.budgets_of(item).items()} == {"ETH": ETHER // 2, "USDC": 250 * 10**6}
    entry = item.spec.allow[0]
    assert entry.target == "0x00000000000000000000000000000000000000d0"  # not the integer 0xd0
    assert entry.selector_values() == ["0x12345678", "0xa9059cbb"]
    assert not item.spec.any_target
    assert parse_spec(HEADER + ROOT + "    allow: any\n").sessions[0].any_target


def test_a_label_shared_by_two_managers_is_keyed_by_manager():
    text = HEADER.replace("main: {owner: owner}", "main: {owner: owner}\n  side: {owner: bot}") + ROOT + \
        ROOT.replace("sessions:\n", "").replace("manager: main", "manager: side")
    assert [i.key for i in parse_spec(text).sessions_flat()] == ["main/root", "side/root"]


def test_keys_resolve_from_anvil_env_and_file_relative_to_the_spec(tmp_path, monkeypatch):
    key_hex = "0x" + "11" * 32
    (tmp_path / "k.hex").write_text(key_hex + "\n")
    monkeypatch.setenv("FLEET_TEST_KEY", key_hex)
    text = HEADER.replace("bot: anvil:1", "bot: anvil:1\n  envkey: env:FLEET_TEST_KEY\n  filekey: file:k.hex")
    (tmp_path / "fleet.yaml").write_text(text + ROOT)
    spec = load_spec(tmp_path / "fleet.yaml")
    keys = spec.resolve_keys()
    assert keys["owner"].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert keys["envkey"].address == keys["filekey"].address
    assert spec.address_of("anvil:2") == "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_an_unset_key_variable_is_a_spec_error_naming_the_key(monkeypatch):
    monkeypatch.delenv("FLEET_TEST_MISSING", raising=False)
    spec = parse_spec(HEADER.replace("bot: anvil:1", "bot: env:FLEET_TEST_MISSING") + ROOT, source="k.yaml")
    with pytest.raises(SpecError) as caught:
        spec.resolve_keys()
    assert caught.value.issues == [SpecIssue("k.yaml", "keys.bot", "environment variable FLEET_TEST_MISSING is not "
                                                                   "set", 6)]


def test_with_ports_moves_local_chains_and_keeps_the_source():
    spec = load_spec(EXAMPLES / "fleet-20.yaml")
    moved = spec.with_ports({"alpha": 8612, "beta": 8613})
    assert isinstance(moved, FleetSpec)
    assert moved.chains["alpha"].anvil.port == 8612 and moved.chains["beta"].anvil.port == 8613
    assert spec.chains["alpha"].anvil.port == 8545
    assert moved.source == spec.source and moved.sessions == spec.sessions


def test_test_tokens_have_one_address_on_every_chain():
    assert canonical_token_address("USDC", 6) == canonical_token_address("USDC", 6)
    assert canonical_token_address("USDC", 6) != canonical_token_address("USDC", 18)
