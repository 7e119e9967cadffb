"""``agent-sessions relay``: submit keyless agents' signed executes, paid by their relay fees.

    agent-sessions relay signed.jsonl --as env:RELAYER_KEY         # a file of JSON lines ("-" or none: stdin)
    agent-sessions relay --http --port 0                           # POST /relay on a free port (printed)

Output is JSON lines on stdout, one per item in the order given: ``{"id", "status", "tx", ...}`` or
``{"id", "status": "refused", "error": "NonceUsed", "args": {...}}``. In ``--http`` mode the first line says where
it listens: ``{"listening": "http://127.0.0.1:PORT", "relayer": ..., "chain_id": ...}``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from concurrent.futures import Future
from typing import IO, Any

import click

from ._app import cli, common, env
from ._output import errors_handled

__all__ = ["relay"]


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _relay_stream(service: Any, stream: IO[str], source: str) -> int:
    """Relay every JSON line of ``stream``, printing outcomes in input order as they come; returns how many
    were not mined."""
    from ..wallet.relay import parse_item

    pending: deque[Future] = deque()
    done = threading.Event()
    failures = 0

    def printer() -> None:
        nonlocal failures
        while not (done.is_set() and not pending):
            if not pending:
                done.wait(0.01)
                continue
            outcome = pending[0].result()
            pending.popleft()
            failures += not outcome.ok
            _emit(outcome.to_dict())

    thread = threading.Thread(target=printer, name="relay-output", daemon=True)
    thread.start()
    position = 0
    for line in stream:
        if not line.strip():
            continue
        position += 1
        pending.append(service.submit(*parse_item(line, position, source)))
    done.set()
    thread.join()
    return failures


@cli.command("relay")
@common
@click.argument("source", metavar="[FILE]", required=False, default="-")
@click.option("--http", "http", is_flag=True, help="Serve POST /relay over HTTP instead of reading FILE/stdin.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface of --http.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port of --http (0: a free one, printed).")
@click.option("--min-fee", default="0", show_default=True, help="The smallest relay fee taken (ETH units, '0.0001').")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 5000),
              help="Transactions per JSON-RPC batch.")
@click.option("--linger", default=0.05, show_default=True, type=click.FloatRange(0, 10),
              help="Seconds to wait for more items before sending a batch.")
@errors_handled
def relay(source: str, http: bool, host: str, port: int, min_fee: str, batch_size: int, linger: float) -> None:
    """Submit signed executes (JSON lines from FILE or stdin, or POST /relay with --http) from the --as key, which
    pays the gas and earns the relay fees. Each is checked first (this relayer's rules, then a dry run of the very
    call): what would revert is refused with the contract's reason and nothing is sent. --manager serves that
    manager only; by default any manager of the canonical factory. Exit 1 when an item was not mined."""
    from ..wallet.relay import Relayer, RelayService, serve_http

    e = env()
    managers = [e.manager.address] if e.options.manager else None
    relayer = Relayer(e.client, e.key(), managers=managers, min_fee=min_fee, batch_size=batch_size)
    if not http:
        with RelayService(relayer, linger=linger) as service:
            if source == "-":
                failures = _relay_stream(service, sys.stdin, "stdin")
            else:
                with open(source) as stream:
                    failures = _relay_stream(service, stream, source)
        if failures:
            raise SystemExit(1)
        return
    with RelayService(relayer, linger=linger, on_outcome=lambda outcome: _emit(outcome.to_dict())) as service:
        server = serve_http(service, host, port)
        bound_host, bound_port = server.server_address[:2]
        _emit({"listening": f"http://{bound_host}:{bound_port}", "relayer": relayer.address,
               "chain_id": e.client.chain_id, "min_fee": str(relayer.min_fee)})
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
