"""The README's SDK example runs as written (against this suite's Anvil)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _sdk_example() -> str:
    text = README.read_text()
    section = text[text.index("## Python SDK") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_sdk_example_runs(rpc_url, owner_key, agent_key, sub_key, stranger_key, capsys):
    # this suite already has the owner's salt-0 manager: the example gets one of its own
    code = _sdk_example().replace('"http://127.0.0.1:8545"', repr(rpc_url)).replace("salt=0", "salt=4242")
    scope = {"owner_key": owner_key, "agent_key": agent_key, "sub_key": sub_key, "recipient": stranger_key.address}
    exec(compile(code, "README.md", "exec"), scope)
    results = scope["results"]
    assert len(results) == 100 and all(r.ok for r in results)
    assert scope["inventory"] is not None
    assert "active" in capsys.readouterr().out


def _block_after(heading: str, fence: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    return re.search(rf"```{fence}\n(.*?)```", section, re.S).group(1)


def test_readme_fleet_example_runs(tmp_path):
    """The fleet snippet as written, on examples/treasury.yaml moved to free ports (never a fixed one)."""
    from scripts._ports import free_ports

    spec_text = (README.parent / "examples" / "treasury.yaml").read_text()
    alpha, beta = free_ports(2)
    spec_text = spec_text.replace("port: 8545", f"port: {alpha}").replace("port: 8546", f"port: {beta}")
    (tmp_path / "treasury.yaml").write_text(spec_text)
    code = _block_after("## Fleet specs", "python").replace('"examples/treasury.yaml"', repr(str(tmp_path /
                                                                                                    "treasury.yaml")))
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    report = scope["report"]
    assert set(report.created) == {"swapper", "swapper-scout", "monitor", "payroll-alpha", "payroll-beta"}


def test_readme_command_lines_name_real_commands_and_options():
    """Every `agent-sessions ...` line of the README's command block names a command and options that exist."""
    import click

    from agent_sessions.cli import cli

    block = _block_after("## Command line (`agent-sessions`)", "bash")
    checked = 0
    for line in block.splitlines():
        for part in line.split("#")[0].split("&&"):
            words = part.split()
            if len(words) < 2 or words[0] != "agent-sessions":
                continue
            command = cli.get_command(click.Context(cli), words[1])
            assert command is not None, f"README names `agent-sessions {words[1]}`, which does not exist"
            if isinstance(command, click.Group):
                assert command.get_command(click.Context(command), words[2].split("|")[0]) is not None, line
                continue
            known = {opt for p in command.params for opt in p.opts}
            for word in words[2:]:
                if word.startswith("--"):
                    assert word.split("=")[0] in known, f"README: `{word}` is not an option of {words[1]}"
            checked += 1
    assert checked >= 15
