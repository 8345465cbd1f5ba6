"""`codesift context`: the most useful lines for a question, packed into a token budget with
`path:start-end` headers and citations (pack/), for an agent or an LLM prompt."""

from __future__ import annotations

import sys

import click

from .common import emit_json, friendly_errors, index_dir_option, repo_option


@click.command("context")
@click.argument("question")
@repo_option
@index_dir_option
@click.option("--budget", type=int, default=None,
              help="Most tokens the context may take (default: the context_budget setting, 4000).")
@click.option("-k", "k", type=int, default=20, show_default=True, help="Hits to pack from.")
@click.option("--tokenizer", default=None,
              help='Token counter: "auto" (the LLM\'s, else o200k_base), "estimate", '
                   '"tiktoken:<encoding>", "hf:<path to tokenizer.json>".')
@click.option("--lang", "languages", multiple=True, help="Only these languages (repeatable).")
@click.option("--path", "path_glob", default=None, help="Only paths matching this glob or prefix.")
@click.option("--kind", "kinds", multiple=True,
              help="Only these kinds: function, method, class, ...")
@click.option("--no-tests", is_flag=True, help="Leave test code out.")
@click.option("--no-dense", is_flag=True, help="Skip the dense retriever for this question.")
@click.option("--no-callees", is_flag=True,
              help="Leave out the signatures of what the packed functions call.")
@click.option("--json", "as_json", is_flag=True,
              help="Print text, citations, tokens, budget, tokenizer and items with their why.")
@friendly_errors
def context_command(question, repo, index_dir, budget, k, tokenizer, languages, path_glob,
                    kinds, no_tests, no_dense, no_callees, as_json):
    """Pack the code that answers QUESTION ("-" reads it from stdin) into --budget tokens:
    signatures and matching lines first, the rest elided with markers, every block cited."""
    from ..api import open_index

    if question == "-":
        question = sys.stdin.read()
    with open_index(repo, index_dir=index_dir, dense=False if no_dense else None,
                    tokenizer=tokenizer) as idx:
        idx.one_shot = True
        ctx = idx.context(question, budget, k=k, languages=languages, path=path_glob,
                          kinds=kinds, exclude_tests=no_tests, callees=not no_callees)
    if as_json:
        return emit_json(ctx.to_dict())
    if ctx.text:
        click.echo(ctx.text)
    click.echo(f"{len(ctx.citations)} citations from {len(ctx.items)} items, "
               f"{ctx.tokens:,} of {ctx.budget:,} tokens ({ctx.tokenizer})", err=True)
    if not ctx.text and ctx.items:
        click.echo("hint: the budget is too small for one line and its header; "
                   "try --budget 256", err=True)
    elif not ctx.items:
        click.echo("hint: nothing matched; try other words or codesift search", err=True)
