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
