"""`ape sessions ...`: the agent-sessions command registered as an Ape plugin (entry point ape_cli_subcommands),
on the network Ape is connected to."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

from click.testing import CliRunner

from agent_sessions.cli.ape_plugin import cli as plugin_cli


def invoke(*args):
    return CliRunner(mix_stderr=False).invoke(plugin_cli, [str(a) for a in args], prog_name="ape sessions")


def test_the_entry_point_names_the_plugin_command():
    (found,) = [ep for ep in entry_points(group="ape_cli_subcommands") if ep.name == "sessions"]
    assert found.load() is plugin_cli


def test_ape_sessions_lists_on_apes_network(world):
    result = invoke("list", "--json")
    assert result.exit_code == 0, result.output
    assert {s["label"] for s in json.loads(result.stdout)} == {"alpha", "beta", "gamma"}


def test_ape_sessions_refuses_a_stranger_with_the_contracts_reason(world, keys):
    result = invoke("pause", world.alpha, "--as", "TEST::4")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"Error: NotController(session={world.alpha}, caller={keys[4].address})")


def test_ape_sessions_names_an_unknown_account_as_a_usage_error(world):
    result = invoke("pause", world.alpha, "--as", "nobody")
    assert result.exit_code == 2 and "no account 'nobody'" in result.stderr
