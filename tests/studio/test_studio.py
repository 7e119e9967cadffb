"""Session Studio end to end: a real chromium against the studio serving a fleet of 1,000+ sessions on Anvil.

Each test uses its own sessions of the shared world (see conftest), so their order does not matter.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from agent_sessions import NATIVE, Status
from agent_sessions.domain.tokens import TokenBook

from .conftest import WORKERS, shoot

pytestmark = pytest.mark.usefixtures("studio_server")

STATIC = Path(__file__).resolve().parents[2] / "sdk" / "agent_sessions" / "studio" / "static"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


def expect():
    from playwright.sync_api import expect as _expect

    return _expect


def matched(page) -> int:
    return int(re.match(r"(\d+) session", page.locator("#matched").inner_text()).group(1))


def wait_matched(page, count: int) -> None:
    expect()(page.locator("#matched")).to_have_text(re.compile(rf"^{count} sessions? match"))


# ================================================================================================================
# fleet
# ================================================================================================================


def test_fleet_loads_every_session_and_filters_narrow_it(page, studio_server, world):
    page.goto(studio_server.url + "/fleet")
    total = WORKERS + 4
    expect()(page.locator("#total")).to_have_text(str(total))
    assert matched(page) == total  # nothing closed yet: every session matches
    assert page.locator("#session-table tbody tr.session-row").count() == 50  # paged
    shoot(page, "fleet-table")

    page.fill("#f-label", "worker-09")
    wait_matched(page, 100)
    labels = page.locator("#session-table tbody tr.session-row td.label").all_inner_texts()
    assert len(labels) == 50 and all(label.startswith("worker-09") for label in labels)

    page.fill("#f-label", "")
    page.select_option("#f-status", "paused")
    paused = [s.id for s in world.manager.list_sessions(status="paused")]
    wait_matched(page, len(paused))
    shown = [int(x) for x in page.locator("#session-table tbody tr.session-row").evaluate_all(
        "rows => rows.map(r => r.dataset.session)")]
    assert shown == paused and len(paused) >= 3
    assert set(page.locator("#session-table .status").all_inner_texts()) == {"paused"}

    page.select_option("#f-status", "")
    page.fill("#f-agent", world.keys[3].address[:12])
    by_agent = [s.id for s in world.manager.list_sessions(agent=world.keys[3].address)]
    wait_matched(page, len(by_agent))
    assert f"agent={world.keys[3].address[:12]}" in page.url  # the filters are in the address (shareable)
    # no page snapshot (with its CSRF token) is kept in the browser's storage
    assert "htmx-history-cache" not in page.evaluate("Object.keys(localStorage).concat(Object.keys(sessionStorage))")


def test_fleet_orders_by_what_needs_a_look_first(page, studio_server, world):
    page.goto(studio_server.url + "/fleet?sort=expiry")
    expiries = page.locator("#session-table tr.session-row .countdown").evaluate_all(
        "cs => cs.map(c => Number(c.dataset.deadline))")
    assert expiries == sorted(expiries) and expiries[0] < max(s.state.expiry_timestamp
                                                              for s in world.manager.list_sessions())
    # the first rows expire soonest: the tree's children (2-3 days) before the 7-day workers
    assert page.locator("#session-table tr.session-row").first.get_attribute("data-session") == str(world.grandkid.id)
    page.select_option("#f-sort", "left")
    page.wait_for_url(re.compile("sort=left"))
    ratios = page.locator("#session-table tr.session-row td.bars:nth-of-type(7) meter").evaluate_all(
        "ms => ms.map(m => Number(m.value))")
    assert ratios[:5] == sorted(ratios[:5]) and ratios[0] < 1


def test_fleet_pages_through_ten_thousand_rows_without_loading_them(page, studio_server, world):
    page.goto(studio_server.url + "/fleet?page=3")
    first = page.locator("#session-table tbody tr.session-row").first
    assert first.get_attribute("data-session") == str(world.workers[100].id)
    page.get_by_role("link", name="Next page").first.click()
    expect()(page.locator("#matched")).to_contain_text("page 4 of")
    assert page.locator("#session-table tbody tr.session-row").first.get_attribute("data-session") == str(
        world.workers[150].id)


def test_a_filtered_tree_opens_the_way_to_its_matches(page, studio_server, world):
    page.goto(studio_server.url + "/fleet?view=tree&label=grandkid")
    wait_matched(page, 3)  # the match and its two ancestors
    expect()(page.locator(f'li.node[data-session="{world.grandkid.id}"]')).to_be_visible()
    assert page.locator(f'button.toggle[data-id="{world.tree_root.id}"]').get_attribute("aria-expanded") == "true"


def test_tree_expands_to_children_and_grandchildren(page, studio_server, world):
    page.goto(studio_server.url + f"/fleet?view=tree&page={world.tree_root.id // 50 + 1}")
    root = page.locator(f'li.node[data-session="{world.tree_root.id}"]')
    toggle = root.locator(":scope > .node-line button.toggle")
    expect()(toggle).to_have_attribute("aria-expanded", "false")
    kids = root.locator(":scope > ul.kids > li.node")
    assert kids.count() == 0 or not root.locator(":scope > ul.kids").is_visible()
    toggle.click()
    expect()(toggle).to_have_attribute("aria-expanded", "true")
    expect()(toggle).to_have_attribute("aria-label", f"Collapse the 2 children of session {world.tree_root.id}")
    expect()(kids).to_have_count(2)
    assert [int(k) for k in kids.evaluate_all("ks => ks.map(k => k.dataset.session)")] == [world.kid_a.id,
                                                                                         world.kid_b.id]
    kid_a = page.locator(f'li.node[data-session="{world.kid_a.id}"]')
    kid_a.locator(":scope > .node-line button.toggle").click()
    expect()(kid_a.locator(":scope > ul.kids > li.node")).to_have_count(1)
    expect()(page.locator(f'li.node[data-session="{world.grandkid.id}"] .label')).to_have_text("tree-grandkid")
    shoot(page, "fleet-tree")
    # a live redraw (another session changed) keeps what was opened, and the keyboard focus where it was
    toggle.focus()
    page.evaluate("document.getElementById('matched').__old = true")
    world.manager.pause(world.worker(30).id, world.keys[0])
    page.wait_for_function("!document.getElementById('matched').__old")
    expect()(page.locator(f'li.node[data-session="{world.grandkid.id}"]')).to_be_visible()
    expect()(toggle).to_have_attribute("aria-expanded", "true")
    page.wait_for_function("document.activeElement.dataset.id === '%d'" % world.tree_root.id, timeout=2_000)
    # collapsing hides them again
    toggle.click()
    expect()(root.locator(":scope > ul.kids")).to_be_hidden()
    expect()(toggle).to_have_attribute("aria-expanded", "false")


def test_fleet_health_shows_ancestors_that_stop_a_session(page, studio_server, world):
    # pausing kid-a stops the grandchild: the fleet says which ancestor
    world.manager.pause(world.kid_a.id, world.keys[0])
    try:
        page.goto(studio_server.url + "/fleet?label=tree-grandkid")
        row = page.locator(f'tr.session-row[data-session="{world.grandkid.id}"]')
        expect()(row.locator(".blocker")).to_have_text(f"paused ancestor #{world.kid_a.id}")
        expect()(row.locator(".status")).to_have_text("paused")
        meter = row.locator("meter").first
        assert meter.get_attribute("aria-label").startswith(f"ETH remaining of session {world.grandkid.id}: 0.002 ETH")
        # with the root paused too, the root is the cause shown (every session under it reports paused)
        world.manager.pause(world.tree_root.id, world.keys[0])
        expect()(row.locator(".blocker")).to_have_text(f"paused ancestor #{world.tree_root.id}")
        world.manager.resume(world.tree_root.id, world.keys[0])
        expect()(row.locator(".blocker")).to_have_text(f"paused ancestor #{world.kid_a.id}")
        page.select_option("#f-health", "blocked")
        page.fill("#f-label", "")
        wait_matched(page, 1)
        assert page.locator("#session-table tr.session-row").get_attribute("data-session") == str(world.grandkid.id)
    finally:
        for sid in (world.tree_root.id, world.kid_a.id):
            if world.manager.status(sid) is Status.PAUSED:
                world.manager.resume(sid, world.keys[0])


def test_health_filter_finds_a_spent_period_window(page, studio_server, world):
    session = world.worker(50)  # 0.004 per call, 0.008 per window, 0.01 in all
    agent = world.keys[1 + 50 % 3]
    for _ in range(2):
        world.manager.execute(session.id, world.keys[5].address, 4 * 10**15, sender=agent)
    page.goto(studio_server.url + "/fleet?health=window")
    row = page.locator(f'tr.session-row[data-session="{session.id}"]')
    expect()(row).to_have_count(1)
    assert row.locator("td.bars").nth(1).locator("meter").get_attribute("value") == "1.0"
    page.goto(studio_server.url + "/fleet?health=low")  # 0.002 of 0.01 left: 20%, not below
    expect()(page.locator(f'tr.session-row[data-session="{session.id}"]')).to_have_count(0)


# ================================================================================================================
# session page
# ================================================================================================================


def test_session_page_shows_the_remaining_budget_from_the_chain(page, studio_server, world):
    root = world.tree_root
    page.goto(studio_server.url + f"/session/{world.key}/{root.id}")
    remaining = world.manager.remaining(root.id)
    # 0.05 escrowed, 0.02 reserved for the two children, 0.006 spent in two calls
    assert remaining == 24 * 10**15
    cell = page.locator('#budgets tr[data-token="ETH"] td.remaining')
    expect()(cell).to_have_text(TokenBook().format(NATIVE, remaining))
    assert cell.get_attribute("data-raw") == str(remaining)
    expect()(page.locator("#children li")).to_have_count(2)
    expect()(page.locator("#spends tbody tr")).to_have_count(2)
    chart = page.locator("#spend-chart")
    expect()(chart).to_have_attribute("data-totals", "0.006 ETH")  # the two spends, summed from events
    assert chart.get_attribute("data-points") == "3" and chart.locator("canvas").count() == 1  # created + 2 spends
    shoot(page, "session")


def test_check_view_explains_an_over_budget_spend(page, studio_server, world):
    session = world.worker(20)
    page.goto(studio_server.url + f"/session/{world.key}/{session.id}")
    page.fill("#check-value", "0.009 ether")
    page.click("#check-form button[type=submit]")
    answer = page.locator("#check-answer")
    expect()(answer.locator(".error-name")).to_have_text("PerCallCapExceeded")
    expect()(answer).to_contain_text("0.009 ETH")
    page.fill("#check-value", "0.001 ether")
    page.click("#check-form button[type=submit]")
    expect()(page.locator("#check-answer")).to_contain_text("Passes now")


# ================================================================================================================
# actions and live updates
# ================================================================================================================


def test_pause_done_in_the_ui_is_on_chain(page, studio_server, world):
    session = world.worker(100)
    page.goto(studio_server.url + f"/session/{world.key}/{session.id}")
    expect()(page.locator("#devmode")).to_contain_text("DEV MODE")
    page.get_by_role("button", name=f"Pause session {session.id}").click()
    dialog = page.locator("#action-dialog")
    expect()(dialog.locator("#preflight-ok")).to_be_visible()
    expect()(dialog).to_contain_text(f"status of #{session.id} (statusOf)")
    expect()(dialog).to_contain_text("active")
    shoot(page, "action-preflight")
    dialog.locator("#action-send").click()
    expect()(dialog.locator("#action-sent")).to_contain_text("Done in block")
    assert world.manager.status(session.id) is Status.PAUSED
    dialog.locator("#action-cancel").click()
    expect()(page.locator("#session-status")).to_have_text("paused")


def test_pause_done_on_chain_appears_without_a_reload(page, studio_server, world):
    session = world.worker(200)
    page.goto(studio_server.url + f"/session/{world.key}/{session.id}")
    expect()(page.locator("#session-status")).to_have_text("active")
    page.evaluate("window.__notReloaded = true")
    start = time.monotonic()
    world.manager.pause(session.id, world.keys[0])
    expect()(page.locator("#session-status")).to_have_text("paused", timeout=5_000)
    seen_after = time.monotonic() - start
    assert page.evaluate("window.__notReloaded") is True
    print(f"pause on chain shown after {seen_after:.2f} s")
    # the fleet table follows too
    page.goto(studio_server.url + "/fleet?label=worker-0200")
    page.evaluate("window.__notReloaded = true")
    world.manager.resume(session.id, world.keys[0])
    expect()(page.locator(f'tr.session-row[data-session="{session.id}"] .status')).to_have_text("active")
    assert page.evaluate("window.__notReloaded") is True


def test_a_session_page_refreshes_only_for_its_own_tree(page, studio_server, world):
    """Another session's change leaves the page (and the keyboard focus) alone; its own redraws it."""
    mine, other = world.worker(800), world.worker(801)
    page.goto(studio_server.url + f"/session/{world.key}/{mine.id}")
    page.get_by_role("button", name=f"Pause session {mine.id}").focus()
    page.evaluate("document.getElementById('session-live').__same = true")
    receipt = world.manager.pause(other.id, world.keys[0])
    page.wait_for_function(f"Number(document.querySelector('.block-number').textContent) >= {receipt.block_number}")
    page.wait_for_timeout(600)  # the change event follows the block within a poll
    assert page.evaluate("document.getElementById('session-live').__same === true")
    assert page.evaluate("document.activeElement.dataset.action") == "pause"
    world.manager.pause(mine.id, world.keys[0])
    expect()(page.locator("#session-status")).to_have_text("paused")
    assert page.evaluate("document.getElementById('session-live').__same") is None


def test_new_blocks_show_within_a_second(page, studio_server, world):
    page.goto(studio_server.url + "/fleet")
    page.wait_for_function("document.getElementById('live').classList.contains('on')")
    before = world.client.rpc.block_number()
    world.client.rpc.request("evm_mine", [])
    page.wait_for_function(f"document.querySelector('.block-number').textContent === '{before + 1}'",
                           timeout=1_000)


def test_over_budget_action_shows_the_contracts_reason(page, studio_server, world):
    kid = world.kid_b  # holds 0.01 ETH; its parent has 0.024 ETH left to reserve
    page.goto(studio_server.url + f"/session/{world.key}/{kid.id}")
    page.get_by_role("button", name=f"Fund session {kid.id}").click()
    dialog = page.locator("#action-dialog")
    dialog.get_by_label("Amount").fill("5 ether")
    dialog.locator("#action-check").click()
    expect()(dialog).to_contain_text(f"parent #{world.tree_root.id} has (remaining)0.024 ETH")
    refused = dialog.locator("#preflight-refused")
    expect()(refused.locator(".error-name")).to_have_text("BudgetExceeded")
    expect()(refused.locator(".explanation")).to_contain_text(
        f"session {world.tree_root.id}: spending 5 ETH of ETH exceeds the remaining 0.024 ETH")
    shoot(page, "action-refused")
    # editing the amount withdraws the answer: nothing is sent on a stale check
    dialog.get_by_label("Amount").fill("6 ether")
    expect()(dialog.locator("#action-send")).to_be_disabled()
    expect()(dialog.locator("#preflight-refused")).to_have_count(0)
    dialog.locator("#action-check").click()
    expect()(dialog.locator("#preflight-refused .explanation")).to_contain_text("spending 6 ETH")
    # sending anyway: the SDK's typed error, in words; nothing reaches the chain
    before = world.manager.remaining(kid.id)
    dialog.locator("#action-send").click()
    expect()(dialog.locator("#action-result .error-name")).to_have_text("BudgetExceeded")
    expect()(dialog.locator("#action-result")).to_contain_text("exceeds the remaining")
    assert world.manager.remaining(kid.id) == before


def test_browser_wallet_signs_when_present(browser_context, studio_server, world):
    """EIP-1193: with a wallet in the page, the studio only prepares the transaction; the wallet sends it."""
    session = world.worker(400)
    wallet = world.keys[0].address
    page = browser_context.new_page()
    sent: list[dict] = []

    def rpc(method, params):
        if method == "eth_sendTransaction":
            sent.append(params[0])
        return world.client.rpc.request(method, params)  # Anvil's accounts are unlocked

    page.expose_function("__walletRpc", rpc)
    page.add_init_script(f"""window.ethereum = {{isTest: true, request: ({{method, params}}) => {{
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return Promise.resolve(['{wallet}']);
        return window.__walletRpc(method, params || []); }} }};""")
    try:
        page.goto(studio_server.url + f"/session/{world.key}/{session.id}")
        page.get_by_role("button", name="Connect wallet").click()
        expect()(page.locator("#signer-mode")).to_contain_text(wallet)
        page.get_by_role("button", name=f"Pause session {session.id}").click()
        dialog = page.locator("#action-dialog")
        expect()(dialog.locator("#preflight-ok")).to_be_visible()
        dialog.locator("#action-send").click()
        expect()(dialog.locator("#action-sent")).to_contain_text("Sent from your wallet")
        assert len(sent) == 1 and sent[0]["from"] == wallet and sent[0]["to"] == world.manager.address
        assert world.manager.status(session.id) is Status.PAUSED
    finally:
        page.close()


def test_activity_feed_shows_events_live(page, studio_server, world):
    session = world.worker(300)
    page.goto(studio_server.url + "/activity")
    expect()(page.locator("#feed-list li.event").first).to_be_visible()
    page.evaluate("window.__notReloaded = true")
    world.manager.revoke(session.id, world.keys[0])
    item = page.locator(f'#feed-list li[data-event="SessionRevoked"][data-session="{session.id}"]')
    expect()(item).to_have_count(1)
    assert page.evaluate("window.__notReloaded") is True
    assert page.locator("#feed-list li.event").first.get_attribute("data-session") == str(session.id)
    shoot(page, "activity")
    page.select_option("#a-kind", "SessionCreated")
    expect()(page.locator("#feed-list li.event").first).to_have_attribute("data-event", "SessionCreated")
    assert set(page.locator("#feed-list li.event").evaluate_all("ls => ls.map(l => l.dataset.event)")) == {
        "SessionCreated"}


# ================================================================================================================
# wizard
# ================================================================================================================


def test_wizard_builds_params_json_with_units(page, studio_server, world):
    page.goto(studio_server.url + "/wizard")
    expect()(page.locator(".note")).to_contain_text("EIP-712")
    page.fill("#w-agent", world.keys[4].address)
    page.fill("#w-label", "from-the-wizard")
    page.fill("#w-expires", "72h")
    page.fill("#w-period", "1d")
    page.fill("#w-b0-amount", "0.5 ether")
    page.fill("#w-b0-per-call", "0.1 ether")
    page.fill("#w-b0-per-period", "0.25 ether")
    page.click("#w-build")
    expect()(page.locator("#w-json")).to_contain_text('"amount": "500000000000000000"')
    import json

    params = json.loads(page.locator("#w-json").inner_text())
    assert params["expiry"] == {"seconds_from_now": 72 * 3600}
    assert params["period"] == 86_400 and params["label"] == "from-the-wizard"
    assert params["budgets"] == [{"token": NATIVE, "amount": str(5 * 10**17), "per_call_cap": str(10**17),
                                  "period_allowance": str(25 * 10**16)}]
    shoot(page, "wizard")
    # a unit that is not ETH's, and a per-period allowance without a period: both said in words
    page.fill("#w-b0-amount", "0.5 USDC")
    page.click("#w-build")
    expect()(page.locator("#w-problems")).to_contain_text("budgets[0].amount")
    expect()(page.locator("#w-json")).to_have_text("—")


def _wallet_page(browser_context, world, account, calls: list[str]):
    """A page with an EIP-1193 wallet whose account is ``account``: it signs typed data with that dev key and sends
    everything else to Anvil. ``calls`` records the methods asked of it."""
    import json

    from agent_sessions.wallet.typed_data import sign_typed

    key = next(k for k in world.keys if k.address == account)
    page = browser_context.new_page()

    def rpc(method, params):
        calls.append(method)
        if method == "eth_signTypedData_v4":
            assert params[0] == account
            return "0x" + sign_typed(key, json.loads(params[1])).hex()
        return world.client.rpc.request(method, params)

    page.expose_function("__walletRpc", rpc)
    page.add_init_script(f"""window.ethereum = {{isTest: true, request: ({{method, params}}) => {{
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return Promise.resolve(['{account}']);
        return window.__walletRpc(method, params || []); }} }};""")
    return page


def _fill_grant(page, world, label: str, amount: str) -> None:
    page.fill("#w-agent", world.keys[4].address)
    page.fill("#w-label", label)
    page.fill("#w-expires", "2d")
    page.fill("#w-b0-amount", amount)


def test_a_grant_signed_by_the_browser_wallet_opens_the_session(browser_context, studio_server, world):
    """The owner's wallet signs the Grant typed data; the studio checks the signature and sends it."""
    from agent_sessions.wallet import deposit, deposit_of

    owner = world.keys[0]
    deposit(world.manager, "0.02 ether", owner)
    before = deposit_of(world.manager, owner.address)
    calls: list[str] = []
    page = _wallet_page(browser_context, world, owner.address, calls)
    try:
        page.goto(studio_server.url + "/wizard")
        _fill_grant(page, world, "granted-by-wallet", "0.02 ether")
        page.click("#w-grant")
        opened = page.locator("#grant-opened")
        expect()(opened).to_contain_text("session #")
        assert calls.count("eth_signTypedData_v4") == 1 and "eth_sendTransaction" not in calls
        shoot(page, "wizard-grant-opened")
        link = opened.locator("a")
        sid = int(link.inner_text().removeprefix("session #"))
        state = world.manager.state(sid)
        assert state.label == "granted-by-wallet" and state.agent == world.keys[4].address
        assert state.holder == owner.address and state.parent_id == 0
        assert world.manager.remaining(sid) == 2 * 10**16
        assert deposit_of(world.manager, owner.address) == before - 2 * 10**16
        link.click()
        page.wait_for_url(re.compile(rf"/session/.*/{sid}$"))
        expect()(page.locator('.crumbs [aria-current="page"]')).to_have_text(f"#{sid}")
    finally:
        page.close()


def test_a_wallet_that_is_not_the_owner_is_refused_before_signing(browser_context, studio_server, world):
    stranger = world.keys[4].address
    count = world.manager.count()
    calls: list[str] = []
    page = _wallet_page(browser_context, world, stranger, calls)
    try:
        page.goto(studio_server.url + "/wizard")
        _fill_grant(page, world, "not-my-manager", "0.01 ether")
        page.click("#w-grant")
        result = page.locator("#w-grant-result")
        expect()(result.locator(".error-line")).to_contain_text(f"The connected account {stranger} is not the owner")
        expect()(result.locator(".explanation")).to_contain_text(f"Only the owner, {world.keys[0].address}")
        assert "eth_signTypedData_v4" not in calls and "eth_sendTransaction" not in calls
        assert world.manager.count() == count
    finally:
        page.close()


def test_without_a_dev_key_the_wallets_grant_is_handed_back_to_download(browser_context, world):
    import json

    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer
    from agent_sessions.wallet import SignedGrant

    owner = world.keys[0].address
    view = FleetView.from_rpc([world.anvil.url], managers=[world.manager.address], names=[world.chain]).load()
    calls: list[str] = []
    page = _wallet_page(browser_context, world, owner, calls)
    count = world.manager.count()
    try:
        with BackgroundServer(Studio(view)) as server:
            page.goto(server.url + "/wizard")
            expect()(page.locator(".note")).to_contain_text("agent-sessions relay")
            _fill_grant(page, world, "for-a-relayer", "0.5 ether")
            page.click("#w-grant")
            expect()(page.locator("#grant-signed")).to_contain_text("submit the signed grant elsewhere")
            expect()(page.locator("#grant-warning .error-name")).to_have_text("DepositTooLow")
            signed = SignedGrant.from_dict(json.loads(page.locator("#w-signed").inner_text()))
            assert signed.recovered == owner and signed.owner == owner
            with page.expect_download() as caught:
                page.click("#w-signed-download")
            saved = json.loads(Path(caught.value.path()).read_text())
            assert saved["signature"] == "0x" + signed.signature.hex()
            assert caught.value.suggested_filename.startswith("grant-")
    finally:
        page.close()
    assert "eth_sendTransaction" not in calls and world.manager.count() == count


def test_a_grant_beyond_the_deposit_is_refused_in_words(page, studio_server, world):
    """Dev mode, no browser wallet: the owner's dev key signs; the contract's DepositTooLow is said in ETH."""
    count = world.manager.count()
    page.goto(studio_server.url + "/wizard")
    _fill_grant(page, world, "too-big", "1000 ether")
    page.click("#w-grant")
    result = page.locator("#w-grant-result")
    expect()(result.locator(".error-name")).to_have_text("DepositTooLow")
    expect()(result).to_contain_text("1000 ETH is needed")
    shoot(page, "wizard-grant-deposit-too-low")
    assert world.manager.count() == count


# ================================================================================================================
# accessibility
# ================================================================================================================

_UNLABELLED = """() => {
  const name = el => (el.labels && el.labels.length && [...el.labels].map(l => l.textContent.trim()).join(' '))
    || el.getAttribute('aria-label') || (el.getAttribute('aria-labelledby') &&
       document.getElementById(el.getAttribute('aria-labelledby'))?.textContent.trim())
    || ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim()) || el.getAttribute('title') || '';
  return [...document.querySelectorAll('input, select, textarea, button, a[href], meter, [role=img], pre[tabindex]')]
    .filter(el => el.type !== 'hidden' && !el.hidden)
    .filter(el => !name(el)).map(el => el.outerHTML.slice(0, 120));
}"""


@pytest.mark.parametrize("path", ["/fleet", "/fleet?view=tree&label=tree-", "/session/{key}/{root}", "/activity",
                                  "/wizard"], ids=["fleet", "tree", "session", "activity", "wizard"])
def test_every_control_has_a_label(page, studio_server, world, path):
    page.goto(studio_server.url + path.format(key=world.key, root=world.tree_root.id))
    assert page.evaluate(_UNLABELLED) == []
    if "session" in path:  # the action dialog's own controls too
        page.get_by_role("button", name=f"Rotate agent session {world.tree_root.id}").click()
        assert page.evaluate(_UNLABELLED) == []


def _tab_to(page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_a_redraw_sent_before_a_node_was_closed_leaves_it_closed(page, studio_server, world):
    page.goto(studio_server.url + "/fleet?view=tree&label=tree-")
    root = page.locator(f'li.node[data-session="{world.tree_root.id}"]')
    toggle = root.locator(":scope > .node-line button.toggle")
    expect()(toggle).to_have_attribute("aria-expanded", "true")
    node = toggle.get_attribute("data-node")
    toggle.click()
    expect()(toggle).to_have_attribute("aria-expanded", "false")
    # the answer to a request made while the node was open (no `shut`): the server draws it open
    page.evaluate(
        "htmx.ajax('GET', '/fleet?view=tree&label=tree-&open=' + encodeURIComponent(%r), "
        "{target: '#results', swap: 'innerHTML'})" % node
    )
    _wait_idle(page)
    expect()(toggle).to_have_attribute("aria-expanded", "false")
    expect()(root.locator(":scope > ul.kids")).to_be_hidden()


def _wait_idle(page) -> None:
    """Until no htmx request is in flight and nothing is being swapped in."""
    page.wait_for_function("!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def test_fleet_works_from_the_keyboard(page, studio_server, world):
    page.goto(studio_server.url + "/fleet")
    _tab_to(page, "#f-label")
    page.keyboard.type("tree-")
    wait_matched(page, 4)
    _tab_to(page, "input[name=view][value=table]")  # a radio group is one tab stop; arrows pick
    page.keyboard.press("ArrowRight")
    expect()(page.locator("#session-tree")).to_be_visible()
    _tab_to(page, f'button.toggle[data-id="{world.tree_root.id}"]')
    root = page.locator(f'li.node[data-session="{world.tree_root.id}"]')
    toggle = root.locator(":scope > .node-line button.toggle")
    expect()(toggle).to_have_attribute("aria-expanded", "true")  # a filtered tree opens the way to its matches
    _wait_idle(page)  # the key goes to the toggle, not to a node a redraw is replacing
    page.keyboard.press("Enter")
    expect()(toggle).to_have_attribute("aria-expanded", "false")
    expect()(root.locator(":scope > ul.kids")).to_be_hidden()
    # closed by hand, it stays closed through a live redraw (the filter would unfold it)
    page.evaluate("document.getElementById('matched').__old = true")
    world.manager.pause(world.worker(31).id, world.keys[0])
    page.wait_for_function("!document.getElementById('matched').__old")
    expect()(toggle).to_have_attribute("aria-expanded", "false")
    page.wait_for_function("document.activeElement.dataset.id === '%d'" % world.tree_root.id, timeout=2_000)
    page.keyboard.press("Space")
    expect()(toggle).to_have_attribute("aria-expanded", "true")
    expect()(root.locator(":scope > ul.kids > li.node")).to_have_count(2)
    _tab_to(page, f'a[href="/session/{world.key}/{world.kid_b.id}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/session/.*/{world.kid_b.id}$"))
    # an action from the keyboard: open, check, close with Escape
    _tab_to(page, 'button[data-action="pause"]')
    page.keyboard.press("Enter")
    dialog = page.locator("#action-dialog")
    expect()(dialog.locator("#preflight-ok")).to_be_visible()
    page.keyboard.press("Escape")
    expect()(dialog).to_be_hidden()
    assert world.manager.status(world.kid_b.id) is Status.ACTIVE  # nothing was sent


# ================================================================================================================
# safety and packaging (no browser needed)
# ================================================================================================================


def test_state_changing_requests_need_the_csrf_token_and_the_loopback_host(studio_server, world):
    body = {"action": "pause", "manager": world.key, "session": world.worker(500).id}
    assert requests.post(studio_server.url + "/api/send", json=body).status_code == 403
    wrong = requests.post(studio_server.url + "/api/send", json=body, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    token = studio_server.studio.csrf_token
    foreign = requests.post(studio_server.url + "/api/send", json=body,
                            headers={"X-CSRF-Token": token, "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    rebound = requests.get(studio_server.url + "/fleet", headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    assert world.manager.status(world.worker(500).id) is Status.ACTIVE


def test_the_dev_key_never_reaches_the_browser(studio_server, world):
    secret = world.keys[0].key.hex().removeprefix("0x").lower()
    for path in ["/fleet", f"/session/{world.key}/{world.tree_root.id}", "/activity", "/wizard", "/health"]:
        assert secret not in requests.get(studio_server.url + path).text.lower()
    answer = requests.post(studio_server.url + "/api/preflight", headers={"X-CSRF-Token": studio_server.studio.csrf_token},
                           json={"action": "pause", "manager": world.key, "session": world.worker(501).id})
    assert answer.status_code == 200 and secret not in answer.text.lower()


def _grant_form(world, label: str, amount: str) -> dict:
    return {"manager": world.key, "agent": world.keys[4].address, "label": label, "expires": "1d",
            "budgets": [{"token": "ETH", "amount": amount}], "any_target": True}


def test_grant_endpoints_need_the_csrf_token_and_the_owners_signature(studio_server, world):
    from agent_sessions.wallet.typed_data import sign_typed

    url, token = studio_server.url, studio_server.studio.csrf_token
    form = _grant_form(world, "csrf-check", "0.001 ether")
    for path in ("/api/grant/typed-data", "/api/grant/submit", "/api/grant/dev"):
        assert requests.post(url + path, json=form).status_code == 403
        assert requests.post(url + path, json=form, headers={"X-CSRF-Token": token,
                                                              "Origin": "http://evil.example"}).status_code == 403
    headers = {"X-CSRF-Token": token}
    owner, stranger = world.keys[0], world.keys[4]
    prep = requests.post(url + "/api/grant/typed-data", json={**form, "from": owner.address}, headers=headers)
    assert prep.status_code == 200, prep.text
    typed = prep.json()["typedData"]
    assert typed["primaryType"] == "Grant" and typed["domain"]["verifyingContract"] == world.manager.address
    assert typed["message"]["owner"] == owner.address and typed["message"]["sessions"][0]["label"].startswith("0x")
    assert owner.key.hex().removeprefix("0x").lower() not in prep.text.lower()
    count = world.manager.count()
    # signed by another key: refused before anything is sent
    forged = requests.post(url + "/api/grant/submit", headers=headers,
                           json={"typedData": typed, "signature": "0x" + sign_typed(stranger, typed).hex()})
    assert forged.status_code == 403 and f"not by the manager's owner {owner.address}" in forged.json()["error"]
    # a grant naming another owner, signed by it
    typed_other = {**typed, "message": {**typed["message"], "owner": stranger.address}}
    other = requests.post(url + "/api/grant/submit", headers=headers, json={
        "typedData": typed_other, "signature": "0x" + sign_typed(stranger, typed_other).hex()})
    assert other.status_code == 403 and f"names {stranger.address} as its owner" in other.json()["error"]
    broken = requests.post(url + "/api/grant/submit", headers=headers, json={"typedData": {}, "signature": "0x"})
    assert broken.status_code == 422 and "not a signed grant" in broken.json()["error"]
    problems = requests.post(url + "/api/grant/typed-data", headers=headers,
                             json={**form, "agent": "0x12", "from": owner.address})
    assert problems.status_code == 422 and "agent" in problems.json()["problems"]
    assert world.manager.count() == count


def test_without_a_dev_key_the_signed_grant_comes_back_as_json(world):
    """A studio that sends nothing hands the signed grant back (with what the contract would say now); anyone
    submits it later."""
    from decimal import Decimal

    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer
    from agent_sessions.wallet import SignedGrant, deposit, deposit_of, submit_grant
    from agent_sessions.wallet.typed_data import sign_typed

    owner = world.keys[0]
    wei = deposit_of(world.manager, owner.address) + 3 * 10**15
    view = FleetView.from_rpc([world.anvil.url], managers=[world.manager.address], names=[world.chain]).load()
    studio = Studio(view)
    count = world.manager.count()
    with BackgroundServer(studio) as server:
        headers = {"X-CSRF-Token": studio.csrf_token}
        form = _grant_form(world, "signed-for-later", f"{Decimal(wei) / 10**18} ether")
        prep = requests.post(server.url + "/api/grant/typed-data", json={**form, "from": owner.address},
                             headers=headers).json()
        typed = prep["typedData"]
        out = requests.post(server.url + "/api/grant/submit", headers=headers,
                            json={"typedData": typed, "signature": "0x" + sign_typed(owner, typed).hex()}).json()
        assert requests.post(server.url + "/api/grant/dev", json=form, headers=headers).status_code == 403
    assert out["ok"] and out["submitted"] is False and out["signed"]["typedData"] == typed
    assert out["error_name"] == "DepositTooLow" and "ETH is needed" in out["explanation"]
    assert world.manager.count() == count
    deposit(world.manager, "0.003 ether", owner)
    (session,) = submit_grant(SignedGrant.from_dict(out["signed"]), world.keys[1], client=world.client)
    assert world.manager.state(session.id).label == "signed-for-later"
    assert world.manager.remaining(session.id) == wei


def test_read_only_studio_offers_no_action(world):
    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer

    view = FleetView.from_rpc([world.anvil.url], managers=[world.manager.address], names=[world.chain]).load()
    studio = Studio(view)
    with BackgroundServer(studio) as server:
        html = requests.get(server.url + f"/session/{world.key}/{world.worker(600).id}").text
        assert 'data-action="pause"' not in html and "read-only" in html
        sent = requests.post(server.url + "/api/send", headers={"X-CSRF-Token": studio.csrf_token},
                             json={"action": "pause", "manager": world.key, "session": world.worker(600).id})
        assert sent.status_code == 403 and "--allow-actions" in sent.json()["error"]
    assert world.manager.status(world.worker(600).id) is Status.ACTIVE


def test_bundled_htmx_and_uplot_are_the_pinned_npm_builds():
    pairs = {"htmx.min.js": "htmx.org/dist/htmx.min.js", "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
             "uPlot.min.css": "uplot/dist/uPlot.min.css"}
    if not NODE_MODULES.exists():
        pytest.skip("no node_modules to compare with (npm install)")
    for name, source in pairs.items():
        assert (STATIC / name).read_bytes() == (NODE_MODULES / source).read_bytes(), (
            f"{name} differs from node_modules/{source}: run make studio-assets")


def _act(server, world, action: str, **args):
    headers = {"X-CSRF-Token": server.studio.csrf_token}
    body = {"action": action, "manager": world.key, **args}
    check = requests.post(server.url + "/api/preflight", json=body, headers=headers).json()
    sent = requests.post(server.url + "/api/send", json=body, headers=headers).json()
    return check, sent


def test_each_action_does_on_chain_what_it_says(studio_server, world):
    m = world.manager
    # rotate: the new agent is the session's agent
    sid = world.worker(700).id
    check, sent = _act(studio_server, world, "rotate", session=sid, new_agent=world.keys[6].address)
    assert check["ok"] and sent["ok"], (check, sent)
    assert m.state(sid).agent == world.keys[6].address
    # fund a root with ETH: sent as value, the escrow grows by exactly that
    before = m.remaining(sid)
    check, sent = _act(studio_server, world, "fund", session=sid, token="ETH", amount="0.002 ether")
    assert check["ok"] and sent["ok"], (check, sent)
    assert m.remaining(sid) == before + 2 * 10**15
    # resume of an active session: refused before and after sending, in words
    check, sent = _act(studio_server, world, "resume", session=sid)
    assert not check["ok"] and check["error_name"] == "SessionNotPaused"
    assert not sent["ok"] and sent["error_name"] == "SessionNotPaused" and "not paused" in sent["explanation"]
    # close before the end is refused; revoke then close settles it
    check, _ = _act(studio_server, world, "close", session=sid)
    assert not check["ok"] and check["error_name"] == "SessionNotEnded"
    assert _act(studio_server, world, "revoke", session=sid)[1]["ok"]
    assert _act(studio_server, world, "close", session=sid)[1]["ok"]
    assert m.state(sid).closed and m.status(sid) is Status.REVOKED
    studio_server.studio.view.poll()
    html = requests.get(studio_server.url + f"/session/{world.key}/{sid}").text
    assert 'id="session-status">closed<' in html and "token burned" in html and "SessionClosed" in html
    # a bad argument is said before anything is asked of the chain
    check, _ = _act(studio_server, world, "fund", session=world.worker(701).id, token="ETH", amount="1 USDC")
    assert not check.get("ok") and "amount" in check["error"]


def test_pause_all_from_the_fleet_page_stops_every_session(page, studio_server, world):
    page.goto(studio_server.url + "/fleet")
    try:
        page.get_by_role("button", name=re.compile("^Pause all sessions of manager")).click()
        dialog = page.locator("#action-dialog")
        expect()(dialog).to_contain_text("signer is the owner")
        expect()(dialog.locator("#preflight-ok")).to_be_visible()
        dialog.locator("#action-send").click()
        expect()(dialog.locator("#action-sent")).to_contain_text("Done in block")
        assert world.manager.global_state().paused_all
        check = world.manager.check(world.worker(900).id, world.keys[5].address, 1)
        assert not check.ok and type(check.error).__name__ == "SessionNotActive"
        dialog.locator("#action-cancel").click()
        # the summary follows without a reload: the manager's pause-all, every session now paused
        expect()(page.locator("#summary .managers tbody .badge.s-paused")).to_have_text("paused")
        expect()(page.locator("#summary .badge.s-paused").first).to_contain_text(
            str(sum(1 for s in world.manager.list_sessions() if s.status is Status.PAUSED)))
        page.goto(studio_server.url + f"/session/{world.key}/{world.worker(900).id}")
        expect()(page.locator(".warn")).to_contain_text("pause-all is on")
    finally:
        if world.manager.global_state().paused_all:
            world.manager.unpause_all(world.keys[0])


def test_a_lost_node_is_said_on_the_page(browser_context, world):
    """When the chain stops answering, the page says its figures may be stale."""
    from agent_sessions import AgentSessions
    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer
    from scripts._ports import open_fresh_anvil

    anvil = open_fresh_anvil()
    client = AgentSessions(anvil.url)
    manager = client.ensure_factory(world.keys[0]).deploy_manager(world.keys[0].address, sender=world.keys[0])
    view = FleetView.from_rpc([anvil.url], managers=[manager.address], names=["lone"]).load().start()
    page = browser_context.new_page()
    try:
        with BackgroundServer(Studio(view)) as server:
            page.goto(server.url + "/fleet")
            trouble = page.locator("#node-trouble")
            expect()(trouble).to_be_hidden()
            anvil.stop()
            expect()(trouble).to_be_visible(timeout=20_000)
            expect()(trouble).to_contain_text("may be out of date")
    finally:
        page.close()
        view.close()
        anvil.stop()
