"""End-to-end demo on a local Anvil (started and stopped by Ape): a root session for an agent, a child for a
sub-agent, calls within limits, a call blocked with the contract's reason, a cascading revoke, refunds.

    ape run demo            # or: make demo
"""

from __future__ import annotations

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, verbosity_option
from rich.table import Table

from scripts._common import (
    DAY,
    ETHER,
    NATIVE,
    budget,
    created_id,
    deploy_system,
    fmt_eth,
    format_error,
    make_console,
    send_expecting_revert,
    session_params,
    status_name,
)

console = make_console()


class Steps:
    """Numbered steps: `steps("title")` prints the next heading."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, title: str) -> None:
        self.n += 1
        console.print()
        console.rule(f"[bold]Step {self.n}[/]  {title}", align="left")


def say(text: str) -> None:
    console.print(f"  {text}")


def say_reverted(tx, reason: str) -> None:
    say(f"sent anyway: tx {tx.txn_hash[:10]}… mined in block {tx.block}, failed ({tx.gas_used:,} gas)")
    say(f"  reverted with [red]{reason}[/]")


@click.command(cls=ConnectedProviderCommand)
@verbosity_option(default="WARNING")  # Ape's per-transaction INFO lines would drown the story (-v INFO)
def cli():
    """Walk through sessions end to end: open, spawn, execute, block, revoke, close."""
    owner, agent, sub_agent, merchant, stranger = accounts.test_accounts[:5]
    names = {str(owner): "owner", str(agent): "agent", str(sub_agent): "sub-agent",
             str(merchant): "merchant", str(stranger): "stranger"}

    def who(address) -> str:
        return names.get(str(address), str(address))

    step = Steps()

    step("Deploy the system")
    system = deploy_system(project, owner)
    manager = system.manager
    names[str(manager.address)] = "manager"
    say(f"SessionManagerExtension  {system.extension.address}")
    say(f"SessionFactory           {system.factory.address}")
    say(f"SessionManager (owner's) {manager.address}  [dim](EIP-1167 clone)[/]")

    def reason(raw) -> str:
        return format_error(manager, raw, labels=names)

    expiry = chain.pending_timestamp + DAY

    step("The owner opens a root session for the agent")
    root_params = session_params(agent, expiry=expiry, any_target=True, label="researcher",
                                 budgets=[budget(NATIVE, ETHER, per_call_cap=ETHER // 4)])
    root = created_id(manager, manager.createSession(root_params, value=ETHER, sender=owner))
    say(f"session #{root} 'researcher': agent={who(agent)}, budget {fmt_eth(ETHER)} escrowed, "
        f"per-call cap {fmt_eth(ETHER // 4)}, any target, expires in 24 h")
    say(f"session token #{root} minted to {who(manager.ownerOf(root))}")

    step("The agent spawns a child session for a sub-agent")
    child_params = session_params(sub_agent, expiry=expiry, any_target=True, label="shopper",
                                  budgets=[budget(NATIVE, 3 * ETHER // 10)])
    child = created_id(manager, manager.spawnChild(root, child_params, sender=agent))
    say(f"session #{child} 'shopper' under #{root}: agent={who(sub_agent)}, "
        f"{fmt_eth(3 * ETHER // 10)} reserved out of #{root}")
    say(f"left in #{root}: {fmt_eth(manager.remaining(root, NATIVE))}; "
        f"token #{child} held by {who(manager.ownerOf(child))}")

    step("Both agents pay the merchant, within their limits")
    before = merchant.balance
    manager.execute(root, merchant, ETHER // 10, b"", sender=agent)
    say(f"agent     pays {fmt_eth(ETHER // 10)} from #{root}")
    manager.execute(child, merchant, ETHER // 20, b"", sender=sub_agent)
    say(f"sub-agent pays {fmt_eth(ETHER // 20)} from #{child}")
    say(f"merchant balance {fmt_eth(before)} -> {fmt_eth(merchant.balance)} "
        f"([green]+{fmt_eth(merchant.balance - before)}[/])")
    say(f"left: #{root} {fmt_eth(manager.remaining(root, NATIVE))}, "
        f"#{child} {fmt_eth(manager.remaining(child, NATIVE))}; "
        f"manager escrow {fmt_eth(manager.balance)}")

    step("A call over budget is blocked, with the contract's reason")
    too_much = ETHER // 2
    ok, why = manager.check(child, sub_agent, merchant, too_much, b"")
    say(f"check: sub-agent pays {fmt_eth(too_much)} from #{child} -> [red]{reason(why)}[/]")
    tx = send_expecting_revert(manager, "execute", child, merchant, too_much, b"", sender=sub_agent)
    say_reverted(tx, reason(tx.revert_data))
    assert not ok and reason(tx.revert_data) == reason(why)
    _, capped = manager.check(root, agent, merchant, 3 * ETHER // 10, b"")
    say(f"check: agent pays {fmt_eth(3 * ETHER // 10)} from #{root} -> [red]{reason(capped)}[/]")
    say(f"merchant still has {fmt_eth(merchant.balance)}")

    step("The owner revokes the root: the child dies with it")
    manager.revoke(root, sender=owner)
    say(f"revoke(#{root}) by owner: one O(1) transaction")
    say(f"statusOf(#{root}) = {status_name(manager.statusOf(root))}, "
        f"statusOf(#{child}) = {status_name(manager.statusOf(child))} [dim](through its ancestor)[/]")
    _, dead = manager.check(child, sub_agent, merchant, ETHER // 100, b"")
    say(f"check: sub-agent pays {fmt_eth(ETHER // 100)} from #{child} -> [red]{reason(dead)}[/]")
    tx = send_expecting_revert(manager, "execute", child, merchant, ETHER // 100, b"", sender=sub_agent)
    say_reverted(tx, reason(tx.revert_data))

    step("Anyone closes the dead sessions: unspent escrow flows back")
    owner_before = owner.balance
    refunds: dict[int, str] = {}
    for sid in (child, root):
        receipt = manager.close(sid, sender=stranger)
        for ev in receipt.events.filter(manager.EscrowReturned):
            dest = f"session #{ev.toSession}" if ev.toSession else who(ev.to)
            refunds[sid] = f"{fmt_eth(ev.amount)} -> {dest}"
            say(f"close(#{sid}) by stranger: {fmt_eth(ev.amount)} returned to {dest}")
    say(f"owner balance +{fmt_eth(owner.balance - owner_before)} [dim](the stranger paid the gas)[/]; "
        f"manager escrow {fmt_eth(manager.balance)}")

    step("Sessions at the end")
    table = Table(show_lines=False)
    for col in ("id", "label", "parent", "agent", "holder", "status", "closed", "ETH spent", "refund"):
        table.add_column(col, justify="right" if col in ("id", "parent", "ETH spent") else "left")
    for info in manager.getSessions([root, child]):
        eth = next(b for b in info.budgets if str(b.token).lower() == NATIVE.lower())
        table.add_row(
            f"#{info.id}",
            bytes(info.label).rstrip(b"\x00").decode(),
            f"#{info.parentId}" if info.parentId else "—",
            who(info.agent),
            who(info.holder) if int(str(info.holder), 16) else "— (burned)",
            status_name(info.status),
            "yes" if info.closed else "no",
            fmt_eth(eth.spent),
            refunds.get(info.id, "—"),
        )
    console.print(table)
