"""Restart: an SDK workload (``_workload.py``, a separate process) is killed with SIGKILL mid-run, at three
points: between steps, between a transaction's send and its receipt, and with its transaction still waiting in
the node's pool. A fresh process with no local state rebuilds its view from the chain (``list_sessions``) and
brings the manager to the target state: every label once, every payment once, one transaction per step, and a
clean audit (teardown).

On its own Anvil (a third one, on a free port): one test switches automine off.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from agent_sessions import NATIVE

from ._anvil import fresh_anvil, rpc
from ._proxy import FaultProxy, wait_until
from .conftest import Books, nonce_of

WORKLOAD = Path(__file__).with_name("_workload.py")
COUNT = 8
PAY = 5


@pytest.fixture(scope="module")
def chain_url() -> Any:
    anvil = fresh_anvil()
    yield anvil.url
    anvil.stop()


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_leftover_workloads():
    """Workload processes a failed test left behind are killed (by pid, ours only)."""
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(10)


class Run:
    """One workload process; its stdout lines arrive on a queue (so reading never blocks past a timeout)."""

    def __init__(self, url: str, manager: str, owner: Any, agent: Any, recipient: str, pause: float = 0.0,
                 held: bool = False):
        """``held``: the process starts (imports) now but touches nothing until ``go()``."""
        self.process = subprocess.Popen(
            [sys.executable, str(WORKLOAD), "--rpc", url, "--manager", manager,
             "--owner-key", owner.key.hex(), "--agent-key", agent.key.hex(), "--recipient", recipient,
             "--count", str(COUNT), "--pay", str(PAY), "--pause", str(pause)] + (["--go-on-stdin"] if held else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        _started.append(self.process)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def until(self, prefix: str, timeout: float = 30.0) -> list[str]:
        """Read lines until one starts with ``prefix``."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line within {timeout} s; saw {self.seen}; "
                                     f"stderr: {self._stderr()}") from None
            self.seen.append(line)
            if line.startswith(prefix):
                return self.seen

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)  # no cleanup, no flush: a crash
        self.process.wait(10)

    def finish(self, timeout: float = 60.0) -> list[str]:
        self.until("done", timeout)
        assert self.process.wait(10) == 0, self._stderr()
        return self.seen

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()[-2000:]


def assert_target_reached(manager, books: Books) -> None:
    listed = [s.state for s in manager.list_sessions()]
    assert sorted(s.label for s in listed) == sorted(f"job-{i}" for i in range(COUNT))  # each label once
    assert all(s.budgets[NATIVE].spent == PAY for s in listed)  # each paid once
    assert books.received("recipient") == COUNT * PAY
    assert books.sent("owner") == COUNT and books.sent("agent") == COUNT  # not one stray transaction


def test_killed_between_steps_restart_converges(chain_url, manager, owner_key, agent_key, recipient):
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    first = Run(chain_url, manager.address, owner_key, agent_key, recipient, pause=0.05)
    second = Run(chain_url, manager.address, owner_key, agent_key, recipient, held=True)
    first.until("created job-3")
    first.kill()
    done_before = manager.count()
    assert 4 <= done_before < COUNT  # killed mid-run

    second.go()
    lines = second.finish()

    assert f"found {done_before}" in lines
    assert_target_reached(manager, books)


def test_killed_between_send_and_receipt_restart_converges(chain_url, manager, owner_key, agent_key, recipient):
    """The node mined the transaction, but the process died before it saw the receipt."""
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    with FaultProxy(chain_url) as proxy:
        held = proxy.add("eth_getTransactionReceipt", "delay", delay=10, forward="before", skip=5)
        first = Run(proxy.url, manager.address, owner_key, agent_key, recipient)
        second = Run(chain_url, manager.address, owner_key, agent_key, recipient, held=True)
        assert held.wait_fired(30), first.seen
        first.kill()
    sent = books.sent("owner") + books.sent("agent")
    assert 0 < sent < 2 * COUNT
    assert nonce_of(chain_url, owner_key.address, "pending") == nonce_of(chain_url, owner_key.address)

    second.go()
    second.finish()

    assert_target_reached(manager, books)


def test_killed_with_its_transaction_in_the_pool_restart_waits_and_converges(chain_url, manager, owner_key,
                                                                            agent_key, recipient):
    """The process died with its transaction still pending in the node: the new one waits for the pool to settle
    before it reads the chain, so it neither misses that transaction nor repeats it."""
    books = Books.take(chain_url, owner=owner_key.address, agent=agent_key.address, recipient=recipient)
    first = Run(chain_url, manager.address, owner_key, agent_key, recipient, pause=0.05)
    second = Run(chain_url, manager.address, owner_key, agent_key, recipient, held=True)
    first.until("created job-2")
    rpc(chain_url, "evm_setAutomine", [False])
    try:
        def pending() -> bool:
            return any(nonce_of(chain_url, k.address, "pending") > nonce_of(chain_url, k.address)
                       for k in (owner_key, agent_key))

        assert wait_until(pending, timeout=10), first.seen
        first.kill()
        second.go()
        second.until("settling")
        assert not wait_until(lambda: not second.lines.empty(), timeout=0.5)  # it waits for the pool...
    finally:
        rpc(chain_url, "evm_setAutomine", [True])  # ...which a block now empties
    second.finish()

    assert_target_reached(manager, books)
