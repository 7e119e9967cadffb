"""A restartable SDK workload (run as a script by test_restart; it keeps nothing on disk).

Target state: sessions labelled ``job-0`` .. ``job-{count-1}`` in the manager, each funded with ``budget`` wei,
each having paid ``pay`` wei to ``recipient`` exactly once.

Idempotent by reading the chain before every decision, so any number of runs, killed anywhere, converge on the
target without doing anything twice:

1. settle: wait until none of its keys has a transaction in the node's pool (pending nonce == mined nonce).
   A transaction the previous run sent is then either mined (and visible below) or gone for good; without this,
   a create still pending from a killed run would be invisible to the listing and be done again.
2. rebuild: list the manager's sessions (``Manager.list_sessions``) and index them by label.
3. converge: create each missing label; pay from each session whose budget shows nothing spent.

Every step prints one line (flushed), so a test can kill the process at a chosen point.
"""

from __future__ import annotations

import argparse
import sys
import time

from eth_account import Account

from agent_sessions import NATIVE, AgentSessions, SessionParams


def settle(client: AgentSessions, addresses: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for address in addresses:
        while True:
            pending = int(client.rpc.request("eth_getTransactionCount", [address, "pending"]), 16)
            mined = int(client.rpc.request("eth_getTransactionCount", [address, "latest"]), 16)
            if pending == mined:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{address} still has {pending - mined} pending transaction(s) after {timeout} s")
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--manager", required=True)
    parser.add_argument("--owner-key", required=True)
    parser.add_argument("--agent-key", required=True)
    parser.add_argument("--recipient", required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--budget", type=int, default=10**15)
    parser.add_argument("--pay", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between steps")
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--go-on-stdin", action="store_true",
                        help="start only after a line on stdin (lets a test pay the start-up cost in advance)")
    args = parser.parse_args(argv)
    if args.go_on_stdin:
        sys.stdin.readline()

    owner, agent = Account.from_key(args.owner_key), Account.from_key(args.agent_key)
    client = AgentSessions(args.rpc, timeout=2.0, retries=3, receipt_timeout=30.0)
    manager = client.manager(args.manager)

    print("settling", flush=True)
    settle(client, [owner.address, agent.address], args.settle)
    sessions = {s.state.label: s for s in manager.list_sessions()}
    print(f"found {len(sessions)}", flush=True)
    for i in range(args.count):
        label = f"job-{i}"
        session = sessions.get(label)
        if session is None:
            params = SessionParams(agent=agent.address, expiry="1d", budgets={NATIVE: args.budget}, any_target=True,
                                   label=label)
            session = manager.create_session(params, owner)
            print(f"created {label} {session.id}", flush=True)
            time.sleep(args.pause)
        if session.budget(NATIVE).spent == 0:
            session.execute(args.recipient, args.pay, sender=agent)
            print(f"paid {label}", flush=True)
            time.sleep(args.pause)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
