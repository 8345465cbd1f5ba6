"""What `codesift sql` knows about a database, passed between its stages as frozen values:
the schema (tables, columns, keys, comments, sample values), the team's example
question -> SQL pairs and documentation sections."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str = ""  # as the database names it: "INTEGER", "character varying(40)"
    nullable: bool = True
    primary_key: bool = False
    comment: str = ""
    # A few distinct values of a low-cardinality text column: questions name values
    # ("customers in Berlin"), not columns. Empty with --no-samples.
    samples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ForeignKey:
    columns: tuple[str, ...]  # in the referencing table
    ref_table: str  # qualified like Table.key when not in the default schema
    ref_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    schema: str | None = None  # None: the connection's default schema
    foreign_keys: tuple[ForeignKey, ...] = ()
    comment: str = ""
    kind: str = "table"  # or "view"

    @property
    def key(self) -> str:
        """The name SQL uses for it: `schema.name` outside the default schema."""
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, name: str) -> Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)


@dataclass(frozen=True, slots=True)
class Schema:
    database: str  # the catalog name (`codesift sql add NAME`)
    dialect: str  # sqlglot's dialect name: "sqlite", "postgres", ...
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table | None:
        """By key or bare name, case-insensitively (SQL names are, unquoted)."""
        low = name.lower()
        found = [t for t in self.tables if t.key.lower() == low]
        return found[0] if found else next((t for t in self.tables if t.name.lower() == low), None)


@dataclass(frozen=True, slots=True)
class Example:
    """A question -> SQL pair the team confirmed; validated before it is stored."""
    question: str
    sql: str
    source: str = ""  # the file it was learned from, or "add-example"
    id: int | None = None  # the catalog's row id once stored


@dataclass(frozen=True, slots=True)
class DocSection:
    """A piece of the database's documentation: a Markdown section or a data-dictionary
    row, with the tables it names."""
    title: str
    text: str
    path: str = ""
    tables: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class CodeLink:
    """A place in an indexed repository that uses a table: an ORM model mapped to it, a
    migration that shapes it, or a raw SQL statement that reads or writes it."""
    table: str  # Table.key
    path: str  # repo-relative, as the code index stores it
    start_line: int  # 1-based, inclusive: the class, the call or the SQL string
    end_line: int
    symbol: str  # the enclosing definition's qualname as indexed, "" at top level
    kind: str  # "sqlalchemy-model", "django-model", "migration" or "sql"
    writes: bool = False  # the statement inserts, updates, deletes or merges its rows
    repo: str = ""  # the repository's resolved root, once stored in the catalog
