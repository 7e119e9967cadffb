"""The wallet door and the wallet standards sessions speak.

- Signed grants, spawns and executes (``grants``, ``executes``, ``typed_data``): an owner's wallet (a key, a
  hardware wallet, a Safe) signs an EIP-712 grant offline and anyone submits it; an agent with no ETH signs its
  calls and a relayer (``relay``) submits them, paid a relay fee out of the session's budget.
- ``erc7715``: ERC-7715 permission requests (``wallet_requestExecutionPermissions``) in and out of sessions.

    from agent_sessions.wallet import sign_grant, submit_grant, sign_execute, submit_execute, Relayer
"""

from .erc7715 import (
    ERC7715_SPEC,
    PERMISSION_TYPES,
    Erc7715Error,
    UnsupportedPermission,
    build_response,
    encode_context,
    from_erc7715,
    grant,
    parse_context,
    to_erc7715,
)
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
    grant_typed_data,
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
    "ERC7715_SPEC",
    "Erc7715Error",
    "PERMISSION_TYPES",
    "RelayOutcome",
    "RelayRefused",
    "RelayService",
    "Relayer",
    "SignedExecute",
    "SignedExecuteBatch",
    "SignedGrant",
    "SignedMessage",
    "SignedSpawn",
    "UnsupportedPermission",
    "build_response",
    "deposit",
    "deposit_of",
    "encode_context",
    "encode_type",
    "from_erc7715",
    "grant",
    "grant_typed_data",
    "invalidate_nonces",
    "load_signed",
    "max_relay_fee",
    "new_nonce",
    "nonce_used",
    "parse_context",
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
    "to_erc7715",
    "typed_data",
    "typed_digest",
    "withdraw",
]
