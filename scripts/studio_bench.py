"""Benchmark of the Session Studio at scale: how fast the fleet page of 10,000 sessions shows its first screen.

    .venv/bin/python scripts/studio_bench.py                 # 10,000 sessions (9,500 roots + 500 children)
    ape run studio_bench --sessions 2000 --rounds 3          # the same through Ape (it starts no node of its own)
    .venv/bin/python scripts/studio_bench.py --sessions 2000 --rounds 3

On a fresh Anvil of its own (a free port, stopped at the end): the sessions are created with the SDK's batch create
(``Manager.create_sessions``, children with ``spawn_children``), the studio loads them (``FleetView.load``: one
listing), serves them from a thread, and Debian's chromium (Playwright) opens the fleet page ``--rounds`` times in a
fresh tab: the time from navigation to the first screen (the first page of the table, painted) is what is measured,
with the browser's own first-contentful-paint and the server's answer time beside it. Then the tree view and a
filtered view. A benchmark, not a test: it prints a JSON report (``--out`` writes it too) and the verdict against
the 2 s target.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_S = 2.0


def _build(sessions: int, children: int) -> tuple[Any, Any, dict[str, float]]:
    from agent_sessions import NATIVE, AgentSessions, SessionParams
    from agent_sessions.fleet.throughput import dev_keys
    from scripts._ports import open_fresh_anvil

    keys = dev_keys(4)
    anvil = open_fresh_anvil()
    client = AgentSessions(anvil.url)
    factory = client.ensure_factory(keys[0])
    manager = factory.deploy_manager(keys[0].address, "studio-bench", sender=keys[0])
    roots = sessions - children
    timings: dict[str, float] = {}
    start = time.perf_counter()
    params = [SessionParams(agent=keys[1 + i % 3].address, expiry="7d", label=f"bench-{i:05d}", period="1d",
                            budgets={NATIVE: {"amount": "1000 gwei", "per_call_cap": "400 gwei",
                                              "period_allowance": "800 gwei"}}, any_target=True)
              for i in range(roots)]
    created = manager.create_sessions(params, keys[0])
    per_parent = 5
    parents = created[: max(1, children // per_parent)] if children else []
    for n, parent in enumerate(parents):
        kids = [SessionParams(agent=keys[2].address, expiry="1d", label=f"bench-kid-{n:04d}-{k}",
                              budgets={NATIVE: "100 gwei"}, any_target=True) for k in range(per_parent)]
        manager.spawn_children(parent.id, kids, sender=keys[0])  # the owner holds every root
    timings["create_s"] = round(time.perf_counter() - start, 2)
    return anvil, manager, timings


def _first_screen(context: Any, url: str, ready: str) -> dict[str, float]:
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(ready, state="visible")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        wall = time.perf_counter() - start
        paint = page.evaluate("""() => {
            const p = performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint');
            const n = performance.getEntriesByType('navigation')[0];
            return {fcp: p ? p.startTime : null, response: n ? n.responseEnd - n.requestStart : null,
                    dom: n ? n.domContentLoadedEventEnd : null};
        }""")
        return {"first_screen_s": round(wall, 3), "fcp_s": round((paint["fcp"] or 0) / 1000, 3),
                "server_response_s": round((paint["response"] or 0) / 1000, 3),
                "dom_ready_s": round((paint["dom"] or 0) / 1000, 3)}
    finally:
        page.close()


@click.command()
@click.option("--sessions", default=10_000, show_default=True, help="Sessions in the fleet (children included).")
@click.option("--children", default=500, show_default=True, help="How many of them are children (5 per parent).")
@click.option("--rounds", default=5, show_default=True, help="Fresh-tab loads of each page.")
@click.option("--chromium", default="/usr/bin/chromium", show_default=True, help="The browser binary.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write the report here.")
def cli(sessions: int, children: int, rounds: int, chromium: str, out: str | None) -> None:
    """Time the studio's fleet page over a fleet of SESSIONS sessions."""
    from playwright.sync_api import sync_playwright

    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer

    anvil, manager, report = _build(sessions, children)
    try:
        view = FleetView.from_rpc([anvil.url], managers=[manager.address], names=["bench"])
        start = time.perf_counter()
        view.load()
        report["studio_load_s"] = round(time.perf_counter() - start, 2)
        report["sessions"] = view.total()
        view.start()
        with BackgroundServer(Studio(view)) as server, sync_playwright() as pw, \
                tempfile.TemporaryDirectory() as profile:
            context = pw.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True,
                                                            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900})
            pages = {
                "table": ("/fleet", "#session-table tbody tr.session-row"),
                "tree": ("/fleet?view=tree", "#session-tree li.node"),
                "filtered": ("/fleet?label=bench-00&status=active", "#session-table tbody tr.session-row"),
                "last_page": ("/fleet?page=200", "#session-table tbody tr.session-row"),
            }
            for name, (path, ready) in pages.items():
                _first_screen(context, server.url + path, ready)  # warm the template cache
                runs = [_first_screen(context, server.url + path, ready) for _ in range(rounds)]
                report[name] = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
                report[name]["max_first_screen_s"] = max(r["first_screen_s"] for r in runs)
            context.close()
        view.close()
    finally:
        anvil.stop()
    report["target_s"] = TARGET_S
    report["meets_target"] = all(report[p]["max_first_screen_s"] < TARGET_S for p in ("table", "tree", "filtered"))
    text = json.dumps(report, indent=2)
    click.echo(text)
    if out:
        Path(out).write_text(text + "\n")


if __name__ == "__main__":
    cli()
