"""End-to-end demo: a fleet of agent sessions on two local chains, from spawning to settling.

    ape run demo            # or: make demo

It starts two local Anvil nodes itself (on free ports the system picks, not the spec's 8545/8546), spawns
examples/fleet-20.yaml on them, and walks through what sessions are for: agents acting at once within their
limits, an overspend refused with the contract's reason, pause and resume, a key rotation, a cascading revoke,
completions and closes that send unspent funds back up the tree, an audit, a dashboard frame, a grant signed
offline by the owner's wallet and submitted by someone else, and 100 agents holding no ETH acting through a
relayer. Every step is one or two SDK calls; the nodes are stopped at the end, whatever happens.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from eth_account import Account

from agent_sessions import (
    NATIVE,
    AgentPool,
    ContractRevert,
    Job,
    Manager,
    Session,
    SessionParams,
    audit,
    load_spec,
    selector_of,
    spawn_fleet,
)
from agent_sessions.domain.tokens import TokenBook
from agent_sessions.fleet.console import Dashboard, audit_table, error_explanation, error_line, session_tree
from agent_sessions.fleet.throughput import dev_keys
from agent_sessions.wallet import (
    Relayer,
    deposit,
    deposit_of,
    load_signed,
    set_max_relay_fees,
    sign_execute,
    sign_grant,
    submit_grant,
)
from scripts._ports import open_fresh_chains

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "fleet-20.yaml"
#: Where the lab's agents send their payments.
ALICE = "0x00000000000000000000000000000000000A11CE"
MILLI = 10**15  # 0.001 ETH

console = Console(highlight=False)
if not console.is_terminal:
    console = Console(width=140, highlight=False)


class Steps:
    """``step("title")`` prints the next numbered heading."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        console.print()
        console.rule(f"[bold]Step {self.n}[/]  {title}", align="left")


def say(text: str = "") -> None:
    console.print(f"  {text}")


def refused(action: Any) -> ContractRevert:
    """Run ``action`` (a callable that must be refused on chain) and return the typed error it raised."""
    try:
        action()
    except ContractRevert as exc:
        return exc
    raise AssertionError("expected the contract to refuse this")


def refunds(manager: Manager, receipt: Any, book: TokenBook, owner_names: dict[str, str]) -> list[str]:
    """One line per ``EscrowReturned`` event of ``receipt``: what went back where."""
    lines = []
    for event in manager.events(receipt, "EscrowReturned"):
        args = event.args
        where = f"session #{args['toSession']}" if args["toSession"] else owner_names.get(args["to"], args["to"])
        lines.append(f"#{args['id']}: {book.format(args['token'], args['amount'])} -> {where}")
    return lines


@click.command()
def cli() -> None:
    """Spawn examples/fleet-20.yaml on two local chains and walk through the life of agent sessions."""
    started = time.perf_counter()
    step = Steps()
    spec = load_spec(SPEC)
    local = [name for name, chain in spec.chains.items() if chain.anvil is not None]

    # ------------------------------------------------------------------------------------------------------------
    step("Start two local chains")
    with open_fresh_chains(spec, local) as chains:
        for name, handle in chains.items():
            node = f"anvil pid {handle.anvil.pid}" if handle.anvil else "remote"
            say(f"{name}: chain {handle.chain_id} at {handle.url} ({node}), factory {handle.factory.address}")

        # --------------------------------------------------------------------------------------------------------
        step(f"Spawn the fleet of {SPEC.relative_to(REPO)}")
        total = len(spec.sessions_flat())
        with Progress(TextColumn("  {task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as progress:
            task = progress.add_task("spawning", total=total)
            report = spawn_fleet(spec, chains,
                                 progress=lambda done, _total, label: progress.update(task, completed=done,
                                                                                      description=label))
        say(report.summary())

        alpha = chains["alpha"].client
        book = TokenBook(alpha)
        ops, lab = report.managers["alpha"]["ops"], report.managers["alpha"]["lab"]
        keys = {name: spec.resolve_key(name) for name in spec.keys}
        names = {k.address: name for name, k in keys.items()}
        s: dict[str, Session] = report.sessions

        # --------------------------------------------------------------------------------------------------------
        step("The session tree")
        for chain_name, managers in report.managers.items():
            client = chains[chain_name].client
            for manager_name, manager in managers.items():
                console.print(session_tree(manager.list_sessions(), book=TokenBook(client), now=client.now(),
                                           title=f"{chain_name} / {manager_name}  {manager.address}"))

        # --------------------------------------------------------------------------------------------------------
        step("Agents at work, concurrently, within their limits")
        workers = [f"researcher-{i}" for i in range(1, 5)] + [f"helper-{i}" for i in range(1, 5)]
        jobs = [Job(session=s[label].id, agent=keys[label.split("-")[0]], target=ALICE, value=MILLI, tag=label)
                for _ in range(10) for label in workers]
        before = alpha.balance(ALICE)
        start = time.perf_counter()
        results = AgentPool(lab).run(jobs)
        seconds = time.perf_counter() - start
        ok = sum(r.ok for r in results)
        say(f"{len(jobs)} executes by 2 agent keys over {len(workers)} sessions of the lab: {ok} ok in "
            f"{seconds:.2f} s ({len(jobs) / seconds:,.0f} executes/s)")
        say(f"alice received {book.format('ETH', alpha.balance(ALICE) - before)}; "
            f"helper-1 has {book.format('ETH', s['helper-1'].remaining())} left")
        if ok != len(jobs):
            raise click.ClickException(f"{len(jobs) - ok} executes failed: {results[0].error}")

        # --------------------------------------------------------------------------------------------------------
        step("An overspend is blocked, with the contract's reason")
        helper1 = s["helper-1"]
        too_much = 10 * helper1.remaining()
        verdict = helper1.check(ALICE, too_much)
        say(f"check: helper-1 pays {book.format('ETH', too_much)} -> [red]{error_line(verdict.error, book)}[/]")
        error = refused(lambda: helper1.execute(ALICE, too_much, sender=keys["helper"], gas=300_000))
        say(f"sent anyway (fixed gas, no estimate): tx {error.tx_hash} mined and reverted")
        say(f"  [red]{error_line(error, book)}[/]  ({type(error).__name__})")
        say(f"  {error_explanation(error, book)}")

        # --------------------------------------------------------------------------------------------------------
        step("Pause and resume")
        researcher2 = s["researcher-2"]
        researcher2.pause(sender=keys["lab"])
        say(f"lab pauses researcher-2: researcher-2 {researcher2.status}, helper-2 {s['helper-2'].refresh().status} "
            "(through its parent)")
        error = refused(lambda: researcher2.execute(ALICE, MILLI, sender=keys["researcher"]))
        say(f"researcher pays from researcher-2 -> [red]{error_line(error, book)}[/]")
        researcher2.resume(sender=keys["lab"])
        researcher2.execute(ALICE, MILLI, sender=keys["researcher"])
        say(f"lab resumes it: {researcher2.status}; the same payment goes through "
            f"({book.format('ETH', researcher2.remaining())} left)")

        # --------------------------------------------------------------------------------------------------------
        step("Rotate an agent key")
        researcher3 = s["researcher-3"]
        old_key, new_key = keys["researcher"], dev_keys(1, start=8)[0]
        receipt = researcher3.rotate_agent(new_key.address, sender=keys["lab"])
        say(f"lab rotates researcher-3's agent {old_key.address} -> {researcher3.agent} "
            f"(block {receipt.block_number})")
        error = refused(lambda: researcher3.execute(ALICE, MILLI, sender=old_key))
        say(f"old key pays from researcher-3 -> [red]{error_line(error, book)}[/]")
        researcher3.execute(ALICE, MILLI, sender=new_key)
        say(f"new key pays {book.format('ETH', MILLI)} from researcher-3: ok "
            f"({book.format('ETH', researcher3.remaining())} left: budget and history stay with the session)")

        # --------------------------------------------------------------------------------------------------------
        step("Revoke a parent: its whole subtree stops (one O(1) transaction)")
        subtree = ["trader", "trader-dex", "trader-dex-probe", "trader-ping"]
        receipt = s["trader"].revoke(sender=keys["ops"])
        say(f"ops revokes trader ({receipt.gas_used:,} gas, whatever the number of descendants)")
        for label in subtree:
            say(f"  {label:<17} #{s[label].id:<3} status {str(s[label].refresh().status).capitalize()}")
        target = report.contracts["alpha"]["target"]
        ping = bytes.fromhex(selector_of("ping()")[2:])
        error = refused(lambda: s["trader-ping"].execute(target, 0, ping, sender=keys["keeper"]))
        say(f"keeper pings from trader-ping -> [red]{error_line(error, book)}[/]")

        # --------------------------------------------------------------------------------------------------------
        step("Complete sessions: unspent funds are refunded at once")
        receipt = s["helper-4"].complete(sender=keys["helper"])
        for line in refunds(lab, receipt, book, names):
            say(f"helper-4 completed by its agent: refund {line} (back into its parent's budget)")
        receipt = s["researcher-4"].complete(sender=keys["researcher"])
        for line in refunds(lab, receipt, book, names):
            say(f"researcher-4 completed by its agent: refund {line} (the root's holder)")
        say(f"researcher-4 is {s['researcher-4'].refresh().status}, closed: {s['researcher-4'].closed}")

        # --------------------------------------------------------------------------------------------------------
        step("Close the dead sessions: their escrow flows back up the tree")
        stranger = dev_keys(1, start=9)[0]
        dead = [s[label] for label in ("trader-dex-probe", "trader-dex", "trader-ping", "trader")]
        usdc = report.tokens["alpha"]["USDC"]
        before_eth, before_usdc = alpha.balance(keys["ops"].address), alpha.balance(keys["ops"].address, usdc)
        receipt = ops.close_many(dead, sender=stranger)
        say(f"a stranger closes {', '.join(f'#{d.id}' for d in dead)} in one transaction (anyone may close)")
        for line in refunds(ops, receipt, book, names):
            say(f"  {line}")
        say(f"ops got back {book.format('ETH', alpha.balance(keys['ops'].address) - before_eth)} and "
            f"{book.format(usdc, alpha.balance(keys['ops'].address, usdc) - before_usdc)}")

        # --------------------------------------------------------------------------------------------------------
        step("Audit: every manager holds exactly what its sessions are owed")
        reports = {(c, m): audit(manager) for c, managers in report.managers.items()
                   for m, manager in managers.items()}
        console.print(audit_table(reports[("alpha", "ops")]))
        for (chain_name, manager_name), result in reports.items():
            say(f"{chain_name}/{manager_name}: {'ok' if result.ok else 'NOT OK: ' + '; '.join(result.problems())}")
        if not all(r.ok for r in reports.values()):
            raise click.ClickException("audit failed")
        say("[bold green]audit ok[/]: all managers on both chains")

        # --------------------------------------------------------------------------------------------------------
        step("The dashboard (one frame)")
        for chain_name, managers in report.managers.items():
            Dashboard(list(managers.values()), console=console).run(once=True)

        # --------------------------------------------------------------------------------------------------------
        step("Grant from a wallet: the owner signs offline, someone else submits")
        owner_wallet, stranger = keys["ops"], dev_keys(1, start=9)[0]
        deposit(ops, "1 ether", owner_wallet)
        say(f"ops deposits {book.format('ETH', deposit_of(ops, owner_wallet.address))} at its manager (budgets of "
            "signed grants come out of it)")
        scout = Account.create()
        signed = sign_grant((alpha.chain_id, ops.address),  # no node needed: chain id and manager address
                            SessionParams(agent=scout.address, expiry="1d", budgets={NATIVE: "0.2 ether"},
                                          any_target=True, label="wallet-scout"), owner_wallet)
        say(f"ops's wallet signs an EIP-712 grant offline ({len(signed.to_json())} bytes of JSON, nonce "
            f"{str(signed.nonce)[:12]}…, digest 0x{signed.digest.hex()[:16]}…)")
        owner_eth = alpha.balance(owner_wallet.address)
        (granted,) = submit_grant(load_signed(signed.to_json()), stranger, client=alpha)
        say(f"a stranger submits it and pays the gas: session #{granted.id} '{granted.state.label}' for "
            f"{granted.agent[:10]}…, holder ops, {book.format('ETH', granted.remaining())} budget; ops spent "
            f"{book.format('ETH', owner_eth - alpha.balance(owner_wallet.address))} on it")
        error = refused(lambda: submit_grant(signed, stranger, client=alpha))
        say(f"the same signature again -> [red]{type(error).__name__}[/]: {error_explanation(error, book)}")

        # --------------------------------------------------------------------------------------------------------
        step("Keyless agents through a relayer")
        agents = [Account.create() for _ in range(100)]
        deposit(ops, "5 ether", owner_wallet)
        keyless = [SessionParams(agent=a.address, expiry="1d", budgets={NATIVE: "0.01 ether"}, any_target=True,
                                 label="keyless") for a in agents]
        fleet = submit_grant(sign_grant(ops, keyless, owner_wallet), stranger, client=alpha)
        set_max_relay_fees(ops, fleet, "0.0002 ether", owner_wallet)
        say(f"one signed grant opens {len(fleet)} sessions for 100 fresh agent keys holding 0 ETH; relay fees up to "
            "0.0002 ETH allowed")
        signed_calls = [sign_execute(s, ALICE, MILLI, b"", a, relay_fee="0.00015 ether")
                        for s, a in zip(fleet, agents)]
        relayer_key = dev_keys(1, start=7)[0]
        relayer = Relayer(alpha, relayer_key, min_fee="0.00001 ether")
        relayer_before, alice_before = alpha.balance(relayer_key.address), alpha.balance(ALICE)
        start = time.perf_counter()
        outcomes = relayer.relay(signed_calls)
        seconds = time.perf_counter() - start
        mined = sum(o.ok for o in outcomes)
        gas = sum(o.gas_used or 0 for o in outcomes)
        fees = sum(o.item.relay_fee for o in outcomes if o.ok)
        gas_paid = fees - (alpha.balance(relayer_key.address) - relayer_before)
        say(f"the relayer submits {len(signed_calls)} signed executes: {mined} mined in {seconds:.2f} s "
            f"({len(signed_calls) / seconds:,.0f} executes/s), {gas // max(mined, 1):,} gas each")
        say(f"alice received {book.format('ETH', alpha.balance(ALICE) - alice_before)}; the relayer earned "
            f"{book.format('ETH', fees)} in relay fees and paid {book.format('ETH', gas_paid)} of gas")
        say(f"the 100 agents hold {book.format('ETH', sum(alpha.balance(a.address) for a in agents))}: they only "
            "signed")
        if mined != len(signed_calls):
            raise click.ClickException(f"{len(signed_calls) - mined} relayed executes failed: "
                                       f"{next(o.error for o in outcomes if not o.ok)}")
        greedy = sign_execute(fleet[0], ALICE, MILLI, b"", agents[0], relay_fee="0.001 ether")
        (refusal,) = relayer.relay([greedy])
        say(f"an agent signing a fee above its session's cap -> [red]{error_line(refusal.error, book)}[/] "
            f"({refusal.status}: nothing sent)")

    console.print()
    console.print(f"[bold]Demo finished in {time.perf_counter() - started:.1f} s[/]; both Anvil nodes stopped.")


if __name__ == "__main__":
    cli()
