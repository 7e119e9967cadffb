"""Who may call what: every mutating function of a manager against every kind of caller, as one table.

Two worlds are built once per module (Ape reverts the chain after every test):

* the owner's world: the manager owner created the roots and still holds their tokens; it also spawned the
  children (so it holds the child tokens too);
* the holder's world: the owner created the roots and then transferred every root token to `other`, the new
  holder, who spawned the children itself.

Each world has a live, a draft, a paused and a revoked root, and the same four kinds of children under the live
root. Roots run with agent `agent`, children with agent `sub_agent`.

Roles (columns):

* owner         - the manager owner, holder of the root in the owner's world
* new_holder    - `other`, holder of a transferred root token (holder's world)
* former_holder - the manager owner after giving the root token away (holder's world)
* agent         - the session's own agent key (`agent` for a root, `sub_agent` for a child)
* parent_agent  - the agent of the session's parent (children only; it holds no token)
* stranger      - nobody in particular

A cell is OK (the call passes and emits its event, with `by` = the caller where the event has it) or the exact
custom error the caller gets, always with its arguments: NotManagerOwner(caller), NotController(id, caller),
NotAgent(id, caller), NotAgentOrController(id, caller), NotFactory(caller). `-` = not applicable.
"""

from __future__ import annotations


import pytest

from tests.conftest import DAY, ETHER, NATIVE, session_params
from tests.helpers import reverts

# ----------------------------------------------------------------------------------------------------------
# the matrix
# ----------------------------------------------------------------------------------------------------------

OK = "OK"
NMO = "NotManagerOwner"
NC = "NotController"
NA = "NotAgent"
AOC = "NotAgentOrController"
NF = "NotFactory"
_ = None  # not applicable

ROLES = ("owner", "new_holder", "former_holder", "agent", "parent_agent", "stranger")

# fmt: off
MATRIX = [
    # function            subject          owner  new_holder former_holder agent parent_agent stranger
    # -- creation: roots by the manager owner; children by the parent's agent or a controller of the parent
    ("createSession",     None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    ("createSessions",    None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    ("spawnChild",        "root",          OK,    OK,        AOC,          OK,   _,           AOC),
    ("spawnChild",        "child",         OK,    OK,        AOC,          OK,   AOC,         AOC),
    ("spawnChildren",     "root",          OK,    OK,        AOC,          OK,   _,           AOC),
    ("spawnChildren",     "child",         OK,    OK,        AOC,          OK,   AOC,         AOC),
    # -- funding: a root from a controller; a child from its parent's escrow (parent agent or controller)
    ("fund",              "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("fund",              "child",         OK,    OK,        AOC,          AOC,  OK,          AOC),
    # -- draft editing: controllers only
    ("activate",          "draft_root",    OK,    OK,        NC,           NC,   _,           NC),
    ("activate",          "draft_child",   OK,    OK,        NC,           NC,   NC,          NC),
    ("setPermissions",    "draft_root",    OK,    OK,        NC,           NC,   _,           NC),
    ("setPermissions",    "draft_child",   OK,    OK,        NC,           NC,   NC,          NC),
    ("setAnyTarget",      "draft_root",    OK,    OK,        NC,           NC,   _,           NC),
    ("setAnyTarget",      "draft_child",   OK,    OK,        NC,           NC,   NC,          NC),
    ("addGuard",          "draft_root",    OK,    OK,        NC,           NC,   _,           NC),
    ("addGuard",          "draft_child",   OK,    OK,        NC,           NC,   NC,          NC),
    ("updateTiming",      "draft_root",    OK,    OK,        NC,           NC,   _,           NC),
    ("updateTiming",      "draft_child",   OK,    OK,        NC,           NC,   NC,          NC),
    # -- live updates and lifecycle: controllers only
    ("updateLimits",      "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("updateLimits",      "child",         OK,    OK,        NC,           NC,   NC,          NC),
    ("updateExpiry",      "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("updateExpiry",      "child",         OK,    OK,        NC,           NC,   NC,          NC),
    ("rotateAgent",       "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("rotateAgent",       "child",         OK,    OK,        NC,           NC,   NC,          NC),
    ("setMaxRelayFee",    "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("setMaxRelayFee",    "child",         OK,    OK,        NC,           NC,   NC,          NC),
    ("pause",             "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("pause",             "child",         OK,    OK,        NC,           NC,   NC,          NC),
    ("resume",            "paused_root",   OK,    OK,        NC,           NC,   _,           NC),
    ("resume",            "paused_child",  OK,    OK,        NC,           NC,   NC,          NC),
    ("revoke",            "root",          OK,    OK,        NC,           NC,   _,           NC),
    ("revoke",            "child",         OK,    OK,        NC,           NC,   NC,          NC),
    # -- complete: the agent or a controller
    ("complete",          "root",          OK,    OK,        AOC,          OK,   _,           AOC),
    ("complete",          "child",         OK,    OK,        AOC,          OK,   AOC,         AOC),
    # -- close: anyone, once the session ended (the funds can only go to their fixed destination)
    ("close",             "revoked_root",  OK,    OK,        OK,           OK,   _,           OK),
    ("close",             "revoked_child", OK,    OK,        OK,           OK,   OK,          OK),
    ("closeMany",         "revoked_root",  OK,    OK,        OK,           OK,   _,           OK),
    ("closeMany",         "revoked_child", OK,    OK,        OK,           OK,   OK,          OK),
    # -- acting: the agent key only; holding the token gives no right to act
    ("execute",           "root",          NA,    NA,        NA,           OK,   _,           NA),
    ("execute",           "child",         NA,    NA,        NA,           OK,   NA,          NA),
    ("executeBatch",      "root",          NA,    NA,        NA,           OK,   _,           NA),
    ("executeBatch",      "child",         NA,    NA,        NA,           OK,   NA,          NA),
    ("transferToken",     "root",          NA,    NA,        NA,           OK,   _,           NA),
    ("transferToken",     "child",         NA,    NA,        NA,           OK,   NA,          NA),
    ("swap",              "root",          NA,    NA,        NA,           OK,   _,           NA),
    ("swap",              "child",         NA,    NA,        NA,           OK,   NA,          NA),
    ("checkpoint",        "root",          NA,    NA,        NA,           OK,   _,           NA),
    ("checkpoint",        "child",         NA,    NA,        NA,           OK,   NA,          NA),
    # -- manager-wide: the manager owner only (whether or not it still holds any session)
    ("pauseAll",          None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    ("unpauseAll",        None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    ("revokeAll",         None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    ("transferOwnership", None,            OK,    NMO,       OK,           NMO,  _,           NMO),
    # -- initialize: the factory only, and it already did
    ("initialize",        None,            NF,    NF,        NF,           NF,   _,           NF),
]
# fmt: on

# What a passing call emits (checked with `by` = caller when the event has a `by`).
EVENT = {
    "createSession": "SessionCreated",
    "createSessions": "SessionCreated",
    "spawnChild": "SessionCreated",
    "spawnChildren": "SessionCreated",
    "fund": "SessionFunded",
    "activate": "SessionActivated",
    "setPermissions": "PermissionSet",
    "setAnyTarget": "AnyTargetSet",
    "addGuard": "GuardAdded",
    "updateTiming": "TimingUpdated",
    "updateLimits": "LimitsUpdated",
    "updateExpiry": "ExpiryUpdated",
    "rotateAgent": "AgentRotated",
    "setMaxRelayFee": "MaxRelayFeeSet",
    "pause": "SessionPaused",
    "resume": "SessionResumed",
    "revoke": "SessionRevoked",
    "complete": "SessionCompleted",
    "close": "SessionClosed",
    "closeMany": "SessionClosed",
    "execute": "Executed",
    "executeBatch": "Executed",
    "transferToken": "TokenTransferred",
    "swap": "Swapped",
    "checkpoint": "Checkpointed",
    "pauseAll": "AllPaused",
    "unpauseAll": "AllUnpaused",
    "revokeAll": "AllRevoked",
    "transferOwnership": "OwnershipTransferred",
}

# Standard ERC-721 entry points: governed by token ownership/approval, not by the session rules.
ERC721_FUNCTIONS = {"approve", "setApprovalForAll", "transferFrom", "safeTransferFrom"}
# not about a session: a payee claims only what is owed to itself (msg.sender's own ledger), tested in
# test_weird_tokens.py (test_claim_of_nothing_reverts_nothing_to_claim: a stranger gets NothingToClaim while
# the owner is owed)
PAYEE_FUNCTIONS = {"claim"}
# about the caller's own ledger (its deposit, its signature nonces), never a session's: tested in
# tests/forge/unit/Signatures.t.sol (test_withdraw_fromOwnDepositOnly, test_createSessionWithSig_cancelledNonce)
SELF_FUNCTIONS = {"deposit", "withdraw", "invalidateNonces"}
# submitted by anyone: the authority is the signature of the owner or agent, checked with its exact errors in
# tests/forge/unit/Signatures.t.sol and tests/wallet
SIGNED_FUNCTIONS = {"createSessionWithSig", "createSessionsWithSig", "spawnChildWithSig", "executeWithSig",
                    "executeBatchWithSig"}


def _cases():
    for fn, subject, *cells in MATRIX:
        for role, expected in zip(ROLES, cells):
            if expected is None:
                continue
            yield pytest.param(fn, subject, role, expected, id=f"{fn}[{subject or 'manager'}]-{role}")


# ----------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------


def _created_id(receipt, manager) -> int:
    return receipt.events.filter(manager.SessionCreated)[0].id


# ----------------------------------------------------------------------------------------------------------
# worlds
# ----------------------------------------------------------------------------------------------------------

ROOT_ETH = ETHER
CHILD_ETH = 10**17


# Module-scoped fixtures carry an `acl_` prefix: Ape tracks fixture scopes by name across the whole run, so a
# module-scoped name shared with another module's function-scoped fixture would confuse its isolation.


@pytest.fixture(scope="module")
def acl_new_agent(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def acl_expiry(chain):
    return chain.pending_timestamp + 30 * DAY


def _build_world(manager, owner, holder, agent, sub_agent, expiry, token) -> dict[str, int]:
    ids = {}
    for name, draft in [("root", False), ("draft_root", True), ("paused_root", False), ("revoked_root", False)]:
        # an empty TUSD row: the swap's output must be a token the session (and its parent) has a row for
        p = session_params(agent, expiry=expiry, budgets=[(NATIVE, ROOT_ETH), (token, 0)], any_target=True,
                           draft=draft)
        ids[name] = _created_id(manager.createSession(p, value=ROOT_ETH, sender=owner), manager)
    if holder != owner:
        for sid in list(ids.values()):
            manager.transferFrom(owner, holder, sid, sender=owner)
    for name, draft in [("child", False), ("draft_child", True), ("paused_child", False), ("revoked_child", False)]:
        p = session_params(
            sub_agent, expiry=expiry - 100, budgets=[(NATIVE, CHILD_ETH), (token, 0)], any_target=True, draft=draft
        )
        ids[name] = _created_id(manager.spawnChild(ids["root"], p, sender=holder), manager)
    for name in ("paused_root", "paused_child"):
        manager.pause(ids[name], sender=holder)
    for name in ("revoked_root", "revoked_child"):
        manager.revoke(ids[name], sender=holder)
    return ids


@pytest.fixture(scope="module")
def acl_worlds(manager, owner, other, agent, sub_agent, acl_expiry, dex, target, guard, token):
    return {
        "owner": _build_world(manager, owner, owner, agent, sub_agent, acl_expiry, token),
        "holder": _build_world(manager, owner, other, agent, sub_agent, acl_expiry, token),
    }


def _world_and_caller(role, subject, *, owner, other, agent, sub_agent, stranger):
    """Which world the role lives in and which account plays it."""
    is_child = subject is not None and subject.endswith("child")
    return {
        "owner": ("owner", owner),
        "new_holder": ("holder", other),
        "former_holder": ("holder", owner),
        "agent": ("owner", sub_agent if is_child else agent),
        "parent_agent": ("owner", agent),
        "stranger": ("owner", stranger),
    }[role]


# ----------------------------------------------------------------------------------------------------------
# one call per function, with arguments that pass for an authorised caller
# ----------------------------------------------------------------------------------------------------------


def _call(fn, sid, caller, *, manager, target, dex, token, guard, new_agent, stranger, expiry):
    ping = bytes(target.ping.encode_input())
    is_child = sid is not None and manager.getSession(sid).depth != 0
    child_params = session_params(new_agent, expiry=expiry - 200)
    root_params = session_params(new_agent, expiry=expiry, budgets=[(NATIVE, 10**15)])
    calls = {
        "createSession": lambda: manager.createSession(root_params, value=10**15, sender=caller),
        "createSessions": lambda: manager.createSessions([root_params, root_params], value=2 * 10**15, sender=caller),
        "spawnChild": lambda: manager.spawnChild(sid, child_params, sender=caller),
        "spawnChildren": lambda: manager.spawnChildren(sid, [child_params, child_params], sender=caller),
        "fund": lambda: (
            manager.fund(sid, NATIVE, 1_000, sender=caller)
            if is_child
            else manager.fund(sid, NATIVE, 1_000, value=1_000, sender=caller)
        ),
        "activate": lambda: manager.activate(sid, sender=caller),
        "setPermissions": lambda: manager.setPermissions(
            sid, [(target.address, ping[:4])], True, sender=caller
        ),
        "setAnyTarget": lambda: manager.setAnyTarget(sid, True, sender=caller),
        "addGuard": lambda: manager.addGuard(sid, guard, sender=caller),
        "updateTiming": lambda: manager.updateTiming(sid, 0, 3_600, 0, sender=caller),
        "updateLimits": lambda: manager.updateLimits(sid, NATIVE, 10**16, 0, sender=caller),
        "updateExpiry": lambda: manager.updateExpiry(sid, manager.getSession(sid).expiry - 1, sender=caller),
        "rotateAgent": lambda: manager.rotateAgent(sid, new_agent, sender=caller),
        "setMaxRelayFee": lambda: manager.setMaxRelayFee(sid, 1, sender=caller),
        "pause": lambda: manager.pause(sid, sender=caller),
        "resume": lambda: manager.resume(sid, sender=caller),
        "revoke": lambda: manager.revoke(sid, sender=caller),
        "complete": lambda: manager.complete(sid, sender=caller),
        "close": lambda: manager.close(sid, sender=caller),
        "closeMany": lambda: manager.closeMany([sid], sender=caller),
        "execute": lambda: manager.execute(sid, target, 0, ping, sender=caller),
        "executeBatch": lambda: manager.executeBatch(sid, [(target.address, 0, ping)], sender=caller),
        "transferToken": lambda: manager.transferToken(sid, NATIVE, stranger, 1, sender=caller),
        "swap": lambda: manager.swap(
            sid,
            NATIVE,
            1_000,
            token,
            0,
            dex,
            bytes(dex.swap.encode_input(NATIVE, 1_000, token, manager)),
            sender=caller,
        ),
        "checkpoint": lambda: manager.checkpoint(sid, b"\x01" * 32, 1, sender=caller),
        "pauseAll": lambda: manager.pauseAll(sender=caller),
        "unpauseAll": lambda: manager.unpauseAll(sender=caller),
        "revokeAll": lambda: manager.revokeAll(sender=caller),
        "transferOwnership": lambda: manager.transferOwnership(new_agent, sender=caller),
        "initialize": lambda: manager.initialize(caller, sender=caller),
    }
    return calls[fn]()


# ----------------------------------------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn, subject, role, expected", list(_cases()))
def test_access(
    manager, acl_worlds, owner, other, agent, sub_agent, stranger, acl_new_agent, target, dex, token, guard,
    acl_expiry, fn, subject, role, expected,
):
    world, caller = _world_and_caller(
        role, subject, owner=owner, other=other, agent=agent, sub_agent=sub_agent, stranger=stranger
    )
    sid = acl_worlds[world][subject] if subject else None
    kwargs = dict(
        manager=manager, target=target, dex=dex, token=token, guard=guard, new_agent=acl_new_agent,
        stranger=stranger, expiry=acl_expiry,
    )

    if expected == OK:
        receipt = _call(fn, sid, caller, **kwargs)
        logs = receipt.events.filter(getattr(manager, EVENT[fn]))
        assert logs, f"{fn} passed but emitted no {EVENT[fn]}"
        for log in logs:
            if "by" in log.event_arguments:
                assert log.by == caller.address
        return

    # funding a child spends its parent's escrow: a refusal names the parent
    error_id = manager.getSession(sid).parentId if (fn, subject) == ("fund", "child") else sid
    args = {"caller": caller} if expected in (NMO, NF) else {"id": error_id, "caller": caller}
    with reverts(getattr(manager, expected), **args):
        _call(fn, sid, caller, **kwargs)


def test_matrix_covers_every_mutating_function(manager):
    """A new entry point must be added to the matrix (or be a standard ERC-721 one)."""
    mutating = {
        abi.name
        for abi in manager.contract_type.abi
        if abi.type == "function" and abi.stateMutability in ("nonpayable", "payable")
    }
    in_matrix = {row[0] for row in MATRIX}
    assert mutating - ERC721_FUNCTIONS - PAYEE_FUNCTIONS - SELF_FUNCTIONS - SIGNED_FUNCTIONS == in_matrix


def test_matrix_rows_are_complete():
    """Every row names a cell for each role; `-` only where the role does not exist (no parent)."""
    for fn, subject, *cells in MATRIX:
        assert len(cells) == len(ROLES), fn
        for role, cell in zip(ROLES, cells):
            has_parent = subject is not None and subject.endswith("child")
            if role == "parent_agent" and not has_parent:
                assert cell is None, (fn, subject)
            else:
                assert cell in (OK, NMO, NC, NA, AOC, NF), (fn, subject, role)


def test_worlds_are_what_the_matrix_assumes(manager, acl_worlds, owner, other, agent, sub_agent):
    worlds = acl_worlds
    """Guards the premises of the table: who holds what, which status each subject has."""
    for world, holder in (("owner", owner), ("holder", other)):
        ids = worlds[world]
        for name in ("root", "draft_root", "paused_root", "revoked_root"):
            info = manager.getSession(ids[name])
            assert (info.holder, info.agent, info.depth) == (holder.address, agent.address, 0), (world, name)
        for name in ("child", "draft_child", "paused_child", "revoked_child"):
            info = manager.getSession(ids[name])
            assert (info.holder, info.agent, info.parentId) == (holder.address, sub_agent.address, ids["root"])
        statuses = {name: manager.statusOf(sid) for name, sid in ids.items()}
        assert statuses == {
            "root": 2, "draft_root": 1, "paused_root": 3, "revoked_root": 5,
            "child": 2, "draft_child": 1, "paused_child": 3, "revoked_child": 5,
        }
    assert not manager.isController(worlds["owner"]["child"], agent)  # the parent's agent holds nothing
    assert not manager.isController(worlds["holder"]["root"], owner)  # the former holder lost control
