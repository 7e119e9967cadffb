"""Talking to one node: JSON-RPC with retries (``rpc``), local signing (``signing``), nonces, fees and receipts of
one key (``transport``), many signed transactions sent in JSON-RPC batches (``pipeline``) and a minimal contract
binding (``contract``). Knows nothing of sessions; imports only ``base``.
"""
