"""What every `codesift` command shares: error mapping, JSON output, common options."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps

import click

from ..errors import CodesiftError


def _fail(message: str, hint: str = "", code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


def friendly_errors(func: Callable) -> Callable:
    """Map library errors (and Ctrl-C) to one line plus a hint, never a traceback."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CodesiftError as exc:
            _fail(str(exc), exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; the index keeps everything committed so far",
                  "run the same command again to finish", 130)
        except BrokenPipeError:
            sys.exit(0)
    return wrapper


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


index_dir_option = click.option(
    "--index-dir", type=click.Path(file_okay=False), default=None,
    help="Where the index lives (default: <repo>/.codesift).")
repo_option = click.option("--repo", type=click.Path(), default=".",
                           help="Repository root (default: .).")
