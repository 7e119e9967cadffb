"""The wallet door: sessions granted by a signature, executes signed by keyless agents, and a relayer.

An owner's wallet (a key, a hardware wallet, a Safe) signs an EIP-712 grant offline and anyone submits it; an agent
with no ETH signs its calls and a relayer submits them, paid a relay fee out of the session's budget.

    from agent_sessions.wallet import sign_grant, submit_grant, sign_execute, submit_execute, Relayer
"""

from .executes import (
    SignedExecute,
    SignedExecuteBatch,
    max_relay_fee,
    set_max_relay_fee,
    set_max_relay_fees,
    sign_execute,
    sign_execute_batch,
    submit_execute,
)
from .grants import (
    SignedGrant,
    SignedSpawn,
    deposit,
    deposit_of,
    sign_grant,
    sign_spawn,
    submit_grant,
    submit_spawn,
    withdraw,
)
from .relay import RelayOutcome, RelayRefused, RelayService, Relayer, serve_http
from .typed_data import (
    SignedMessage,
    encode_type,
    invalidate_nonces,
    load_signed,
    new_nonce,
    nonce_used,
    safe_signature,
    safe_signer,
    sign_typed,
    typed_data,
    typed_digest,
)

__all__ = [
    "RelayOutcome",
    "RelayRefused",
    "RelayService",
    "Relayer",
    "SignedExecute",
    "SignedExecuteBatch",
    "SignedGrant",
    "SignedMessage",
    "SignedSpawn",
    "deposit",
    "deposit_of",
    "encode_type",
    "invalidate_nonces",
    "load_signed",
    "max_relay_fee",
    "new_nonce",
    "nonce_used",
    "safe_signature",
    "safe_signer",
    "serve_http",
    "set_max_relay_fee",
    "set_max_relay_fees",
    "sign_execute",
    "sign_execute_batch",
    "sign_grant",
    "sign_spawn",
    "sign_typed",
    "submit_execute",
    "submit_grant",
    "submit_spawn",
    "typed_data",
    "typed_digest",
    "withdraw",
]
