"""The README's "Grant from a wallet" and "Keyless agents through a relayer" snippets run as written, one after the
other in one scope (against this suite's Anvil)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_block(heading: str) -> str:
    text = README.read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(heading):], re.S).group(1)


def test_readme_wallet_snippets_run(rpc_url, world, people, tmp_path, capsys, monkeypatch):
    from eth_account import Account

    monkeypatch.chdir(tmp_path)  # grant.json lands here
    # the world already deployed the owner's "wallet" manager: the snippet gets one of its own
    grant = _python_block("## Grant from a wallet").replace('"http://127.0.0.1:8545"', repr(rpc_url)) \
        .replace('salt="wallet"', 'salt="wallet-readme"')
    relay = _python_block("## Keyless agents through a relayer")
    recipient = Account.create().address
    scope = {"owner_key": people.owner, "agent_key": Account.create(), "relayer_key": people.relayer,
             "recipient": recipient}
    exec(compile(grant, "README.md (Grant from a wallet)", "exec"), scope)
    exec(compile(relay, "README.md (Keyless agents through a relayer)", "exec"), scope)

    assert (tmp_path / "grant.json").exists()
    assert scope["session"].remaining() == 10**17 - 10**16 - 5 * 10**13
    assert scope["outcome"].ok and scope["outcome"].to_dict()["status"] == "mined"
    assert scope["client"].balance(recipient) == 10**16
    printed = capsys.readouterr().out
    assert "500000000000000000" in printed and "'status': 'mined'" in printed
