"""A world for the studio's browser tests: a fresh Anvil of its own (on a free port), a manager with a fleet of
over a thousand sessions (created with the SDK's batch create) including a small tree with spends, the studio
served from a thread on a free port, and Debian's chromium driven by Playwright.

The studio polls its chain, so it never runs on the Anvil ``ape test`` starts: Ape reverts that one to a snapshot
around every test. Screenshots go to ``tests/studio/artifacts/`` (ignored by git through its own ``.gitignore``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent_sessions import NATIVE, AgentSessions, Manager, Session, SessionParams
from agent_sessions.fleet.throughput import dev_keys
from scripts._ports import open_fresh_anvil

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WORKERS = 1000


def _unavailable(reason: str) -> None:
    """Fail in CI (a missing browser must show), skip with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"studio browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"studio browser tests need it: {reason}")


@dataclass
class World:
    anvil: Any
    client: AgentSessions
    manager: Manager
    keys: list[Any]
    workers: list[Session]
    tree_root: Session
    kid_a: Session
    kid_b: Session
    grandkid: Session
    chain: str = "local"

    @property
    def key(self) -> str:
        """The manager as the studio's URLs name it."""
        return f"{self.chain}:{self.manager.address}"

    def worker(self, i: int) -> Session:
        return self.workers[i]


@pytest.fixture(scope="session")
def world() -> Any:
    keys = dev_keys(8)
    owner, a1, a2, a3 = keys[0], keys[1], keys[2], keys[3]
    anvil = open_fresh_anvil()
    try:
        client = AgentSessions(anvil.url)
        factory = client.ensure_factory(owner)
        manager = factory.deploy_manager(owner.address, "studio", sender=owner)
        agents = [a1, a2, a3]
        params = [SessionParams(agent=agents[i % 3].address, expiry="7d", label=f"worker-{i:04d}", period="1d",
                                budgets={NATIVE: {"amount": "0.01 ether", "per_call_cap": "0.004 ether",
                                                  "period_allowance": "0.008 ether"}}, any_target=True)
                  for i in range(WORKERS)]
        workers = manager.create_sessions(params, owner)
        tree_root = manager.create_session(SessionParams(
            agent=a1.address, expiry="7d", label="tree-root", max_idle="2d",
            budgets={NATIVE: {"amount": "0.05 ether", "per_call_cap": "0.01 ether"}}, any_target=True), owner)
        kid_a, kid_b = manager.spawn_children(tree_root.id, [
            SessionParams(agent=a2.address, expiry="3d", label="tree-kid-a", budgets={NATIVE: "0.01 ether"},
                          any_target=True),
            SessionParams(agent=a3.address, expiry="3d", label="tree-kid-b", budgets={NATIVE: "0.01 ether"},
                          any_target=True)], sender=a1)
        grandkid = manager.spawn_child(kid_a.id, SessionParams(
            agent=a3.address, expiry="2d", label="tree-grandkid", budgets={NATIVE: "0.002 ether"}, any_target=True),
            sender=a1)
        for _ in range(2):
            manager.execute(tree_root.id, keys[5].address, 3 * 10**15, sender=a1)
        for i in (10, 11, 12):
            manager.pause(workers[i].id, owner)
        yield World(anvil, client, manager, keys, workers, tree_root, kid_a, kid_b, grandkid)
    finally:
        anvil.stop()


@pytest.fixture(scope="session")
def studio_server(world):
    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer

    view = FleetView.from_rpc([world.anvil.url], managers=[world.manager.address], names=[world.chain])
    view.load()
    view.backfill_activity()
    view.start()
    studio = Studio(view, allow_actions=True, dev_keys=[world.keys[0]])
    server = BackgroundServer(studio).start()
    yield server
    server.stop()
    view.close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        _unavailable(f"no {CHROMIUM}: apt-get install -y --no-install-recommends chromium (make setup does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[studio]' (make setup does)")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900})
        context.set_default_timeout(15_000)
        yield context
        context.close()


@pytest.fixture
def page(browser_context, request):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot as a test artifact."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
