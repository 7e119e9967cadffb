"""`ape sessions ...`: the agent-sessions command registered as an Ape plugin (entry point ape_cli_subcommands),
on the network Ape is connected to."""

from __future__ import annotations

import json
from importlib.metadata import entry_points

import pytest
from ape_test.accounts import TestAccount
from click.testing import CliRunner

from agent_sessions.chain import signing
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


@pytest.fixture
def ape_signatures(monkeypatch) -> list[str]:
    """Addresses of the Ape test accounts asked to sign, in order; and the SDK's one way to a raw key
    (``to_account``) refuses Ape accounts, so a signature can only come from the account itself."""
    asked: list[str] = []
    original_sign = TestAccount.sign_transaction
    original_to_account = signing.to_account

    def recording(self, txn, **options):
        asked.append(self.address)
        return original_sign(self, txn, **options)

    def guarded(key):
        assert not signing.is_ape_account(key), "the key of an Ape account was read"
        return original_to_account(key)

    monkeypatch.setattr(TestAccount, "sign_transaction", recording)
    monkeypatch.setattr(signing, "to_account", guarded)
    return asked


def test_the_plugin_takes_apes_account_and_network_options():
    names = {param.name for param in plugin_cli.params}
    assert {"account", "network"} <= names


def test_ape_sessions_signs_with_apes_account_through_the_accounts_own_signing(world, keys, client,
                                                                                ape_signatures):
    result = invoke("pause", world.alpha, "--account", "TEST::0", "--json")
    assert result.exit_code == 0, result.output
    assert str(client.manager(world.manager).status(world.alpha)) == "paused"
    assert ape_signatures == [keys[0].address]


def test_ape_sessions_refuses_with_the_contracts_reason_for_an_ape_account_that_is_no_controller(world, keys,
                                                                                                   ape_signatures):
    result = invoke("pause", world.alpha, "--account", "TEST::4")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"Error: NotController(session={world.alpha}, caller={keys[4].address})")
    assert ape_signatures == []  # refused by the gas estimate: nothing was signed


def test_an_ape_alias_given_to_as_signs_through_the_account(world, keys, client, ape_signatures, monkeypatch):
    from ape import accounts

    test_account = accounts.test_accounts[0]
    monkeypatch.setattr(type(accounts), "load", lambda self, alias: test_account if alias == "treasury" else
                        (_ for _ in ()).throw(KeyError(alias)))
    result = invoke("pause", world.alpha, "--as", "treasury")
    assert result.exit_code == 0, result.output
    assert str(client.manager(world.manager).status(world.alpha)) == "paused"
    assert ape_signatures == [keys[0].address]
