"""Spawn every session of a YAML fleet spec (examples/*.yaml) on the chains it names; safe to run again (sessions
are found by label, nothing is created twice).

    ape run spawn examples/fleet-20.yaml
    ape run spawn examples/treasury.yaml --port alpha=8545 --port beta=8546 --json
    ape run spawn examples/daily-budget.yaml --replace-ended

The spec names its chains itself (a local Anvil on a port, or an RPC endpoint), so this command takes no
`--network`. A local chain whose port already serves that chain id is used as it is (e.g. the node of
`make node`); otherwise an Anvil is started for the command and stopped at the end, keeping its state only
when the chain has a `state:` file or `--state-dir` is given.

Exit codes: 0 done; 1 a session could not be created (the spec item and the contract's reason are printed) or a
chain could not be reached; 2 the spec is invalid (every problem is listed, file:line: path: reason).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from agent_sessions import SessionError
from agent_sessions.chains import open_chains
from agent_sessions.console import error_line, fleet_states, fleet_table, fleet_to_jsonable
from agent_sessions.fleet import FleetError, spawn_fleet
from agent_sessions.spec import SpecError, load_spec
from agent_sessions.tokens import TokenBook
from scripts._cli import echo_json, fail, json_option, make_console


def _ports(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for value in values:
        name, sep, port = value.partition("=")
        if not sep or not name or not port.isdigit() or not 0 < int(port) < 65536:
            raise click.BadParameter(f"{value!r}: expected CHAIN=PORT, e.g. alpha=8612", ctx, param)
        ports[name] = int(port)
    return ports


@click.command()
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", "ports", multiple=True, callback=_ports, metavar="CHAIN=PORT",
              help="Run a local chain of the spec on another port (repeatable).")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the state of local chains started here in DIR/<chain>.json (unless the spec sets state:).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Roots per createSessions / children per spawnChildren transaction.")
@click.option("--replace-ended", is_flag=True, help="Close spec sessions that have ended and open them afresh.")
@click.option("--rotate-agents", is_flag=True, help="Rotate live sessions whose agent differs from the spec's.")
@json_option
def cli(spec_path, ports, state_dir, chunk_size, replace_ended, rotate_agents, as_json):
    """Create the sessions of the fleet spec SPEC that are not on chain yet."""
    console = make_console()
    try:
        spec = load_spec(spec_path)
        if ports:
            spec = spec.with_ports(ports)
    except SpecError as exc:
        fail(f"invalid spec {spec_path}\n{exc}", code=2)
    except KeyError as exc:  # --port names a chain the spec has not
        raise click.BadParameter(str(exc.args[0]), param_hint="--port") from None

    try:
        with open_chains(spec, state_dir=state_dir) as chains:
            books = {name: TokenBook(handle.client) for name, handle in chains.items()}
            if as_json:
                report = spawn_fleet(spec, chains, chunk_size=chunk_size, replace_ended=replace_ended,
                                     rotate_agents=rotate_agents)
            else:
                with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                              MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[label]}"),
                              console=console, transient=False) as bar:
                    total = len(spec.sessions_flat())
                    task = bar.add_task("spawning", total=total, label="")

                    def progress(done: int, total: int, label: str) -> None:
                        bar.update(task, completed=done, total=total, label=label)

                    report = spawn_fleet(spec, chains, progress=progress, chunk_size=chunk_size,
                                         replace_ended=replace_ended, rotate_agents=rotate_agents)
            states = fleet_states(report)
            if as_json:
                data = fleet_to_jsonable(report, states, books=books)
                data["chains"] = {name: _chain_note(handle) for name, handle in chains.items()}
                echo_json(data)
            else:
                console.print(fleet_table(report, states, books=books))
                console.print(report.summary())
                for name, handle in chains.items():
                    note = _chain_note(handle)
                    if note["kept"] is False:
                        console.print(f"[yellow]chain {name}: the Anvil started for this command on {handle.url} "
                                      "stops now and its state is not kept[/] (add state: to the chain, pass "
                                      "--state-dir, or start the node first: make node)")
    except SpecError as exc:
        fail(f"invalid spec {spec_path}\n{exc}", code=2)
    except FleetError as exc:
        cause = exc.cause or exc.__cause__
        reason = f"\n  reason: {error_line(cause)}" if cause is not None else ""
        fail(f"{exc}{reason}")
    except SessionError as exc:
        fail(error_line(exc))


def _chain_note(handle) -> dict:
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
