"""`ape run deploy`: the canonical factory and the owner's manager, found again on every run."""

from __future__ import annotations

from agent_sessions.domain.deployment import canonical_factory_address


def test_deploy_reuses_the_canonical_factory_and_the_owners_manager(run, world):
    result = run("deploy", "--json")

    assert result.code == 0, result
    data = result.json
    assert data["factory"] == world.factory == canonical_factory_address()
    assert data["manager"] == world.manager
    assert data["factory_created"] is False
    assert data["manager_created"] is False
    assert data["chain_id"] == 31337


def test_deploy_gives_a_new_owner_one_manager_and_reuses_it_on_the_next_run(run, keys, client):
    first = run("deploy", "--owner", "6", "--json")
    second = run("deploy", "--owner", "TEST::6", "--json")

    assert first.code == 0 and second.code == 0, (first, second)
    assert first.json["owner"] == keys[6].address
    assert first.json["manager_created"] is True
    assert second.json["manager_created"] is False
    assert second.json["manager"] == first.json["manager"]
    factory = client.factory(canonical_factory_address())
    assert [m.address for m in factory.managers_of(keys[6].address)] == [first.json["manager"]]
    assert client.manager(first.json["manager"]).owner() == keys[6].address


def test_deploy_with_a_salt_ensures_that_manager(run, keys, client):
    result = run("deploy", "--owner", "6", "--salt", "7", "--json")

    assert result.code == 0, result
    expected = client.factory(canonical_factory_address()).predict_manager(keys[6].address, 7)
    assert result.json["manager"] == expected


def test_deploy_prints_the_addresses(run, world):
    result = run("deploy")

    assert result.code == 0, result
    assert world.factory in result.out
    assert world.manager in result.out
    assert "existing" in result.out


def test_deploy_for_another_owner_is_refused_naming_both(run, keys):
    """Only an owner deploys its managers (nobody front-runs its address or list position)."""
    result = run("deploy", "--owner", "7", "--as", "8", "--json")

    assert result.code == 1, result
    assert f"DeployerNotOwner(owner={keys[7].address}, caller={keys[8].address}" in result.err
    assert "Traceback" not in result.out + result.err


def test_deploy_with_an_unknown_owner_is_a_usage_error(run):
    result = run("deploy", "--owner", "nobody")

    assert result.code == 2, result
    assert "no account 'nobody'" in result.err
    assert "Traceback" not in result.out + result.err
