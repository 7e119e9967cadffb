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


def test_gas_probe(manager, owner, agent, sub_agent, params):
    p = params(agent, eth=ETHER)
    r1 = manager.createSession(p, value=ETHER, sender=owner)
    r2 = manager.createSession(p, value=ETHER, sender=owner)
    sid = r2.events.filter(manager.SessionCreated)[0].id
    c1 = manager.spawnChild(sid, params(sub_agent, eth=10**17), sender=agent)
    c2 = manager.spawnChild(sid, params(sub_agent, eth=10**17), sender=agent)
    rv = manager.revoke(sid, sender=owner)
    print("create1", r1.gas_used, "create2", r2.gas_used, "spawn1", c1.gas_used, "spawn2", c2.gas_used, "revoke", rv.gas_used)
