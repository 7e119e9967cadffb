"""`ape run sessions audit` and `ape run sessions dashboard`, and the SDK pieces behind them."""

from __future__ import annotations

from agent_sessions import NATIVE, SessionParams
from agent_sessions.domain.audit import audit

from .conftest import ETHER, TUSD

# ---------------------------------------------------------------------------------------------------------
# audit
# ---------------------------------------------------------------------------------------------------------


def test_audit_of_a_clean_manager_is_ok(run, world):
    result = run("sessions", "audit")

    assert result.code == 0, result
    assert "1.4 ETH" in result.out and "250 TUSD" in result.out
    assert result.out.rstrip().endswith("OK")


def test_audit_json_balances_every_token_against_the_escrow(run, world):
    result = run("sessions", "audit", "--json")

    assert result.code == 0, result
    data = result.json
    assert data["ok"] is True and data["solvent"] is True
    assert data["manager"] == world.manager
    tokens = {t["token"]: t for t in data["tokens"]}
    assert list(tokens) == [NATIVE, world.token]
    eth = tokens[NATIVE]
    assert eth["balance"] == eth["escrowed"] == str(14 * ETHER // 10)  # 0.6 + 0.3 + 0.5 left
    assert eth["difference"] == "0" and eth["executor_balance"] == "0" and eth["verdict"] == "ok"
    assert tokens[world.token]["escrowed"] == str(250 * TUSD)
    assert data["sessions"] == 3 and data["unclosed"] == 3
    assert data["awaiting_close"] == [] and data["problems"] == []


def test_audit_reports_a_donation_as_a_surplus_and_exits_1(run, world, token, keys):
    token.transact("transfer", world.manager, 5 * TUSD, sender=keys[0])  # straight to the manager

    result = run("sessions", "audit", "--json")

    assert result.code == 1, result
    data = result.json
    assert data["ok"] is False and data["solvent"] is True
    tusd = next(t for t in data["tokens"] if t["token"] == world.token)
    assert tusd["verdict"] == "surplus"
    assert tusd["difference"] == str(5 * TUSD)
    assert tusd["balance"] == str(255 * TUSD) and tusd["escrowed"] == str(250 * TUSD)
    assert data["problems"] == ["TUSD: surplus of 5 TUSD (sent to the manager outside the contract's entry points)"]


def test_audit_table_shows_the_surplus(run, world, token, keys):
    token.transact("transfer", world.manager, 5 * TUSD, sender=keys[0])

    result = run("sessions", "audit")

    assert result.code == 1, result
    assert "+5 TUSD" in result.out and "surplus" in result.out
    assert "NOT OK (surplus only)" in result.out


def test_audit_allow_surplus_exits_0_on_a_donation(run, world, token, keys):
    token.transact("transfer", world.manager, 5 * TUSD, sender=keys[0])

    result = run("sessions", "audit", "--allow-surplus")

    assert result.code == 0, result


def test_audit_checks_an_extra_token_no_session_holds(run, client, world, keys):
    stray = client.deploy("testing/TestToken", "Stray", "STRAY", 18, sender=keys[0])
    stray.transact("mint", world.manager, ETHER, sender=keys[0])

    without = run("sessions", "audit", "--json")
    with_token = run("sessions", "audit", "--token", stray.address, "--json")

    assert without.code == 0, without
    assert with_token.code == 1, with_token
    stray_row = next(t for t in with_token.json["tokens"] if t["token"] == stray.address)
    assert stray_row["symbol"] == "STRAY" and stray_row["difference"] == str(ETHER)


def test_audit_lists_ended_sessions_awaiting_close(run, world):
    assert run("sessions", "revoke", world.alpha).code == 0

    result = run("sessions", "audit", "--json")

    assert result.code == 0, result  # still balanced: revoked escrow stays until close
    waiting = {s["id"]: s for s in result.json["awaiting_close"]}
    assert set(waiting) == {world.alpha, world.beta}  # beta ended with its parent
    assert waiting[world.beta]["status"] == "revoked"
    assert waiting[world.alpha]["available"][NATIVE] == str(6 * ETHER // 10)
    eth = next(t for t in result.json["tokens"] if t["token"] == NATIVE)
    assert eth["awaiting_close"] == str(9 * ETHER // 10)

    assert run("sessions", "close", world.beta, world.alpha).code == 0
    after = run("sessions", "audit", "--json")
    assert after.code == 0 and after.json["awaiting_close"] == [] and after.json["unclosed"] == 1


def test_audit_report_finds_a_deficit_when_the_manager_holds_less_than_the_escrow(client, manager, world):
    # A deficit cannot happen through the contract; fake one by rewriting the manager's ETH balance.
    client.rpc.request("anvil_setBalance", [manager.address, hex(ETHER)])

    report = audit(manager)

    eth = report.token(NATIVE)
    assert eth.verdict == "deficit" and eth.deficit == 4 * ETHER // 10
    assert not report.ok and not report.solvent
    assert report.problems()[0].startswith("ETH: deficit of 0.4 ETH")


def test_audit_report_flags_funds_left_in_the_executor(client, manager, world):
    executor = manager.call("executor")
    client.rpc.request("anvil_setBalance", [executor, hex(1)])

    report = audit(manager)

    assert report.token(NATIVE).verdict == "executor"
    assert not report.solvent
    assert "ETH: the executor holds 0.000000000000000001 ETH" in report.problems()


# ---------------------------------------------------------------------------------------------------------
# dashboard
# ---------------------------------------------------------------------------------------------------------


def test_dashboard_once_draws_every_session_and_the_totals(run, world):
    result = run("sessions", "dashboard", "--once")

    assert result.code == 0, result
    out = result.out
    for label in ("alpha", "beta", "gamma"):
        assert label in out
    assert "3 sessions" in out and "3 active" in out
    assert "escrow left" in out and "1.4 ETH" in out and "250 TUSD" in out
    assert "0.1 / 0.6 ETH" in out
    assert "in 1h 59m" in out or "in 2h" in out  # gamma's expiry, relative to the chain's time
    assert "chain 31337" in out


def test_dashboard_hides_closed_sessions_unless_asked(run, world):
    assert run("sessions", "complete", world.gamma).code == 0

    default = run("sessions", "dashboard", "--once")
    everything = run("sessions", "dashboard", "--once", "--all")

    assert "gamma" not in default.out and "1 closed not shown" in default.out
    assert "gamma" in everything.out and "completed" in everything.out


def test_dashboard_refreshes_until_its_duration_is_over(run, world):
    result = run("sessions", "dashboard", "--interval", "0.1", "--duration", "0.5")

    assert result.code == 0, result
    assert "alpha" in result.out


def test_dashboard_all_managers_draws_each_manager_of_the_owner(run, world):
    second = run("deploy", "--salt", "2", "--json").json["manager"]

    result = run("sessions", "dashboard", "--once", "--all-managers")

    assert result.code == 0, result
    assert f"manager {world.manager}" in result.out
    assert f"manager {second}" in result.out
    assert "no sessions" in result.out  # the new manager is empty


def test_a_payout_the_token_refused_is_owed_audited_and_claimed_elsewhere(run, manager, world, keys, project,
                                                                           accounts):
    """Closing a root whose holder the token blocks pays out the rest and keeps the token's share as a claim:
    the audit counts it as owed (still balanced), `sessions claim --to` sends it elsewhere."""
    owner, agent, elsewhere = keys[0], keys[1], keys[4]
    blk = project.WeirdBlocklistToken.deploy(sender=accounts[0])
    blk.mint(owner.address, 1_000, sender=accounts[0])
    blk.approve(manager.address, 1_000, sender=accounts[0])
    session = manager.create_session(SessionParams(agent=agent.address, expiry="1d", any_target=True,
                                                   budgets={NATIVE: "0.1 ether", blk.address: 1_000}), owner)
    manager.revoke(session.id, owner)
    blk.setBlocked(owner.address, True, sender=accounts[0])
    manager.close(session.id, owner)
    assert manager.owed(owner.address, blk.address) == 1_000

    audited = run("sessions", "audit", "--json")
    assert audited.code == 0, audited
    row = next(t for t in audited.json["tokens"] if t["token"] == blk.address)
    assert (row["balance"], row["escrowed"], row["owed"], row["difference"]) == ("1000", "0", "1000", "0")
    table = run("sessions", "audit")
    assert "owed" in table.out and table.code == 0, table

    claimed = run("sessions", "claim", blk.address, "--to", elsewhere.address, "--json")
    assert claimed.code == 0, claimed
    assert (claimed.json["payee"], claimed.json["to"], claimed.json["amount"]) == (
        owner.address, elsewhere.address, "1000")
    assert blk.balanceOf(elsewhere.address) == 1_000
    assert manager.total_owed(blk.address) == 0

    again = run("sessions", "claim", blk.address)
    assert again.code == 1 and "NothingToClaim" in again.out + again.err, again
