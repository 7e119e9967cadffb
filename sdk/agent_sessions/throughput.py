"""Throughput measurements to reuse in benchmarks: the node's raw rate vs the SDK's execute rate.

The design's yardstick is a ratio measured in one run on one machine: executes through the SDK (``AgentPool``:
estimate, sign, send, confirm, decode) per second, against pre-signed plain ETH transfers per second (the
fastest the node can take transactions over JSON-RPC batches, signing excluded). Both clocks run from the first
send until the last receipt is in.

    python -m agent_sessions.throughput --rpc http://127.0.0.1:8545 --agents 20 --per-agent 50
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from eth_account import Account

from ._pipeline import TxRequest, _sign_all, send_signed
from .concurrency import AgentPool, Job, JobResult
from .errors import SessionError
from .models import NATIVE, SessionParams

if TYPE_CHECKING:
    from .client import AgentSessions
    from .manager import Manager

__all__ = ["DEV_MNEMONIC", "Rate", "dev_keys", "execute_benchmark", "measure_executes", "measure_raw_transfers"]

#: The well-known development mnemonic (Anvil, Hardhat, Ape's test accounts).
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def dev_keys(count: int, start: int = 0, mnemonic: str = DEV_MNEMONIC) -> list[Any]:
    """``LocalAccount``s ``m/44'/60'/0'/0/{start..start+count-1}`` of ``mnemonic``."""
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(start, start + count)]


@dataclass(frozen=True)
class Rate:
    label: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    def __str__(self) -> str:
        return f"{self.label}: {self.count} in {self.seconds:.3f} s = {self.per_second:,.0f}/s"


def measure_raw_transfers(client: AgentSessions, keys: Sequence[Any], count: int, *, batch_size: int = 100,
                          workers: int = 4) -> Rate:
    """Pre-sign ``count`` 1-wei transfers spread over ``keys`` (untimed), then time sending them through the
    same pipeline as ``AgentPool`` (JSON-RPC batches, flow control) until every receipt is in."""
    senders = [client.sender(k) for k in keys]
    requests = [
        TxRequest(senders[i % len(senders)], senders[(i + 1) % len(senders)].address, b"", 1, 21_000)
        for i in range(count)
    ]
    signed = _sign_all(requests, {})
    start = time.perf_counter()
    outcomes = send_signed(client.rpc, requests, signed, batch_size=batch_size, workers=workers, explain=False)
    seconds = time.perf_counter() - start
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise failed[0].error or SessionError("a raw transfer failed")
    return Rate("raw pre-signed transfers", count, seconds)


def measure_executes(manager: Manager, jobs: Sequence[Job], **pool_options: Any) -> tuple[Rate, list[JobResult]]:
    """Time ``AgentPool.run(jobs)`` (estimate, sign, send, confirm) end to end."""
    start = time.perf_counter()
    results = AgentPool(manager, **pool_options).run(jobs)
    seconds = time.perf_counter() - start
    return Rate("SDK executes (AgentPool)", len(jobs), seconds), results


def execute_benchmark(client: AgentSessions, owner: Any, agents: Sequence[Any], per_agent: int, *,
                      factory: Any = None, raw_count: int | None = None, **pool_options: Any) -> dict[str, Any]:
    """Deploy (or reuse ``factory``), open one ETH session per agent, then measure raw transfers and
    ``len(agents) * per_agent`` executes (1 wei each to the next agent) in the same run. Agents must hold ETH
    for gas. Returns both rates, their ratio and the execute results."""
    fac = factory if factory is not None else client.deploy_factory(owner)
    if isinstance(fac, str):
        fac = client.factory(fac)
    manager = fac.deploy_manager(owner, salt=int(time.time() * 1e6), sender=owner)
    addresses = [client.sender(a).address for a in agents]
    params = [
        SessionParams.model_validate(
            {"agent": a, "expiry": "1d", "budgets": {NATIVE: per_agent}, "any_target": True, "label": "bench"}
        )
        for a in addresses
    ]
    sessions = manager.create_sessions(params, owner)
    jobs = [
        Job(session=s.id, agent=agent, target=addresses[(k + 1) % len(addresses)], value=1)
        for _ in range(per_agent)
        for k, (s, agent) in enumerate(zip(sessions, agents))
    ]
    raw = measure_raw_transfers(client, agents, raw_count or len(jobs), **{
        k: v for k, v in pool_options.items() if k == "batch_size"})
    sdk, results = measure_executes(manager, jobs, **pool_options)
    return {"raw": raw, "sdk": sdk, "ratio": sdk.per_second / raw.per_second, "results": results,
            "manager": manager, "sessions": sessions}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual tool
    from .client import AgentSessions

    parser = argparse.ArgumentParser(description="Measure SDK executes/s against raw transfers/s")
    parser.add_argument("--rpc", default="http://127.0.0.1:8545")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--per-agent", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    client = AgentSessions(args.rpc)
    owner, *agents = dev_keys(args.agents + 1)
    out = execute_benchmark(client, owner, agents, args.per_agent, max_workers=args.workers,
                            batch_size=args.batch_size)
    failed = sum(not r.ok for r in out["results"])
    print(out["raw"])
    print(out["sdk"])
    print(f"ratio: {out['ratio']:.0%}  failed jobs: {failed}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
