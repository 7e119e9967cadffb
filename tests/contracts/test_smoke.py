from tests.conftest import ETHER, NATIVE, ACTIVE


def test_root_session_executes_eth_transfer(manager, make_session, agent, stranger, target):
    sid = make_session(eth=ETHER)
    assert manager.statusOf(sid) == ACTIVE
    before = stranger.balance
    receipt = manager.execute(sid, stranger, 10**17, b"", sender=agent)
    print("execute gas", receipt.gas_used)
    assert stranger.balance - before == 10**17
    assert manager.remaining(sid, NATIVE) == ETHER - 10**17
    assert manager.getSession(sid).budgets[0].spent == 10**17
