"""Functions a generated query may not call, whatever the dialect: they act outside the
query (files, other sessions, settings, sequences) where a read-only transaction does not reach."""

from __future__ import annotations

__all__ = ["DENIED_FUNCTIONS", "DENIED_PREFIXES", "is_denied"]

# One list for every dialect: a PostgreSQL name means nothing to SQLite and the other way
# round, so sharing it costs no valid query and keeps validate.py and guard.py in step.
DENIED_FUNCTIONS = frozenset({
    # PostgreSQL: other sessions, server files, server settings
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_sleep",
    "pg_sleep_for", "pg_sleep_until", "set_config", "pg_notify", "pg_logical_emit_message",
    "pg_switch_wal", "pg_create_restore_point", "pg_promote", "pg_log_backend_memory_contexts",
    "copy",
    # sequences advance even when the transaction rolls back
    "nextval", "setval",
    # these assign a transaction id, a write that outlives the rollback; the read-only
    # txid_* functions (txid_snapshot_xmin, ...) stay allowed
    "txid_current", "pg_current_xact_id",
    # run a query given as a string, which no parser here can see into
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml",
    "cursor_to_xmlschema",
    # SQLite: extensions and the shell's file functions
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
})

# Families: dblink* opens connections to other databases, lo_* reads and writes server
# files and large objects, pg_advisory_* takes locks that outlive a statement.
DENIED_PREFIXES = ("dblink", "lo_", "pg_advisory")


def is_denied(name: str) -> bool:
    """Whether a function name (any case, schema-qualified or not) is on the denylist."""
    low = name.rsplit(".", 1)[-1].strip('"').lower()
    return low in DENIED_FUNCTIONS or low.startswith(DENIED_PREFIXES)
