"""Pure parts of the studio: spends read from events, events in words, the fleet filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agent_sessions import NATIVE
from agent_sessions.base.models import Budget, SessionState, Status
from agent_sessions.domain.tokens import TokenBook, TokenInfo

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEX = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
AGENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
HOLDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def _event(name, session=7, block=10, **args):
    from agent_sessions.studio.fleet import ActivityEvent

    return ActivityEvent("local", "local:0x0", block, 1_800_000_000 + block, 0, "0xabc", name, session,
                         {"id": session, **args})


def _state(sid=7, parent=0, status=Status.ACTIVE, label="worker", budgets=None, **extra):
    fields = dict(id=sid, parent_id=parent, agent=AGENT, holder=HOLDER, status=status, depth=1 if parent else 0,
                  any_target=True, closed=False, expiry=datetime(2027, 1, 1, tzinfo=timezone.utc), last_active=None,
                  max_idle=None, period=None, max_calls_per_period=0, calls_in_period=0, epoch=0, label=label,
                  checkpoint_root="0x" + "00" * 32, task_count=0, budgets=budgets or {})
    fields.update(extra)
    return SessionState.model_construct(**fields)


def test_spends_are_the_metered_events_only():
    from agent_sessions.studio.fleet import FleetView

    events = [
        _event("Executed", target=DEX, value=5, selector=b"\x00" * 4),
        _event("Executed", target=DEX, value=0, selector=b"\x12\x34\x56\x78"),  # a call without value spends nothing
        _event("TokenTransferred", token=TOKEN.lower(), to=DEX, amount=300),
        _event("Swapped", target=DEX, tokenIn=TOKEN, amountIn=40, tokenOut=NATIVE, amountOut=1),
        _event("SessionFunded", token=NATIVE, **{"from": HOLDER}, amount=10**18),  # funding is not spending
    ]
    spends = FleetView.spends(events)
    assert [(p.kind, p.token, p.amount) for p in spends] == [
        ("Executed", NATIVE, 5), ("TokenTransferred", TOKEN, 300), ("Swapped", TOKEN, 40)]


def test_events_read_in_words_with_token_units():
    from agent_sessions.studio.app import describe_event
    from agent_sessions.studio.fleet import ManagerView

    book = TokenBook()
    book.add(TokenInfo(TOKEN, "USDC", 6))
    mv = ManagerView("local", "ops", manager=None, book=book)  # type: ignore[arg-type]
    assert describe_event(mv, _event("TokenTransferred", token=TOKEN, to=DEX, amount=2_500_000)) == \
        "paid 2.5 USDC to 0xe7f1…0512"
    assert describe_event(mv, _event("Executed", target=DEX, value=10**17, selector=b"\0" * 4)) == \
        "called 0xe7f1…0512 with 0.1 ETH"
    assert describe_event(mv, _event("EscrowReturned", token=NATIVE, toSession=3, to=HOLDER, amount=10**18)) == \
        "returned 1 ETH to session #3"
    assert describe_event(mv, _event("PermissionSet", target=DEX, selector=b"\xff" * 4, allowed=True)) == \
        "allowed 0xe7f1…0512, every selector"
    assert describe_event(mv, _event("SessionClosed", by=HOLDER, status=5)) == "closed by 0xf39F…2266 (revoked)"


def test_filters_match_parts_and_health():
    from agent_sessions.studio.fleet import ManagerView, SessionQuery

    mv = ManagerView("alpha", "ops", manager=None, book=TokenBook())  # type: ignore[arg-type]
    now = 1_800_000_000
    low = _state(7, label="Swapper-1", budgets={NATIVE: Budget.model_construct(
        token=NATIVE, available=1, spent=9, per_call_cap=0, period_allowance=0, spent_in_period=0)})
    soon = _state(8, label="keeper", expiry=datetime.fromtimestamp(now + 3_600, tz=timezone.utc))
    idle = _state(9, label="idler", max_idle=timedelta(hours=2),
                  last_active=datetime.fromtimestamp(now - 4_000, tz=timezone.utc))
    parent = _state(1, status=Status.REVOKED, label="boss")
    child = _state(2, parent=1, status=Status.REVOKED, label="minion")
    mv.states = {s.id: s for s in (parent, child, low, soon, idle)}
    mv.rebuild_children()

    def kept(**q):
        return sorted(s.id for s in mv.states.values() if SessionQuery(**q).matches(mv, s, now))

    assert kept(label="swap") == [7]  # a part, any case
    assert kept(agent=AGENT[:8].lower()) == [1, 2, 7, 8, 9]
    assert kept(status="revoked") == [1, 2]
    assert kept(chain="beta") == []
    assert kept(health="low") == [7]
    assert kept(health="expiring") == [8]
    assert kept(health="idle") == [9]  # 4,000 s idle of a 2 h limit
    assert kept(health="blocked") == [2]
    assert mv.blocking_ancestor(2).id == 1


def test_concurrent_polls_read_each_block_once():
    """The poller thread and a request that just sent a transaction may poll at once: no event twice."""
    import threading
    import time

    from agent_sessions.studio.fleet import ChainView, FleetView, ManagerView

    class Rpc:
        def __init__(self):
            self.head = 5

        def get_block(self, tag):
            return {"number": hex(self.head), "timestamp": hex(1_800_000_000 + self.head)}

    class Client:
        chain_id = 31337
        rpc = Rpc()

    class FakeManager:
        address = "0x00000000000000000000000000000000000000aa"

        def count(self):
            return 0

    chain = ChainView("local", Client())  # type: ignore[arg-type]
    mv = ManagerView("local", "ops", manager=FakeManager(), book=TokenBook())  # type: ignore[arg-type]
    view = FleetView([chain], [mv])
    chain.block = 5
    mv.loaded_at = time.monotonic()  # listed just now: no full listing due
    reads = []
    gate = threading.Barrier(2)

    def read(chain_, mvs, start, end):
        reads.append((start, end))
        time.sleep(0.1)  # a slow node: the other poll comes in meanwhile
        return [_event("SessionPaused", block=end, by=HOLDER)]

    view._read_events = read  # type: ignore[method-assign]
    view._reread = lambda mv_, ids: None  # type: ignore[method-assign]
    Client.rpc.head = 6

    def poll():
        gate.wait()
        view.poll()

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reads == [(6, 6)] and len(view.activity) == 1
