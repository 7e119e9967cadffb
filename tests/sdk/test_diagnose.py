"""A session stopped by its lineage says which session stopped it and why: an ancestor that expired, timed out
idle, was completed or revoked, revoke-all, pause-all (on-chain the child just reads `revoked` or `expired`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from agent_sessions import SessionNotActive, Status
from agent_sessions.domain.diagnose import ancestors_report, explain_inactive

DEAD = "0x000000000000000000000000000000000000dEaD"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def test_a_live_lineage_can_act(make_session, make_child, sub_key, manager):
    root = make_session()
    child = make_child(root, sub_key, eth=10**17)
    report = ancestors_report(manager, child.id)
    assert report.can_act and report.blocker is None
    assert [s.id for s in report.chain] == [root.id, child.id]
    assert report.describe() == f"session {child.id} is active: every ancestor can act"


def test_a_child_under_an_expired_parent_names_the_parent_and_its_expiry(make_session, make_child, sub_key, manager,
                                                                         advance):
    root = make_session(expiry="1h")
    child = make_child(root, sub_key, eth=10**17)
    advance(2 * 3600)
    report = ancestors_report(manager, child.id)
    assert (report.blocker, report.reason) == (root.id, f"expired at {iso(root.state.expiry)}")
    assert report.describe() == f"session {child.id} cannot act: its ancestor #{root.id} expired at " \
                                f"{iso(root.state.expiry)}"


def test_a_child_under_a_parent_that_timed_out_idle_says_so(make_session, make_child, sub_key, manager, advance):
    root = make_session(max_idle="1h")
    child = make_child(root, sub_key, eth=10**17)
    advance(2 * 3600)
    report = ancestors_report(manager, child.id)
    assert report.blocker == root.id and report.reason.startswith("timed out: idle since ")
    assert "(max idle 3600 s" in report.reason


def test_a_child_under_a_completed_parent_reads_revoked_and_is_explained(make_session, make_child, sub_key,
                                                                         agent_key, manager):
    root = make_session()
    child = make_child(root, sub_key, eth=10**17)
    root.complete(sender=agent_key)
    assert manager.status(child.id) is Status.REVOKED  # what the chain says
    report = ancestors_report(manager, child.id)
    assert (report.blocker, report.reason) == (root.id, "was completed and closed")
    refused = manager.check(child.id, DEAD, 1).error
    assert isinstance(refused, SessionNotActive)
    assert explain_inactive(manager, refused) == f"session {child.id} cannot act: its ancestor #{root.id} was " \
                                                 "completed and closed"


@pytest.mark.parametrize("switch, reason", [("revoke_all", "was revoked by revoke-all"),
                                            ("pause_all", "is paused with the whole manager (pause-all)")])
def test_manager_wide_switches_are_named(make_session, make_child, sub_key, owner_key, manager, switch, reason):
    root = make_session()
    child = make_child(root, sub_key, eth=10**17)
    getattr(manager, switch)(sender=owner_key)
    report = ancestors_report(manager, child.id)
    assert (report.blocker, report.reason) == (root.id, reason)
