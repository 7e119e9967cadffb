"""Off-chain session memory, anchored on-chain.

An agent's working memory (key-value records and a log of task entries) is too big and too private for the
chain, but its owner wants to know it was not rewritten. ``SessionContext`` keeps it in SQLite, keyed by
(chain id, manager, session id): the same manager address and session id on two chains are two memories; by
default each manager of each chain has a file of its own (``default_context_path(chain_id, manager)``). It
reduces the memory to one ``bytes32``: a Merkle root over the sorted records and the task
log. ``anchor`` writes that root and the task count with ``checkpoint`` (agent only, count never decreasing);
``verify`` recomputes the root locally and compares it with the chain. Any edit of a stored record or task
after anchoring makes ``verify`` false.

Leaves: ``keccak(0x00 || key || 0x00 || json(value))`` for records in key order, then
``keccak(0x01 || seq (8 bytes) || json(entry))`` for tasks in order; JSON is canonical (sorted keys, no
spaces). Inner nodes: ``keccak(left || right)``, an odd node moves up unchanged; no leaves: 32 zero bytes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eth_utils import keccak

if TYPE_CHECKING:
    from ..base.results import Receipt
    from .session import Session

__all__ = ["SessionContext", "agent_sessions_home", "default_context_path", "merkle_root"]

# Keyed by chain too (tables of earlier versions, ``records``/``tasks`` without a chain, are left alone).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS context_records (
    chain INTEGER NOT NULL, manager TEXT NOT NULL, session INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (chain, manager, session, key)
);
CREATE TABLE IF NOT EXISTS context_tasks (
    chain INTEGER NOT NULL, manager TEXT NOT NULL, session INTEGER NOT NULL, seq INTEGER NOT NULL,
    entry TEXT NOT NULL, PRIMARY KEY (chain, manager, session, seq)
);
"""


def agent_sessions_home() -> Path:
    """``$AGENT_SESSIONS_HOME``, default ``~/.agent_sessions``: where the tools keep their local state."""
    return Path(os.environ.get("AGENT_SESSIONS_HOME") or Path.home() / ".agent_sessions")


def default_context_path(chain_id: int | None = None, manager: str | None = None) -> Path:
    """``$AGENT_SESSIONS_HOME/contexts/<chain id>/<manager>.sqlite``: one file per manager of each chain (without
    both, the shared ``contexts/context.sqlite``)."""
    base = agent_sessions_home() / "contexts"
    if chain_id is None or manager is None:
        return base / "context.sqlite"
    return base / str(int(chain_id)) / f"{manager}.sqlite"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def merkle_root(leaves: list[bytes]) -> bytes:
    """Root of ``leaves`` (pairwise keccak, odd node promoted; empty -> zero)."""
    if not leaves:
        return b"\x00" * 32
    level = leaves
    while len(level) > 1:
        nxt = [keccak(level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


class SessionContext:
    """The memory of ``session`` in the SQLite file ``path`` (default: the file of its chain and manager,
    ``default_context_path(chain_id, manager)``; ``":memory:"`` for a throwaway one). Thread-safe."""

    def __init__(self, session: Session, path: str | Path | None = None) -> None:
        self.session = session
        self.manager_address = session.manager.address
        self.session_id = session.id
        self.chain_id = int(session.manager.client.chain_id)
        self.path = str(path) if path is not None else str(default_context_path(self.chain_id,
                                                                                  self.manager_address))
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return (f"<SessionContext chain={self.chain_id} session={self.session_id} manager={self.manager_address} "
                f"{self.path}>")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SessionContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _key(self) -> tuple[int, str, int]:
        return (self.chain_id, self.manager_address, self.session_id)

    # --- records --------------------------------------------------------------------------------------------

    def put(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` (replacing any previous one)."""
        text = _canonical(value)
        with self._lock:
            self._db.execute(
                "INSERT INTO context_records (chain, manager, session, key, value) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (chain, manager, session, key) DO UPDATE SET value = excluded.value",
                (*self._key, key, text),
            )

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM context_records WHERE chain = ? AND manager = ? AND session = ? AND key = ?", (*self._key, key)
            ).fetchone()
        return json.loads(row[0]) if row else default

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM context_records WHERE chain = ? AND manager = ? AND session = ? AND key = ?", (*self._key, key))

    def items(self) -> dict[str, Any]:
        """Every record, by key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM context_records WHERE chain = ? AND manager = ? AND session = ? ORDER BY key", self._key
            ).fetchall()
        return {k: json.loads(v) for k, v in rows}

    # --- tasks ----------------------------------------------------------------------------------------------

    def add_task(self, entry: Any) -> int:
        """Append a task entry (JSON-serialisable); returns its sequence number (1, 2, ...)."""
        text = _canonical(entry)
        with self._lock:
            (last,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM context_tasks WHERE chain = ? AND manager = ? AND session = ?", self._key
            ).fetchone()
            self._db.execute(
                "INSERT INTO context_tasks (chain, manager, session, seq, entry) VALUES (?, ?, ?, ?, ?)", (*self._key, last + 1, text)
            )
        return int(last) + 1

    def tasks(self) -> list[Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT entry FROM context_tasks WHERE chain = ? AND manager = ? AND session = ? ORDER BY seq", self._key
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    @property
    def task_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "SELECT COUNT(*) FROM context_tasks WHERE chain = ? AND manager = ? AND session = ?", self._key
            ).fetchone()
        return int(count)

    # --- anchoring ------------------------------------------------------------------------------------------

    def state_root(self) -> bytes:
        """The Merkle root of every record and task, as stored now (32 bytes)."""
        with self._lock:
            records = self._db.execute(
                "SELECT key, value FROM context_records WHERE chain = ? AND manager = ? AND session = ? ORDER BY key", self._key
            ).fetchall()
            tasks = self._db.execute(
                "SELECT seq, entry FROM context_tasks WHERE chain = ? AND manager = ? AND session = ? ORDER BY seq", self._key
            ).fetchall()
        leaves = [keccak(b"\x00" + k.encode() + b"\x00" + v.encode()) for k, v in records]
        leaves += [keccak(b"\x01" + int(seq).to_bytes(8, "big") + e.encode()) for seq, e in tasks]
        return merkle_root(leaves)

    def anchor(self, sender: Any, **txn_kwargs: Any) -> Receipt:
        """Write ``state_root()`` and ``task_count`` on-chain (``checkpoint``; ``sender`` = the agent)."""
        return self.session.checkpoint(self.state_root(), self.task_count, sender=sender, **txn_kwargs)

    def verify(self) -> bool:
        """Whether the local memory matches the last anchor: same root and same task count on-chain."""
        state = self.session.manager.state(self.session_id)
        return state.checkpoint_root == "0x" + self.state_root().hex() and state.task_count == self.task_count
