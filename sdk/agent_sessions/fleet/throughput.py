"""Throughput and scale measurements to reuse in benchmarks.

The design's yardstick for the SDK is a ratio measured in one run on one machine: executes through the SDK
(``AgentPool``: estimate, encode, sign, send, confirm) per second, against the rate at which the same node takes
pre-signed plain ETH transfers pushed as fast as it accepts them (JSON-RPC batches, signing excluded). Both clocks
run from the first send until the last transaction is mined.

One rate against another measured minutes apart says little on a shared machine: a node slows down as its chain
grows, and other processes come and go. So the rates are measured in **pairs** of rounds, ``paired_rounds``:

- every round starts from the same chain state (``Snapshot``: ``evm_snapshot`` / ``evm_revert``, the snapshot
  taken again after each revert because Anvil forgets one once reverted to), so no round runs on a longer chain
  or a fuller state than another;
- the two rounds of a pair run back to back, in ABBA order over the pairs (raw then SDK, SDK then raw, ...), so a
  drift in the machine's speed weighs on both sides alike;
- the figure is the median of the pairs' ratios, with a bootstrap interval (``median_interval``), next to the
  total-over-total ratio.

Each round also records the sending process's CPU time, the node's CPU time, the CPU time other processes took
meanwhile (``CpuMeter``; Linux ``/proc``), the blocks it took and how often a stalled Anvil had to be nudged.

Scale: ``spawn_in_slices`` creates many root sessions with ``Manager.create_sessions`` slice by slice and
``list_in_slices`` reads them back slice by slice, so growth with the chain's size shows.

    python -m agent_sessions.fleet.throughput --rpc http://127.0.0.1:8545 --agents 20 --per-agent 50
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import math
import os
import random
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from eth_account import Account

from ..base.errors import RPCError, SessionError
from ..base.models import NATIVE, SessionParams
from ..base.parsing import UnixTime
from ..chain.pipeline import Nudge, TxRequest, send_signed, sign_all
from ..chain.signing import to_account
from ..chain.transport import ALREADY_KNOWN, NONCE_USED
from ..domain.concurrency import AgentPool, Job, JobResult

if TYPE_CHECKING:
    from ..domain.client import AgentSessions
    from ..domain.manager import Manager

__all__ = [
    "DEV_MNEMONIC",
    "CpuMeter",
    "CpuSample",
    "Pair",
    "Rate",
    "Round",
    "Slice",
    "Snapshot",
    "dev_keys",
    "execute_benchmark",
    "list_in_slices",
    "measure_executes",
    "measure_raw_transfers",
    "median_interval",
    "paired_rounds",
    "push_raw_transfers",
    "spawn_in_slices",
    "time_listing",
]

log = logging.getLogger(__name__)

#: Seconds without progress after which a development node is nudged to mine: the pipeline's default (both sides
#: of a pair must wait alike).
STALL = 0.5

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


# ================================================================================================================
# CPU accounting
# ================================================================================================================


def _ticks() -> float:
    return float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0


def _group_cpu(pgid: int) -> float | None:
    """CPU seconds (user + system) of every live process in process group ``pgid`` (Linux ``/proc``)."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _ticks()


def _machine_busy() -> float | None:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``: all but idle and iowait)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    busy = sum(values[:8]) - idle  # guest time is already counted in user time
    return busy / _ticks()


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds spent during one measured interval."""

    wall: float
    #: this process (every thread): the sending side
    own: float
    #: the node's process group (None when unknown)
    node: float | None
    #: every other process on the machine, in CPU seconds (None when unknown)
    others: float | None

    @property
    def other_cores(self) -> float | None:
        """Cores other processes kept busy on average meanwhile (what they added to the load)."""
        return self.others / self.wall if self.others is not None and self.wall > 0 else None


class CpuMeter:
    """Measures an interval: ``with meter.measure() as sample: ...`` then ``sample()`` is a ``CpuSample``.

    ``node_pgid`` is the node's process group (a node started with its own session, as ``LocalAnvil`` does)."""

    def __init__(self, node_pgid: int | None = None) -> None:
        self.node_pgid = node_pgid

    def read(self) -> tuple[float, float, float | None, float | None]:
        node = _group_cpu(self.node_pgid) if self.node_pgid is not None else None
        return time.perf_counter(), time.process_time(), node, _machine_busy()

    @staticmethod
    def between(start: tuple[float, float, float | None, float | None],
                end: tuple[float, float, float | None, float | None]) -> CpuSample:
        wall, own = end[0] - start[0], end[1] - start[1]
        node = end[2] - start[2] if end[2] is not None and start[2] is not None else None
        others = None
        if end[3] is not None and start[3] is not None:
            others = max(0.0, (end[3] - start[3]) - own - (node or 0.0))
        return CpuSample(wall, own, node, others)


# ================================================================================================================
# chain snapshots
# ================================================================================================================


class Snapshot:
    """One chain state to start every round from (Anvil, Hardhat: ``evm_snapshot`` / ``evm_revert``).

    ``restore`` reverts to it and takes it again (Anvil forgets a snapshot once reverted to), and makes every
    ``keys``' ``Sender`` ask the node for its nonce again. On Anvil it also empties the pool and holds automine
    off meanwhile: after a round in which stranded transactions were requeued, Anvil 1.7 can mine leftovers on
    top of the reverted state. The keys' nonces are checked against the snapshot's after every restore."""

    def __init__(self, client: AgentSessions, keys: Sequence[Any] = ()) -> None:
        self.client = client
        self.keys = list(keys)
        self.id = client.rpc.request("evm_snapshot")
        self.block = client.rpc.block_number()
        self.nonces = self._nonces()
        self.restores = 0

    def _nonces(self) -> list[int]:
        addresses = [self.client.sender(k).address for k in self.keys]
        answers = self.client.rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in addresses])
        for answer in answers:
            if isinstance(answer, RPCError):
                raise answer
        return [int(a, 16) for a in answers]

    def _anvil(self, method: str, *params: Any) -> Any:
        try:
            return self.client.rpc.request(method, list(params))
        except RPCError:
            return None  # not Anvil: nothing of ours can be pending, every round waits until all is mined

    def restore(self) -> None:
        rpc = self.client.rpc
        automine = self._anvil("anvil_getAutomine") is True
        if automine:
            self._anvil("evm_setAutomine", False)
        try:
            self._anvil("anvil_dropAllTransactions")
            if rpc.request("evm_revert", [self.id]) is not True:
                raise SessionError(f"the node refused to revert to snapshot {self.id}")
            self._anvil("anvil_dropAllTransactions")
            self.id = rpc.request("evm_snapshot")
        finally:
            if automine:
                self._anvil("evm_setAutomine", True)
        nonces = self._nonces()
        if nonces != self.nonces:
            raise SessionError(f"after the revert to block {self.block} the keys' nonces are {nonces}, not "
                               f"{self.nonces}: something was mined on top of the snapshot")
        for key in self.keys:
            self.client.sender(key).resync()
        self.restores += 1


# ================================================================================================================
# the two sides of a pair
# ================================================================================================================


class _NudgeCounter(logging.Filter):
    """Counts the pipeline's nudges of a stalled node (its log records), letting everything else through."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("nudged") or message.startswith("requeued"):
            self.count += 1
        return record.levelno >= self.level


class _counting_nudges:
    """``with _counting_nudges() as counter:`` counts ``_pipeline``'s nudges without printing its INFO records."""

    def __enter__(self) -> _NudgeCounter:
        self.logger = logging.getLogger("agent_sessions.chain.pipeline")
        self.level = self.logger.level
        self.counter = _NudgeCounter(self.logger.getEffectiveLevel())
        self.logger.addFilter(self.counter)
        self.logger.setLevel(min(logging.INFO, self.logger.getEffectiveLevel()))
        return self.counter

    def __exit__(self, *exc: Any) -> None:
        self.logger.setLevel(self.level)
        self.logger.removeFilter(self.counter)


@dataclass(frozen=True)
class Round:
    """One timed round: ``count`` transactions of one ``side`` ("raw" or "sdk"), sent until all were mined."""

    side: str
    count: int
    seconds: float
    cpu: CpuSample
    blocks: int
    #: times the stalled node was asked to mine (``evm_mine``) or had stranded transactions requeued
    nudges: int = 0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    @property
    def cpu_ms_per_tx(self) -> float:
        """CPU milliseconds of the sending process per transaction."""
        return 1000 * self.cpu.own / self.count

    @property
    def node_cpu_ms_per_tx(self) -> float | None:
        return 1000 * self.cpu.node / self.count if self.cpu.node is not None else None

    def as_dict(self) -> dict[str, Any]:
        other = self.cpu.other_cores
        return {
            "count": self.count,
            "seconds": round(self.seconds, 4),
            "per_s": round(self.per_second, 1),
            "cpu_s": round(self.cpu.own, 4),
            "cpu_ms_per_tx": round(self.cpu_ms_per_tx, 4),
            "node_cpu_s": round(self.cpu.node, 3) if self.cpu.node is not None else None,
            "other_cores": round(other, 3) if other is not None else None,
            "blocks": self.blocks,
            "nudges": self.nudges,
        }


def _transfers(client: AgentSessions, keys: Sequence[Any], count: int) -> list[TxRequest]:
    """``count`` 1-wei plain transfers, round-robin over ``keys``, each to the next key's address."""
    senders = [client.sender(k) for k in keys]
    return [
        TxRequest(senders[i % len(senders)], senders[(i + 1) % len(senders)].address, b"", 1, 21_000)
        for i in range(count)
    ]


def _check_sent(rpc: Any, signed: Sequence[Any], answers: Sequence[Any]) -> None:
    """Raise the first refusal among ``answers`` to sending ``signed``. A retried send the node answers "already
    known" (or "nonce too low") got in with its first attempt, whose answer was lost: that is checked by hash."""
    doubtful = []
    for tx, answer in zip(signed, answers):
        if not isinstance(answer, RPCError):
            continue
        message = answer.rpc_message.lower()
        if any(m in message for m in ALREADY_KNOWN + NONCE_USED):
            doubtful.append((tx, answer))
        else:
            raise answer
    if doubtful:
        found = rpc.batch([("eth_getTransactionByHash", [tx.hash]) for tx, _ in doubtful])
        for (tx, answer), known in zip(doubtful, found):
            if isinstance(known, RPCError) or known is None:
                raise answer


def push_raw_transfers(client: AgentSessions, keys: Sequence[Any], count: int, *, batch_size: int = 100,
                       stall: float = STALL, timeout: float = 120.0,
                       meter: CpuMeter | None = None) -> Round:
    """The node's raw rate: ``count`` 1-wei transfers spread over ``keys``, signed first (untimed), then pushed in
    ``eth_sendRawTransaction`` batches of ``batch_size`` as fast as the node answers (no flow control, no
    receipts), and timed until every key's mined nonce has reached its last transaction. After ``stall`` seconds
    without progress the node is nudged as the SDK's pipeline does it (Anvil's automine can strand transactions).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    requests = _transfers(client, keys, count)
    signed = sign_all(requests, {})
    order = sorted(range(count), key=lambda i: (signed[i].tx.nonce, i))  # nonce order within each key
    final: dict[str, int] = {}
    for tx in signed:
        final[tx.sender] = max(final.get(tx.sender, 0), tx.tx.nonce + 1)
    addresses = list(final)
    rpc = client.rpc
    nudge = Nudge(rpc, stall)
    nudges = 0
    meter = meter or CpuMeter()
    gc.collect()
    first_block = rpc.block_number()
    start = meter.read()
    for at in range(0, count, batch_size):
        batch = order[at : at + batch_size]
        answers = rpc.batch([("eth_sendRawTransaction", [signed[i].raw_hex]) for i in batch])
        _check_sent(rpc, [signed[i] for i in batch], answers)
    mined = -1
    last_progress = time.monotonic()
    delay = 0.001
    while True:
        answers = rpc.batch([("eth_getTransactionCount", [a, "latest"]) for a in addresses])
        bad = [a for a in answers if isinstance(a, RPCError)]
        if bad:
            raise bad[0]
        nonces = [int(a, 16) for a in answers]
        if all(n >= final[a] for n, a in zip(nonces, addresses)):
            break
        now = time.monotonic()
        if sum(nonces) != mined:
            mined, last_progress, delay = sum(nonces), now, 0.001
        elif now - last_progress > timeout:
            raise SessionError(f"raw transfers: {sum(final.values()) - mined} not mined after {timeout:g} s")
        elif now - last_progress > stall:
            on_chain = dict(zip(addresses, nonces))
            nudge([tx for tx in signed if tx.tx.nonce >= on_chain[tx.sender]])
            nudges += 1
            last_progress = now
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    cpu = CpuMeter.between(start, meter.read())
    return Round("raw", count, cpu.wall, cpu, rpc.block_number() - first_block, nudges)


def sdk_executes(manager: Manager, jobs: Sequence[Job], *, batch_size: int = 100,
                 meter: CpuMeter | None = None) -> tuple[Round, list[JobResult]]:
    """The SDK's rate: ``AgentPool(manager).run(jobs)`` (estimate, encode, sign, send, confirm) timed end to end."""
    rpc = manager.client.rpc
    meter = meter or CpuMeter()
    pool = AgentPool(manager, batch_size=batch_size)
    gc.collect()
    first_block = rpc.block_number()
    with _counting_nudges() as nudges:
        start = meter.read()
        results = pool.run(jobs)
        cpu = CpuMeter.between(start, meter.read())
    return Round("sdk", len(jobs), cpu.wall, cpu, rpc.block_number() - first_block, nudges.count), results


@dataclass(frozen=True)
class Pair:
    """Two rounds run back to back from the same chain state; ``order`` is which ran first."""

    index: int
    order: tuple[str, str]
    raw: Round
    sdk: Round

    @property
    def ratio(self) -> float:
        """SDK executes/s over raw transfers/s."""
        return self.sdk.per_second / self.raw.per_second

    def as_dict(self) -> dict[str, Any]:
        return {"pair": self.index + 1, "order": ",".join(self.order), "ratio": round(self.ratio, 4),
                "raw": self.raw.as_dict(), "sdk": self.sdk.as_dict()}


def abba(pairs: int) -> list[tuple[str, str]]:
    """Round order per pair: raw-SDK, SDK-raw, raw-SDK... (so the sequence reads raw, SDK, SDK, raw, raw, ...)."""
    return [("raw", "sdk") if i % 2 == 0 else ("sdk", "raw") for i in range(pairs)]


def agent_jobs(sessions: Sequence[Any], agents: Sequence[Any], count: int) -> list[Job]:
    """``count`` executes round-robin over (session, agent), 1 wei each to the next agent's address."""
    if len(sessions) != len(agents) or not agents:
        raise ValueError("one session per agent")
    addresses = [to_account(a).address for a in agents]
    n = len(sessions)
    return [
        Job(session=sessions[i % n].id, agent=agents[i % n], target=addresses[(i + 1) % n], value=1)
        for i in range(count)
    ]


def paired_rounds(client: AgentSessions, manager: Manager, agents: Sequence[Any], sessions: Sequence[Any], *,
                  pairs: int, per_round: int, snapshot: Snapshot, meter: CpuMeter | None = None,
                  batch_size: int = 100, warmup: int = 200,
                  on_round: Callable[[int, Round], None] | None = None) -> list[Pair]:
    """``pairs`` pairs of rounds in ABBA order, each round from ``snapshot``: ``per_round`` raw transfers by
    ``agents`` against ``per_round`` executes by the same ``agents`` through their ``sessions`` (one each; budgets
    of at least ``ceil(per_round / len(agents))`` wei). One untimed round of each side (``warmup`` transactions)
    goes first. Every execute must succeed."""
    if pairs < 1 or per_round < 1:
        raise ValueError("pairs and per_round must be at least 1")
    meter = meter or CpuMeter()
    jobs = agent_jobs(sessions, agents, per_round)

    def run(side: str, count: int) -> Round:
        snapshot.restore()
        if side == "raw":
            return push_raw_transfers(client, agents, count, batch_size=batch_size, meter=meter)
        done, results = sdk_executes(manager, jobs[:count], batch_size=batch_size, meter=meter)
        failed = [r for r in results if not r.ok]
        if failed:
            raise SessionError(f"{len(failed)} of {count} executes failed; first: {failed[0].error!r}")
        return done

    for side in ("raw", "sdk"):  # connections, caches, code paths
        run(side, min(warmup, per_round))
    out: list[Pair] = []
    for index, order in enumerate(abba(pairs)):
        done: dict[str, Round] = {}
        for side in order:
            done[side] = run(side, per_round)
            if on_round is not None:
                on_round(index, done[side])
        out.append(Pair(index, order, done["raw"], done["sdk"]))
    snapshot.restore()
    return out


# ================================================================================================================
# statistics
# ================================================================================================================


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, type 7)."""
    at = (len(ordered) - 1) * q
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def median_interval(values: Sequence[float], *, resamples: int = 10_000, confidence: float = 0.95,
                    seed: int = 0) -> tuple[float, float, float]:
    """``(median, low, high)``: the median of ``values`` and its percentile-bootstrap ``confidence`` interval
    (``resamples`` resamples with replacement, drawn from ``random.Random(seed)``: the same values give the same
    interval)."""
    if not values:
        raise ValueError("no values")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    rng = random.Random(seed)
    n = len(values)
    medians = sorted(statistics.median(rng.choices(values, k=n)) for _ in range(resamples))
    tail = (1 - confidence) / 2
    return statistics.median(values), _quantile(medians, tail), _quantile(medians, 1 - tail)


# ================================================================================================================
# scale: spawning and listing in slices
# ================================================================================================================


@dataclass(frozen=True)
class Slice:
    """One slice of a spawn or a listing: sessions ``first..first+count-1``."""

    index: int
    first: int
    count: int
    seconds: float
    cpu: CpuSample
    blocks: int = 0
    transactions: int = 0
    #: milliseconds the node took to mine an empty block right after the slice (its per-block overhead)
    empty_block_ms: float | None = None

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "slice": self.index + 1,
            "first_id": self.first,
            "last_id": self.first + self.count - 1,
            "count": self.count,
            "seconds": round(self.seconds, 4),
            "per_s": round(self.per_second, 1),
            "cpu_s": round(self.cpu.own, 3),
            "node_cpu_s": round(self.cpu.node, 3) if self.cpu.node is not None else None,
            "other_cores": round(self.cpu.other_cores, 3) if self.cpu.other_cores is not None else None,
        }
        if self.transactions:
            out.update(blocks=self.blocks, transactions=self.transactions,
                       empty_block_ms=round(self.empty_block_ms, 2) if self.empty_block_ms is not None else None)
        return out


def _empty_block_ms(client: AgentSessions, blocks: int) -> float | None:
    """Median milliseconds of ``evm_mine`` for ``blocks`` empty blocks (None when the node has no ``evm_mine``)."""
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        try:
            client.rpc.request("evm_mine")
        except RPCError:
            return None
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) if times else None


def spawn_in_slices(manager: Manager, owner: Any, agents: Sequence[str], total: int, *, slice_size: int,
                    chunk_size: int = 100, expiry: int, budget: int = 1_000, meter: CpuMeter | None = None,
                    probe_blocks: int = 3, after_slice: Callable[[Slice], None] | None = None) -> list[Slice]:
    """Open ``total`` root sessions (``budget`` wei each, agents round-robin over ``agents``, labels ``s<n>``) with
    ``manager.create_sessions(..., chunk_size=chunk_size)``, ``slice_size`` per call, timing each call (the params
    are built inside the clock). After each slice, ``probe_blocks`` empty blocks are mined and timed (untimed for
    the slice): the node's per-block overhead at that size."""
    if total < 1 or slice_size < 1:
        raise ValueError("total and slice_size must be at least 1")
    client = manager.client
    meter = meter or CpuMeter()
    out: list[Slice] = []
    made = manager.count()
    for index, first in enumerate(range(0, total, slice_size)):
        count = min(slice_size, total - first)
        gc.collect()
        first_block = client.rpc.block_number()
        start = meter.read()
        params = [
            SessionParams(agent=agents[(first + i) % len(agents)], expiry=UnixTime(expiry), budgets={NATIVE: budget},
                          any_target=True, label=f"s{first + i + 1}")
            for i in range(count)
        ]
        created = manager.create_sessions(params, owner, chunk_size=chunk_size)
        cpu = CpuMeter.between(start, meter.read())
        blocks = client.rpc.block_number() - first_block
        if len(created) != count or created[0].id != made + 1:
            raise SessionError(f"slice {index + 1}: created {len(created)} sessions from #{created[0].id if created else '-'}"
                               f", expected {count} from #{made + 1}")
        done = Slice(index, made + 1, count, cpu.wall, cpu, blocks, -(-count // chunk_size),
                     _empty_block_ms(client, probe_blocks))
        made += count
        out.append(done)
        if after_slice is not None:
            after_slice(done)
    return out


def _listed(manager: Manager, first: int, count: int, page_size: int) -> Iterator[Any]:
    return itertools.islice(manager.iter_sessions(start=first, page_size=page_size), count)


def list_in_slices(manager: Manager, total: int, *, slice_size: int, first: int = 1, page_size: int = 200,
                   meter: CpuMeter | None = None, after_slice: Callable[[Slice], None] | None = None) -> list[Slice]:
    """Read sessions ``first..first+total-1`` back with the SDK listing (``Manager.iter_sessions``), ``slice_size``
    at a time, timing each slice; every id must come back in order."""
    meter = meter or CpuMeter()
    out: list[Slice] = []
    for index, offset in enumerate(range(0, total, slice_size)):
        count = min(slice_size, total - offset)
        start_id = first + offset
        gc.collect()
        start = meter.read()
        sessions = list(_listed(manager, start_id, count, page_size))
        cpu = CpuMeter.between(start, meter.read())
        ids = [s.id for s in sessions]
        if ids != list(range(start_id, start_id + count)):
            raise SessionError(f"listing slice {index + 1}: got {len(ids)} sessions, expected ids {start_id}.."
                               f"{start_id + count - 1}")
        out.append(Slice(index, start_id, count, cpu.wall, cpu))
        if after_slice is not None:
            after_slice(out[-1])
    return out


def time_listing(manager: Manager, count: int, *, repeats: int = 5, page_size: int = 200) -> list[float]:
    """Seconds to list sessions ``1..count`` with ``Manager.list_sessions`` (``count`` = every session of the
    manager) or the same paging cut at ``count``, ``repeats`` times."""
    held = manager.count()
    if count > held:
        raise ValueError(f"the manager holds {held} sessions, fewer than {count}")
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        if count == held:
            sessions = manager.list_sessions(page_size=page_size)
        else:
            sessions = list(_listed(manager, 1, count, page_size))
        times.append(time.perf_counter() - start)
        if len(sessions) != count:
            raise SessionError(f"listed {len(sessions)} sessions, expected {count}")
    return times


# ================================================================================================================
# quick measurements (kept for the SDK tests and the command line)
# ================================================================================================================


def measure_raw_transfers(client: AgentSessions, keys: Sequence[Any], count: int, *, batch_size: int = 100,
                          workers: int = 4) -> Rate:
    """Pre-sign ``count`` 1-wei transfers spread over ``keys`` (untimed), then time sending them through the
    same pipeline as ``AgentPool`` (JSON-RPC batches, flow control) until every receipt is in."""
    requests = _transfers(client, keys, count)
    signed = sign_all(requests, {})
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
    """Deploy (or reuse ``factory``), open one ETH session per agent, then measure raw transfers
    (``push_raw_transfers``) and ``len(agents) * per_agent`` executes (1 wei each to the next agent) once each, in
    the same run (``paired_rounds`` is the careful version). Agents must hold ETH for gas. Returns both rates,
    their ratio and the execute results."""
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
    raw_round = push_raw_transfers(client, agents, raw_count or len(jobs),
                                   **{k: v for k, v in pool_options.items() if k == "batch_size"})
    raw = Rate("raw pre-signed transfers", raw_round.count, raw_round.seconds)
    sdk, results = measure_executes(manager, jobs, **pool_options)
    return {"raw": raw, "sdk": sdk, "ratio": sdk.per_second / raw.per_second, "results": results,
            "manager": manager, "sessions": sessions}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual tool
    from ..domain.client import AgentSessions

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
