"""The tables a Python file's ORM code maps or migrates, read from its syntax tree:
SQLAlchemy models and Core tables, Django models, Django and Alembic migrations."""

# Names are taken as the frameworks derive them, without importing anything:
#   SQLAlchemy  `__tablename__ = "orders"` (with `__table_args__ = {"schema": ...}`),
#               `Table("orders", metadata, ..., schema=...)`; a Flask-SQLAlchemy model with
#               columns and no __tablename__ gets its class name in snake_case.
#   Django      Meta.db_table, else `<app label>_<class name lowercased>`, the app label
#               being Meta.app_label or the folder holding models.py (or the models/
#               package). A class in a models module is a model when a base is named
#               `Model` / `*.Model`, is a model of the same file, or it declares fields or
#               a Meta; abstract and proxy models have no table of their own.
#   Migrations  Django operations (CreateModel, AddField(model_name=...), AlterModelTable)
#               and Alembic `op.*("orders", ...)` calls.
# A name that is not a table of the schema is dropped later, so guessing wide is cheap.

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

SQLALCHEMY, DJANGO, MIGRATION = "sqlalchemy-model", "django-model", "migration"
_SQLA_COLUMNS = frozenset({"Column", "mapped_column", "relationship", "column_property"})
_DJANGO_FIELD = re.compile(r"(?:\w*Field|ForeignKey|GenericRelation)$")
_DJANGO_MODEL_OPS = frozenset({
    "CreateModel", "DeleteModel", "AlterModelOptions", "AlterModelManagers",
    "AlterUniqueTogether", "AlterIndexTogether", "AlterOrderWithRespectTo",
    "AlterModelTableComment"})
_ALEMBIC_TABLE_KEYWORDS = frozenset({"table_name", "source_table", "referent_table",
                                     "source", "referent"})


@dataclass(frozen=True, slots=True)
class OrmUse:
    name: str  # the table as the code names or implies it
    schema: str | None
    kind: str
    start_line: int
    end_line: int


def may_map_tables(path: str, text: str) -> bool:
    """Whether the file is worth a syntax tree: most Python files map no table."""
    parts = PurePosixPath(path).parts
    return (_is_models_module(parts) or _is_migration(parts) or "__tablename__" in text
            or "Table(" in text or "db.Model" in text)


def orm_uses(tree: ast.Module, path: str) -> list[OrmUse]:
    parts = PurePosixPath(path).parts
    app = _migrations_app(parts) if _is_migration(parts) else None
    uses: list[OrmUse] = []
    for node in _outside_functions(tree, into=app is not None):
        if isinstance(node, ast.Call):
            uses += _sqlalchemy_table(node)
            if app is not None:
                uses += _migration(node, app)
        elif isinstance(node, ast.ClassDef):
            uses += _sqlalchemy_model(node)
    if _is_models_module(parts):
        uses += _django_models(tree, _app_label(parts))
    return uses


def _outside_functions(tree: ast.Module, *, into: bool) -> list[ast.AST]:
    """The nodes of the module and its classes, and of its functions only when `into`
    (Alembic's op calls are in upgrade()): models and tables are declared at those levels,
    and function bodies are most of a file's nodes (walking them was half the scan's time)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        if not into and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


# -- SQLAlchemy --------------------------------------------------------------------------

def _sqlalchemy_table(node: ast.Call) -> list[OrmUse]:
    """`Table("orders", metadata, ...)`: a name and at least the metadata."""
    if _callee(node) != "Table" or len(node.args) < 2 or _str(node.args[0]) is None:
        return []
    return [OrmUse(_str(node.args[0]), _str(_keyword(node, "schema")), SQLALCHEMY,
                   node.lineno, node.end_lineno or node.lineno)]


def _sqlalchemy_model(cls: ast.ClassDef) -> list[OrmUse]:
    body = _class_assignments(cls)
    name = _str(body.get("__tablename__"))
    if name is None and _flask_model(cls, body):
        name = _snake_case(cls.name)
    if name is None:
        return []
    return [OrmUse(name, _table_args_schema(body.get("__table_args__")), SQLALCHEMY,
                   *_span(cls))]


def _flask_model(cls: ast.ClassDef, body: dict[str, ast.expr]) -> bool:
    """Flask-SQLAlchemy names a `db.Model` with columns and no __tablename__ itself."""
    return ("__table__" not in body and any(_dotted(b).endswith(".Model") for b in cls.bases)
            and any(isinstance(v, ast.Call) and _callee(v) in _SQLA_COLUMNS for v in body.values()))


def _table_args_schema(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Tuple) and node.elts:
        node = node.elts[-1]
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if _str(key) == "schema":
                return _str(value)
    return None


def _snake_case(name: str) -> str:
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower()


# -- Django models -----------------------------------------------------------------------

def _is_models_module(parts: tuple[str, ...]) -> bool:
    return parts[-1] == "models.py" or (len(parts) > 1 and parts[-2] == "models"
                                        and parts[-1].endswith(".py"))


def _app_label(parts: tuple[str, ...]) -> str:
    """The folder holding models.py, or holding the models/ package."""
    folders = parts[:-1] if parts[-1] == "models.py" else parts[:-2]
    return folders[-1] if folders else ""


def _django_models(tree: ast.Module, app_label: str) -> list[OrmUse]:
    top = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    models = {c.name for c in top if _looks_like_model(c, set())}
    for _ in range(3):  # subclasses of the file's own models, a few levels deep
        models |= {c.name for c in top if _looks_like_model(c, models)}
    out = []
    for cls in top:
        if cls.name not in models:
            continue
        meta = _class_assignments(_meta(cls)) if _meta(cls) else {}
        if _true(meta.get("abstract")) or _true(meta.get("proxy")):
            continue
        label = _str(meta.get("app_label")) or app_label
        table = _str(meta.get("db_table")) or (f"{label}_{cls.name.lower()}" if label else None)
        if table:
            schema, name = _split_quoted(table)
            out.append(OrmUse(name, schema, DJANGO, *_span(cls)))
    return out


def _looks_like_model(cls: ast.ClassDef, models: set[str]) -> bool:
    body = _class_assignments(cls)
    if "__tablename__" in body or any(isinstance(v, ast.Call) and _callee(v) in _SQLA_COLUMNS
                                      for v in body.values()):
        return False  # SQLAlchemy's, named by its own rules
    bases = [_dotted(b) for b in cls.bases]
    return (any(b == "Model" or b.endswith(".Model") or b in models for b in bases)
            or _meta(cls) is not None
            or any(isinstance(v, ast.Call) and _DJANGO_FIELD.match(_callee(v))
                   for v in body.values()))


def _meta(cls: ast.ClassDef) -> ast.ClassDef | None:
    return next((n for n in cls.body if isinstance(n, ast.ClassDef) and n.name == "Meta"), None)


def _split_quoted(table: str) -> tuple[str | None, str]:
    """Django's '"schema"."table"' trick puts a schema in db_table."""
    if '"' not in table:
        return None, table
    parts = [p for p in table.replace('"', "").split(".") if p]
    return (parts[0], parts[-1]) if len(parts) > 1 else (None, parts[-1])


# -- migrations --------------------------------------------------------------------------

def _is_migration(parts: tuple[str, ...]) -> bool:
    return "migrations" in parts[:-1] or "versions" in parts[:-1]


def _migrations_app(parts: tuple[str, ...]) -> str:
    i = parts.index("migrations") if "migrations" in parts[:-1] else -1
    return parts[i - 1] if i > 0 else ""


def _migration(node: ast.Call, app_label: str) -> list[OrmUse]:
    if not isinstance(node.func, ast.Attribute):
        return []
    owner = _dotted(node.func.value)
    names: list[tuple[str | None, str]] = []
    if owner == "migrations":
        names = _django_operation(node, app_label)
    elif owner == "op":
        names = _alembic_operation(node)
    return [OrmUse(name, schema, MIGRATION, node.lineno, node.end_lineno or node.lineno)
            for schema, name in names]


def _django_operation(node: ast.Call, app_label: str) -> list[tuple[str | None, str]]:
    op = node.func.attr
    if op == "AlterModelTable":
        table = _str(_keyword(node, "table"))
        return [_split_quoted(table)] if table else []
    if op == "CreateModel":
        options = _keyword(node, "options")
        table = _dict_str(options, "db_table")
        if table:
            return [_split_quoted(table)]
        if _dict_true(options, "abstract") or _dict_true(options, "proxy"):
            return []
    model = _str(_keyword(node, "model_name"))
    if model is None and op in _DJANGO_MODEL_OPS:
        model = _str(_keyword(node, "name")) or (_str(node.args[0]) if node.args else None)
    if op == "RenameModel":
        return [(None, f"{app_label}_{_str(_keyword(node, k)).lower()}")
                for k in ("old_name", "new_name") if app_label and _str(_keyword(node, k))]
    return [(None, f"{app_label}_{model.lower()}")] if model and app_label else []


def _alembic_operation(node: ast.Call) -> list[tuple[str | None, str]]:
    """Every string argument that may be a table: the schema drops the ones that are not."""
    schema = _str(_keyword(node, "schema"))
    names = [_str(a) for a in node.args]
    names += [_str(k.value) for k in node.keywords if k.arg in _ALEMBIC_TABLE_KEYWORDS]
    return [(schema, n) for n in names if n]


# -- syntax helpers ----------------------------------------------------------------------

def _class_assignments(cls: ast.ClassDef) -> dict[str, ast.expr]:
    """name -> value of the simple assignments in a class body (`x = ...`, `x: T = ...`)."""
    out: dict[str, ast.expr] = {}
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            out[stmt.target.id] = stmt.value
    return out


def _span(cls: ast.ClassDef) -> tuple[int, int]:
    start = min([cls.lineno] + [d.lineno for d in cls.decorator_list])
    return start, cls.end_lineno or cls.lineno


def _callee(call: ast.Call) -> str:
    """The called name's last part: `sa.Table(...)` -> "Table"."""
    return _dotted(call.func).rsplit(".", 1)[-1]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr}" if head else node.attr
    if isinstance(node, ast.Subscript):  # Generic[T]
        return _dotted(node.value)
    return ""


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _dict_str(node: ast.AST | None, key: str) -> str | None:
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if _str(k) == key:
                return _str(v)
    return None


def _dict_true(node: ast.AST | None, key: str) -> bool:
    if isinstance(node, ast.Dict):
        return any(_str(k) == key and _true(v) for k, v in zip(node.keys, node.values))
    return False
