"""`codesift watch [PATH]`: keep an index current as files change, one line per re-index
(`--json`: one JSON object per line) until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import click

from .common import friendly_errors, index_dir_option
from ..watch import DEBOUNCE_MS, STEP_MS, Reindex

SHOWN_PATHS = 3


@click.command("watch")
@click.argument("path", type=click.Path(), default=".")
@index_dir_option
@click.option("--no-dense", is_flag=True, help="Lexical + symbol search only: no embedding.")
@click.option("--step", "step_ms", type=int, default=STEP_MS, show_default=True,
              help="Milliseconds of quiet that end a burst of changes.")
@click.option("--debounce", "debounce_ms", type=int, default=DEBOUNCE_MS, show_default=True,
              help="Longest a steady stream of changes is grouped, in milliseconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per re-index.")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"],
              case_sensitive=False), default="WARNING", show_default=True,
              help="Structured (JSON) logs on stderr from this level up.")
@friendly_errors
def watch_command(path, index_dir, no_dense, step_ms, debounce_ms, as_json, log_level):
    """Re-index PATH's files as they change, so edits are searchable at once (Ctrl-C stops)."""
    from ..logs import configure_logging
    from ..watch import Watcher

    configure_logging(log_level)

    printer = _print_json if as_json else _print_line
    watcher = Watcher(path, index_dir=index_dir, dense=False if no_dense else None,
                      step_ms=step_ms, debounce_ms=debounce_ms, listeners=[printer])

    def announce(event: Reindex) -> None:  # after the catch-up run: the watch is working
        if not event.paths:
            click.echo(f"watching {watcher.root} (Ctrl-C stops)", err=True)

    watcher.listeners.append(announce)
    # SIGTERM (a service manager, `kill`) stops it as Ctrl-C does: mid re-index too, within
    # STOP_DEADLINE_S, every finished batch kept.
    previous = {sig: signal.signal(sig, _interrupt_with_deadline)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        watcher.run()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# A stop must not wait on anything: once in a while (about one CI run in ten, at any load)
# the process outlived a SIGINT by more than 30 s and the cause was not found. Every write is
# transactional, so ending the process a few seconds after Ctrl-C loses nothing.
STOP_DEADLINE_S = 5.0


def _interrupt_with_deadline(signum, frame) -> None:
    timer = threading.Timer(STOP_DEADLINE_S, _force_exit)
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


def _force_exit() -> None:
    sys.stderr.write(f"stopped (forced: still running {STOP_DEADLINE_S:.0f} s after the stop signal; "
                     "the index keeps every finished batch)\n")
    sys.stderr.flush()
    os._exit(0)


def _print_json(event: Reindex) -> None:
    click.echo(json.dumps({"time": round(time.time(), 3), **event.to_dict()}))


def _print_line(event: Reindex) -> None:
    stamp = time.strftime("%H:%M:%S")
    if event.error:
        click.echo(f"{stamp} error: {event.error} (still watching)")
        return
    what = f"{_count(event.files_indexed, 'file')} re-indexed"
    if event.files_deleted:
        what += f", {_count(event.files_deleted, 'file')} removed"
    detail = f"{_count(event.chunks_written, 'chunk')}, {_count(event.vectors_embedded, 'vector')}"
    line = f"{stamp} {what} ({detail}) in {event.seconds:.3f} s"
    if event.paths:
        shown = ", ".join(event.paths[:SHOWN_PATHS])
        more = len(event.paths) - SHOWN_PATHS
        line += f", searchable {event.lag:.3f} s after the change: {shown}"
        line += f" and {more} more" if more > 0 else ""
    else:
        line += " (whole tree)"
    click.echo(line)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
