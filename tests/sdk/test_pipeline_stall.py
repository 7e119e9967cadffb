"""A transaction Anvil 1.7 leaves in its pool's queue for good is requeued by the pipeline and mined.

Under load, Anvil can add a pipelined transaction (nonce n+1) while its predecessor (n) is being mined: it
then waits in the queue for a predecessor that is already on chain, and neither new blocks nor ``evm_mine``
move it (seen in 12 of about 1,000 pipelined rounds of 340 transfers from 20 keys on a loaded 2-core machine;
`make bench` stopped with a ReceiptTimeout after 120 s). The same
state is built here on purpose: the transaction is queued behind a missing nonce, then the account's nonce is
set past that gap (``anvil_setNonce``), so its nonce is the next one and it still never gets mined.
"""

from __future__ import annotations

from agent_sessions.chain.pipeline import TxRequest, send_signed


def pool_counts(client) -> tuple[int, int]:
    status = client.rpc.request("txpool_status")
    return int(status["pending"], 16), int(status["queued"], 16)


def test_a_transaction_stuck_in_anvils_queue_is_requeued_and_mined(client, stranger_key, other_key):
    sender = client.sender(stranger_key)
    nonce = int(client.rpc.request("eth_getTransactionCount", [sender.address, "latest"]), 16)
    signed = sender.sign(sender.unsigned(other_key.address, b"", 1, gas=21_000, nonce=nonce + 1))
    client.rpc.request("eth_sendRawTransaction", [signed.raw_hex])
    client.rpc.request("anvil_setNonce", [sender.address, hex(nonce + 1)])
    client.rpc.request("evm_mine")
    assert pool_counts(client) == (0, 1)  # its nonce is the account's next one, yet it stays queued
    assert client.rpc.request("eth_getTransactionReceipt", [signed.hash]) is None

    request = TxRequest(sender, other_key.address, b"", 1, 21_000)
    (outcome,) = send_signed(client.rpc, [request], [signed], timeout=10, stall=0.2)

    assert outcome.error is None
    assert outcome.ok and outcome.receipt.tx_hash == signed.hash
    assert pool_counts(client) == (0, 0)
    assert int(client.rpc.request("eth_getTransactionCount", [sender.address, "latest"]), 16) == nonce + 2
