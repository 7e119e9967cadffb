"""Wallet standards spoken by sessions.

``erc7715``: ERC-7715 permission requests (``wallet_requestExecutionPermissions``) in and out of sessions.
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

__all__ = [
    "ERC7715_SPEC",
    "PERMISSION_TYPES",
    "Erc7715Error",
    "UnsupportedPermission",
    "build_response",
    "encode_context",
    "from_erc7715",
    "grant",
    "parse_context",
    "to_erc7715",
]
