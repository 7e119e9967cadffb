"""Many agents executing at once, without nonce clashes.

Each agent key gets its own ``Sender`` (one per key, shared through the client, with its own nonce lock).
``AgentPool.run`` estimates gas once per kind of call, signs every job locally, sends them in JSON-RPC
batches from a thread pool (each key's nonces consecutive, keys interleaved), and only then collects the
receipts, many per request. That pipelining is what lets the SDK approach the rate at which the node
accepts raw transactions, instead of paying a round trip and a block per call.

Every job gets a ``JobResult``: its receipt, or the typed error (``BudgetExceeded``, ``NotAgent``...) it hit,
whether the gas estimate caught it (nothing sent) or the mined receipt did (decoded by replay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..base.errors import SessionError
from ..base.models import checksum
from ..base.results import Receipt
from ..base.validate import amount, hex_bytes, session_id
from ..chain.pipeline import TxRequest, estimate_limits, run_pipeline

if TYPE_CHECKING:
    from ..chain.transport import Sender
    from .manager import Manager

__all__ = ["AgentPool", "Job", "JobResult", "run_agents"]


@dataclass(frozen=True)
class Job:
    """One ``execute(session, target, value, data)`` sent by ``agent`` (a key, LocalAccount or Sender)."""

    session: int
    agent: Any
    target: str
    value: int = 0
    data: bytes = b""
    #: Explicit gas limit (skips the estimate for this job).
    gas: int | None = None
    #: Anything the caller wants back on the result.
    tag: Any = None


@dataclass(frozen=True)
class JobResult:
    job: Job
    receipt: Receipt | None
    error: SessionError | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.receipt is not None and self.receipt.ok

    @property
    def tx_hash(self) -> str | None:
        return self.receipt.tx_hash if self.receipt else getattr(self.error, "tx_hash", None)


class AgentPool:
    """Runs jobs against one manager. ``batch_size`` transactions go in one JSON-RPC batch request;
    ``window_gas`` caps the gas of unconfirmed transactions (default half a block); ``max_workers`` threads
    replay failed transactions to decode their errors."""

    def __init__(self, manager: Manager, *, max_workers: int = 4, batch_size: int = 100,
                 receipt_timeout: float = 120.0, window_gas: int | None = None) -> None:
        self.manager = manager
        self.window_gas = window_gas
        self.max_workers = max_workers
        self.batch_size = batch_size
        self.receipt_timeout = receipt_timeout
        self._fn = manager.fn("execute")

    def run(self, jobs: Iterable[Job]) -> list[JobResult]:
        """Execute every job; results in the jobs' order."""
        job_list = list(jobs)
        client = self.manager.client
        senders = [client.sender(job.agent) for job in job_list]
        encoded = [
            self._fn.encode(session_id(j.session), checksum(j.target, "target"), amount(j.value, "value", symbol="ETH"),
                            hex_bytes(j.data, "data"))
            for j in job_list
        ]
        limits, early = self._gas(job_list, senders, encoded)
        runnable = [i for i in range(len(job_list)) if i not in early]
        requests = [
            TxRequest(senders[i], self.manager.address, encoded[i], 0, limits[i]) for i in runnable
        ]
        outcomes = run_pipeline(client.rpc, requests, batch_size=self.batch_size, workers=self.max_workers,
                                timeout=self.receipt_timeout, window_gas=self.window_gas)
        results: list[JobResult | None] = [None] * len(job_list)
        for i, error in early.items():
            results[i] = JobResult(job_list[i], None, error)
        for i, outcome in zip(runnable, outcomes):
            results[i] = JobResult(job_list[i], outcome.receipt, outcome.error)
        return [r for r in results if r is not None]

    def _gas(self, jobs: Sequence[Job], senders: Sequence[Sender],
             encoded: Sequence[bytes]) -> tuple[dict[int, int], dict[int, SessionError]]:
        """Gas limits: explicit ones, else one estimate per kind of call (session, agent, target, selector,
        whether value moves), every estimate in one batch. A kind whose estimate reverts is estimated job by job
        so only the jobs that really revert fail early (with their typed error, nothing sent)."""
        limits: dict[int, int] = {}
        early: dict[int, SessionError] = {}
        shapes: dict[tuple[Any, ...], list[int]] = {}
        for i, job in enumerate(jobs):
            if job.gas is not None:
                limits[i] = job.gas
                continue
            key = (session_id(job.session), senders[i].address, checksum(job.target), hex_bytes(job.data, "data")[:4],
                   amount(job.value, "value", symbol="ETH") > 0)
            shapes.setdefault(key, []).append(i)
        firsts = [members[0] for members in shapes.values()]
        estimates = self._estimate(firsts, senders, encoded)
        retry: list[int] = []
        for members, estimate in zip(shapes.values(), estimates):
            if isinstance(estimate, int):
                for i in members:
                    limits[i] = estimate
            else:
                retry.extend(members)
        if retry:
            for i, estimate in zip(retry, self._estimate(retry, senders, encoded)):
                if isinstance(estimate, int):
                    limits[i] = estimate
                else:
                    early[i] = estimate
        return limits, early

    def _estimate(self, indexes: Sequence[int], senders: Sequence[Sender],
                  encoded: Sequence[bytes]) -> list[int | SessionError]:
        return estimate_limits(self.manager.client.rpc,
                               [(senders[i], self.manager.address, encoded[i], 0) for i in indexes])


def run_agents(manager: Manager, jobs: Iterable[Job], max_workers: int = 4, **options: Any) -> list[JobResult]:
    """``AgentPool(manager, max_workers=..., **options).run(jobs)``."""
    return AgentPool(manager, max_workers=max_workers, **options).run(jobs)
