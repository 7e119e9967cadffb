"""What the MCP server's tools do, as plain Python (no MCP import): one agent key, optionally one session subtree.

Every tool answers a JSON-ready dict, or raises ``Refused`` with one line that says why in words, e.g.
``BudgetExceeded: session 7: spending 0.5 ETH of ETH exceeds the remaining 0.2 ETH; nothing was sent``.
Transactions are checked before anything is signed: ``execute`` asks the contract's ``check`` view first, the
others are dry-run by the gas estimate (a revert there is raised, typed, and nothing is sent).

Owner powers (pause, resume, revoke) exist only when the server was started with them (``owner_powers=True``).

With ``relay`` (a relayer's URL, ``agent-sessions relay --http``), ``execute`` is signed by the agent key (an EIP-712
Execute, ``relay_fee`` in wei paid to the relayer out of the session) and POSTed to the relayer, which submits
``executeWithSig`` and pays the gas: the agent key needs no ETH. The same ``check`` runs first, before anything is
signed; the relayer's typed refusal (``RelayFeeAboveCap``, ``NonceUsed``...) comes back in words.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ..base.errors import ContractRevert, SessionError, error_class
from ..base.models import NATIVE, SessionParams, checksum
from ..base.parsing import parse_expiry
from ..domain.diagnose import ancestors_report, explain_inactive
from ..domain.spending import SPEND_EVENTS
from ..domain.tokens import TokenBook
from ..fleet.console import error_explanation, error_line

__all__ = ["Refused", "SessionTools"]

#: Events that record money or calls leaving a session, by name (relay fees included: they are ETH spent).
_SPEND_EVENTS = SPEND_EVENTS


class Refused(SessionError):
    """A tool refused: the message says why, in one line; nothing was sent."""


class SessionTools:
    """The tools of one MCP server: the agent ``key`` acting on ``manager``'s sessions (those whose agent it is, or
    only the subtree of ``root`` when given)."""

    def __init__(self, manager: Any, key: Any, *, root: int | None = None, owner_powers: bool = False,
                 owner_key: Any = None, relay: str | None = None, relay_fee: int = 0,
                 relay_timeout: float = 120.0) -> None:
        self.manager = manager
        self.client = manager.client
        self.key = key
        self.address = checksum(key.address)
        self.root = root
        self.owner_powers = owner_powers
        self.owner_key = owner_key or key
        self.book = TokenBook(self.client)
        self.relay = relay.rstrip("/") if relay else None
        self.relay_fee = int(relay_fee)
        self.relay_timeout = relay_timeout

    # --- helpers ----------------------------------------------------------------------------------------------

    def _fmt(self, token: str, amount: int) -> str:
        return self.book.get(token).format(amount)

    def _reason(self, exc: BaseException) -> str:
        if isinstance(exc, ContractRevert):
            name = getattr(exc, "name", None) or exc.error_name
            explanation = error_explanation(exc, self.book)
            return f"{name}: {explanation}" if explanation else error_line(exc, self.book)
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

    def _refuse(self, exc: BaseException, sent: bool = False) -> Refused:
        tail = "" if sent else "; nothing was sent"
        why = explain_inactive(self.manager, exc)
        return Refused(self._reason(exc) + (f" ({why})" if why else "") + tail)

    def _token(self, text: str) -> str:
        value = str(text).strip()
        if value.upper() in ("ETH", "NATIVE"):
            return NATIVE
        try:
            return checksum(value)
        except ValueError:
            raise Refused(f"token {text!r}: give ETH or the token's 0x address") from None

    def _amount(self, token: str, text: str, field: str) -> int:
        try:
            return self.book.get(token).parse(str(text))
        except ValueError as exc:
            raise Refused(f"{field}: {exc}") from None

    def _session(self, session: int) -> int:
        """``session`` if it lies in this server's reach (the subtree of ``root`` when set), else ``Refused``."""
        try:
            sid = int(session)
        except (TypeError, ValueError):
            raise Refused(f"session {session!r}: give a session id (a positive integer)") from None
        if self.root is None:
            return sid
        current = sid
        try:
            while current:
                if current == self.root:
                    return sid
                current = self.manager.state(current).parent_id
        except SessionError as exc:
            raise self._refuse(exc) from None
        raise Refused(f"session {sid} is outside the subtree of session {self.root} this server may act on")

    def _budgets(self, state: Any) -> dict[str, Any]:
        self.book.prefetch(state.budgets)
        out = {}
        for token, b in state.budgets.items():
            info = self.book.get(token)
            entry = {"token": token, "remaining": info.format(b.available), "spent": info.format(b.spent)}
            if b.per_call_cap:
                entry["per_call_cap"] = info.format(b.per_call_cap)
            if b.period_allowance:
                entry["period_allowance"] = info.format(b.period_allowance)
            out[info.symbol] = entry
        return out

    def _summary(self, state: Any) -> dict[str, Any]:
        return {"id": state.id, "label": state.label, "status": str(state.status), "closed": state.closed,
                "parent": state.parent_id or None, "agent": state.agent,
                "expires": state.expiry.isoformat().replace("+00:00", "Z"), "budgets": self._budgets(state)}

    def _sent(self, receipt: Any, sid: int) -> dict[str, Any]:
        state = self.manager.state(sid)
        return {"sent": True, "tx": receipt.tx_hash, "block": receipt.block_number, "gas_used": receipt.gas_used,
                "session": sid, "remaining": {k: v["remaining"] for k, v in self._budgets(state).items()}}

    # --- reading ----------------------------------------------------------------------------------------------

    def check_session_inventory(self) -> dict[str, Any]:
        """The sessions this key is the agent of (within the subtree when one is set), with what is left."""
        found = self.manager.list_sessions(agent=self.address)
        states = [s.state for s in found if not s.state.closed]
        if self.root is not None:
            reach = set()
            for state in states:
                try:
                    self._session(state.id)
                    reach.add(state.id)
                except Refused:
                    pass
            states = [s for s in states if s.id in reach]
        return {"agent": self.address, "manager": self.manager.address, "chain_id": self.client.chain_id,
                "sessions": [self._summary(s) for s in states]}

    def session_status(self, session: int) -> dict[str, Any]:
        """One session in full, and if it cannot act, which session of its lineage stops it and why."""
        sid = self._session(session)
        try:
            state = self.manager.state(sid)
            lineage = ancestors_report(self.manager, sid)
        except SessionError as exc:
            raise self._refuse(exc) from None
        data = self._summary(state)
        data.update(can_act=lineage.can_act, why=None if lineage.can_act else lineage.describe(),
                    calls_in_period=state.calls_in_period, max_calls_per_period=state.max_calls_per_period,
                    checkpoint_root=state.checkpoint_root, task_count=state.task_count)
        return data

    def preflight(self, session: int, target: str, value: str = "0", data: str = "0x") -> dict[str, Any]:
        """Would ``execute`` pass now? The contract's own ``check``; sends nothing."""
        sid = self._session(session)
        wei = self._amount(NATIVE, value, "value")
        try:
            result = self.manager.check(sid, target, wei, data, caller=self.address)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc) from None
        if result.ok:
            return {"ok": True, "session": sid, "value": self._fmt(NATIVE, wei)}
        return {"ok": False, "session": sid, "value": self._fmt(NATIVE, wei),
                "reason": self._reason(result.error) if result.error else "refused"}

    def spend_history(self, session: int, limit: int = 50) -> dict[str, Any]:
        """Calls, token transfers, swaps and relay fees of a session, newest last (at most ``limit``)."""
        sid = self._session(session)
        abi = self.manager.abi
        topics = ["0x" + e.topic.hex() for e in abi.events.values() if e.name in _SPEND_EVENTS]
        logs = self.client.rpc.request("eth_getLogs", [{
            "address": self.manager.address, "fromBlock": "0x0", "toBlock": "latest",
            "topics": [topics, "0x" + sid.to_bytes(32, "big").hex()],
        }])
        entries = []
        for event in abi.decode_logs(logs, address=self.manager.address):
            entry: dict[str, Any] = {"kind": event.name, "block": event.block_number, "tx": event.tx_hash}
            a = event.args
            if event.name == "Executed":
                selector = a["selector"]
                entry.update(target=a["target"], value=self._fmt(NATIVE, a["value"]),
                             selector=selector if isinstance(selector, str) else "0x" + bytes(selector).hex())
            elif event.name == "TokenTransferred":
                entry.update(token=a["token"], to=a["to"], amount=self._fmt(a["token"], a["amount"]))
            elif event.name == "RelayFeePaid":
                entry.update(relayer=a["relayer"], fee=self._fmt(NATIVE, a["fee"]))
            else:
                entry.update(target=a["target"], sold=self._fmt(a["tokenIn"], a["amountIn"]),
                             bought=self._fmt(a["tokenOut"], a["amountOut"]))
            entries.append(entry)
        return {"session": sid, "entries": entries[-int(limit):], "total": len(entries)}

    # --- acting (agent) ---------------------------------------------------------------------------------------

    def execute(self, session: int, target: str, value: str = "0", data: str = "0x") -> dict[str, Any]:
        """Call ``target`` with ``value`` and ``data`` from the session, after the contract's ``check`` says it
        passes; a refusal is explained and nothing is sent."""
        check = self.preflight(session, target, value, data)
        if not check["ok"]:
            why = self.manager.check(int(session), target, self._amount(NATIVE, value, "value"), data,
                                     caller=self.address).error
            lineage = explain_inactive(self.manager, why) if why is not None else None
            raise Refused(f"{check['reason']}" + (f" ({lineage})" if lineage else "") + "; nothing was sent")
        sid = int(session)
        if self.relay:
            return self._relayed(sid, target, self._amount(NATIVE, value, "value"), data)
        try:
            receipt = self.manager.execute(sid, target, self._amount(NATIVE, value, "value"), data, sender=self.key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return self._sent(receipt, sid)

    # --- acting through a relayer ---------------------------------------------------------------------------------

    def _post(self, body: dict[str, Any]) -> Any:
        url = self.relay if self.relay.endswith("/relay") else self.relay + "/relay"
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.relay_timeout) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as exc:
            raise Refused(f"the relayer at {self.relay} answered HTTP {exc.code}; the signed execute may not have "
                          "been submitted") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            why = getattr(exc, "reason", None) or exc
            raise Refused(f"the relayer at {self.relay} could not be reached ({why}); the signed execute was not "
                          "submitted") from None

    def _relay_reason(self, outcome: dict[str, Any]) -> str:
        """The relayer's typed refusal in words: a contract error rebuilt from its name and arguments (amounts
        in units), else the relayer's own rule and message."""
        name = str(outcome.get("error") or outcome.get("status") or "refused")
        args = outcome.get("args") or {}
        cls = error_class(name)
        if cls is not None and set(cls.fields) <= set(args):
            values = [int(a) if isinstance(a, str) and a.isdigit() else a for a in (args[f] for f in cls.fields)]
            try:
                return self._reason(cls(*values))
            except Exception:  # arguments of an unexpected shape: the relayer's message below
                pass
        message = str(outcome.get("message") or "").splitlines()[0] if outcome.get("message") else ""
        suffix = f" ({name})"
        message = message[: -len(suffix)] if message.endswith(suffix) else message
        return f"{name}: {message}" if message else name

    def _relayed(self, sid: int, target: str, wei: int, data: str) -> dict[str, Any]:
        """Sign ``execute`` with the agent key and hand it to the relayer; its outcome, or a ``Refused`` in words."""
        from ..wallet.executes import sign_execute

        try:
            signed = sign_execute((self.manager, sid), target, wei, data, self.key, relay_fee=self.relay_fee)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc) from None
        outcome = self._post(signed.to_dict())
        if isinstance(outcome, list) and len(outcome) == 1:
            outcome = outcome[0]
        if not isinstance(outcome, dict):
            raise Refused(f"the relayer at {self.relay} answered something other than an outcome")
        status = outcome.get("status")
        if status == "mined":
            state = self.manager.state(sid)
            return {"sent": True, "relayed": True, "relayer": self.relay, "tx": outcome.get("tx"),
                    "block": outcome.get("block"), "gas_used": outcome.get("gas_used"), "session": sid,
                    "relay_fee": self._fmt(NATIVE, self.relay_fee),
                    "remaining": {k: v["remaining"] for k, v in self._budgets(state).items()}}
        reason = self._relay_reason(outcome)
        if status == "reverted":
            raise Refused(f"{reason}; the relayer at {self.relay} sent it and it reverted (tx {outcome.get('tx')})")
        raise Refused(f"{reason}; the relayer at {self.relay} refused it and sent nothing")

    def transfer_token(self, session: int, token: str, to: str, amount: str) -> dict[str, Any]:
        """Pay ``amount`` of ``token`` (ETH or an ERC-20 address) from the session's escrow to ``to``."""
        sid = self._session(session)
        address = self._token(token)
        units = self._amount(address, amount, "amount")
        try:
            receipt = self.manager.transfer_token(sid, address, to, units, sender=self.key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return self._sent(receipt, sid)

    def swap(self, session: int, token_in: str, amount_in: str, token_out: str, min_amount_out: str, target: str,
             data: str) -> dict[str, Any]:
        """Swap through ``target`` (a DEX the session may call) with ``data``: approve, call, reset."""
        sid = self._session(session)
        tin, tout = self._token(token_in), self._token(token_out)
        try:
            receipt = self.manager.swap(sid, tin, self._amount(tin, amount_in, "amount_in"), tout,
                                        self._amount(tout, min_amount_out, "min_amount_out"), target, data,
                                        sender=self.key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return self._sent(receipt, sid)

    def spawn_child(self, parent: int, agent: str, budget: str, expires: str = "", label: str = "",
                    any_target: bool = True) -> dict[str, Any]:
        """Open a child session of ``parent`` for ``agent`` with an ETH ``budget`` reserved out of the parent."""
        pid = self._session(parent)
        try:
            state = self.manager.state(pid)
            expiry = parse_expiry(expires) if expires else state.expiry
            params = SessionParams(agent=agent, expiry=expiry, label=label, any_target=any_target,
                                   budgets={NATIVE: self._amount(NATIVE, budget, "budget")})
            child = self.manager.spawn_child(pid, params, sender=self.key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return {"sent": True, "child": child.id, "parent": pid, **self._summary(child.state)}

    def checkpoint(self, session: int, root: str, task_count: int) -> dict[str, Any]:
        """Anchor an off-chain state ``root`` (32 bytes hex) and ``task_count`` (never lower than before)."""
        sid = self._session(session)
        try:
            receipt = self.manager.checkpoint(sid, root, int(task_count), sender=self.key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return {"sent": True, "tx": receipt.tx_hash, "session": sid, "root": root, "task_count": int(task_count)}

    # --- owner powers (only when the server was started with them) --------------------------------------------

    def _owner(self, call: str, session: int) -> dict[str, Any]:
        if not self.owner_powers:
            raise Refused("owner powers are off: start the server with --owner-powers")
        sid = self._session(session)
        try:
            receipt = getattr(self.manager, call)(sid, sender=self.owner_key)
        except (SessionError, ValueError) as exc:
            raise self._refuse(exc, sent=bool(getattr(exc, "tx_hash", None))) from None
        return {"sent": True, "tx": receipt.tx_hash, "session": sid, "status": str(self.manager.status(sid))}

    def pause(self, session: int) -> dict[str, Any]:
        return self._owner("pause", session)

    def resume(self, session: int) -> dict[str, Any]:
        return self._owner("resume", session)

    def revoke(self, session: int) -> dict[str, Any]:
        return self._owner("revoke", session)
