"""SQLite's double-quote rule: `"x"` names a column when one is in scope, and is otherwise
read as the string 'x'. Strings stay strings; a misspelt column in quotes is reported."""

from __future__ import annotations

import difflib

from sqlglot import exp

from codesift.errors import SqlCheckError
from codesift.sql.model import Table

__all__ = ["strings_for_quoted_names"]

# Where a double-quoted string is what the author meant: matched against a column
# (`name = "Bob"`, `LIKE "%a%"`, `IN ("a", "b")`, `BETWEEN "2010" AND "2012"`).
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike,
                exp.Glob, exp.NullSafeEQ, exp.NullSafeNEQ)
# difflib's ratio above which a string reads as a misspelt column: "ag" for age (0.8),
# "stadium_i" for stadium_id. No double-quoted value in Spider's dev gold comes near 0.75.
_TYPO_CUTOFF = 0.8


def strings_for_quoted_names(tree: exp.Expression, sql: str, tables: list[Table]) -> None:
    """Turn each double-quoted name that is no column into the string SQLite reads, in place.

    SQLite falls back to a string silently, so `SELECT "nam" FROM singer` runs and returns the
    text 'nam' on every row. A string is accepted only where a value is compared with a column
    of the same row (`name = "Bob"`); anywhere a column is expected (select list, GROUP BY,
    ORDER BY, a function argument, a comparison of two constants or with a subquery's value)
    the fallback is reported instead, and so is a string one typo away from a column in scope
    (`a != "colum_b"`): values rarely spell a column, and 'x' in single quotes says a string
    plainly. "In scope" is taken statement-wide: the columns of every table it reads and
    every alias."""
    known = _known_names(tree, tables)
    strings = [c for c in tree.find_all(exp.Column)
               if _double_quoted(c, sql) and c.name.lower() not in known]
    ids = {id(c) for c in strings}
    for column in strings:
        near = _close_to(column.name, known)
        if near or not _compared_with_column(column, ids):
            raise _misread(column, near)
    for column in strings:
        column.replace(exp.Literal.string(column.name))


def _double_quoted(column: exp.Column, sql: str) -> bool:
    # Only "x" falls back to a string; `x` and [x] are always names. sqlglot keeps no quote
    # character, so read it from the text at the identifier's start offset.
    ident = column.this
    if column.table or not isinstance(ident, exp.Identifier) or not ident.quoted:
        return False
    start = ident.meta.get("start")
    return start is None or sql[start:start + 1] == '"'


def _known_names(tree: exp.Expression, tables: list[Table]) -> dict[str, str]:
    """Lower-cased name -> as spelt, for every column and alias the statement can see."""
    names = [c.name for t in tables for c in t.columns]
    names += [a.alias for a in tree.find_all(exp.Alias) if a.alias]
    for alias in tree.find_all(exp.TableAlias):  # WITH c(a, b), AS t(a, b)
        names += [col.name for col in alias.columns]
    return {n.lower(): n for n in names}


def _compared_with_column(column: exp.Column, strings: set[int]) -> bool:
    parent = column.parent
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if parent.this is column else parent.this
    elif isinstance(parent, exp.In) and parent.this is not column:
        other = parent.this
    elif isinstance(parent, exp.Between) and parent.this is not column:
        other = parent.this
    else:
        return False
    return other is not None and _has_column(other, strings,
                                             column.find_ancestor(exp.Select))


def _has_column(node: exp.Expression, strings: set[int], select: exp.Select | None) -> bool:
    """Whether the other side varies with the row: a column, or an aggregate like count(*),
    of the query the string is in (a subquery's columns give one value, like a constant)."""
    if any(id(c) not in strings and c.find_ancestor(exp.Select) is select
           for c in node.find_all(exp.Column)):
        return True
    return any(a.find_ancestor(exp.Select) is select for a in node.find_all(exp.AggFunc))


def _close_to(name: str, known: dict[str, str]) -> str | None:
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=_TYPO_CUTOFF)
    return known[close[0]] if close else None


def _misread(column: exp.Column, near: str | None) -> SqlCheckError:
    select = column.find_ancestor(exp.Select)
    names = [t.name for t in select.find_all(exp.Table)
             if t.find_ancestor(exp.Select) is select] if select else []
    where = " or ".join(dict.fromkeys(names)) or "any table here"
    name = column.name
    meant = f" (did you mean {near}?)" if near else ""
    return SqlCheckError(
        f'"{name}" is no column of {where}{meant}: SQLite would read it as the string '
        f"'{name}'",
        hint=f"name a column of {where}, or write '{name}' in single quotes for a string")
