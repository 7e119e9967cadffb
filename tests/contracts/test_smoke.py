from tests.conftest import ETHER, NATIVE, ACTIVE
from tests.helpers import eth_spent_by_events


def test_root_session_executes_eth_transfer(manager, make_session, agent, stranger, target):
    sid = make_session(eth=ETHER)
    assert manager.statusOf(sid) == ACTIVE
    before = stranger.balance
    receipt = manager.execute(sid, stranger, 10**17, b"", sender=agent)
    print("execute gas", receipt.gas_used)
    assert stranger.balance - before == 10**17
    assert manager.remaining(sid, NATIVE) == ETHER - 10**17
    assert manager.getSession(sid).budgets[0].spent == 0  # layout v2: ETH spent is in the events
    assert eth_spent_by_events(manager, sid) == 10**17
