"""The request and response bodies of the SQL routes (routes_sql.py): databases, schemas,
contexts and questions answered with SQL, in the shapes `codesift sql ... --json` prints.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from .bounds import MAX_SQL_ROUNDS, MAX_SQL_ROWS
from .schemas import ErrorBody, Strict

# sql.service.MAX_QUESTION_CHARS, the library's own cap (a test pins the two equal): not
# imported, so that serving repositories never loads SQLAlchemy.
MAX_SQL_QUESTION_CHARS = 4000
MAX_SQL_BUDGET = 32_000  # tokens of schema, examples and docs: past that, no model reads it
DATABASE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Question = Annotated[str, Field(min_length=1, max_length=MAX_SQL_QUESTION_CHARS, pattern=r"\S",
                                description="A question about the data in plain words.")]
Budget = Annotated[int | None, Field(ge=100, le=MAX_SQL_BUDGET, description=(
    "Tokens the schema, examples and docs may take together (default 2000)."))]


class _Named(BaseModel):
    # "schema" is a field name here, as in the CLI's JSON; pydantic reserves the attribute.
    model_config = ConfigDict(populate_by_name=True)


# -- databases and schemas -------------------------------------------------------------------

class SqlDatabaseOut(BaseModel):
    name: str
    url: str = Field(description="The URL with any password shown as ***.")
    dialect: str
    learned_at: float | None = Field(description="When it was last learned; null: not yet.")
    tables: int
    examples: int
    docs: int


class SqlColumnOut(BaseModel):
    name: str
    type: str
    nullable: bool
    primary_key: bool
    comment: str
    samples: list[str] = Field(description="A few distinct values of a low-cardinality column.")


class SqlForeignKeyOut(BaseModel):
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


class SqlTableOut(_Named):
    name: str
    schema_name: str | None = Field(alias="schema", description="Null: the default schema.")
    key: str = Field(description="The name SQL uses for it (schema.name outside the default).")
    kind: str = Field(description="table or view")
    comment: str
    columns: list[SqlColumnOut]
    foreign_keys: list[SqlForeignKeyOut]


class SqlSchemaOut(BaseModel):
    database: str
    dialect: str
    tables: list[SqlTableOut]


# -- contexts and questions ------------------------------------------------------------------

class SqlContextIn(Strict):
    question: Question
    database: str | None = Field(None, pattern=DATABASE_NAME_PATTERN, description=(
        "The database; omitted, the best match among those the token may read."))
    budget: Budget = None


class SqlContextOut(_Named):
    database: str
    dialect: str
    question: str
    tables: list[dict[str, Any]] = Field(description="Linked tables, best first, and whether "
                                                      "each is shown in the schema text.")
    columns: list[dict[str, Any]]
    examples: list[dict[str, Any]] = Field(description="Stored question -> SQL pairs chosen.")
    docs: list[dict[str, Any]]
    schema_text: str = Field(alias="schema", description="CREATE TABLE text of the tables shown.")
    tokens: int
    budget: int
    databases: list[dict[str, Any]] = Field(description="The ranking of databases, when the "
                                                        "question did not name one.")
    messages: list[dict[str, str]] = Field(description="Exactly what the model would be sent.")


class SqlQueryIn(Strict):
    question: Question
    database: str = Field(pattern=DATABASE_NAME_PATTERN)
    run: bool = Field(False, description="Also execute the SQL, read-only, and return rows.")
    max_rounds: int | None = Field(None, ge=1, le=MAX_SQL_ROUNDS, description=(
        "Replies from the model at most; a failed check goes back with its error (default 3)."))
    row_limit: int | None = Field(None, ge=1, le=MAX_SQL_ROWS, description=(
        "Rows returned at most (default 100; the server may cap it lower)."))
    budget: Budget = None


class SqlRoundOut(BaseModel):
    sql: str
    error: str | None = Field(description="Why the check refused it; null: it passed.")


class SqlRowsOut(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = Field(description="More rows exist than the row limit let through.")
    seconds: float


class SqlQueryOut(BaseModel):
    database: str
    question: str
    sql: str | None = Field(description="The checked SQL; null when no round passed the checks.")
    ok: bool
    model: str | None
    tables: list[str]
    rounds: list[SqlRoundOut]
    context: dict[str, Any] = Field(description="The context the SQL was written from.")
    rows: SqlRowsOut | None = Field(None, description="With run: what the query returned.")
    run_error: ErrorBody | None = Field(None, description=(
        "With run: why the checked SQL could not run (a timeout, say)."))
