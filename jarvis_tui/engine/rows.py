"""Registry rows and Python values: decoding a row into an :class:`~.models.Agent`, and
encoding fields for writing (dicts and lists as JSON, booleans as 0/1, enums as text)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .models import Agent, Claim, QueueReason, Tokens

SELECT_AGENTS = """
SELECT a.*, t.title, t.prompt, t.priority, t.after_task_id, t.max_attempts, t.scope,
       t.created_at AS task_created_at, t.ticket, t.kind, t.base, t.batch, t.batch_width, t.budget_usd,
       (a.attempt = (SELECT MAX(b.attempt) FROM attempts b WHERE b.task_id = a.task_id)) AS latest
FROM attempts a JOIN tasks t ON t.id = a.task_id
"""


def agent_from_row(row: sqlite3.Row) -> Agent:
    claim = None
    if row["claim_token"]:
        claim = Claim(
            op=row["claim_op"],
            token=row["claim_token"],
            pid=row["claim_pid"] or 0,
            pid_started=row["claim_pid_started"],
            host=row["claim_host"] or "",
            at=row["claim_at"] or 0.0,
            data=json.loads(row["claim_data"] or "{}"),
        )
    queue = None
    if row["queue_kind"]:
        data = json.loads(row["queue_data"] or "{}")
        until = data.pop("until", None)
        queue = QueueReason(kind=row["queue_kind"], text=row["queue_reason"] or "", until=until, data=data)
    return Agent(
        id=row["id"],
        task_id=row["task_id"],
        title=row["title"],
        prompt=row["prompt"],
        agent=row["profile"],
        priority=row["priority"],
        status=row["status"],
        attempt=row["attempt"],
        created_at=row["created_at"],
        branch=row["branch"],
        worktree=row["worktree"],
        tmux_session=row["tmux_session"],
        pane_id=row["pane_id"],
        pid=row["pid"],
        base_commit=row["base_commit"],
        exit_code=row["exit_code"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        last_output_at=row["last_output_at"],
        heartbeat_at=row["heartbeat_at"],
        heartbeat_note=row["heartbeat_note"],
        status_reason=row["status_reason"],
        queue_reason=row["queue_reason"],
        summary=row["summary"],
        retry_context=row["retry_context"],
        reported_status=row["reported_status"],
        after_task_id=row["after_task_id"],
        not_before=row["not_before"],
        preserved_ref=row["preserved_ref"],
        start_point=row["start_point"],
        start_ref=row["start_ref"],
        task_created_at=row["task_created_at"],
        removed=bool(row["removed"]),
        latest=bool(row["latest"]),
        max_attempts=row["max_attempts"],
        queue=queue,
        waiting_kind=row["waiting_kind"],
        stalled=bool(row["stalled"]),
        claim=claim,
        stop_request=json.loads(row["stop_request"]) if row["stop_request"] else None,
        scope=_list(row["scope"]),
        merged_at=row["merged_at"],
        merge_commit=row["merge_commit"],
        merged_into=row["merged_into"],
        check_state=row["check_state"],
        check_exit=row["check_exit"],
        check_at=row["check_at"],
        overlaps=_list(row["overlaps"]),
        out_of_scope=_list(row["out_of_scope"]),
        ticket=row["ticket"],
        kind=row["kind"],
        base=row["base"],
        batch=row["batch"],
        batch_width=row["batch_width"],
        budget_usd=row["budget_usd"],
        status_source=row["status_source"],
        reported_state=row["reported_state"],
        reported_state_at=row["reported_state_at"],
        reported_state_reason=row["reported_state_reason"],
        tokens=None
        if row["tokens_input"] is None
        else Tokens(
            row["tokens_input"],
            row["tokens_output"] or 0,
            row["tokens_cache_read"] or 0,
            row["tokens_cache_write"] or 0,
        ),
        cost_usd=row["cost_usd"],
        cost_source=row["cost_source"],
        cost_note=row["cost_note"],
        budget_warned=bool(row["budget_warned"]),
    )


def _list(text: str | None) -> list[Any]:
    """A JSON list column; NULL (the usual case) costs no parsing: this runs for every row."""
    return json.loads(text) if text else []


def encode(fields: dict[str, Any]) -> dict[str, Any]:
    """Python values to column values: dicts as JSON, booleans as 0/1, enums as text."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, dict):
            value = json.dumps(value, default=str)
        elif isinstance(value, list):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = int(value)
        elif isinstance(value, str):
            value = str(value)  # a StrEnum member is stored as its plain value
        out[key] = value
    return out


__all__ = ["SELECT_AGENTS", "agent_from_row", "encode"]
