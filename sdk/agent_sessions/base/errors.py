"""The SDK's exception tree.

One root, ``SessionError``. Every custom error of ``ISessionTypes`` (and the factory's ``ManagerExists``) has
a typed subclass of ``ContractRevert`` that carries the on-chain arguments under readable names
(``BudgetExceeded.session``, ``.token``, ``.requested``, ``.remaining``) and writes its own message.
Family classes let callers catch by kind: ``AccessDenied`` (wrong caller), ``InvalidState`` (wrong
lifecycle status), ``LimitExceeded`` (budgets and caps, also a ``ValueError``), ``InvalidParams``
(bad input, also a ``ValueError``), ``CallReverted`` (the session's own call failed).

``decode_revert(data)`` turns revert data into the matching exception, and ``typed_error(error)`` is the one way
a node's error (a failed ``eth_call`` / ``eth_estimateGas``, batched or not) becomes it; errors the SDK knows only
by ABI (Solady's ``Reentrancy()``, its ERC-721 errors, the guard's ``Denied``) become a ``ContractError`` with
the name and arguments; unknown selectors an ``UnknownRevert``.

Transport failures are ``RPCError`` (``TransientRPCError`` when a retry may help); a mined transaction that
failed without a decodable reason is ``TransactionFailed``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .abi import known_errors
from .models import NATIVE, Status

__all__ = [
    "AccessDenied",
    "AlreadyInitialized",
    "AmountTooLarge",
    "BalanceMismatch",
    "BatchCallFailed",
    "BudgetExceeded",
    "CallFailed",
    "CallLimitExceeded",
    "CallReverted",
    "CalldataTooShort",
    "ChainMismatch",
    "ContractError",
    "ContractRevert",
    "ContractSignatureRejected",
    "DeployerNotOwner",
    "DepositTooLow",
    "DepthExceeded",
    "DuplicateToken",
    "ExpiryExceedsParent",
    "ExpiryInPast",
    "ExpiryTooLate",
    "ForbiddenTarget",
    "GuardRejected",
    "InsufficientOutput",
    "InvalidHolder",
    "InvalidSignatureLength",
    "InvalidSignatureS",
    "InvalidSigner",
    "InvalidGuard",
    "InvalidParams",
    "InvalidState",
    "LimitExceeded",
    "ManagerExists",
    "NoBudgetRow",
    "NoValueExpected",
    "NonceUsed",
    "NotAgent",
    "NotAgentOrController",
    "NotController",
    "NotFactory",
    "NotManagerOwner",
    "NothingToClaim",
    "Panic",
    "PayoutGasTooLow",
    "PerCallCapExceeded",
    "PeriodAllowanceExceeded",
    "PeriodRequired",
    "PermissionNotInParent",
    "RPCError",
    "RelayFeeAboveCap",
    "ReceiptTimeout",
    "RotatedOut",
    "RevertString",
    "SessionAlreadyClosed",
    "SessionEnded",
    "SessionError",
    "SessionLimitReached",
    "SessionNotActive",
    "SessionNotDraft",
    "SessionNotEnded",
    "SessionNotFound",
    "SessionNotPaused",
    "SignatureExpired",
    "SignatureRejected",
    "SameToken",
    "SigningRefused",
    "SendUnconfirmed",
    "SwapOverspent",
    "TargetNotAllowed",
    "TaskCountDecreased",
    "TokenNotEscrowed",
    "TooManyGuards",
    "TransactionFailed",
    "TransactionReplaced",
    "TransientRPCError",
    "UnexpectedETH",
    "UnknownRevert",
    "ValueMismatch",
    "ZeroAgent",
    "ZeroAmount",
    "decode_revert",
    "error_class",
    "typed_error",
]


class SessionError(Exception):
    """Root of every exception the SDK raises."""


# ----------------------------------------------------------------------------------------------------------------
# Transport
# ----------------------------------------------------------------------------------------------------------------


class RPCError(SessionError):
    """The node answered with an error (or could not be reached)."""

    def __init__(self, message: str, *, code: int | None = None, data: Any = None, method: str | None = None):
        self.code = code
        self.data = data
        self.method = method
        self.rpc_message = message
        where = f"{method}: " if method else ""
        tag = f" (code {code})" if code is not None else ""
        super().__init__(f"{where}{message}{tag}")

    @property
    def revert_data(self) -> bytes | None:
        """Revert data when the node reports an execution revert (``eth_call``/``eth_estimateGas``)."""
        data = self.data
        if isinstance(data, dict):  # some nodes nest it: {"data": {"data": "0x..."}}
            data = data.get("data")
        reverted = self.code == 3 or "revert" in self.rpc_message.lower()
        if not reverted:
            return None
        if isinstance(data, str) and data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
        return b"" if data is None else None


class SigningRefused(SessionError):
    """An account that signs for itself (an Ape account) gave back no signature: its owner declined at the prompt
    or on the device. Nothing was sent."""

    def __init__(self, address: str, kind: str):
        self.address = address
        self.kind = kind
        super().__init__(f"{kind} {address} declined to sign the transaction; nothing was sent")


class TransientRPCError(RPCError):
    """A failure a retry may cure: connection refused/reset, timeout, HTTP 5xx or 429, a node busy error."""


class SendUnconfirmed(TransientRPCError):
    """Sending failed transiently on every attempt and the node could not confirm it has the transaction.

    ``reached`` is False when the node says it does not know the hash (most likely never sent, though a delayed
    copy could still arrive), None when even that could not be asked. Look ``tx_hash`` up before acting again:
    the SDK itself never signs a second transaction for the action."""

    def __init__(self, cause: RPCError, tx_hash: str, nonce: int, reached: bool | None) -> None:
        self.tx_hash = tx_hash
        self.nonce = nonce
        self.reached = reached
        self.cause = cause
        fate = ("the node does not know it, so it was most likely not sent" if reached is False
                else "it may have reached the node")
        super().__init__(
            f"{cause.rpc_message}; transaction {tx_hash} (nonce {nonce}) is unconfirmed: {fate}. Look it up by "
            f"hash before sending the same action again",
            code=cause.code, data=cause.data, method=cause.method or "eth_sendRawTransaction",
        )


class TransactionReplaced(RPCError):
    """The transaction left the node's pool and its nonce now belongs to another transaction of the same key
    (a replacement, or a send from elsewhere): it will never be mined, so its action did not happen."""

    def __init__(self, tx_hash: str, nonce: int, sender: str) -> None:
        self.tx_hash = tx_hash
        self.nonce = nonce
        self.sender = sender
        super().__init__(
            f"transaction {tx_hash} was replaced: nonce {nonce} of {sender} went to another transaction, so it "
            f"will never be mined (its action did not happen)",
            method="eth_sendRawTransaction",
        )


class ReceiptTimeout(SessionError, TimeoutError):
    """No receipt arrived in time. The transaction may still be mined: look it up by ``.tx_hash``."""

    def __init__(self, tx_hash: str, timeout: float):
        self.tx_hash = tx_hash
        self.timeout = timeout
        super().__init__(f"no receipt for {tx_hash} after {timeout:g} s (it may still be pending)")


class ChainMismatch(SessionError, ValueError):
    """The endpoint serves another chain than the one asked for."""

    def __init__(self, expected: int, actual: int):
        self.expected = expected
        self.actual = actual
        super().__init__(f"the RPC endpoint serves chain {actual}, not chain {expected}")


class TransactionFailed(SessionError):
    """A mined transaction failed (status 0) and replaying it gave no reason (e.g. it ran out of gas)."""

    def __init__(self, tx_hash: str, receipt: Any = None, detail: str = ""):
        self.tx_hash = tx_hash
        self.receipt = receipt
        extra = f": {detail}" if detail else ""
        super().__init__(f"transaction {tx_hash} failed{extra}")


# ----------------------------------------------------------------------------------------------------------------
# On-chain reverts
# ----------------------------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str) and value == NATIVE:
        return "ETH"
    if isinstance(value, Status):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex() if value else "(no data)"
    return str(value)


class ContractRevert(SessionError):
    """An on-chain revert with a known shape. ``.data`` is the raw revert data; ``.tx_hash`` and ``.receipt``
    are set when it came from a mined transaction (else ``None``: caught by a dry run before sending)."""

    #: Python names of the error's arguments, in ABI order.
    fields: ClassVar[tuple[str, ...]] = ()
    #: Message template over the fields (displayed values: NATIVE -> "ETH", Status -> "active").
    template: ClassVar[str] = ""
    #: The Solidity error's name (defaults to the class name).
    error_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "error_name" not in cls.__dict__:
            cls.error_name = cls.__name__

    def __init__(self, *values: Any, data: bytes = b""):
        if len(values) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {len(self.fields)} values, got {len(values)}")
        for name, value in zip(self.fields, values):
            if name == "status" and isinstance(value, int):
                value = Status(value)
            setattr(self, name, value)
        self.values = tuple(getattr(self, f) for f in self.fields)
        self.data = data
        self.tx_hash: str | None = None
        self.receipt: Any = None
        super().__init__(self._message())

    @property
    def arguments(self) -> dict[str, Any]:
        """The error's arguments by (Python) name."""
        return dict(zip(self.fields, self.values))

    def _message(self) -> str:
        shown = {name: _show(value) for name, value in zip(self.fields, self.values)}
        text = self.template.format(**shown) if self.template else ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"{text} ({self.error_name})"

    def __reduce__(self) -> Any:  # picklable across process pools
        return (_rebuild, (type(self), self.values, self.data))


def _rebuild(cls: type[ContractRevert], values: tuple[Any, ...], data: bytes) -> ContractRevert:
    return cls(*values, data=data)


class AccessDenied(ContractRevert):
    """The caller is not allowed to do this (wrong key, not a controller, not the owner, target not allowed)."""


class InvalidState(ContractRevert):
    """The session's (or manager's) lifecycle status forbids this."""


class LimitExceeded(ContractRevert, ValueError):
    """A budget, cap, allowance, call limit or depth limit would be exceeded."""


class InvalidParams(ContractRevert, ValueError):
    """The arguments themselves are invalid (expiry, agent, value, duplicates...)."""


class CallReverted(ContractRevert):
    """The session's own call (or a guard) refused; ``.reason`` holds the callee's revert data."""

    @property
    def reason_error(self) -> ContractRevert | None:
        """The callee's revert decoded as far as the SDK knows it (None when it reverted without data)."""
        reason: bytes = getattr(self, "reason", b"")
        return decode_revert(reason) if reason else None

    def _message(self) -> str:
        reason: bytes = getattr(self, "reason", b"")
        inner = decode_revert(reason) if reason else None
        text = super()._message()
        if inner is None:
            return f"{text}; no reason given"
        return f"{text}; reason: {inner}"


# --- access --------------------------------------------------------------------------------------------------------


class NotManagerOwner(AccessDenied):
    fields = ("caller",)
    template = "{caller} is not the owner of this manager"


class NotFactory(AccessDenied):
    fields = ("caller",)
    template = "{caller} is not the factory; only the factory initialises a manager"


class NotAgent(AccessDenied):
    fields = ("session", "caller")
    template = "{caller} is not the agent of session {session}"


class NotController(AccessDenied):
    fields = ("session", "caller")
    template = "{caller} neither holds session {session} nor controls one of its ancestors"


class RotatedOut(AccessDenied):
    fields = ("session", "key")
    template = ("{key} was rotated out of session {session} or one of its ancestors by a controller: every power it "
                "had over that subtree lapsed")


class DeployerNotOwner(AccessDenied):
    fields = ("owner", "caller")
    template = "only {owner} deploys its own managers, not {caller} (send from the owner's key)"


class NotAgentOrController(AccessDenied):
    fields = ("session", "caller")
    template = "{caller} is neither the agent of session {session} nor one of its controllers"


class TargetNotAllowed(AccessDenied):
    fields = ("session", "target", "selector")
    template = "session {session} may not call {target} with selector {selector}"


class ForbiddenTarget(AccessDenied):
    fields = ("session", "target")
    template = ("session {session} can never call or pay {target} (the manager, its executor, the factory or an "
                "escrowed token)")


class PermissionNotInParent(AccessDenied):
    fields = ("parent", "target", "selector")
    template = "parent session {parent} lacks target {target} / selector {selector}, so its child cannot get it"


# --- lifecycle -----------------------------------------------------------------------------------------------------


class SessionNotFound(InvalidState, LookupError):
    fields = ("session",)
    template = "no session {session} exists"


class SessionNotActive(InvalidState):
    fields = ("session", "status")
    template = "session {session} cannot act: it is {status}"


class SessionEnded(InvalidState):
    fields = ("session", "status")
    template = "session {session} has ended ({status})"


class SessionNotDraft(InvalidState):
    fields = ("session", "status")
    template = "session {session} is {status}, not a draft, so it cannot be edited or activated"


class SessionNotPaused(InvalidState):
    fields = ("session", "status")
    template = "session {session} is {status}, not paused"


class SessionNotEnded(InvalidState):
    fields = ("session", "status")
    template = "session {session} is still {status}: revoke or complete it before closing it"


class SessionAlreadyClosed(InvalidState):
    fields = ("session",)
    template = "session {session} is already closed"


class NothingToClaim(InvalidState):
    fields = ("payee", "token")
    template = "{payee} is owed nothing in {token} (only payouts a token refused at settlement are claimable)"


class AlreadyInitialized(InvalidState):
    template = "the manager was initialised already"


class ManagerExists(InvalidState):
    fields = ("manager",)
    template = "a manager already exists at {manager} for this owner and salt"


# --- limits --------------------------------------------------------------------------------------------------------


class BudgetExceeded(LimitExceeded):
    fields = ("session", "token", "requested", "remaining")
    template = "session {session}: spending {requested} of {token} exceeds the remaining {remaining}"


class PerCallCapExceeded(LimitExceeded):
    fields = ("session", "token", "requested", "cap")
    template = "session {session}: spending {requested} of {token} in one call exceeds the per-call cap {cap}"


class PeriodAllowanceExceeded(LimitExceeded):
    fields = ("session", "token", "requested", "remaining")
    template = "session {session}: spending {requested} of {token} exceeds the {remaining} left in this period"


class CallLimitExceeded(LimitExceeded):
    fields = ("session", "max_calls")
    template = "session {session} used all {max_calls} calls of this period"


class DepthExceeded(LimitExceeded):
    fields = ("parent", "max_depth")
    template = "a child of session {parent} would sit deeper than the cap of {max_depth}"


class TooManyGuards(LimitExceeded):
    fields = ("max",)
    template = "a session holds at most {max} guards"


class AmountTooLarge(LimitExceeded):
    fields = ("amount",)
    template = "amount {amount} is above 2^128 - 1"


class SessionLimitReached(LimitExceeded):
    fields = ("max",)
    template = "this manager has handed out all {max} session ids it can hold (ids are 32-bit)"


class SwapOverspent(LimitExceeded):
    fields = ("session", "token", "approved", "spent")
    template = "session {session}: the swap took {spent} of {token}, more than the {approved} approved"


class InsufficientOutput(LimitExceeded):
    fields = ("session", "token", "received", "min_received")
    template = "session {session}: the swap returned {received} of {token}, less than the minimum {min_received}"


# --- parameters ----------------------------------------------------------------------------------------------------


class ExpiryInPast(InvalidParams):
    fields = ("expiry", "now")
    template = "expiry {expiry} is not in the future (chain time is {now})"


class ExpiryTooLate(InvalidParams):
    fields = ("expiry", "latest")
    template = "expiry {expiry} is later than {latest}, the latest time a session can end (2^32 - 1)"


class ExpiryExceedsParent(InvalidParams):
    fields = ("parent", "expiry", "parent_expiry")
    template = "expiry {expiry} is later than parent session {parent}'s expiry {parent_expiry}"


class ZeroAgent(InvalidParams):
    template = "the agent key is the zero address"


class ValueMismatch(InvalidParams):
    fields = ("expected", "received")
    template = "the ETH budgets need {expected} wei but {received} wei was sent"


class DuplicateToken(InvalidParams):
    fields = ("token",)
    template = "{token} appears twice in one session's budgets"


class PeriodRequired(InvalidParams):
    template = "a periodic allowance or a call limit needs a period"


class BalanceMismatch(InvalidParams):
    fields = ("token", "expected", "actual")
    template = "moving {expected} of {token} changed the manager's balance by {actual} (the token misreports)"


class InvalidGuard(InvalidParams):
    fields = ("guard",)
    template = "guard {guard} has no code"


class UnexpectedETH(InvalidParams):
    fields = ("sender",)
    template = "the manager refused ETH from {sender}: ETH arrives only as funding or swap output"


class TaskCountDecreased(InvalidParams):
    fields = ("session", "previous", "given")
    template = "session {session}: the task counter cannot go back from {previous} to {given}"


class InvalidHolder(InvalidParams):
    fields = ("holder",)
    template = "{holder} cannot hold a session token (a manager cannot be its own refund address)"


class SameToken(InvalidParams):
    fields = ("token",)
    template = "a swap must take one token and give another, not {token} on both sides"


class ZeroAmount(InvalidParams):
    fields = ()
    template = "a payment of zero: pass an amount above 0"


class TokenNotEscrowed(InvalidParams):
    fields = ("session", "token")
    template = ("{token} is not escrowed by this manager yet: only the manager owner brings a new token in (session "
                "{session})")


class NoBudgetRow(InvalidParams):
    fields = ("session", "token")
    template = ("session {session} has no budget row for {token}: it cannot receive it (give the session, and each "
                "ancestor, a row for the token when creating it, even with amount 0)")


class PayoutGasTooLow(InvalidParams):
    fields = ("gas_left", "needed")
    template = "a settlement payout needs {needed} gas for its stipend, {gas_left} were left: send with more gas"


class CalldataTooShort(InvalidParams):
    fields = ("session", "length")
    template = ("session {session} sent {length} bytes of calldata: a plain transfer has none, a call starts with a "
                "4-byte selector")


class NoValueExpected(InvalidParams):
    fields = ("value",)
    template = "no ETH may be sent with this call (got {value} wei); a child is funded from its parent"


# --- signatures (the signed entry points) -------------------------------------------------------------------------


class SignatureRejected(AccessDenied):
    """A signed grant, spawn or execute the manager refused: expired, replayed, malformed or by the wrong signer."""


class SignatureExpired(SignatureRejected):
    fields = ("deadline",)
    template = "the signature's deadline {deadline} has passed"


class InvalidSigner(SignatureRejected):
    fields = ("expected", "recovered")
    template = ("the signature is not {expected}'s (it recovers to {recovered}): signed by another key, over other "
                "data, or for another manager or chain")


class InvalidSignatureS(SignatureRejected):
    fields = ("s",)
    template = "the signature's s value {s} is in the upper half of the curve order (a malleable signature)"


class InvalidSignatureLength(SignatureRejected):
    fields = ("length",)
    template = "the signature is {length} bytes long; an ECDSA signature is 65 (r, s, v)"


class ContractSignatureRejected(SignatureRejected):
    fields = ("signer", "answer")
    template = "contract {signer} did not accept the signature (ERC-1271)"

    def _message(self) -> str:
        answer: bytes = getattr(self, "answer", b"")
        text = super()._message()
        if len(answer) >= 4 and len(answer) != 32:  # a revert of the signer, not a 32-byte answer word
            return f"{text}; it reverted: {decode_revert(answer)}"
        return f"{text}; it answered {_show(answer)}"


class NonceUsed(SignatureRejected):
    fields = ("signer", "nonce")
    template = "nonce {nonce} of {signer} was used or cancelled already: a signature counts once"


class RelayFeeAboveCap(LimitExceeded):
    fields = ("session", "fee", "cap")
    template = ("session {session}: a relay fee of {fee} is above the cap {cap} of the session or an ancestor "
                "(a controller sets it: setMaxRelayFee)")


class DepositTooLow(LimitExceeded):
    fields = ("account", "needed", "available")
    template = "{account} has {available} deposited, {needed} is needed (deposit first)"


# --- calls ---------------------------------------------------------------------------------------------------------


class GuardRejected(CallReverted):
    fields = ("session", "guard", "reason")
    template = "guard {guard} refused the call of session {session}"


class CallFailed(CallReverted):
    fields = ("session", "target", "reason")
    template = "the call of session {session} to {target} reverted"


class BatchCallFailed(CallReverted):
    fields = ("session", "index", "reason")
    template = "call {index} of the batch of session {session} reverted"


# --- generic -------------------------------------------------------------------------------------------------------


class ContractError(ContractRevert):
    """A revert the SDK knows by ABI but has no class for (Solady's ``Reentrancy()``, its ERC-721 errors such
    as ``TokenDoesNotExist()``, the guard's ``Denied(target)``...): ``.name`` and ``.arguments``."""

    def __init__(self, name: str, arguments: dict[str, Any], *, data: bytes = b""):
        self.name = name
        self._arguments = arguments
        self.values = tuple(arguments.values())
        self.data = data
        self.tx_hash = None
        self.receipt = None
        shown = ", ".join(f"{k}={_show(v)}" for k, v in arguments.items())
        SessionError.__init__(self, f"{name}({shown})")

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self._arguments)

    def __reduce__(self) -> Any:
        return (ContractError, (self.name, self._arguments), {"data": self.data})


class RevertString(ContractRevert):
    """``require(cond, "message")`` / ``revert("message")``: Solidity's ``Error(string)``."""

    fields = ("message",)
    error_name = "Error"
    template = "reverted: {message}"


class Panic(ContractRevert):
    """Solidity's ``Panic(uint256)`` (overflow, division by zero, assert...)."""

    fields = ("code",)
    template = "panic code {code}"


class UnknownRevert(ContractRevert):
    """Revert data the SDK cannot name (a selector outside the known ABIs, or no data at all)."""

    def __init__(self, data: bytes = b""):
        self.values = ()
        self.data = data
        self.tx_hash = None
        self.receipt = None
        self.selector = "0x" + data[:4].hex() if len(data) >= 4 else None
        text = f"reverted with unknown error {self.selector}" if self.selector else "reverted without a reason"
        SessionError.__init__(self, text)

    def __reduce__(self) -> Any:
        return (UnknownRevert, (self.data,))


def _typed_classes() -> dict[str, type[ContractRevert]]:
    classes: dict[str, type[ContractRevert]] = {}
    pending: list[type[ContractRevert]] = [ContractRevert]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "template" in cls.__dict__:  # a concrete error, not a family
            classes[cls.error_name] = cls
    for family in (ContractError, UnknownRevert):
        classes.pop(family.error_name, None)
    return classes


_CLASSES: dict[str, type[ContractRevert]] = _typed_classes()


def error_class(name: str) -> type[ContractRevert] | None:
    """The typed class of the Solidity error ``name`` (``"BudgetExceeded"``), or None."""
    return _CLASSES.get(name)


def decode_revert(data: bytes | str) -> ContractRevert:
    """The typed exception for revert ``data`` (selector + ABI-encoded arguments)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = bytes(data)
    definition = known_errors().get(data[:4]) if len(data) >= 4 else None
    if definition is None:
        from .library_errors import decode_library_error  # Solady / OpenZeppelin errors, with a hint

        return decode_library_error(data) or UnknownRevert(data)
    try:
        values = definition.decode(data)
    except Exception:  # malformed arguments: keep the bytes
        return UnknownRevert(data)
    cls = _CLASSES.get(definition.name)
    if cls is not None and len(cls.fields) == len(values):
        return cls(*values, data=data)
    return ContractError(definition.name, dict(zip(definition.names, values)), data=data)


def typed_error(error: RPCError) -> SessionError:
    """The typed revert a node's ``error`` reports (``BudgetExceeded``...), or ``error`` itself when the node
    failed for another reason (connection, bad request). Every read and estimate of the SDK goes through here."""
    data = error.revert_data
    return decode_revert(data) if data is not None else error
