"""The studio's sources and command: a fleet spec over two chains (every manager on every chain), and the
``studio`` command run as ``python -m agent_sessions.studio`` against the world's manager. No browser needed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import click
import requests
from click.testing import CliRunner

from agent_sessions import AgentSessions, canonical_factory_address, parse_spec, spawn_fleet
from agent_sessions.domain.deployment import has_code
from scripts._ports import open_fresh_anvil, open_fresh_chains

SPEC = """
chains:
  alpha: {anvil: {chain_id: 31337, port: 8545}}
  beta: {anvil: {chain_id: 31338, port: 8546}}
keys: {ops: anvil:0, lab: anvil:1, worker: anvil:2}
managers:
  ops: {owner: ops}
  lab: {owner: lab, salt: lab}
sessions:
  - label: ops-alpha
    chain: alpha
    manager: ops
    agent: worker
    expires: 1d
    budgets: {ETH: 0.01 ether}
    allow: any
    children:
      - {label: ops-alpha-kid, agent: anvil:3, budgets: {ETH: 0.001 ether}}
  - {label: lab-alpha, chain: alpha, manager: lab, agent: worker, expires: 1d, budgets: {ETH: 0.02 ether}, allow: any}
  - {label: ops-beta, chain: beta, manager: ops, agent: worker, expires: 1d, budgets: {ETH: 0.03 ether}, allow: any}
"""


def _matched(html: str) -> int:
    return int(re.search(r'id="matched"[^>]*>(\d+) session', html).group(1))


def test_a_fleet_spec_shows_every_manager_on_every_chain():
    from agent_sessions.studio import FleetView, Studio
    from agent_sessions.studio.server import BackgroundServer

    spec = parse_spec(SPEC)
    chains = open_fresh_chains(spec, ["alpha", "beta"])
    # a third chain behind a plain endpoint, without the factory: the studio reads it and deploys nothing there
    gamma = open_fresh_anvil(31339)
    try:
        report = spawn_fleet(spec, chains)
        assert len(report.created) == 4
        ports = {name: chains[name].anvil.port for name in ("alpha", "beta")}
        full = parse_spec(SPEC.replace("keys:", f"  gamma: {{rpc: '{gamma.url}', chain_id: 31339}}\nkeys:", 1))
        view = FleetView.from_spec(full, ports=ports).load()
        try:
            assert sorted((mv.chain, mv.name) for mv in view.managers.values()) == [
                ("alpha", "lab"), ("alpha", "ops"), ("beta", "ops")]
            assert sorted(view.chains) == ["alpha", "beta", "gamma"]
            assert view.total() == 4
            assert not has_code(AgentSessions(gamma.url), canonical_factory_address())
            with BackgroundServer(Studio(view)) as server:
                assert _matched(requests.get(server.url + "/fleet").text) == 4
                beta = requests.get(server.url + "/fleet?chain=beta").text
                assert _matched(beta) == 1 and "ops-beta" in beta and "ops-alpha" not in beta
                tree = requests.get(server.url + "/fleet?view=tree").text
                assert "(3 trees)" in tree and "1 child" in tree
                kid = report.sessions["ops-alpha-kid"]
                page = requests.get(server.url + f"/session/alpha:{kid.manager.address}/{kid.id}").text
                assert "0.001 ETH" in page and "ops-alpha" in page  # its budget, and its parent among the ancestors
        finally:
            view.close()
    finally:
        gamma.stop()
        chains.close()


def test_the_command_loads_without_the_web_stack():
    """The command line imports the command object whether or not the studio's extra is installed."""
    code = ("import sys; from agent_sessions.studio.command import studio; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'jinja2')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_studio_is_a_click_command_that_refuses_a_dev_key_without_actions():
    from agent_sessions.studio.command import studio

    assert isinstance(studio, click.Command) and studio.name == "studio"
    result = CliRunner().invoke(studio, ["--rpc", "http://127.0.0.1:1", "--manager", "0x" + "11" * 20,
                                         "--dev-key", "anvil:0"])
    assert result.exit_code == 2 and "--allow-actions" in result.output
    result = CliRunner().invoke(studio, [])
    assert result.exit_code == 2 and "--config" in result.output


def test_python_dash_m_serves_the_studio_on_the_loopback(world):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_sessions.studio", "--rpc", world.anvil.url, "--manager", world.manager.address,
         "--port", "0", "--activity-blocks", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if "Session Studio on" in line or process.poll() is not None:
                break
        match = re.search(r"Session Studio on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"no address announced: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        assert "read-only" in line
        health = requests.get(match.group(1) + "/health", timeout=10).json()
        assert health["sessions"] == len(world.manager.list_sessions(closed=None)) and health["managers"] == 1
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_studio_pins_its_dependencies_and_ships_its_files():
    import json
    import tomllib
    from fnmatch import fnmatch
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    extra = project["project"]["optional-dependencies"]["studio"]
    assert extra and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", d) for d in extra), extra
    dev = json.loads((root / "package.json").read_text())["devDependencies"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", dev[name]) for name in ("htmx.org", "uplot")), dev
    globs = project["tool"]["setuptools"]["package-data"]["agent_sessions"]
    studio = root / "sdk" / "agent_sessions" / "studio"
    shipped = [p.relative_to(studio.parent).as_posix() for p in studio.rglob("*")
               if p.is_file() and p.suffix in (".html", ".js", ".css")]
    assert len(shipped) > 20
    assert all(any(fnmatch(f, g) for g in globs) for f in shipped), [f for f in shipped
                                                                      if not any(fnmatch(f, g) for g in globs)]


def test_a_taken_port_is_said_in_words(world):
    import socket

    from agent_sessions.studio.command import studio

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(studio, ["--rpc", world.anvil.url, "--manager", world.manager.address,
                                             "--port", str(port), "--activity-blocks", "0"])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port 0" in result.output


def test_an_owner_brings_every_manager_it_has_under_the_canonical_factory(world):
    from agent_sessions.studio import FleetView

    view = FleetView.from_rpc([world.anvil.url], owners=[world.keys[0].address])
    assert world.manager.address in {mv.address for mv in view.managers.values()}
    assert [c.name for c in view.chains.values()] == ["chain-31337"]
    stranger = FleetView.from_rpc([world.anvil.url], owners=[world.keys[7].address])
    assert stranger.managers == {}
