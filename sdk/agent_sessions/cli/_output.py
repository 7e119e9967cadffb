"""Output and errors shared by the commands: rich for people, JSON for machines, one line per error.

Exit codes: 0 done; 1 a refused action (a contract error, a missing deployment, an unreachable node, an audit
that does not balance); 2 a usage error (a bad option or value, an invalid spec). Never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import click
from rich.console import Console

from ..base.errors import RPCError, SessionError
from ..base.results import Receipt

__all__ = ["echo_json", "errors_handled", "fail", "make_console", "receipt_json"]


def make_console() -> Console:
    """A rich console on stdout; 140 columns wide when stdout is not a terminal (pipes, CI, tests)."""
    console = Console(highlight=False)
    return console if console.is_terminal else Console(width=140, highlight=False)


def echo_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    click.echo(json.dumps(data, indent=2, default=str))


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    return {"hash": receipt.tx_hash, "block": receipt.block_number, "gas_used": receipt.gas_used}


def fail(message: str, code: int = 1) -> None:
    """``Error: <message>`` on stderr and exit ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def errors_handled(f: Callable[..., Any]) -> Callable[..., Any]:
    """An SDK error becomes one line ``Error: <typed error>: <what it means>`` and exit 1; an invalid spec or a
    ValueError from a value found wrong after parsing becomes a usage error (exit 2)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..fleet.console import error_explanation, error_line
        from ..fleet.spec import SpecError

        env = click.get_current_context().find_object(_EnvHolder)
        book = env.env._book if env is not None and env.env is not None else None
        try:
            return f(*args, **kwargs)
        except SpecError as exc:
            source = env.env.options.config if env is not None and env.env is not None else None
            fail(f"invalid spec{f' {source}' if source else ''}: " + "; ".join(str(i) for i in exc.issues), code=2)
        except RPCError as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            fail(f"{detail} (is the node running? `agent-sessions node start`, or pass --rpc)")
        except SessionError as exc:
            if env is not None and env.env is not None:
                book = env.env._book
            explanation = error_explanation(exc, book)
            line = error_line(exc, book)
            why = _lineage(env, exc)
            fail(line + (f": {explanation}" if explanation else "") + (f" ({why})" if why else ""))
        except (ValueError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            raise click.UsageError(str(message)) from None

    return wrapper


def _lineage(holder: Any, exc: BaseException) -> str | None:
    """Which ancestor stops a session that cannot act, and why (the manager of the command, when it was found)."""
    manager = getattr(getattr(holder, "env", None), "_manager", None)
    if manager is None:
        return None
    from ..domain.diagnose import explain_inactive

    return explain_inactive(manager, exc)


class _EnvHolder:
    """Carries the command's ``Env`` on click's context so the error handler can name tokens."""

    def __init__(self) -> None:
        self.env: Any = None
