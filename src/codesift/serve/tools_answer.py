"""The answer tools over MCP: get_context (packed lines for a question, within a token
budget, with citations) and ask (a grounded, checked answer from the configured LLM).
"""

from __future__ import annotations

from .bounds import fit
from .tools import ToolOutput, Workspace

MIN_BUDGET = 200


def get_context(ws: Workspace, question: str, budget: int = 4000, k: int = 20) -> ToolOutput:
    # The packer never exceeds its budget; keeping it under the tool's cap (less room for
    # the header) means the context arrives whole rather than cut by the cap.
    budget = max(MIN_BUDGET, min(budget, ws.bounds.max_tokens - 100))
    context = ws.index.context(question, budget, k=k)
    header = (f"context for {question[:80]!r}: {context.tokens} tokens "
              f"({context.tokenizer}), {len(context.citations)} citations")
    out = fit(header, [context.text], ws.bounds, lambda shown: "[truncated by the output cap]")
    data = {"question": question, "tokens": context.tokens, "budget": context.budget,
            "tokenizer": context.tokenizer,
            "citations": [c.to_dict() for c in context.citations]}
    return ToolOutput(out.text, data)


def ask(ws: Workspace, question: str, budget: int = 4000) -> ToolOutput:
    from ..ask import answer, prepare
    from ..llm import SQLiteCache, client_from_settings
    budget = max(MIN_BUDGET, budget)
    # The client first: with no LLM configured this is the tool's error, with its hint.
    client = client_from_settings(ws.index.settings, cache=SQLiteCache(ws.index.store().db))
    with client:
        prepared = prepare(ws.index, "ask", question, budget=budget)
        result = answer(ws.index, prepared, client)
    lines = [result.text]
    if result.check is not None and result.check.problems:
        lines.append("\nchecks: " + "; ".join(
            f"{p.kind.replace('_', ' ')}: {p.subject}" for p in result.check.problems))
    header = f"answer from {result.model or 'codesift'} ({'supported' if result.supported else 'not supported'})"
    out = fit(header, ["\n".join(lines)], ws.bounds, lambda shown: "[truncated by the output cap]")
    return ToolOutput(out.text, result.to_dict())
