"""The targets a reference may resolve to and how sure each is: the confidence scale,
whole-module targets, and the arithmetic that shares confidence among several candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from .symtab import Def

CERTAIN = 1.0  # lexical scope, an import, self.method, a base class member, a Go package
PACKAGE = 0.9  # same directory or namespace where the language does not promise it
BY_NAME = 0.6  # the only definition of that name in the repository
RECEIVER_UNKNOWN = 0.4  # obj.method() where obj's type is unknown: methods of that name


@dataclass(frozen=True, slots=True)
class Module:
    """An import target that is a whole module (its files), not one definition."""

    name: str
    paths: tuple[str, ...]


Target = Def | Module
Candidates = list[tuple[Target, float]]


def spread(defs: list[Def], conf: float) -> Candidates:
    """Several candidates for one name share the confidence: none is picked at random."""
    if len(defs) < 2:  # nearly always: skip the de-duplication
        return [(defs[0], conf)] if defs else []
    unique = list(dict.fromkeys(defs))
    return [(d, conf / len(unique)) for d in unique]


def merge(found: Candidates) -> Candidates:
    """One candidate reached along several paths (a namespace two files reopen) sums them."""
    total: dict[Target, float] = {}
    for target, conf in found:
        total[target] = total.get(target, 0.0) + conf
    return [(t, min(c, CERTAIN)) for t, c in total.items()]


def only(found: Candidates, kinds: frozenset[str]) -> Candidates:
    return [(t, c) for t, c in found if isinstance(t, Module) or t.kind in kinds]


def node(target: Target) -> tuple[str, str]:
    """(path, qualname) of a target; a module is its first file's module-level code."""
    if isinstance(target, Module):
        return target.paths[0], ""
    return target.path, target.qualname
