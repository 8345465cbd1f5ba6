"""`codesift ask | explain | tests | review`: grounded answers from an OpenAI-compatible LLM.

Each command gathers and packs context, streams the answer, then checks it: citations that
point outside the context, names the index does not define and code that does not parse
are shown after the answer. Without an LLM configured, the packed context is printed.
"""

from __future__ import annotations

import subprocess
import sys

import click

from .common import emit_json, friendly_errors, index_dir_option, repo_option
from ..errors import LLMNotConfiguredError, UsageError


def _common(func):
    for option in reversed((
            repo_option, index_dir_option,
            click.option("--budget", type=int, default=None,
                         help="Context budget in tokens (default: the context_budget setting, 4000)."),
            click.option("--model", default=None, help="The LLM model (default: the llm_model setting)."),
            click.option("--show-context", is_flag=True, help="Print the packed context first."),
            click.option("--json", "as_json", is_flag=True,
                         help="Print one JSON object: answer, checks, citations, index state."))):
        func = option(func)
    return friendly_errors(func)


@click.command("ask")
@click.argument("question")
@click.option("-k", "k", type=int, default=20, show_default=True, help="Hits to pack from.")
@_common
def ask_cmd(question, k, repo, index_dir, budget, model, show_context, as_json):
    """Answer QUESTION from the repository's code, citing [path:lines] ("-" reads stdin)."""
    if question == "-":
        question = sys.stdin.read()
    _run("ask", question, repo, index_dir, budget, model, show_context, as_json, k=k)


@click.command("explain")
@click.argument("symbol")
@_common
def explain_cmd(symbol, repo, index_dir, budget, model, show_context, as_json):
    """Explain SYMBOL from its definition, its callers and its callees."""
    _run("explain", symbol, repo, index_dir, budget, model, show_context, as_json)


@click.command("tests")
@click.argument("symbol")
@_common
def tests_cmd(symbol, repo, index_dir, budget, model, show_context, as_json):
    """Write unit tests for SYMBOL in the style of the repository's existing tests."""
    _run("tests", symbol, repo, index_dir, budget, model, show_context, as_json)


@click.command("review")
@click.argument("diff_file", required=False, default=None)
@_common
def review_cmd(diff_file, repo, index_dir, budget, model, show_context, as_json):
    """Review a change: DIFF_FILE, "-" for stdin, or else `git diff` of the repository."""
    if diff_file == "-":
        diff = sys.stdin.read()
    elif diff_file:
        try:
            with open(diff_file, encoding="utf-8", errors="replace") as fh:
                diff = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {diff_file}: {exc.strerror}") from exc
    else:
        diff = _git_diff(repo)
    _run("review", "the working-tree changes" if not diff_file else diff_file, repo, index_dir,
         budget, model, show_context, as_json, diff=diff)


def _run(task, subject, repo, index_dir, budget, model, show_context, as_json, **kwargs):
    from ..api import open_index
    from ..ask import NO_LLM_HINT, answer, prepare
    from ..llm import SQLiteCache, client_from_settings

    with open_index(repo, index_dir=index_dir) as idx:
        prepared = prepare(idx, task, subject, budget=budget, **kwargs)
        if not prepared.supported:  # said plainly, with or without an LLM configured
            result = answer(idx, prepared, client=None)
            if as_json:
                return emit_json(result.to_dict(with_context=show_context))
            if show_context:
                _print_context(prepared.context)
            return click.echo(result.text)
        settings = idx.settings.with_overrides(llm_model=model)
        try:
            client = client_from_settings(settings, cache=SQLiteCache(idx.store().db))
        except LLMNotConfiguredError:
            return _no_llm(prepared, as_json, NO_LLM_HINT)
        if show_context and not as_json:
            _print_context(prepared.context)
        if prepared.note and not as_json:
            click.echo(f"note: {prepared.note}", err=True)
        with client:
            stream = None if as_json else (lambda d: click.echo(d, nl=False))
            result = answer(idx, prepared, client, on_delta=stream)
    if as_json:
        return emit_json(result.to_dict(with_context=show_context))
    if not result.supported:
        click.echo(result.text)
        return
    click.echo()
    _print_check(result)


def _no_llm(prepared, as_json, hint) -> None:
    if as_json:
        return emit_json({"task": prepared.task, "subject": prepared.subject, "answer": None,
                          "supported": prepared.supported, "note": prepared.note,
                          "llm": hint, "context": prepared.context.to_dict()})
    _print_context(prepared.context)
    click.echo(hint, err=True)


def _print_context(context) -> None:
    click.echo(context.text)
    click.echo(f"\n[{context.tokens} tokens, {len(context.citations)} citations]\n", err=True)


def _print_check(result) -> None:
    state = result.state
    where = f"commit {state.commit[:12]}{' (+ local changes)' if state.dirty else ''}, " \
        if state.commit else ""
    cached = ", cached" if result.cached else ""
    click.echo(f"— {result.model} via {result.endpoint}{cached}; {where}index {state.index}",
               err=True)
    check = result.check
    if check is None:
        return
    if check.ok:
        click.echo(f"✓ {len(check.citations)} citations, all inside the context; "
                   "names and code blocks check out", err=True)
        return
    for problem in check.problems:
        click.echo(f"⚠ {problem.kind.replace('_', ' ')}: {problem.subject} — {problem.detail}",
                   err=True)


def _git_diff(repo: str) -> str:
    try:
        done = subprocess.run(["git", "-C", repo, "diff", "HEAD"], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UsageError(f"cannot run git diff: {exc}",
                         hint="pass a diff file, or pipe one: git diff | codesift review -") from exc
    if done.returncode != 0:
        raise UsageError(f"git diff failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}",
                         hint="pass a diff file, or pipe one: git diff | codesift review -")
    if not done.stdout.strip():
        raise UsageError("there are no changes to review", hint="pass a diff file or pipe one in")
    return done.stdout
