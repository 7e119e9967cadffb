"""Chains the tools run on: local Anvil nodes they start and stop, and a fleet's set of chains opened from its spec,
each with the canonical deployment (``domain.deployment``).

    with LocalAnvil(31337, 8545, state_path="alpha.json") as anvil:   # reuses a node already on the port
        client = AgentSessions(anvil.url)
        factory = ensure_deployment(client, deployer_key)              # same address on every chain

    with open_chains("examples/treasury.yaml") as chains:              # every chain of a fleet spec
        factory = chains["alpha"].factory

Why a canonical deployment: the system is deployed through the deterministic CREATE2 deployer that Anvil (and
nearly every public chain) has at ``0x4e59b44847b379578588920cA78FbF26c0B4956C``, with a fixed salt. The
factory's address is then a pure function of the shipped bytecode, the same on every chain, and a tool that
restarts with nothing on disk finds it again (``canonical_factory_address``). Managers are CREATE2 deployments of
the factory (owner + salt), so they are found the same way, and sessions by listing the managers.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ..base.errors import ChainMismatch, RPCError, SessionError
from ..domain.client import AgentSessions, Factory
from ..domain.deployment import canonical_factory_address, ensure_deployment, has_code

if TYPE_CHECKING:
    from .spec import ChainSpec, FleetSpec

__all__ = [
    "AnvilError",
    "ChainHandle",
    "ChainSet",
    "LocalAnvil",
    "find_anvil",
    "open_chains",
    "probe_chain_id",
]

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[3]


class AnvilError(SessionError):
    """A local Anvil node could not be started (binary missing, port taken, bad state file...)."""


# ================================================================================================================
# Local Anvil
# ================================================================================================================


def find_anvil() -> str:
    """The Anvil binary: ``$AGENT_SESSIONS_ANVIL``, else the npm package's native binary (or its
    ``node_modules/.bin/anvil`` wrapper) in the repository or the current directory, else ``anvil`` on PATH."""
    override = os.environ.get("AGENT_SESSIONS_ANVIL")
    if override:
        path = shutil.which(override) or override
        if not Path(path).exists():
            raise AnvilError(f"AGENT_SESSIONS_ANVIL={override!r} does not exist")
        return str(path)
    for root in dict.fromkeys((_REPO_ROOT, Path.cwd())):
        modules = root / "node_modules"
        # the native binary first: no Node wrapper in between (faster start, one process to signal)
        native = sorted(modules.glob("@foundry-rs/anvil-*/bin/anvil"))
        for candidate in [*native, modules / ".bin" / "anvil"]:
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise AnvilError(
        "no anvil binary: run `npm install` in the repository (npm @foundry-rs/anvil), put `anvil` on PATH, or set "
        "AGENT_SESSIONS_ANVIL"
    )


def _adds_prune_history(binary: str) -> bool:
    """True for a wrapper script that already passes ``--prune-history`` (Anvil refuses the flag twice)."""
    try:
        path = Path(binary)
        if path.stat().st_size > 64_000:
            return False  # a real binary
        return "--prune-history" in path.read_text(errors="ignore")
    except OSError:
        return False


def probe_chain_id(url: str, timeout: float = 0.5) -> int | None:
    """``eth_chainId`` at ``url``, or None when nothing answers JSON-RPC there."""
    try:
        response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                                 timeout=timeout)
        result = response.json().get("result")
        return int(result, 16) if isinstance(result, str) else None
    except (requests.RequestException, ValueError, AttributeError):
        return None


_LIVE: set[LocalAnvil] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        nodes = list(_LIVE)
    for node in nodes:
        try:
            node.stop()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            pass


class LocalAnvil:
    """A local Anvil node on ``port`` serving ``chain_id``, started (and stopped) by the tools.

    Always runs with ``--prune-history --chain-id N --port P --silent`` (and ``--hardfork``, Prague by
    default: what the contracts are compiled for). With ``state_path`` it runs with ``--state PATH
    --state-interval 1``: the chain is loaded from the file when it exists, dumped to it every second and on a
    clean stop, so a killed node loses at most about one second of blocks.

    If a node already answers JSON-RPC on the port with the same chain id, ``start`` reuses it and ``stop``
    leaves it running (``reused``); another chain id there raises ``ChainMismatch``. Nodes this object
    started are stopped by ``stop`` (SIGTERM, then SIGKILL after ``stop_timeout``), by ``with`` and at
    interpreter exit.
    """

    def __init__(
        self,
        chain_id: int = 31337,
        port: int = 8545,
        *,
        state_path: str | Path | None = None,
        block_time: float | None = None,
        host: str = "127.0.0.1",
        hardfork: str | None = "prague",
        binary: str | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.chain_id = int(chain_id)
        self.port = int(port)
        self.state_path = Path(state_path) if state_path is not None else None
        self.block_time = block_time
        self.host = host
        self.hardfork = hardfork
        self.binary = binary
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.reused = False
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        how = "reused" if self.reused else ("running" if self.running else "stopped")
        return f"<LocalAnvil chain={self.chain_id} {self.url} {how}>"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id of the node this object started (None when stopped or reused)."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def running(self) -> bool:
        """True while the node answers: the one started here, or the reused one."""
        with self._lock:
            if self._process is not None:
                return self._process.poll() is None
            return self.reused and probe_chain_id(self.url) == self.chain_id

    def command(self) -> list[str]:
        """The command line ``start`` runs."""
        binary = self.binary or find_anvil()
        cmd = [binary]
        if not _adds_prune_history(binary):
            cmd.append("--prune-history")
        cmd += ["--chain-id", str(self.chain_id), "--port", str(self.port), "--host", self.host, "--silent"]
        if self.hardfork:
            cmd += ["--hardfork", self.hardfork]
        if self.block_time is not None:
            cmd += ["--block-time", f"{self.block_time:g}"]
        if self.state_path is not None:
            cmd += ["--state", str(self.state_path), "--state-interval", "1"]
        return cmd + list(self.extra_args)

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> LocalAnvil:
        """Start the node (or adopt the one already serving this chain on the port); returns once
        ``eth_chainId`` answers. Idempotent."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return self
            self.reused = False
            actual = probe_chain_id(self.url)
            if actual is not None:
                if actual != self.chain_id:
                    raise ChainMismatch(self.chain_id, actual)
                if self.state_path is not None:
                    log.warning("reusing the node at %s: its state is not loaded from or saved to %s", self.url,
                                self.state_path)
                self.reused = True
                return self
            if self.state_path is not None:
                self.state_path.parent.mkdir(parents=True, exist_ok=True)
            cmd = self.command()
            self._stderr = tempfile.TemporaryFile()
            try:
                self._process = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                    start_new_session=True,  # its own process group: stop() signals the node and any wrapper
                )
            except OSError as exc:
                raise AnvilError(f"cannot run {cmd[0]}: {exc}") from exc
            with _LIVE_LOCK:
                _LIVE.add(self)
            self._wait_ready(cmd)
            return self

    def _wait_ready(self, cmd: list[str]) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.02
        while True:
            if process.poll() is not None:
                detail = self._stderr_tail()
                self._forget()
                raise AnvilError(
                    f"anvil exited with code {process.returncode} on {self.url}"
                    + (f": {detail}" if detail else "") + f" (command: {' '.join(cmd)})"
                )
            actual = probe_chain_id(self.url, timeout=1.0)
            if actual is not None:
                if actual != self.chain_id:  # another node won the port in between
                    self.stop()
                    raise ChainMismatch(self.chain_id, actual)
                return
            if time.monotonic() > deadline:
                self.stop()
                raise AnvilError(f"anvil did not answer on {self.url} within {self.startup_timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return " ".join(text.splitlines()[-3:])[-500:]

    def _signal(self, sig: int) -> None:
        assert self._process is not None
        try:
            os.killpg(self._process.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # pragma: no cover - group gone or not ours: signal the process itself
            self._process.send_signal(sig)

    def stop(self) -> None:
        """Stop the node if this object started it (SIGTERM, so it dumps its state; SIGKILL after
        ``stop_timeout``). A reused node is left running. Idempotent."""
        with self._lock:
            process = self._process
            if process is None:
                self.reused = False
                return
            if process.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    log.warning("anvil on %s ignored SIGTERM for %.0f s: killing it", self.url, self.stop_timeout)
                    self._signal(signal.SIGKILL)
                    process.wait()
            self._signal(signal.SIGKILL)  # anything left in its process group (a wrapper's child)
            self._forget()

    def kill(self) -> None:
        """SIGKILL the node at once, as a crash would: nothing is dumped (the state file keeps its last
        periodic dump). For tests of crash recovery."""
        with self._lock:
            process = self._process
            if process is None:
                return
            self._signal(signal.SIGKILL)
            process.wait()
            self._forget()

    def _forget(self) -> None:
        if self._stderr is not None:
            try:
                self._stderr.close()
            except OSError:  # pragma: no cover
                pass
        self._stderr = None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        self._process = None

    def __enter__(self) -> LocalAnvil:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ================================================================================================================
# A fleet's chains
# ================================================================================================================


@dataclass
class ChainHandle:
    """One chain of a fleet: its client, the factory in use and, for a local chain, its Anvil."""

    name: str
    client: AgentSessions
    factory: Factory
    anvil: LocalAnvil | None = None
    #: False when the factory is not the canonical one (a ``factory:`` override or a chain without the
    #: deterministic deployer).
    canonical: bool = True

    @property
    def chain_id(self) -> int:
        return self.client.chain_id

    @property
    def url(self) -> str:
        return self.client.rpc.endpoint

    def __repr__(self) -> str:
        return f"<ChainHandle {self.name} chain={self.chain_id} factory={self.factory.address}>"


@dataclass
class ChainSet(Mapping[str, ChainHandle]):
    """The opened chains of a fleet by name. Closing it stops the Anvil nodes it started (only those)."""

    handles: dict[str, ChainHandle] = field(default_factory=dict)
    started: list[LocalAnvil] = field(default_factory=list)

    def __getitem__(self, name: str) -> ChainHandle:
        try:
            return self.handles[name]
        except KeyError:
            raise KeyError(f"no chain {name!r} in this set (have: {', '.join(self.handles) or 'none'})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.handles)

    def __len__(self) -> int:
        return len(self.handles)

    def close(self) -> None:
        """Stop the nodes this set started (reused ones keep running)."""
        while self.started:
            self.started.pop().stop()

    def __enter__(self) -> ChainSet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _state_file(name: str, chain: ChainSpec, spec: FleetSpec, state_dir: str | Path | None) -> Path | None:
    assert chain.anvil is not None
    if chain.anvil.state:
        return spec.resolve_path(chain.anvil.state)
    if state_dir is not None:
        return Path(state_dir) / f"{name}.json"
    return None


def open_chains(
    spec: FleetSpec | str | Path,
    *,
    state_dir: str | Path | None = None,
    deployer: Any = None,
    only: Iterable[str] | None = None,
    ports: Mapping[str, int] | None = None,
    **client_kwargs: Any,
) -> ChainSet:
    """Open every chain of ``spec`` (or the ``only`` ones): connect to its RPC URL, or start a ``LocalAnvil``
    with its chain id and port (state file: the chain's own ``state:``, else ``state_dir/<name>.json``),
    check the chain id, and make sure the canonical factory is there (deploying it with ``deployer``, default
    the spec's deployer key). ``ports`` moves local chains to other ports; ``client_kwargs`` go to
    ``AgentSessions`` (timeout, retries, receipt_timeout...). Use it as a context manager."""
    from .spec import FleetSpec, load_spec

    fleet = spec if isinstance(spec, FleetSpec) else load_spec(spec)
    if ports:
        fleet = fleet.with_ports(ports)
    names = list(fleet.chains) if only is None else list(only)
    chains = ChainSet()
    try:
        for name in names:
            chain = fleet.chains[name]
            anvil = None
            if chain.anvil is not None:
                anvil = LocalAnvil(chain.anvil.chain_id, chain.anvil.port,
                                   state_path=_state_file(name, chain, fleet, state_dir),
                                   block_time=chain.anvil.block_time)
                anvil.start()
                if not anvil.reused:
                    chains.started.append(anvil)
                url = anvil.url
            else:
                assert chain.rpc is not None
                url = chain.rpc
            try:
                client = AgentSessions(url, chain_id=chain.expected_chain_id, **client_kwargs)
            except ChainMismatch:
                raise
            except RPCError as exc:
                raise SessionError(f"chain {name!r}: cannot reach {url}: {exc}") from exc
            if chain.factory is not None:
                factory, canonical = client.factory(chain.factory), False
                if not has_code(client, factory.address):
                    raise SessionError(f"chain {name!r}: no contract at the configured factory {factory.address}")
            else:
                key = deployer
                if key is None and not has_code(client, canonical_factory_address()):
                    key = fleet.deployer_key()
                factory = ensure_deployment(client, key)
                canonical = factory.address == canonical_factory_address()
            chains.handles[name] = ChainHandle(name, client, factory, anvil, canonical)
    except BaseException:
        chains.close()
        raise
    return chains
