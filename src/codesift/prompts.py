"""The prompts codesift sends an LLM: one system prompt for grounded answers, one user
template per task (ask, explain, tests, review). Plain strings, so they are easy to read.
"""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM = """\
You answer questions about one code repository using only the context given with the \
question. Each context block starts with a header `path:start-end` and shows those lines of \
that file; `⋮` marks lines left out.
Rules:
- Support each claim with a citation of the lines it rests on, written [path:start-end], \
using only files and lines that are inside the context blocks.
- If the context does not contain what is needed, say so plainly in the first sentence and \
do not guess.
- Name functions, classes and variables of this repository only as they appear in the \
context; put them in `backticks`.
- Code blocks must be valid code in the language they are labelled with.
- Be concise."""


@dataclass(frozen=True, slots=True)
class Task:
    """A prompt plus the name of the retrieval recipe that gathers its context."""

    name: str
    template: str  # str.format fields: subject, context, and extra per task

    def render(self, subject: str, context: str, **extra: str) -> str:
        return self.template.format(subject=subject, context=context, **extra)


ASK = Task("ask", """\
Question: {subject}

Context:
{context}""")

EXPLAIN = Task("explain", """\
Explain `{subject}`: what it does and why, its inputs and outputs, the notable edge cases, \
how its callers use it and what it relies on. The context holds its definition, its callers \
and its callees.

Context:
{context}""")

TESTS = Task("tests", """\
Write unit tests for `{subject}` in the style of this repository's existing tests shown in \
the context: the same test framework, layout, fixtures, naming and kind of assertions. \
Cover normal use, edge cases and errors visible in the definition. Give one code block \
with the complete test file content{test_path_hint}, then a short list of what each test \
checks with citations.

Context:
{context}""")

REVIEW = Task("review", """\
Review this change to the repository. Look for bugs, broken callers, unhandled edge cases, \
missing tests and unclear code; say what is good only briefly. Cite the repository lines \
each remark is about ([path:start-end]); the context shows the code the diff touches as it \
is now in the index, and the callers of changed definitions.

Diff:
```diff
{diff}
```

Context:
{context}""")

TASKS = {task.name: task for task in (ASK, EXPLAIN, TESTS, REVIEW)}


def messages(task: Task, subject: str, context: str, **extra: str) -> list[dict[str, str]]:
    """The chat messages for one request."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": task.render(subject, context, **extra)}]
