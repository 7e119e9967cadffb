"""`ape run sessions ...`: listing, inspecting and driving sessions from the command line, on a real chain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agent_sessions import NATIVE, Status

from .conftest import ETHER, TUSD

# ---------------------------------------------------------------------------------------------------------
# list
# ---------------------------------------------------------------------------------------------------------


def test_list_shows_every_session_with_spent_and_left_in_units(run, world):
    result = run("sessions", "list")

    assert result.code == 0, result
    for label in ("alpha", "beta", "gamma"):
        assert label in result.out
    assert "0.1 / 0.6 ETH" in result.out  # alpha: 0.1 spent, 1 - 0.1 - 0.3 reserved for beta
    assert "0 / 250 TUSD" in result.out
    assert "3 session(s)" in result.out


def test_list_json_has_every_session_with_amounts_in_base_units(run, world, keys):
    result = run("sessions", "list", "--json")

    assert result.code == 0, result
    by_label = {s["label"]: s for s in result.json}
    assert set(by_label) == {"alpha", "beta", "gamma"}
    alpha, beta = by_label["alpha"], by_label["beta"]
    assert alpha["id"] == world.alpha and alpha["status"] == "active" and alpha["closed"] is False
    assert alpha["agent"] == keys[1].address and alpha["holder"] == keys[0].address
    assert alpha["budgets"][NATIVE]["spent"] == str(ETHER // 10)
    assert alpha["budgets"][NATIVE]["available"] == str(6 * ETHER // 10)
    assert alpha["budgets"][world.token]["per_call_cap"] == str(10 * TUSD)
    assert alpha["budgets"][world.token]["symbol"] == "TUSD"
    assert alpha["max_calls_per_period"] == 5 and alpha["calls_in_period"] == 1
    assert alpha["period"] == 86_400
    assert beta["parent_id"] == world.alpha and beta["depth"] == 1 and beta["holder"] == keys[1].address


@pytest.mark.parametrize(
    ("args", "labels"),
    [
        (("--label", "gamma"), {"gamma"}),
        (("--parent", "1"), {"beta"}),
        (("--parent", "0"), {"alpha", "gamma"}),
        (("--agent", "TEST::3"), {"gamma"}),
        (("--agent", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"), {"beta"}),
        (("--holder", "1"), {"beta"}),
        (("--status", "active"), {"alpha", "beta", "gamma"}),
        (("--status", "paused", "--status", "revoked"), set()),
        (("--status", "active", "--parent", "0", "--label", "alpha"), {"alpha"}),
    ],
    ids=["label", "parent", "roots", "agent-account", "agent-address", "holder", "status", "two-statuses",
         "combined"],
)
def test_list_filters_sessions(run, world, args, labels):
    result = run("sessions", "list", *args, "--json")

    assert result.code == 0, result
    assert {s["label"] for s in result.json} == labels


def test_list_status_filter_follows_effective_status(run, world):
    assert run("sessions", "pause", world.alpha).code == 0

    result = run("sessions", "list", "--status", "paused", "--json")

    # beta is paused through its parent: the effective status is what is filtered on
    assert {s["label"] for s in result.json} == {"alpha", "beta"}


def test_list_open_leaves_out_closed_sessions(run, world):
    assert run("sessions", "revoke", world.gamma).code == 0
    assert run("sessions", "close", world.gamma).code == 0

    everything = run("sessions", "list", "--json").json
    still_open = run("sessions", "list", "--open", "--json").json

    assert {s["label"] for s in everything} == {"alpha", "beta", "gamma"}
    assert {s["label"] for s in still_open} == {"alpha", "beta"}


def test_list_tree_draws_children_under_their_parent(run, world):
    result = run("sessions", "list", "--tree")

    assert result.code == 0, result
    lines = result.out.splitlines()
    alpha = next(i for i, line in enumerate(lines) if "#1 alpha" in line)
    beta = next(i for i, line in enumerate(lines) if "#2 beta" in line)
    gamma = next(i for i, line in enumerate(lines) if "#3 gamma" in line)
    assert alpha < beta < gamma
    assert lines[beta].index("#2") > lines[alpha].index("#1")  # indented one level deeper


# ---------------------------------------------------------------------------------------------------------
# inspect
# ---------------------------------------------------------------------------------------------------------


def test_inspect_shows_everything_about_a_session(run, world, keys):
    result = run("sessions", "inspect", world.alpha)

    assert result.code == 0, result
    out = result.out
    assert "session #1" in out and "alpha" in out and "active" in out
    assert keys[1].address in out  # the agent in full
    assert "0.6 ETH" in out and "0.1 ETH" in out
    assert "250 TUSD" in out and "10 TUSD" in out  # left, per-call cap
    assert "1/5" in out  # calls this period
    assert "#2 beta" in out  # the child


def test_inspect_json_adds_guards_and_children(run, world):
    result = run("sessions", "inspect", world.alpha, "--json")

    assert result.code == 0, result
    data = result.json
    assert data["id"] == world.alpha and data["label"] == "alpha"
    assert data["manager"] == world.manager
    assert data["guards"] == []
    assert data["children"] == [world.beta]
    assert data["budgets"][world.token]["available"] == str(250 * TUSD)


def test_inspect_of_a_missing_session_exits_1_with_the_typed_error(run, world):
    result = run("sessions", "inspect", 99)

    assert result.code == 1, result
    assert result.err.startswith("Error: SessionNotFound(session=99)")
    assert "Traceback" not in result.out + result.err


# ---------------------------------------------------------------------------------------------------------
# lifecycle
# ---------------------------------------------------------------------------------------------------------


def test_pause_and_resume(run, manager, world):
    paused = run("sessions", "pause", world.alpha)

    assert paused.code == 0, paused
    assert "pause #1: now paused" in paused.out
    assert manager.status(world.alpha) is Status.PAUSED
    assert manager.status(world.beta) is Status.PAUSED  # through its ancestor

    resumed = run("sessions", "resume", world.alpha, "--json")

    assert resumed.code == 0, resumed
    assert resumed.json["sessions"] == [{"id": world.alpha, "status": "active", "closed": False}]
    assert len(resumed.json["transactions"]) == 1
    assert manager.status(world.beta) is Status.ACTIVE


def test_revoke_then_close_pays_the_escrow_back_to_the_holder(run, client, manager, world, keys):
    revoked = run("sessions", "revoke", world.gamma)
    assert revoked.code == 0, revoked
    assert manager.status(world.gamma) is Status.REVOKED
    owner_before = client.balance(keys[0].address)

    closed = run("sessions", "close", world.gamma, "--as", "4", "--json")  # anyone may close; 4 pays the gas

    assert closed.code == 0, closed
    assert closed.json["sessions"] == [{"id": world.gamma, "status": "revoked", "closed": True}]
    assert client.balance(keys[0].address) - owner_before == ETHER // 2


def test_close_of_several_sessions_settles_a_revoked_tree(run, client, manager, world, keys):
    assert run("sessions", "revoke", world.alpha).code == 0
    owner_before = client.balance(keys[0].address)

    result = run("sessions", "close", world.beta, world.alpha, "--as", "4", "--json")

    assert result.code == 0, result
    assert [(s["id"], s["closed"]) for s in result.json["sessions"]] == [(world.beta, True), (world.alpha, True)]
    # beta's 0.3 went back to alpha, then alpha's 0.9 to its holder
    assert client.balance(keys[0].address) - owner_before == 9 * ETHER // 10


def test_rotate_replaces_the_agent(run, manager, world, keys):
    by_account = run("sessions", "rotate", world.gamma, "TEST::5")

    assert by_account.code == 0, by_account
    assert manager.state(world.gamma).agent == keys[5].address

    by_address = run("sessions", "rotate", world.gamma, keys[6].address)

    assert by_address.code == 0, by_address
    assert manager.state(world.gamma).agent == keys[6].address


def test_complete_by_the_agent_settles_at_once(run, client, manager, world, keys):
    owner_before = client.balance(keys[0].address)

    result = run("sessions", "complete", world.gamma, "--as", "3")

    assert result.code == 0, result
    state = manager.state(world.gamma)
    assert state.status is Status.COMPLETED and state.closed
    assert client.balance(keys[0].address) - owner_before == ETHER // 2


# ---------------------------------------------------------------------------------------------------------
# update
# ---------------------------------------------------------------------------------------------------------


def test_update_moves_the_expiry_and_sets_eth_limits(run, client, manager, world):
    result = run("sessions", "update", world.alpha, "--expiry", "72h", "--token", "ETH", "--per-call", "0.05",
                 "--per-period", "0.5", "--json")

    assert result.code == 0, result
    assert len(result.json["transactions"]) == 2
    state = manager.state(world.alpha)
    expiry_block = client.rpc.get_block(result.json["transactions"][0]["block"])
    sent_at = int(expiry_block["timestamp"], 16)
    assert sent_at - 5 <= state.expiry_timestamp - 72 * 3600 <= sent_at  # "72h" counted from the chain's now
    budget = state.budget(NATIVE)
    assert (budget.per_call_cap, budget.period_allowance) == (ETHER // 20, ETHER // 2)


def test_update_reads_token_amounts_with_the_tokens_decimals(run, manager, world):
    result = run("sessions", "update", world.alpha, "--token", world.token, "--per-period", "40")

    assert result.code == 0, result
    budget = manager.state(world.alpha).budget(world.token)
    assert budget.period_allowance == 40 * TUSD
    assert budget.per_call_cap == 10 * TUSD  # not given: kept


def test_update_takes_an_iso_expiry(run, client, manager, world):
    target = datetime.fromtimestamp(client.now(), tz=timezone.utc).replace(microsecond=0) + timedelta(days=3)

    result = run("sessions", "update", world.gamma, "--expiry", target.strftime("%Y-%m-%dT%H:%M:%SZ"))

    assert result.code == 0, result
    assert manager.state(world.gamma).expiry == target


def test_update_of_a_child_beyond_its_parent_exits_1_with_the_typed_error(run, manager, world):
    parent_expiry = manager.state(world.alpha).expiry_timestamp

    result = run("sessions", "update", world.beta, "--expiry", "30d")

    assert result.code == 1, result
    assert result.err.startswith(f"Error: ExpiryExceedsParent(parent={world.alpha}, expiry=")
    assert datetime.fromtimestamp(parent_expiry, tz=timezone.utc).isoformat() in result.err
    assert "Traceback" not in result.out + result.err


# ---------------------------------------------------------------------------------------------------------
# on-chain rule violations: exit 1, the typed message, no traceback
# ---------------------------------------------------------------------------------------------------------


def test_resume_of_an_active_session_exits_1_with_session_not_paused(run, world):
    result = run("sessions", "resume", world.alpha)

    assert result.code == 1, result
    assert result.err.startswith("Error: SessionNotPaused(session=1, status=active)")
    assert "not paused" in result.err  # the explanation line
    assert "Traceback" not in result.out + result.err


def test_pause_by_a_stranger_exits_1_with_not_controller(run, world, keys, manager):
    result = run("sessions", "pause", world.alpha, "--as", "4")

    assert result.code == 1, result
    assert result.err.startswith(f"Error: NotController(session=1, caller={keys[4].address})")
    assert manager.status(world.alpha) is Status.ACTIVE


def test_close_of_a_live_session_exits_1_with_session_not_ended(run, world):
    result = run("sessions", "close", world.gamma)

    assert result.code == 1, result
    assert result.err.startswith("Error: SessionNotEnded(session=3, status=active)")


def test_complete_by_a_stranger_exits_1_with_not_agent_or_controller(run, world, keys):
    result = run("sessions", "complete", world.gamma, "--as", "4")

    assert result.code == 1, result
    assert result.err.startswith(f"Error: NotAgentOrController(session=3, caller={keys[4].address})")


def test_an_owner_without_a_manager_exits_1_saying_what_to_run(run, world, keys):
    result = run("sessions", "list", "--owner", "7")

    assert result.code == 1, result
    assert f"{keys[7].address} has no manager" in result.err
    assert "ape run deploy" in result.err


def test_a_manager_address_without_code_exits_1(run, world):
    result = run("sessions", "list", "--manager", "0x000000000000000000000000000000000000dEaD")

    assert result.code == 1, result
    assert "no contract at 0x000000000000000000000000000000000000dEaD" in result.err


def test_an_explicit_manager_is_used_over_the_owners(run, world, keys):
    other = run("deploy", "--owner", "6", "--json").json["manager"]

    mine = run("sessions", "list", "--manager", world.manager, "--owner", "6", "--json")
    theirs = run("sessions", "list", "--owner", "6", "--json")

    assert len(mine.json) == 3
    assert theirs.json == []
    assert other != world.manager


# ---------------------------------------------------------------------------------------------------------
# bad arguments: exit 2, click's message, no traceback
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("inspect", "abc"), "no session labelled 'abc'"),
        (("inspect", "0"), "session ids start at 1"),
        (("pause",), "Missing argument 'ID'"),
        (("close",), "Missing argument 'ID...'"),
        (("rotate", "1", "0x1234"), "'0x1234' is not an address"),
        (("update", "1"), "nothing to update"),
        (("update", "1", "--expiry", "soon"), "cannot read 'soon' as an expiry"),
        (("update", "1", "--param", "budget=1"), "unknown parameter 'budget'"),
        (("update", "1", "--token", "ETH"), "--token needs --per-call and/or --per-period"),
        (("update", "1", "--token", "DAI", "--per-call", "1"), "no token 'DAI'"),
        (("update", "1", "--token", "ETH", "--per-call", "-1"), "must not be negative"),
        (("update", "1", "--token", "ETH", "--per-call", "lots"), "cannot read 'lots' as an amount"),
        (("list", "--status", "sleeping"), "'sleeping' is not one of"),
        (("list", "--owner", "nobody"), "no account 'nobody'"),
        (("list", "--agent", "nobody"), "no account 'nobody'"),
        (("dashboard", "--interval", "0"), "must be at least 0.1 s"),
        (("launch",), "No such command 'launch'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_bad_arguments_exit_2_with_the_reason(run, world, args, message):
    result = run("sessions", *args)

    assert result.code == 2, result
    assert message in result.err
    assert "Traceback" not in result.out + result.err
