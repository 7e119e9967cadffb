"""Views: getSession / getSessions / listSessions, statusOf, isController, isAllowed, guardsOf, isEscrowToken,
globalState, and the token surface (tokenURI, userOf, userExpires, supportsInterface, name, symbol)."""

from __future__ import annotations

import base64
import json

import ape
import pytest
from eth_utils import keccak
from web3.exceptions import ContractCustomError

from tests.conftest import (
    ACTIVE,
    ANY_SELECTOR,
    COMPLETED,
    DAY,
    DRAFT,
    ETHER,
    EXPIRED,
    NATIVE,
    NONE,
    PAUSED,
    REVOKED,
    ZERO_ADDRESS,
)
from tests.helpers import eth_spent_by_events

NO_SELECTOR = b"\x00" * 4
ANY = bytes.fromhex(ANY_SELECTOR[2:])
ZERO_BYTES32 = b"\x00" * 32
DATA_PREFIX = "data:application/json;base64,"

# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def selector(handler) -> bytes:
    return keccak(text=handler.abis[0].selector)[:4]


def label32(text: bytes) -> bytes:
    return text.ljust(32, b"\x00")


def decode_token_uri(uri: str) -> dict:
    assert uri.startswith(DATA_PREFIX)
    return json.loads(base64.b64decode(uri[len(DATA_PREFIX) :]))


def traits(metadata: dict) -> dict:
    return {a["trait_type"]: a["value"] for a in metadata["attributes"]}


TOKEN_DOES_NOT_EXIST = keccak(text="TokenDoesNotExist()")[:4]  # Solady ERC721 (not in IAgentSessions)


def revert_data(chain, contract, method: str, *args) -> bytes:
    """Revert data of an eth_call of `contract.method(*args)`, read raw: binding the manager to another ABI
    (SessionManager, which knows Solady's errors) would change how Ape decodes its logs in later tests."""
    call = {"to": contract.address, "data": getattr(contract, method).encode_input(*args).hex()}
    try:
        chain.provider.web3.eth.call(call)
    except ContractCustomError as error:
        return bytes.fromhex(error.data[2:])
    raise AssertionError(f"{method}{args} did not revert")


@pytest.fixture
def spawn(manager, make_child):
    """`make_child` with the child's expiry equal to its parent's unless given (the conftest default, a
    day from the moment the child's params are built, can land a second after the parent's expiry)."""

    def make(parent, **kwargs):
        kwargs.setdefault("expiry", manager.getSession(parent).expiry)
        return make_child(parent, **kwargs)

    return make


@pytest.fixture
def tree(sub_agent, make_session, spawn, token):
    """A root (agent `agent`, 1 ETH + 500 TUSD, label "root") and its child (agent `sub_agent`, spawned by
    `agent`, 0.25 ETH + 100 TUSD, label "child")."""
    root = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 500)], label=b"root")
    child = spawn(root, child_agent=sub_agent, budgets=[(NATIVE, ETHER // 4), (token, 100)], label=b"child")
    return root, child


# --------------------------------------------------------------------------------------------------
# getSession
# --------------------------------------------------------------------------------------------------


def test_get_session_of_a_root(manager, owner, agent, chain, make_session, token, target):
    expiry = chain.pending_timestamp + 2 * DAY
    ping = selector(target.ping)
    sid = make_session(
        eth=0,
        budgets=[(NATIVE, ETHER, 100, 0), (token, 500)],
        expiry=expiry,
        label=b"root",
        any_target=False,
        permissions=[(target, ping)],
    )
    info = manager.getSession(sid)
    assert (info.id, info.parentId, info.agent, info.holder) == (sid, 0, agent.address, owner.address)
    assert (info.status, info.depth, info.anyTarget, info.closed) == (ACTIVE, 0, False, False)
    assert (info.expiry, info.label, info.epoch) == (expiry, label32(b"root"), 0)
    assert (info.checkpointRoot, info.taskCount) == (ZERO_BYTES32, 0)
    assert info.budgets == [(NATIVE, ETHER, 0, 100, 0, 0), (token.address, 500, 0, 0, 0, 0)]


def test_get_session_of_a_root_without_timing(manager, make_session):
    info = manager.getSession(make_session())
    assert (info.lastActive, info.maxIdle, info.period, info.maxCallsPerPeriod, info.callsInPeriod) == (0, 0, 0, 0, 0)


def test_get_session_of_a_child(manager, agent, sub_agent, tree, token):
    root, child = tree
    info = manager.getSession(child)
    assert (info.id, info.parentId, info.agent, info.holder) == (child, root, sub_agent.address, agent.address)
    assert (info.status, info.depth, info.anyTarget, info.closed) == (ACTIVE, 1, True, False)
    assert info.label == label32(b"child")
    assert info.budgets == [(NATIVE, ETHER // 4, 0, 0, 0, 0), (token.address, 100, 0, 0, 0, 0)]
    assert manager.getSession(root).budgets == [
        (NATIVE, ETHER - ETHER // 4, 0, 0, 0, 0),
        (token.address, 400, 0, 0, 0, 0),
    ]


def test_get_session_lists_native_first_even_without_eth(manager, make_session, token, token_b):
    sid = make_session(eth=0, budgets=[(token_b, 1), (token, 2)])
    budgets = manager.getSession(sid).budgets
    assert [(b.token, b.available) for b in budgets] == [(NATIVE, 0), (token_b.address, 1), (token.address, 2)]


def test_get_session_reflects_spending(manager, agent, stranger, make_session):
    sid = make_session(eth=ETHER)
    manager.execute(sid, stranger, 100, b"", sender=agent)
    # layout v2: an ETH row's lifetime spent is not kept on chain (0); the session's events carry it
    assert manager.getSession(sid).budgets[0] == (NATIVE, ETHER - 100, 0, 0, 0, 0)
    assert eth_spent_by_events(manager, sid) == 100


def test_get_session_holder_follows_the_token(manager, owner, other, make_session):
    sid = make_session()
    manager.transferFrom(owner, other, sid, sender=owner)
    assert manager.getSession(sid).holder == other


def test_get_session_after_close(manager, owner, make_session):
    sid = make_session(label=b"gone")
    manager.revoke(sid, sender=owner)
    manager.close(sid, sender=owner)
    info = manager.getSession(sid)
    assert (info.closed, info.holder, info.status, info.label) == (True, ZERO_ADDRESS, REVOKED, label32(b"gone"))
    assert info.budgets == [(NATIVE, 0, 0, 0, 0, 0)]


def test_get_session_after_complete(manager, agent, make_session):
    sid = make_session()
    manager.complete(sid, sender=agent)
    info = manager.getSession(sid)
    assert (info.closed, info.holder, info.status) == (True, ZERO_ADDRESS, COMPLETED)


def test_get_session_draft(manager, make_session):
    assert manager.getSession(make_session(draft=True)).status == DRAFT


def test_get_session_carries_the_epoch(manager, owner, make_session):
    manager.revokeAll(sender=owner)
    sid = make_session()
    assert manager.getSession(sid).epoch == 1
    assert manager.statusOf(sid) == ACTIVE


@pytest.mark.parametrize("sid", [0, 1, 99])
def test_get_session_unknown_reverts(manager, sid):
    with ape.reverts(manager.SessionNotFound, id=sid):
        manager.getSession(sid)


# --------------------------------------------------------------------------------------------------
# getSessions / listSessions / sessionCount
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def five(manager, owner, agent, params):
    """Five root sessions (ids 1..5) labelled s1..s5."""
    manager.createSessions([params(agent, label=f"s{i}".encode()) for i in range(1, 6)], sender=owner)
    return [1, 2, 3, 4, 5]


def test_get_sessions_returns_each_in_order(manager, five):
    infos = manager.getSessions([4, 1, 3])
    assert [(s.id, s.label) for s in infos] == [(4, label32(b"s4")), (1, label32(b"s1")), (3, label32(b"s3"))]


def test_get_sessions_matches_get_session(manager, tree):
    root, child = tree
    assert manager.getSessions([root, child]) == [manager.getSession(root), manager.getSession(child)]


def test_get_sessions_empty(manager, five):
    assert manager.getSessions([]) == []


def test_get_sessions_with_unknown_id_reverts(manager, five):
    with ape.reverts(manager.SessionNotFound, id=6):
        manager.getSessions([1, 6])


def test_session_count(manager, five):
    assert manager.sessionCount() == 5


@pytest.mark.parametrize(
    "from_id, limit, ids",
    [
        (0, 10, [1, 2, 3, 4, 5]),
        (1, 10, [1, 2, 3, 4, 5]),
        (0, 2, [1, 2]),
        (1, 2, [1, 2]),
        (3, 2, [3, 4]),
        (4, 10, [4, 5]),
        (5, 1, [5]),
        (6, 10, []),
        (100, 10, []),
        (1, 0, []),
    ],
    ids=[
        "from_0",
        "from_1",
        "from_0_limit_2",
        "from_1_limit_2",
        "middle_page",
        "last_page_short",
        "last_one",
        "just_past_the_end",
        "far_past_the_end",
        "limit_0",
    ],
)
def test_list_sessions_pages(manager, five, from_id, limit, ids):
    assert [s.id for s in manager.listSessions(from_id, limit)] == ids


def test_list_sessions_with_no_sessions_is_empty(manager):
    assert manager.listSessions(0, 10) == []


def test_list_sessions_includes_children_and_closed(manager, owner, tree):
    root, child = tree
    manager.revoke(child, sender=owner)
    manager.close(child, sender=owner)
    infos = manager.listSessions(1, 10)
    assert [(s.id, s.parentId, s.closed) for s in infos] == [(root, 0, False), (child, root, True)]


def test_list_sessions_matches_get_session(manager, five):
    assert manager.listSessions(2, 2) == [manager.getSession(2), manager.getSession(3)]


# --------------------------------------------------------------------------------------------------
# statusOf
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sid", [0, 5])
def test_status_of_unknown_is_none(manager, sid):
    assert manager.statusOf(sid) == NONE


def test_status_of_active_and_draft(manager, make_session):
    assert manager.statusOf(make_session()) == ACTIVE
    assert manager.statusOf(make_session(draft=True)) == DRAFT


@pytest.mark.parametrize(
    "action, status",
    [
        ("pause", PAUSED),
        ("pauseAll", PAUSED),
        ("revoke", REVOKED),
        ("revokeAll", REVOKED),
        ("complete", COMPLETED),
    ],
)
def test_status_of_after_lifecycle_action(manager, owner, make_session, action, status):
    sid = make_session()
    if action in ("pauseAll", "revokeAll"):
        getattr(manager, action)(sender=owner)
    else:
        getattr(manager, action)(sid, sender=owner)
    assert manager.statusOf(sid) == status


def test_status_of_resumed_is_active(manager, owner, make_session):
    sid = make_session()
    manager.pause(sid, sender=owner)
    manager.resume(sid, sender=owner)
    assert manager.statusOf(sid) == ACTIVE


def test_status_of_expired(manager, make_session, chain):
    expiry = chain.pending_timestamp + 100
    sid = make_session(expiry=expiry)
    chain.mine(timestamp=expiry)
    assert manager.statusOf(sid) == EXPIRED


@pytest.mark.parametrize("action, status", [("pause", PAUSED), ("revoke", REVOKED)])
def test_status_of_child_follows_parent(manager, owner, tree, action, status):
    root, child = tree
    getattr(manager, action)(root, sender=owner)
    assert manager.statusOf(child) == status


def test_status_of_child_is_expired_at_its_own_expiry(manager, sub_agent, make_session, spawn, chain):
    expiry = chain.pending_timestamp + 1_000
    root = make_session(expiry=expiry)
    child = spawn(root, child_agent=sub_agent, expiry=expiry - 500, any_target=True)
    chain.mine(timestamp=expiry - 501)
    assert manager.statusOf(child) == ACTIVE
    chain.mine(timestamp=expiry - 500)
    assert (manager.statusOf(child), manager.statusOf(root)) == (EXPIRED, ACTIVE)


def test_status_of_child_is_revoked_when_parent_idles_out(manager, sub_agent, make_session, spawn, chain):
    t0 = chain.pending_timestamp + 100
    chain.pending_timestamp = t0
    root = make_session(max_idle=600)
    child = spawn(root, child_agent=sub_agent, any_target=True)
    chain.mine(timestamp=t0 + 599)
    assert manager.statusOf(child) == ACTIVE
    chain.mine(timestamp=t0 + 600)
    assert (manager.statusOf(root), manager.statusOf(child)) == (EXPIRED, REVOKED)


def test_status_of_draft_child_under_active_parent_stays_draft(manager, sub_agent, tree, spawn):
    root, _ = tree
    draft = spawn(root, child_agent=sub_agent, draft=True)
    assert manager.statusOf(draft) == DRAFT


# --------------------------------------------------------------------------------------------------
# isController / isAllowed / guardsOf / isEscrowToken / globalState
# --------------------------------------------------------------------------------------------------


def test_is_controller_of_a_root(manager, owner, agent, stranger, make_session):
    sid = make_session()
    assert manager.isController(sid, owner)
    assert not manager.isController(sid, agent)
    assert not manager.isController(sid, stranger)


def test_is_controller_of_a_child(manager, owner, agent, sub_agent, stranger, tree):
    root, child = tree
    assert manager.isController(child, owner)  # holder of the root
    assert manager.isController(child, agent)  # holder of the child (spawned it)
    assert not manager.isController(child, sub_agent)  # the child's agent
    assert not manager.isController(child, stranger)
    assert not manager.isController(root, agent)


def test_is_controller_moves_with_the_token(manager, owner, other, tree):
    root, child = tree
    manager.transferFrom(owner, other, root, sender=owner)
    assert manager.isController(root, other)
    assert manager.isController(child, other)
    assert not manager.isController(root, owner)
    assert not manager.isController(child, owner)


def test_is_controller_of_unknown_session_is_false(manager, owner):
    assert not manager.isController(3, owner)


def test_is_allowed(manager, make_session, target, stranger):
    ping, other = selector(target.ping), selector(target.other)
    sid = make_session(any_target=False, permissions=[(target, ping), (stranger, ANY)])
    assert manager.isAllowed(sid, target, ping)
    assert not manager.isAllowed(sid, target, other)
    assert not manager.isAllowed(sid, target, NO_SELECTOR)
    assert not manager.isAllowed(sid, target, ANY)  # an exact entry is not a wildcard
    assert manager.isAllowed(sid, stranger, other)  # the wildcard covers every selector
    assert manager.isAllowed(sid, stranger, NO_SELECTOR)
    assert manager.isAllowed(sid, stranger, ANY)


def test_is_allowed_ignores_any_target_flag(manager, make_session, target):
    """isAllowed reads the allowlist only; anyTarget is reported by getSession."""
    sid = make_session(any_target=True)
    assert not manager.isAllowed(sid, target, selector(target.ping))
    assert manager.getSession(sid).anyTarget


def test_is_allowed_is_per_session(manager, make_session, target):
    ping = selector(target.ping)
    a = make_session(any_target=False, permissions=[(target, ping)])
    b = make_session(any_target=False)
    assert manager.isAllowed(a, target, ping)
    assert not manager.isAllowed(b, target, ping)


def test_guards_of(manager, project, owner, make_session, guard):
    second = project.DenylistGuard.deploy(owner, sender=owner)
    sid = make_session(guards=[guard, second])
    assert manager.guardsOf(sid) == [guard.address, second.address]
    assert manager.guardsOf(make_session()) == []


def test_guards_of_a_child_are_its_own(manager, sub_agent, make_session, spawn, guard):
    root = make_session(guards=[guard])
    child = spawn(root, child_agent=sub_agent, any_target=True)
    assert manager.guardsOf(root) == [guard.address]
    assert manager.guardsOf(child) == []


def test_is_escrow_token(manager, make_session, token, token_b):
    make_session(eth=0, budgets=[(token, 1)])
    assert manager.isEscrowToken(token)
    assert not manager.isEscrowToken(token_b)
    assert not manager.isEscrowToken(NATIVE)


def test_global_state(manager, owner):
    assert manager.globalState() == (0, False)
    manager.pauseAll(sender=owner)
    assert manager.globalState() == (0, True)
    manager.unpauseAll(sender=owner)
    assert manager.globalState() == (0, False)
    manager.revokeAll(sender=owner)
    manager.revokeAll(sender=owner)
    assert manager.globalState() == (2, False)


# --------------------------------------------------------------------------------------------------
# tokenURI
# --------------------------------------------------------------------------------------------------


def test_token_uri_is_base64_json_with_name(manager, make_session):
    make_session()
    sid = make_session()
    metadata = decode_token_uri(manager.tokenURI(sid))
    assert metadata["name"] == f"Agent Session #{sid}"
    assert metadata["description"] == "A bounded, revocable session of an autonomous agent."


def test_token_uri_attributes(manager, agent, chain, make_session, token):
    expiry = chain.pending_timestamp + DAY
    sid = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 500)], label=b"swapper", expiry=expiry)
    assert traits(decode_token_uri(manager.tokenURI(sid))) == {
        "label": "swapper",
        "status": "active",
        "agent": agent.address.lower(),
        "expiry": expiry,
        "depth": 0,
        "parent": 0,
        "available ETH": ETHER,
        f"available {token.address.lower()}": 500,
        f"spent {token.address.lower()}": 0,
    }


def test_token_uri_of_a_child(manager, sub_agent, tree):
    root, child = tree
    t = traits(decode_token_uri(manager.tokenURI(child)))
    assert (t["label"], t["agent"], t["depth"], t["parent"]) == ("child", sub_agent.address.lower(), 1, root)


def test_token_uri_reflects_spending(manager, agent, stranger, make_session, token):
    """ETH spent is not kept on chain since the layout v2, so the metadata has no "spent ETH" trait; what is
    left of ETH, and an ERC-20's spent, still follow spending."""
    sid = make_session(eth=0, budgets=[(NATIVE, ETHER), (token, 500)])
    manager.execute(sid, stranger, 123, b"", sender=agent)
    manager.transferToken(sid, token, stranger, 7, sender=agent)
    t = traits(decode_token_uri(manager.tokenURI(sid)))
    assert "spent ETH" not in t
    assert t["available ETH"] == ETHER - 123
    assert (t[f"available {token.address.lower()}"], t[f"spent {token.address.lower()}"]) == (493, 7)


@pytest.mark.parametrize("action, name", [("pause", "paused"), ("revoke", "revoked"), ("draft", "draft")])
def test_token_uri_status(manager, owner, make_session, action, name):
    sid = make_session(draft=action == "draft")
    if action != "draft":
        getattr(manager, action)(sid, sender=owner)
    assert traits(decode_token_uri(manager.tokenURI(sid)))["status"] == name


def test_token_uri_status_expired(manager, make_session, chain):
    expiry = chain.pending_timestamp + 100
    sid = make_session(expiry=expiry)
    chain.mine(timestamp=expiry)
    assert traits(decode_token_uri(manager.tokenURI(sid)))["status"] == "expired"


def test_token_uri_escapes_the_label(manager, make_session):
    sid = make_session(label=b'say "hi"\\')
    assert traits(decode_token_uri(manager.tokenURI(sid)))["label"] == 'say "hi"\\'


def test_token_uri_with_empty_label(manager, make_session):
    assert traits(decode_token_uri(manager.tokenURI(make_session())))["label"] == ""


def test_token_uri_is_the_factorys_renderer_output(project, manager, factory, make_session):
    """Every manager of a factory renders through the one renderer the factory deployed."""
    sid = make_session(label=b"x")
    renderer = project.SessionRenderer.at(manager.RENDERER())
    implementation = project.SessionManager.at(factory.implementation())
    assert implementation.RENDERER() == renderer.address
    assert manager.tokenURI(sid) == renderer.tokenURI(manager, sid)


@pytest.mark.parametrize("sid", [0, 1, 42])
def test_token_uri_of_nonexistent_token_reverts(manager, chain, sid):
    assert revert_data(chain, manager, "tokenURI", sid) == TOKEN_DOES_NOT_EXIST


def test_renderer_asked_directly_about_a_nonexistent_token_reverts(project, manager, chain):
    """The manager's own error comes through the renderer untouched."""
    renderer = project.SessionRenderer.at(manager.RENDERER())
    assert revert_data(chain, renderer, "tokenURI", manager, 3) == TOKEN_DOES_NOT_EXIST


def test_token_uri_of_closed_session_reverts(manager, owner, chain, make_session):
    sid = make_session()
    manager.revoke(sid, sender=owner)
    manager.close(sid, sender=owner)
    assert revert_data(chain, manager, "tokenURI", sid) == TOKEN_DOES_NOT_EXIST


# --------------------------------------------------------------------------------------------------
# userOf / userExpires (ERC-4907)
# --------------------------------------------------------------------------------------------------


def test_user_of_is_the_agent_while_active(manager, agent, make_session):
    assert manager.userOf(make_session()) == agent


@pytest.mark.parametrize("action", ["pause", "revoke", "pauseAll", "revokeAll"])
def test_user_of_is_zero_when_session_cannot_act(manager, owner, make_session, action):
    sid = make_session()
    if action.endswith("All"):
        getattr(manager, action)(sender=owner)
    else:
        getattr(manager, action)(sid, sender=owner)
    assert manager.userOf(sid) == ZERO_ADDRESS


def test_user_of_returns_after_resume(manager, owner, agent, make_session):
    sid = make_session()
    manager.pause(sid, sender=owner)
    manager.resume(sid, sender=owner)
    assert manager.userOf(sid) == agent


def test_user_of_is_zero_in_draft(manager, make_session):
    assert manager.userOf(make_session(draft=True)) == ZERO_ADDRESS


def test_user_of_is_zero_once_expired(manager, agent, make_session, chain):
    expiry = chain.pending_timestamp + 100
    sid = make_session(expiry=expiry)
    chain.mine(timestamp=expiry - 1)
    assert manager.userOf(sid) == agent
    chain.mine(timestamp=expiry)
    assert manager.userOf(sid) == ZERO_ADDRESS


def test_user_of_child_is_zero_when_parent_paused(manager, owner, sub_agent, tree):
    root, child = tree
    assert manager.userOf(child) == sub_agent
    manager.pause(root, sender=owner)
    assert manager.userOf(child) == ZERO_ADDRESS


def test_user_of_follows_agent_rotation(manager, owner, other, make_session):
    sid = make_session()
    manager.rotateAgent(sid, other, sender=owner)
    assert manager.userOf(sid) == other


def test_user_of_unknown_token_is_zero(manager):
    assert manager.userOf(9) == ZERO_ADDRESS


def test_user_expires_is_the_session_expiry(manager, make_session, chain):
    expiry = chain.pending_timestamp + 3 * DAY
    sid = make_session(expiry=expiry)
    assert manager.userExpires(sid) == expiry


def test_user_expires_follows_update_expiry(manager, owner, make_session, chain):
    expiry = chain.pending_timestamp + 3 * DAY
    sid = make_session(expiry=expiry)
    manager.updateExpiry(sid, expiry + 10, sender=owner)
    assert manager.userExpires(sid) == expiry + 10


def test_user_expires_of_unknown_token_is_zero(manager):
    assert manager.userExpires(9) == 0


# --------------------------------------------------------------------------------------------------
# ERC-165 / ERC-721 metadata
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "interface_id, supported",
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 metadata
        ("0xad092b5c", True),  # ERC-4907
        ("0xffffffff", False),  # ERC-165: must be false
        ("0x12345678", False),
    ],
    ids=["erc165", "erc721", "erc721_metadata", "erc4907", "invalid_id", "unknown"],
)
def test_supports_interface(manager, interface_id, supported):
    assert manager.supportsInterface(bytes.fromhex(interface_id[2:])) is supported


def test_name_and_symbol(manager):
    assert (manager.name(), manager.symbol()) == ("Agent Session", "SESSION")


def test_balance_and_owner_of_tokens(manager, owner, agent, tree):
    root, child = tree
    assert manager.ownerOf(root) == owner
    assert manager.ownerOf(child) == agent
    assert (manager.balanceOf(owner), manager.balanceOf(agent)) == (1, 1)
