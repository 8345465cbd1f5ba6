"""The records `codesift tune` passes between its stages: definitions read from an index,
training pairs with their provenance."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Definition:
    """A definition as synthesis reads it from the index (or a source tree)."""

    path: str  # repo-relative, posix
    qualname: str
    name: str
    kind: str  # function, method, class, ...
    language: str
    code: str  # the definition's source, as the index's chunk shows it
    doc: str = ""  # its docstring / doc comment, without markers ("" when none)
    is_test: bool = False


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a pair came from: the file and symbol of its positive, and the commit for
    pairs mined from history ("" for pairs read from the tree)."""

    path: str
    symbol: str
    commit: str = ""


# Pair kinds. Text->Code: commit, doc, section, ident, error, llm. Code->Text: code2doc.
# Code->Code: test, call, impl.
PAIR_KINDS = ("commit", "doc", "section", "ident", "error", "llm", "code2doc",
              "test", "call", "impl")


@dataclass(frozen=True, slots=True)
class Pair:
    """One training example: the anchor text, the text it should embed near, and hard
    negatives (texts near it that are not the answer)."""

    kind: str  # one of PAIR_KINDS
    query: str
    positive: str
    source: Provenance
    negatives: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "query": self.query, "positive": self.positive,
                "path": self.source.path, "symbol": self.source.symbol,
                "commit": self.source.commit, "negatives": list(self.negatives)}

    @staticmethod
    def from_dict(data: dict) -> Pair:
        return Pair(data["kind"], data["query"], data["positive"],
                    Provenance(data.get("path", ""), data.get("symbol", ""),
                               data.get("commit", "")),
                    tuple(data.get("negatives", ())))
