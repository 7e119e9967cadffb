"""Spawn every session of a YAML fleet spec: `ape run spawn SPEC [options]` is `agent-sessions spawn --config SPEC
[options]` (`--dry-run`, `--port CHAIN=PORT`, `--state-dir`, `--replace-ended`, `--rotate-agents`, `--json`).
The spec names its chains itself, so this command takes no `--network`.
"""

from __future__ import annotations

import click

from scripts._cli import forward


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("spec", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def cli(spec, args):
    """Create the sessions of the fleet spec SPEC that are not on chain yet."""
    forward(["spawn", "--config", spec, *args], prog_name="ape run spawn")
