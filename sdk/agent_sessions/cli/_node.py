"""``agent-sessions node start|stop|status``: a local Anvil that outlives the command, recorded in the state
directory (``$AGENT_SESSIONS_HOME``, default ``~/.agent_sessions``) so later commands find it without ``--rpc``.

The node runs on a port the system picks (``--port`` to choose one), keeps its chain in ``<state dir>/anvil.json``
(saved every 10 s and on stop, loaded again by the next start) and logs to ``<state dir>/anvil.log``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import click

from ..fleet.chains import LocalAnvil, probe_chain_id
from ._app import cli
from ._env import recorded_node, state_dir
from ._output import echo_json, fail

__all__ = ["node"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running() -> dict[str, Any] | None:
    record = recorded_node()
    if record is None:
        return None
    if not _alive(int(record.get("pid", 0))) or probe_chain_id(record["url"]) is None:
        return None
    return record


@cli.group()
def node() -> None:
    """A local Anvil node the other commands use by default (start, stop, status)."""


@node.command()
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: a free one).")
@click.option("--chain-id", type=click.IntRange(min=1), default=31337, show_default=True)
@click.option("--fresh", is_flag=True, help="Start from an empty chain (forget the saved state).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def start(port: int | None, chain_id: int, fresh: bool, as_json: bool) -> None:
    """Start the node in the background (or say where the running one is)."""
    running = _running()
    if running is not None:
        _print(running, as_json, "already running")
        return
    home = state_dir()
    home.mkdir(parents=True, exist_ok=True)
    state = home / "anvil.json"
    if fresh and state.exists():
        state.unlink()
    port = port or _free_port()
    anvil = LocalAnvil(chain_id, port, state_path=state)
    cmd = anvil.command()
    # save every 10 s (not every second: the state of a big chain takes a while to write)
    cmd[cmd.index("--state-interval") + 1] = "10"
    log = open(home / "anvil.log", "ab")
    try:
        process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    except OSError as exc:
        fail(f"cannot run {cmd[0]}: {exc}")
    finally:
        log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while probe_chain_id(url, timeout=1.0) != chain_id:
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            fail(f"anvil did not start on {url}; see {home / 'anvil.log'}")
        time.sleep(0.1)
    record = {"url": url, "port": port, "chain_id": chain_id, "pid": process.pid, "state": str(state),
              "log": str(home / "anvil.log")}
    (home / "node.json").write_text(json.dumps(record, indent=2))
    _print(record, as_json, "started")


@node.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stop(as_json: bool) -> None:
    """Stop the node (its chain is saved and loaded again by the next start)."""
    record = recorded_node()
    path = state_dir() / "node.json"
    if record is None or not _alive(int(record.get("pid", 0))):
        path.unlink(missing_ok=True)
        if as_json:
            echo_json({"running": False})
        else:
            click.echo("no node of `agent-sessions node start` is running")
        return
    pid = int(record["pid"])
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(100):
        if not _alive(pid):
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    try:  # reap it when this process started it (tests)
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    path.unlink(missing_ok=True)
    if as_json:
        echo_json({"running": False, "stopped": record})
    else:
        click.echo(f"node stopped; chain saved in {record['state']}")


@node.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Whether the node runs, where, and its latest block. Exit 1 when it does not run."""
    record = _running()
    if record is None:
        if as_json:
            echo_json({"running": False})
        else:
            click.echo("not running (start it with `agent-sessions node start`)")
        raise SystemExit(1)
    from ..domain.client import AgentSessions

    record = dict(record, block=AgentSessions(record["url"]).w3.eth.block_number)
    _print(record, as_json, "running")


def _print(record: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        echo_json(dict(record, running=True))
        return
    click.echo(f"anvil {what} on {record['url']} (chain {record['chain_id']}, pid {record['pid']}, state "
               f"{record['state']})" + (f", block {record['block']}" if "block" in record else ""))


_ = Path
