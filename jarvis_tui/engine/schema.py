"""The registry's schema: numbered migrations, applied in order (``PRAGMA user_version``).

Never edit a migration that has shipped; add the next one.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: tasks, attempts, fires, events
    """
    CREATE TABLE tasks (
        id           TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        prompt       TEXT NOT NULL,
        priority     TEXT NOT NULL,
        profile      TEXT NOT NULL,
        created_at   REAL NOT NULL,
        after_task_id TEXT REFERENCES tasks(id),
        max_attempts INTEGER
    );
    CREATE TABLE attempts (
        id            TEXT PRIMARY KEY,
        task_id       TEXT NOT NULL REFERENCES tasks(id),
        attempt       INTEGER NOT NULL,
        profile       TEXT NOT NULL,
        status        TEXT NOT NULL,
        created_at    REAL NOT NULL,
        branch        TEXT,
        worktree      TEXT,
        tmux_session  TEXT,
        pane_id       TEXT,
        pid           INTEGER,
        base_commit   TEXT,
        exit_code     INTEGER,
        started_at    REAL,
        ended_at      REAL,
        last_output_at REAL,
        heartbeat_at  REAL,
        heartbeat_note TEXT,
        status_reason TEXT,
        queue_reason  TEXT,
        summary       TEXT,
        retry_context TEXT,
        reported_status TEXT,
        not_before    REAL,
        preserved_ref TEXT,
        start_point   TEXT,
        start_ref     TEXT,
        removed       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (task_id, attempt)
    );
    CREATE INDEX attempts_status ON attempts(status);
    CREATE TABLE fires (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        attempt_id TEXT NOT NULL REFERENCES attempts(id),
        reason     TEXT NOT NULL,
        note       TEXT NOT NULL DEFAULT '',
        at         REAL NOT NULL,
        ref        TEXT,
        automatic  INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX fires_attempt ON fires(attempt_id);
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         REAL NOT NULL,
        attempt_id TEXT,
        task_id    TEXT,
        kind       TEXT NOT NULL,
        data       TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_attempt ON events(attempt_id);
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: a fire in progress (reconcile must not record the kill as a failure)
    """
    ALTER TABLE attempts ADD COLUMN firing_at REAL;
    """,
    # 3: a task's events (show, the detail view) without scanning the whole log
    """
    CREATE INDEX events_task ON events(task_id, id);
    """,
    # 4: claims (one operation at a time per agent, its holder's pid), sub-states as data
    """
    ALTER TABLE attempts DROP COLUMN firing_at;
    ALTER TABLE attempts ADD COLUMN claim_op TEXT;
    ALTER TABLE attempts ADD COLUMN claim_token TEXT;
    ALTER TABLE attempts ADD COLUMN claim_pid INTEGER;
    ALTER TABLE attempts ADD COLUMN claim_pid_started REAL;
    ALTER TABLE attempts ADD COLUMN claim_host TEXT;
    ALTER TABLE attempts ADD COLUMN claim_at REAL;
    ALTER TABLE attempts ADD COLUMN claim_data TEXT;
    ALTER TABLE attempts ADD COLUMN stop_request TEXT;
    ALTER TABLE attempts ADD COLUMN queue_kind TEXT;
    ALTER TABLE attempts ADD COLUMN queue_data TEXT;
    ALTER TABLE attempts ADD COLUMN waiting_kind TEXT;
    ALTER TABLE attempts ADD COLUMN stalled INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX attempts_task ON attempts(task_id, attempt);
    """,
    # 5: review and merge: merge facts, the last check, file scopes, overlaps between agents
    """
    ALTER TABLE attempts ADD COLUMN merged_at REAL;
    ALTER TABLE attempts ADD COLUMN merge_commit TEXT;
    ALTER TABLE attempts ADD COLUMN merged_into TEXT;
    ALTER TABLE attempts ADD COLUMN check_state TEXT;
    ALTER TABLE attempts ADD COLUMN check_exit INTEGER;
    ALTER TABLE attempts ADD COLUMN check_at REAL;
    ALTER TABLE attempts ADD COLUMN overlaps TEXT;
    ALTER TABLE attempts ADD COLUMN out_of_scope TEXT;
    ALTER TABLE tasks ADD COLUMN scope TEXT;
    """,
    # 6: orchestration: fan-in dependencies (several --after; the old single one moves here),
    # held tasks' tickets, kinds, per-task bases and batches, shared findings (notes), and the
    # orchestrators connected through `jarvis mcp`
    """
    CREATE TABLE task_deps (
        task_id     TEXT NOT NULL REFERENCES tasks(id),
        dep_task_id TEXT NOT NULL REFERENCES tasks(id),
        position    INTEGER NOT NULL,
        PRIMARY KEY (task_id, dep_task_id)
    );
    CREATE INDEX task_deps_dep ON task_deps(dep_task_id);
    INSERT INTO task_deps (task_id, dep_task_id, position)
        SELECT id, after_task_id, 0 FROM tasks WHERE after_task_id IS NOT NULL;
    ALTER TABLE tasks ADD COLUMN ticket TEXT;
    ALTER TABLE tasks ADD COLUMN kind TEXT;
    ALTER TABLE tasks ADD COLUMN base TEXT;
    ALTER TABLE tasks ADD COLUMN batch TEXT;
    ALTER TABLE tasks ADD COLUMN batch_width INTEGER;
    CREATE INDEX tasks_batch ON tasks(batch);
    CREATE TABLE notes (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id    TEXT NOT NULL REFERENCES tasks(id),
        attempt_id TEXT,
        at         REAL NOT NULL,
        tag        TEXT,
        text       TEXT NOT NULL,
        author     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX notes_task ON notes(task_id, id);
    CREATE TABLE orchestrators (
        pid          INTEGER PRIMARY KEY,
        pid_started  REAL,
        host         TEXT NOT NULL DEFAULT '',
        client       TEXT NOT NULL,
        client_version TEXT,
        since        REAL NOT NULL,
        last_call_at REAL,
        last_tool    TEXT,
        calls        INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 7: real agents: status reported by the agents themselves, tokens and cost, budgets
    """
    ALTER TABLE tasks ADD COLUMN budget_usd REAL;
    ALTER TABLE attempts ADD COLUMN status_source TEXT;
    ALTER TABLE attempts ADD COLUMN reported_state TEXT;
    ALTER TABLE attempts ADD COLUMN reported_state_at REAL;
    ALTER TABLE attempts ADD COLUMN reported_state_reason TEXT;
    ALTER TABLE attempts ADD COLUMN tokens_input INTEGER;
    ALTER TABLE attempts ADD COLUMN tokens_output INTEGER;
    ALTER TABLE attempts ADD COLUMN tokens_cache_read INTEGER;
    ALTER TABLE attempts ADD COLUMN tokens_cache_write INTEGER;
    ALTER TABLE attempts ADD COLUMN cost_usd REAL;
    ALTER TABLE attempts ADD COLUMN cost_source TEXT;
    ALTER TABLE attempts ADD COLUMN cost_note TEXT;
    ALTER TABLE attempts ADD COLUMN cost_at REAL;
    ALTER TABLE attempts ADD COLUMN budget_warned INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE usage_state (
        attempt_id TEXT PRIMARY KEY REFERENCES attempts(id),
        state      TEXT NOT NULL
    );
    CREATE TABLE spend (
        day     TEXT NOT NULL,
        profile TEXT NOT NULL,
        usd     REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (day, profile)
    );
    """,
]


# Columns of ``attempts`` that generic updates may write. ``status`` is NOT among them: only
# :func:`.lifecycle.transition` changes a status, and only :mod:`.claims` the claim columns.
ATTEMPT_FIELDS = frozenset(
    {
        "branch",
        "worktree",
        "tmux_session",
        "pane_id",
        "pid",
        "base_commit",
        "exit_code",
        "started_at",
        "ended_at",
        "last_output_at",
        "heartbeat_at",
        "heartbeat_note",
        "status_reason",
        "queue_reason",
        "queue_kind",
        "queue_data",
        "summary",
        "retry_context",
        "reported_status",
        "not_before",
        "preserved_ref",
        "start_point",
        "start_ref",
        "removed",
        "waiting_kind",
        "stalled",
        "stop_request",
        "merged_at",
        "merge_commit",
        "merged_into",
        "check_state",
        "check_exit",
        "check_at",
        "overlaps",
        "out_of_scope",
        "status_source",
        "reported_state",
        "reported_state_at",
        "reported_state_reason",
        "tokens_input",
        "tokens_output",
        "tokens_cache_read",
        "tokens_cache_write",
        "cost_usd",
        "cost_source",
        "cost_note",
        "cost_at",
        "budget_warned",
    }
)
CLAIM_FIELDS = frozenset(
    {
        "claim_op",
        "claim_token",
        "claim_pid",
        "claim_pid_started",
        "claim_host",
        "claim_at",
        "claim_data",
    }
)

__all__ = ["ATTEMPT_FIELDS", "CLAIM_FIELDS", "MIGRATIONS"]
