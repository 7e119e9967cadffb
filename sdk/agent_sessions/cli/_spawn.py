"""``agent-sessions spawn --config FILE [--dry-run]``: every session of a fleet spec, on the chains it names.

``--dry-run`` validates the spec, prints the plan (each session with its chain, manager, parent, agent, expiry and
budgets), what each manager's owner escrows per token, and the gas and ETH it will cost, and sends nothing. When a
chain's node answers, the gas is the node's: every transaction the spawn would send there (manager, approvals,
batches) simulated in order as its sender on the chain's current state (``eth_simulateV1``), so sessions already on
chain cost nothing; otherwise (node down, a token still to deploy...) the figures of the committed gas snapshot
stand in, labelled as such with the reason. The fee is at the gas price of the chain when its node answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..base.units import format_amount
from ._app import cli, common, env
from ._output import echo_json, errors_handled, fail, make_console

__all__ = ["spawn", "plan"]

#: Gas of each operation, from the committed gas-snapshot.json when it is next to the package (a checkout), else
#: these figures of the snapshot the shipped artifacts were measured with.
GAS = {
    "root": 121_305,  # create root session (ETH budget)
    "root_erc20": 95_593,  # more for each ERC-20 budget of a root (216,898 - 121,305)
    "child": 131_358,  # spawn child session
    "manager": 202_971,  # deploy manager
    "approve": 46_000,  # an ERC-20 approve of the manager by its owner (not in the snapshot)
}
SNAPSHOT = Path(__file__).resolve().parents[3] / "gas-snapshot.json"


def gas_figures(snapshot: Path = SNAPSHOT) -> dict[str, int]:
    """``GAS`` with the figures of ``snapshot`` (``make gas`` writes it) when it can be read."""
    import json

    try:
        snap = json.loads(snapshot.read_text())
        root = int(snap["create root session (ETH budget)"])
        return dict(GAS, root=root, root_erc20=int(snap["create root session (ETH + ERC20 budget)"]) - root,
                    child=int(snap["spawn child session"]), manager=int(snap["deploy manager"]))
    except (OSError, ValueError, KeyError, TypeError):
        return dict(GAS)


def plan(spec: Any, gas_prices: dict[str, int | None] | None = None,
         node_gas: dict[str, Any] | None = None) -> dict[str, Any]:
    """What spawning ``spec`` sends and costs: sessions, escrow per chain/manager/token, gas. ``node_gas`` holds,
    per chain, the ``SpawnGas`` simulated on its node, or the reason there is none (a str): the snapshot's
    figures (for a spawn from scratch) stand in for that chain."""
    gas_prices = gas_prices or {}
    node_gas = node_gas or {}
    GAS = gas_figures()  # noqa: N806 - the module's table, refreshed from the snapshot
    sessions = []
    gas_by_chain: dict[str, int] = {}
    erc20_roots: dict[tuple[str, str], set[str]] = {}
    for item in spec.sessions_flat():
        budgets = spec.budgets_of(item)
        gas = GAS["root"] if item.is_root else GAS["child"]
        if item.is_root:
            tokens = [t for t in budgets if t != "ETH"]
            gas += GAS["root_erc20"] * len(tokens)
            erc20_roots.setdefault((item.chain, item.manager), set()).update(tokens)
        gas_by_chain[item.chain] = gas_by_chain.get(item.chain, 0) + gas
        expires = item.expires
        sessions.append({
            "key": item.key, "label": item.label, "chain": item.chain, "manager": item.manager,
            "parent": item.parent, "depth": item.depth, "agent": item.spec.agent,
            "expires": expires.isoformat() if hasattr(expires, "isoformat") else _span(int(expires.total_seconds())),
            "budgets": {name: {"total": format_amount(b.total, spec.decimals_of(name), name),
                               **({"per_call": format_amount(b.per_call, spec.decimals_of(name), name)}
                                  if b.per_call else {}),
                               **({"per_period": format_amount(b.per_period, spec.decimals_of(name), name)}
                                  if b.per_period else {})}
                        for name, b in budgets.items()},
            "gas": gas,
        })
    managers = sorted({(i.chain, i.manager) for i in spec.sessions_flat()})
    for chain, _ in managers:
        gas_by_chain[chain] = gas_by_chain.get(chain, 0) + GAS["manager"]  # at most: reused when it exists
    for (chain, _), tokens in erc20_roots.items():
        gas_by_chain[chain] = gas_by_chain.get(chain, 0) + GAS["approve"] * len(tokens)
    sources: dict[str, str] = {}
    notes: dict[str, str | None] = {}
    for chain in gas_by_chain:
        simulated = node_gas.get(chain)
        if simulated is None or isinstance(simulated, str):
            sources[chain], notes[chain] = "snapshot", simulated or "the node was not asked"
            continue
        sources[chain], notes[chain] = "node", None
        gas_by_chain[chain] = simulated.total
        for s in sessions:
            if s["chain"] == chain:
                s["gas"] = simulated.per_session.get(s["key"], 0)
    escrow = []
    for (chain, manager), totals in sorted(spec.totals().items()):
        escrow.append({"chain": chain, "manager": manager, "owner": spec.managers[manager].owner,
                       "tokens": {name: format_amount(amount, spec.decimals_of(name), name)
                                  for name, amount in totals.items()}})
    chains = []
    for chain, gas in gas_by_chain.items():
        price = gas_prices.get(chain)
        eth_escrow = sum(t.get("ETH", 0) for (c, _), t in spec.totals().items() if c == chain)
        chains.append({
            "chain": chain, "gas": gas, "gas_source": sources[chain], "gas_note": notes[chain], "gas_price_wei": price,
            "fee": format_amount(gas * price, 18, "ETH") if price is not None else None,
            "escrow_eth": format_amount(eth_escrow, 18, "ETH"),
            "eth_total": format_amount(eth_escrow + gas * price, 18, "ETH") if price is not None else None,
        })
    return {"sessions": sessions, "escrow": escrow, "chains": chains, "sent": False}


def _span(seconds: int) -> str:
    """``2592000`` -> ``30d``, ``5400`` -> ``1h30m`` (a duration as the spec writes it)."""
    out = ""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not out):
            count, seconds = divmod(seconds, size)
            out += f"{count}{unit}"
    return out


def _node_gas(spec: Any, chunk_size: int) -> dict[str, Any]:
    """Per chain of ``spec``: the spawn's gas simulated on its node (``SpawnGas``), or why not (a str). Nothing is
    started, signed or sent."""
    from ..base.errors import SessionError
    from ..domain.client import AgentSessions
    from ..domain.deployment import canonical_factory_address, has_code
    from ..fleet.chains import ChainHandle, probe_chain_id
    from ..fleet.spawn import simulate_spawn_gas

    out: dict[str, Any] = {}
    for name in spec.chains_used():
        chain = spec.chains[name]
        url = chain.rpc or f"http://127.0.0.1:{chain.anvil.port}"
        if not url.startswith("http") or probe_chain_id(url) != chain.expected_chain_id:
            out[name] = "the node is not running"
            continue
        client = AgentSessions(url)
        factory = chain.factory or canonical_factory_address()
        if not has_code(client, factory):
            out[name] = f"no factory at {factory} yet"
            continue
        handle = ChainHandle(name, client, client.factory(factory), None, factory == canonical_factory_address())
        try:
            out[name] = simulate_spawn_gas(spec, handle, chunk_size=chunk_size)
        except SessionError as exc:  # CannotSimulate, a key the spec cannot resolve, the node refusing...
            out[name] = str(exc)
    return out


def _gas_prices(spec: Any) -> dict[str, int | None]:
    """The gas price of each chain whose node answers now (None for the others); nothing is started."""
    from ..domain.client import AgentSessions
    from ..fleet.chains import probe_chain_id

    prices: dict[str, int | None] = {}
    for name in spec.chains_used():
        chain = spec.chains[name]
        url = chain.rpc or f"http://127.0.0.1:{chain.anvil.port}"
        if url.startswith("http") and probe_chain_id(url) == chain.expected_chain_id:
            try:
                prices[name] = int(AgentSessions(url).w3.eth.gas_price)
            except Exception:
                prices[name] = None
        else:
            prices[name] = None
    return prices


def _ports(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for value in values:
        name, sep, port = value.partition("=")
        if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise click.BadParameter(f"{value!r}: expected CHAIN=PORT, e.g. alpha=8612", ctx, param)
        ports[name] = int(port)
    return ports


@cli.command()
@common
@click.option("--dry-run", is_flag=True, help="Validate, print the plan and its cost; send nothing.")
@click.option("--port", "ports", multiple=True, callback=_ports, metavar="CHAIN=PORT",
              help="Run a local chain of the spec on another port (repeatable).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the state of local chains started here in DIR/<chain>.json.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Roots per createSessions / children per spawnChildren transaction.")
@click.option("--replace-ended", is_flag=True, help="Close spec sessions that have ended and open them afresh.")
@click.option("--rotate-agents", is_flag=True, help="Rotate live sessions whose agent differs from the spec's.")
@errors_handled
def spawn(dry_run: bool, ports: dict[str, int], state_dir: Path | None, chunk_size: int, replace_ended: bool,
          rotate_agents: bool) -> None:
    """Create the sessions of the fleet spec --config that are not on chain yet (idempotent per label)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..domain.tokens import TokenBook
    from ..fleet.chains import open_chains
    from ..fleet.console import error_line, fleet_states, fleet_table, fleet_to_jsonable
    from ..fleet.spawn import FleetError, spawn_fleet

    e = env()
    if not e.options.config:
        raise click.UsageError("spawn needs --config FILE (a fleet spec)")
    spec = e.spec
    if ports:
        try:
            spec = spec.with_ports(ports)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--port") from None
    if dry_run:
        data = plan(spec, _gas_prices(spec), _node_gas(spec, chunk_size))
        if e.options.as_json:
            echo_json(data)
        else:
            _print_plan(data)
        return
    console = make_console()
    try:
        with open_chains(spec, state_dir=state_dir) as chains:
            books = {name: TokenBook(handle.client) for name, handle in chains.items()}
            if e.options.as_json:
                report = spawn_fleet(spec, chains, chunk_size=chunk_size, replace_ended=replace_ended,
                                     rotate_agents=rotate_agents)
            else:
                with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                              MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[label]}"),
                              console=console, transient=False) as bar:
                    task = bar.add_task("spawning", total=len(spec.sessions_flat()), label="")

                    def progress(done: int, total: int, label: str) -> None:
                        bar.update(task, completed=done, total=total, label=label)

                    report = spawn_fleet(spec, chains, progress=progress, chunk_size=chunk_size,
                                         replace_ended=replace_ended, rotate_agents=rotate_agents)
            states = fleet_states(report)
            if e.options.as_json:
                data = fleet_to_jsonable(report, states, books=books)
                data["chains"] = {name: chain_note(handle) for name, handle in chains.items()}
                echo_json(data)
            else:
                console.print(fleet_table(report, states, books=books))
                console.print(report.summary())
                for name, handle in chains.items():
                    if chain_note(handle)["kept"] is False:
                        console.print(f"[yellow]chain {name}: the Anvil started for this command on {handle.url} "
                                      "stops now and its state is not kept[/] (add state: to the chain, pass "
                                      "--state-dir, or start the node first: agent-sessions node start)")
    except FleetError as exc:
        cause = exc.cause or exc.__cause__
        fail(str(exc) + (f"; reason: {error_line(cause)}" if cause is not None else ""))


def chain_note(handle: Any) -> dict[str, Any]:
    """Where a chain is and whether its state outlives this command."""
    anvil = handle.anvil
    started = anvil is not None and not anvil.reused
    state = getattr(anvil, "state_path", None) if anvil is not None else None
    return {
        "url": handle.url,
        "chain_id": handle.chain_id,
        "factory": handle.factory.address,
        "started_here": started,
        "state_file": str(state) if state else None,
        "kept": (not started) or state is not None,
    }


def _print_plan(data: dict[str, Any]) -> None:
    from rich.table import Table

    console = make_console()
    from_node = all(c["gas_source"] == "node" for c in data["chains"])
    table = Table(title="plan (dry run: nothing is sent; gas " + ("simulated on the node)" if from_node else
                                                                   "from the gas snapshot where not simulated)"),
                  title_justify="left", header_style="bold")
    for col in ("session", "chain", "manager", "parent", "agent", "expires", "budgets", "gas"):
        table.add_column(col, justify="right" if col == "gas" else "left")
    for s in data["sessions"]:
        budgets = "; ".join(
            " ".join([b["total"]] + [f"{k.replace('_', '-')} {v}" for k, v in b.items() if k != "total"])
            for b in s["budgets"].values()) or "—"
        table.add_row("  " * s["depth"] + s["label"], s["chain"], s["manager"], s["parent"] or "—", s["agent"],
                      s["expires"], budgets, f"{s['gas']:,}")
    console.print(table)
    for item in data["escrow"]:
        console.print(f"escrow from {item['owner']} (manager {item['manager']} on {item['chain']}): "
                      + ", ".join(item["tokens"].values()))
    for c in data["chains"]:
        fee = f"{c['fee']} at {c['gas_price_wei']:,} wei/gas" if c["fee"] is not None else \
            "fee unknown (the node is not running: the gas price is read from it)"
        total = f"; {c['eth_total']} in all" if c["eth_total"] is not None else ""
        source = ("simulated on the node" if c["gas_source"] == "node" else
                  f"from the gas snapshot, not the node: {c['gas_note']}")
        console.print(f"chain {c['chain']}: about {c['gas']:,} gas, {source} ({fee}) + {c['escrow_eth']} "
                      f"escrowed{total}")
