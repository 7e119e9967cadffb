"""Worlds for the ERC-7715 tests: the pure mapping needs none; the chain tests reuse the SDK suite's deployment
(the system deployed through the SDK on the Anvil that ``ape test`` starts, account 0 owning the manager)."""

from tests.sdk.conftest import (  # noqa: F401  (fixtures, registered by being imported here)
    advance,
    agent_key,
    client,
    deployment,
    keys,
    manager,
    owner_key,
    rpc_url,
    stranger_key,
    token,
)
