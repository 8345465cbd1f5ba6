"""Answer checks: citations inside the packed context, names that exist, code that parses."""

from __future__ import annotations

from codesift.verify import CitedRange, check_answer, check_code_blocks, parse_citations

PACKED = [CitedRange("src/click/core.py", 100, 180), CitedRange("src/click/core.py", 200, 220),
          CitedRange("src/click/utils.py", 10, 40)]
CONTEXT = "def invoke(self, ctx):\n    return ctx.forward(cmd)\nclass Context:\n    pass\n"
DEFINED = {"Context.invoke", "invoke", "Context", "echo", "click.utils.echo"}


def is_defined(name: str) -> bool:
    return name in DEFINED or name.rsplit(".", 1)[-1] in DEFINED


def test_citations_are_parsed_in_their_written_forms():
    text = ("See [src/click/core.py:120-130] and [./src/click/utils.py:12], also "
            "[src/click/core.py:205–210; src/click/utils.py:15-20] but not [note:1] or [1].")
    assert [c.label() for c in parse_citations(text)] == [
        "src/click/core.py:120-130", "src/click/utils.py:12", "src/click/core.py:205-210",
        "src/click/utils.py:15-20"]


def test_a_grounded_answer_passes():
    answer = ("`Context.invoke` calls the callback [src/click/core.py:120-130]; `echo` prints "
              "[click/utils.py:12-14].\n\n```python\nctx.invoke(other, x=1)\n```\n")
    check = check_answer(answer, PACKED, CONTEXT, is_defined)
    assert check.ok, check.problems
    assert len(check.citations) == 2


def test_citations_outside_the_context_are_flagged():
    answer = "It retries [src/click/core.py:170-190] and [src/click/termui.py:5]."
    check = check_answer(answer, PACKED, CONTEXT, is_defined)
    kinds = {(p.kind, p.subject) for p in check.problems}
    # 181-190 are not in the context; termui.py was never packed.
    assert kinds == {("citation_outside_context", "src/click/core.py:170-190"),
                     ("citation_outside_context", "src/click/termui.py:5")}


def test_a_range_spanning_two_packed_blocks_needs_the_gap_covered():
    assert check_answer("[src/click/core.py:150-210]", PACKED, CONTEXT, is_defined).problems
    packed = [CitedRange("a.py", 1, 10), CitedRange("a.py", 11, 20)]
    assert check_answer("[a.py:5-15]", packed, "", is_defined).ok


def test_invented_identifiers_are_flagged_but_context_names_are_not():
    answer = "Use `retry_with_backoff()` around `ctx.forward` and `Context.invoke`."
    check = check_answer(answer, PACKED, CONTEXT, is_defined)
    assert [(p.kind, p.subject) for p in check.problems] == [
        ("unknown_identifier", "retry_with_backoff")]


def test_code_blocks_that_do_not_parse_are_flagged_per_language():
    answer = ("```python\ndef ok(x):\n    return x\n```\n"
              "```python\ndef broken(x:\n    return\n```\n"
              "```go\nfunc main() { fmt.Println(\"hi\") }\n```\n"
              "```js\nfunction f( { return 1 }\n```\n"
              "```text\nnot code at all (((\n```\n")
    problems = check_code_blocks(answer)
    assert [p.subject for p in problems] == ["python", "javascript"]
    assert "line 1" in problems[0].detail


def test_citations_and_names_inside_code_blocks_are_not_checked_as_prose():
    answer = "```python\nx = d['[nowhere.py:1]']  # `made_up`\n```\n"
    assert check_answer(answer, PACKED, CONTEXT, is_defined).ok
