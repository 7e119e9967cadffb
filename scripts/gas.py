"""Gas snapshot: deploys the system on a fresh local Anvil, runs named scenarios, and writes each transaction's
gasUsed to gas-snapshot.json (sorted keys), printed against the targets of ../shared/DESIGN.md:

    ape run gas            # or `make gas`: measure, write gas-snapshot.json, fail when a gated operation is over
    ape run gas --check    # or `make gas-check`: measure, compare with gas-snapshot.json, fail on any difference

Both modes measure through the same code (`measure`): only what happens to the numbers differs.

Every number is the `gasUsed` of one mined transaction (intrinsic 21,000 and calldata included). Steady-state
keys are measured the way they recur in real use: the holder already owns a session token, the payee already
holds a balance, the session's budget word is already non-zero. First-time costs (a storage slot going from
zero to non-zero, +17,100 gas each) have their own keys, so nothing is hidden.

The numbers reproduce bit for bit, on every run and machine: the measurement runs on an Anvil started for it
(never one already running: its state and nonces would move addresses and costs), on a port the system picks,
with the chain clock pinned (blocks at CLOCK_START + n * BLOCK_INTERVAL whatever the wall clock says), the same
accounts, salts and expiries, and the scenarios in a fixed order. Calldata is charged per byte (4 gas for a zero
byte, 16 otherwise), so an expiry taken from the wall clock made creations drift by 24 gas whenever one of its
bytes happened to be zero.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from ape import accounts, chain, networks, project
from ape.cli import verbosity_option
from rich.table import Table

from scripts._common import (
    DAY,
    ETHER,
    NATIVE,
    NO_SELECTOR,
    budget,
    created_id,
    deploy_system,
    eth_value,
    make_console,
    session_params,
)
from scripts._ports import free_port

#: The chain clock of the measurement (unix seconds): the first block is mined at CLOCK_START + BLOCK_INTERVAL and
#: every block BLOCK_INTERVAL seconds after the previous one, independent of the wall clock.
CLOCK_START = 1_750_000_000  # 2025-06-15 15:06:40 UTC
BLOCK_INTERVAL = 12
#: One expiry for every session (a child's may not be later than its parent's). Like almost every real
#: timestamp, none of its four bytes is zero: calldata costs what it costs in the common case.
EXPIRY = CLOCK_START + 30 * DAY
assert all(EXPIRY.to_bytes(4, "big")), "EXPIRY must have no zero byte"

#: Gated targets (DESIGN.md, "Numbers we hold ourselves to"): over -> exit code 1.
TARGETS = {
    "create root session (ETH budget)": 150_000,
    "spawn child session": 140_000,
    "execute ETH transfer": 55_000,
    "revoke": 35_000,
    "revoke with 50 descendants": 35_000,
    "revoke (daily allowance, call limit)": 35_000,
}
#: Shown for comparison only (first-time or deeper variants of a gated operation); never fail the run.
INFO_TARGETS = {
    "create first root session (new holder)": 150_000,
    "spawn first child (new holder)": 140_000,
    "execute ETH transfer (child, depth 1)": 55_000,
    "execute with allowlist": 55_000,
    "revoke (idle timeout)": 35_000,
    # the wallet door (the bar: the direct operation plus 10,000 for a signed grant, 8,000 for an execute)
    "create root session with signature (ETH from deposit)": 131_646,
    "execute with signature (relayed, no fee)": 57_967,
    "execute with signature (relayed, fee)": 57_967,
}
#: What a plain transfer must cost on any EVM: a sanity check of the measurement itself.
REFERENCE = {"plain ETH transfer": 21_000}

BATCH = 100


class GasRecorder:
    """Keeps operation name -> gasUsed in the order the scenarios ran."""

    def __init__(self) -> None:
        self.gas: dict[str, int] = {}

    def record(self, name: str, receipt, divide_by: int = 1) -> None:
        # a failed transaction would still report gas: refuse it
        assert not receipt.failed, f"{name}: transaction failed"
        assert name not in self.gas, f"{name}: recorded twice"
        self.gas[name] = receipt.gas_used // divide_by


def run_scenarios() -> dict[str, int]:
    """Runs every scenario on a fresh deployment and returns operation -> gasUsed."""
    owner, agent, sub_agent, payee, other, holder = accounts.test_accounts[:6]
    g = GasRecorder()

    expiry = EXPIRY

    # --- references: what the EVM charges without us ----------------------------------------------------
    # plain ETH transfer: EOA -> an EOA that already exists (has a balance), no calldata.
    g.record("plain ETH transfer", owner.transfer(payee, 1))

    tusd = project.TestToken.deploy("Test USD", "TUSD", 18, sender=owner)
    oth = project.TestToken.deploy("Other", "OTH", 18, sender=owner)
    for t in (tusd, oth):
        t.mint(owner, 10**30, sender=owner)
    tusd.mint(holder, ETHER, sender=owner)
    tusd.mint(payee, ETHER, sender=owner)
    # plain ERC20 transfer: OpenZeppelin ERC20 between two accounts that both hold a balance already.
    g.record("plain ERC20 transfer", tusd.transfer(holder, ETHER, sender=owner))

    # --- deployment ------------------------------------------------------------------------------------
    # deploy manager: the owner's first manager (a CREATE2 copy of the implementation's code, initialize, registry push).
    system = deploy_system(project, owner)
    manager = system.manager
    g.record("deploy manager", system.deploy_receipt)
    for t in (tusd, oth):
        t.approve(manager, 2**256 - 1, sender=owner)  # infinite: OZ never writes it back on transferFrom

    def create(params, name: str | None = None) -> int:
        receipt = manager.createSession(params, value=eth_value(params), sender=owner)
        if name:
            g.record(name, receipt)
        return created_id(manager, receipt)

    def spawn(parent: int, params, sender, name: str | None = None) -> int:
        receipt = manager.spawnChild(parent, params, sender=sender)
        if name:
            g.record(name, receipt)
        return created_id(manager, receipt)

    def eth_root(eth: int = ETHER, **kwargs):
        return session_params(agent, expiry=expiry, budgets=[budget(NATIVE, eth)], any_target=True, **kwargs)

    # --- creating root sessions ------------------------------------------------------------------------
    # create first root session (new holder): the owner's first session token (its ERC-721 balance slot
    # goes from zero), ETH budget, anyTarget.
    first_root = create(eth_root(), "create first root session (new holder)")
    # create root session (ETH budget): the owner's second root, same params. This is the gated one.
    root = create(eth_root(), "create root session (ETH budget)")

    def eth_erc20_root():
        return session_params(
            agent, expiry=expiry, any_target=True,
            budgets=[budget(NATIVE, ETHER), budget(tusd, 1_000 * ETHER)],
        )

    # create root session (ETH + ERC20 budget, first ERC20 escrow): the first time the manager escrows TUSD
    # (its TUSD balance and the escrowed-token flag go from zero).
    create(eth_erc20_root(), "create root session (ETH + ERC20 budget, first ERC20 escrow)")
    # create root session (ETH + ERC20 budget): steady state, TUSD already escrowed by the manager.
    token_root = create(eth_erc20_root(), "create root session (ETH + ERC20 budget)")

    # --- children --------------------------------------------------------------------------------------
    def child_params():
        return session_params(sub_agent, expiry=expiry, budgets=[budget(NATIVE, ETHER // 10)],
                              any_target=True)

    # spawn first child (new holder): the root's agent spawns its first child; the token it receives is its
    # first (ERC-721 balance slot from zero). ETH budget reserved out of the root.
    spawn(root, child_params(), agent, "spawn first child (new holder)")
    # spawn child session: the same agent spawns its second child with an ETH budget. The gated one.
    child = spawn(root, child_params(), agent, "spawn child session")

    # --- acting ----------------------------------------------------------------------------------------
    before = payee.balance
    # execute ETH transfer: the agent sends 0.01 ETH to an existing EOA through a root session with
    # anyTarget (no caps, no guards, no timing). First call of the session, but its budget word is already
    # non-zero, so every later call costs the same.
    g.record("execute ETH transfer", manager.execute(root, payee, ETHER // 100, b"", sender=agent))
    assert payee.balance - before == ETHER // 100
    # execute ETH transfer (child, depth 1): the same through a child (one ancestor checked).
    g.record("execute ETH transfer (child, depth 1)",
             manager.execute(child, payee, ETHER // 100, b"", sender=sub_agent))
    # execute with allowlist: a root without anyTarget whose allowlist holds (payee, 0x00000000).
    allow_root = create(session_params(agent, expiry=expiry, budgets=[budget(NATIVE, ETHER)],
                                       permissions=[(payee, NO_SELECTOR)]))
    g.record("execute with allowlist", manager.execute(allow_root, payee, ETHER // 100, b"", sender=agent))
    # transfer ERC20 from session: metered TUSD payment to a payee that already holds TUSD.
    g.record("transfer ERC20 from session",
             manager.transferToken(token_root, tusd, payee, 10 * ETHER, sender=agent))

    # swap via DEX: TUSD -> OTH through MockDex (approve, call, reset, charge, credit). A swap may output only a
    # token the session has a budget row for, so this root declares an empty OTH row. Measured on the session's
    # second swap: the first one also fills the OTH budget word (a slot from zero).
    swap_root = create(session_params(agent, expiry=expiry, any_target=True,
                                      budgets=[budget(tusd, 1_000 * ETHER), budget(oth, 0)]))
    dex = project.MockDex.deploy(sender=owner)
    oth.mint(dex, 10**27, sender=owner)
    swap_data = dex.swap.encode_input(tusd, 10 * ETHER, oth, manager)
    manager.swap(swap_root, tusd, 10 * ETHER, oth, 10 * ETHER, dex, swap_data, sender=agent)
    g.record("swap via DEX",
             manager.swap(swap_root, tusd, 10 * ETHER, oth, 10 * ETHER, dex, swap_data, sender=agent))

    # checkpoint: the agent's second anchor on a session (its checkpoint slots are already non-zero, as
    # for every periodic anchor after the first).
    manager.checkpoint(root, b"\x01" * 32, 1, sender=agent)
    g.record("checkpoint", manager.checkpoint(root, b"\x02" * 32, 2, sender=agent))

    # --- lifecycle -------------------------------------------------------------------------------------
    # pause / resume: the owner (holder) pauses a root, then resumes it (extension, via the fallback).
    g.record("pause", manager.pause(root, sender=owner))
    g.record("resume", manager.resume(root, sender=owner))
    # rotate agent: the owner hands a root to a new agent key (extension).
    g.record("rotate agent", manager.rotateAgent(token_root, other, sender=owner))

    # revoke: the owner revokes a root without descendants.
    g.record("revoke", manager.revoke(first_root, sender=owner))
    # close (root, ETH refund): the owner settles that revoked root; its unspent 1 ETH is paid to the holder.
    g.record("close (root, ETH refund)", manager.close(first_root, sender=owner))
    # revoke (daily allowance, call limit): a root with a periodic ETH allowance and a call limit per day; its
    # timing word is not read (only an idle timeout needs it to tell whether the session already expired).
    daily = create(session_params(agent, expiry=expiry, any_target=True, period=86_400, max_calls=10,
                                  budgets=[budget(NATIVE, ETHER, 0, ETHER // 10)]))
    g.record("revoke (daily allowance, call limit)", manager.revoke(daily, sender=owner))
    # revoke (idle timeout): a root that expires after an hour without activity: revoke reads its idle clock
    # (one more storage slot) to refuse a session that already timed out.
    idle = create(eth_root(max_idle=3_600))
    g.record("revoke (idle timeout)", manager.revoke(idle, sender=owner))

    # complete: the agent declares a root done; it settles at once (token burned, unspent ETH paid to the
    # holder).
    done = create(eth_root())
    g.record("complete", manager.complete(done, sender=agent))

    # revoke with 50 descendants: a root over a chain 8 deep (the depth cap) plus 6 children with 6
    # grandchildren each (8 + 6 + 36 = 50). Revoking the root is O(1): the cost must not depend on them.
    tree_root = create(session_params(agent, expiry=expiry, any_target=True))
    first_descendant = manager.sessionCount() + 1
    node, spawner = tree_root, agent
    for _ in range(8):
        node = spawn(node, session_params(sub_agent, expiry=expiry, any_target=True), spawner)
        spawner = sub_agent
    deepest = node
    leaf = [session_params(sub_agent, expiry=expiry, any_target=True)] * 6
    first_child = manager.sessionCount() + 1
    manager.spawnChildren(tree_root, leaf, sender=agent)
    for c in range(first_child, first_child + 6):
        manager.spawnChildren(c, leaf, sender=sub_agent)
    assert manager.sessionCount() - first_descendant + 1 == 50
    assert manager.getSession(deepest).depth == 8
    g.record("revoke with 50 descendants", manager.revoke(tree_root, sender=owner))
    assert manager.statusOf(deepest) == 5  # Revoked through its ancestors

    # create sessions batch of 100 (per session): one createSessions of 100 ETH-funded roots by an owner
    # that already holds tokens, divided by 100 (the transaction's 21,000 is spread over the batch).
    batch = [eth_root(ETHER // 100)] * BATCH
    g.record("create sessions batch of 100 (per session)",
             manager.createSessions(batch, value=BATCH * (ETHER // 100), sender=owner), divide_by=BATCH)

    # --- the wallet door ---------------------------------------------------------------------------------
    # deposit: the owner adds ETH to its deposit (its second: the slot is already non-zero).
    manager.deposit(value=ETHER, sender=owner)
    g.record("deposit", manager.deposit(value=10 * ETHER, sender=owner))
    # create root session with signature (ETH from deposit): the owner signed a one-session grant off-chain; a
    # relayer (`holder`) submits it; its ETH budget comes out of the deposit. Steady state: the grant's nonce is
    # the second of its bitmap word (the first use of a word writes a slot from zero: its own key).
    grant = eth_root()
    sign = signer_of(owner)
    receipt = manager.createSessionWithSig(grant, owner, 0, expiry, sign(manager, grant_message(owner, [grant], 0, expiry)),
                                           sender=holder)
    g.record("create root session with signature (first nonce of a word)", receipt)
    g.record("create root session with signature (ETH from deposit)",
             manager.createSessionWithSig(grant, owner, 1, expiry,
                                          sign(manager, grant_message(owner, [grant], 1, expiry)), sender=holder))
    # execute with signature: the root's agent (holding no ETH is possible: it only signs) signs a 0.01 ETH
    # payment; a relayer submits it and is paid a fee out of the session, within the cap its owner set.
    relayed = created_id(manager, receipt)
    manager.setMaxRelayFee(relayed, ETHER // 1_000, sender=owner)
    agent_sign = signer_of(agent)
    fee = ETHER // 10_000
    for nonce, name in ((0, None), (1, "execute with signature (relayed, fee)")):
        message = execute_message(relayed, payee, ETHER // 100, b"", nonce, expiry, fee)
        r = manager.executeWithSig(relayed, payee, ETHER // 100, b"", nonce, expiry, fee,
                                   agent_sign(manager, message), sender=holder)
        if name:
            g.record(name, r)
    message = execute_message(relayed, payee, ETHER // 100, b"", 2, expiry, 0)
    g.record("execute with signature (relayed, no fee)",
             manager.executeWithSig(relayed, payee, ETHER // 100, b"", 2, expiry, 0, agent_sign(manager, message),
                                    sender=holder))

    # revoke all: the owner bumps the epoch, ending every session at once (extension). Last on purpose.
    g.record("revoke all", manager.revokeAll(sender=owner))
    assert manager.statusOf(child) == 5

    return g.gas


# --- EIP-712 messages of the wallet door (the SDK's typed data: agent_sessions.wallet) ---------------------------


def _params_message(p: tuple) -> dict:
    """A SessionParams tuple (see scripts/_common.session_params) as the typed data's message."""
    return {
        "agent": p[0], "expiry": p[1], "maxIdle": p[2], "period": p[3], "maxCallsPerPeriod": p[4], "draft": p[5],
        "anyTarget": p[6], "label": p[7],
        "budgets": [{"token": b[0], "amount": b[1], "perCallCap": b[2], "periodAllowance": b[3]} for b in p[8]],
        "permissions": [{"target": t, "selector": sel} for t, sel in p[9]],
        "guards": list(p[10]),
    }


def grant_message(owner, sessions: list[tuple], nonce: int, deadline: int) -> tuple[str, dict]:
    return "Grant", {"owner": str(owner), "sessions": [_params_message(p) for p in sessions], "nonce": nonce,
                     "deadline": deadline}


def execute_message(session: int, target, value: int, data: bytes, nonce: int, deadline: int,
                    relay_fee: int) -> tuple[str, dict]:
    return "Execute", {"session": session, "target": str(target), "value": value, "data": data, "nonce": nonce,
                       "deadline": deadline, "relayFee": relay_fee}


def signer_of(account):
    """Signs a wallet-door message for `manager` with a test account's key, through the SDK's typed data."""
    from agent_sessions.wallet import sign_typed, typed_data

    def sign(manager, message: tuple[str, dict]) -> bytes:
        primary, fields = message
        return sign_typed(account.private_key, typed_data(primary, chain.chain_id, str(manager.address), fields))

    return sign


class MeasurementError(click.ClickException):
    """The measurement could not run as specified (no fresh node, clock not pinned): its numbers would not
    reproduce."""


@contextmanager
def _without_env(name: str) -> Iterator[None]:
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


@contextmanager
def fresh_chain(attempts: int = 3) -> Iterator[str]:
    """Ape connected to an Anvil it starts for the measurement on a free port (stopped on exit), its clock pinned;
    yields the node's URL. A node that was already running there (the port was taken between choosing it and
    starting ours) is refused, never measured on."""
    # APE_FOUNDRY_HOST would send Ape to another node (e.g. the one of `make node`, with its state and nonces)
    with _without_env("APE_FOUNDRY_HOST"):
        for _ in range(attempts):
            url = f"http://127.0.0.1:{free_port()}"
            with networks.ethereum.local.use_provider(
                "foundry", provider_settings={"host": url}, disconnect_after=True
            ) as provider:
                if getattr(provider, "process", None) is None or chain.blocks.height != 0:
                    continue  # not a node of ours: try another port
                provider.make_request("evm_setTime", [CLOCK_START])
                provider.make_request("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL])
                if chain.pending_timestamp != CLOCK_START + BLOCK_INTERVAL:
                    raise MeasurementError(f"could not pin the chain clock of {url}")
                yield url
                return
    raise MeasurementError(f"no fresh Anvil could be started for the measurement ({attempts} ports tried)")


def measure() -> dict[str, int]:
    """Operation -> gasUsed, measured on a fresh Anvil with a pinned clock (see the module docstring). The one
    measuring path of both `make gas` and `make gas-check`."""
    with fresh_chain():
        return run_scenarios()


# ---------------------------------------------------------------------------------------------------------
# The snapshot file
# ---------------------------------------------------------------------------------------------------------


def load_snapshot(path: Path) -> dict[str, int]:
    """The snapshot at ``path`` ({} when there is none yet); raises ClickException when it is not valid JSON of
    operation -> integer gas."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise click.ClickException(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, (int, str)) and str(v).isdigit() for v in data.values()):
        raise click.ClickException(f"{path} must map operation names to gas amounts")
    return {k: int(v) for k, v in data.items()}


def snapshot_text(gas: dict[str, int]) -> str:
    """The file content: keys sorted, two-space indent, a final newline (byte-identical for equal numbers)."""
    return json.dumps(gas, indent=2, sort_keys=True) + "\n"


def write_snapshot(path: Path, gas: dict[str, int]) -> None:
    path.write_text(snapshot_text(gas))


def differences(committed: dict[str, int], measured: dict[str, int]) -> list[str]:
    """One readable line per operation whose committed gas differs from what it costs now, in name order; [] when
    the snapshot is up to date."""
    lines = []
    for name in sorted(committed.keys() | measured.keys()):
        old, new = committed.get(name), measured.get(name)
        if old == new:
            continue
        if old is None:
            lines.append(f"{name}: {new:,} gas now, not in the snapshot")
        elif new is None:
            lines.append(f"{name}: {old:,} gas in the snapshot, no longer measured")
        else:
            lines.append(f"{name}: {new:,} gas now, {old:,} in the snapshot ({new - old:+,})")
    return lines


# ---------------------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------------------


def render(gas: dict[str, int], previous: dict[str, int]) -> tuple[Table, list[str]]:
    """The rich table and the gated operations that are over target."""
    table = Table(title="Gas per operation (gasUsed, Anvil)", title_justify="left")
    table.add_column("operation")
    table.add_column("gas", justify="right")
    table.add_column("target", justify="right")
    table.add_column("verdict")
    if previous:
        table.add_column("vs snapshot", justify="right")
    over = []
    for name, used in gas.items():
        target, verdict = "", ""
        if name in TARGETS:
            limit = TARGETS[name]
            target = f"≤ {limit:,}"
            if used <= limit:
                verdict = "[green]✓ within[/]"
            else:
                verdict = f"[bold red]✗ over by {used - limit:,}[/]"
                over.append(name)
        elif name in INFO_TARGETS:
            limit = INFO_TARGETS[name]
            target = f"[dim](≤ {limit:,})[/]"
            verdict = ("[dim]within, not gated[/]" if used <= limit
                       else f"[yellow]over by {used - limit:,}, not gated[/]")
        elif name in REFERENCE:
            target = f"[dim]= {REFERENCE[name]:,}[/]"
            verdict = "[green]✓ reference[/]" if used == REFERENCE[name] else "[bold red]✗ unexpected[/]"
        row = [name, f"{used:,}", target, verdict]
        if previous:
            old = previous.get(name)
            row.append("new" if old is None else ("=" if old == used else f"{used - old:+,}"))
        table.add_row(*row)
    return table, over


@click.command()
@verbosity_option(default="WARNING")  # one INFO line per transaction otherwise (-v INFO to see them)
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The snapshot file (default: gas-snapshot.json at the project root).")
@click.option("--check", is_flag=True,
              help="Compare with the snapshot instead of writing it; exit 1 listing every operation that differs.")
@click.option("--json", "as_json", is_flag=True, help="Print the measured numbers as JSON instead of a table.")
def cli(snapshot_path: Path | None, check: bool, as_json: bool):
    """Measure the gas of named operations on a fresh local Anvil and write gas-snapshot.json (or, with --check,
    fail when it differs from what the contracts cost now)."""
    path = snapshot_path or project.path / "gas-snapshot.json"
    previous = load_snapshot(path)
    if check and not previous:
        raise click.ClickException(f"no snapshot to check at {path}: run `make gas` and commit it")
    gas = measure()
    if any(gas.get(name) != expected for name, expected in REFERENCE.items()):
        raise click.ClickException("reference transfer did not cost 21,000: the measurement is off")

    if check:
        diff = differences(previous, gas)
        if as_json:
            click.echo(json.dumps(gas, indent=2, sort_keys=True))
        if diff:
            click.echo(f"{path.name} differs from what the contracts cost now "
                       f"({len(diff)} of {len(previous.keys() | gas.keys())} operations):", err=True)
            for line in diff:
                click.echo(f"  {line}", err=True)
            click.echo("Run `make gas` and commit gas-snapshot.json if the change is intended.", err=True)
            raise SystemExit(1)
        if not as_json:
            click.echo(f"{path.name} matches: {len(gas)} operations, same gas")
        return

    write_snapshot(path, gas)
    table, over = render(gas, previous)
    if as_json:
        click.echo(json.dumps(gas, indent=2, sort_keys=True))
    else:
        console = make_console()
        console.print(table)
        console.print(f"wrote {path}")
    if over:
        raise click.ClickException(f"over target: {', '.join(over)}")
