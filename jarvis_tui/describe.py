"""What the faces say about an agent: one wording for ``jarvis show`` and the detail view, for
the queue line of the table, the log pane and ``jarvis ls``, and for the outcome of an action.

Pure functions over :class:`Agent` records and :meth:`Supervisor.details` dicts; no Textual,
no Rich, no I/O, so the CLI and the dashboard cannot drift apart in what they tell a user.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

from .engine.models import BLOCKED, HELD, PENDING, Agent, Orchestrator
from .format import ago, duration, money, one_line, tokens_short

if TYPE_CHECKING:
    from .engine.merging import Merged

LOADING = "…"

# --------------------------------------------------------------------------- queue


def queue_until(agent: Agent) -> float | None:
    """When a queued agent's wait ends, if that is known (a backoff, the warning zone's pace)."""
    if agent.queue is not None and agent.queue.until is not None:
        return agent.queue.until
    return agent.not_before


def queue_text(agent: Agent) -> str:
    """Why a queued or blocked agent is not running, in the engine's words ("" if it is not)."""
    if agent.status not in PENDING:
        return ""
    if agent.status == HELD:
        return f"until released (jarvis release {agent.id})"
    if agent.queue is not None and agent.queue.text:
        return agent.queue.text
    if agent.status == BLOCKED:
        return agent.status_reason or agent.queue_reason or ""
    return agent.queue_reason or ""


def countdown(until: float | None, now: float) -> str:
    """``in 12s``; ``any moment`` once the time has come (the next tick starts it)."""
    if until is None:
        return ""
    left = until - now
    return f"in {duration(left)}" if left >= 1 else "any moment"


def queue_line(agent: Agent, now: float) -> str:
    """``waiting: CPU 83% >= danger 80% · starts in 12s`` for a queued or blocked agent, else ""."""
    if agent.status not in PENDING:
        return ""
    blocked = agent.status == BLOCKED
    if agent.status == HELD:
        return f"held: {queue_text(agent)}"
    line = f"{'blocked' if blocked else 'waiting'}: {queue_text(agent) or 'its turn'}"
    until = queue_until(agent)
    if until is not None and not blocked:
        line += f" · starts {countdown(until, now)}"
    return line


def queue_short(agent: Agent, now: float) -> str:
    """The table's form of :func:`queue_line`: the reason and the countdown, no prefix."""
    if agent.status == HELD:  # the status says held; how to release it is in show and the detail view
        return "until released"
    line = queue_line(agent, now)
    return line.split(": ", 1)[1] if line else ""


# --------------------------------------------------------------------------- cost


def cost_short(agent: Agent) -> str:
    """The table's cost: ``$1.23``, ``~$0.40`` (estimated), with ``!`` past a budget's warn_at."""
    return money(agent.cost_usd, agent.cost_source) + ("!" if agent.budget_warned else "")


def cost_line(agent: Agent) -> str:
    """``$1.23 (transcript: genai-prices: claude-sonnet-4-5) · budget $2.50 · 1.2M in, 40k out, ...``"""
    if agent.cost_usd is None:
        text = "-"
    else:
        text = f"{money(agent.cost_usd, agent.cost_source)} ({agent.cost_source}" + (
            f": {agent.cost_note})" if agent.cost_note else ")"
        )
    if agent.budget_usd:
        text += f" · budget {money(agent.budget_usd)}" + (" (warned)" if agent.budget_warned else "")
    return text


def tokens_line(agent: Agent) -> str:
    t = agent.tokens
    if t is None:
        return "-"
    return (
        f"{tokens_short(t.input)} in · {tokens_short(t.output)} out · {tokens_short(t.cache_read)} cache read · "
        f"{tokens_short(t.cache_write)} cache write"
    )


SOURCE_WORDS = {
    "report": "the agent's own report",
    "screen": "its screen",
    "silence": "its silence",
    "exit": "how it ended",
}


def status_source_text(agent: Agent) -> str:
    """``its screen`` / ``the agent's own report (waiting: needs permission)``: what the status rests on."""
    if agent.status_source is None:
        return "-"
    text = SOURCE_WORDS.get(agent.status_source, agent.status_source)
    if agent.status_source == "report" and agent.reported_state:
        text += f" ({agent.reported_state}" + (
            f": {agent.reported_state_reason})" if agent.reported_state_reason else ")"
        )
    return text


# --------------------------------------------------------------------------- facts


def fact_rows(agent: Agent, details: dict[str, Any] | None, *, socket: str, now: float) -> list[tuple[str, str]]:
    """(label, value) rows: ``jarvis show`` prints them, the detail view lays them out.

    ``details`` is :meth:`Supervisor.details` (git facts included); ``None`` while it is
    still being read, which shows those rows as "…".
    """
    d = details
    ahead = d.get("commits_ahead") if d is not None else None
    if d is None:
        last_commit = dirty = ahead_text = LOADING
    else:
        ahead_text = "-" if ahead is None else str(ahead)
        commit = d.get("last_commit")
        if not agent.branch or ahead is None:
            last_commit = "-"
        elif ahead == 0:  # the branch's tip is still the base's commit: nothing of the agent's
            last_commit = "no commits yet"
        else:
            last_commit = str(commit["subject"]) if commit else "-"
        dirty = {True: "yes", False: "no", None: "-"}[d.get("dirty")]
    rows = [
        ("task", f"{agent.task_id} (attempt {agent.attempt})" + (f" · kind {agent.kind}" if agent.kind else "")),
        ("agent", f"{agent.agent} · priority {agent.priority}"),
        ("reason", agent.status_reason or "-"),
        ("status from", status_source_text(agent)),
    ]
    queued = queue_line(agent, now)
    if queued:
        rows.append(("queue", queued))
    rows += [
        ("runtime", f"{duration(agent.runtime(now))} · last output {ago(agent.last_output_at, now)}"),
        ("branch", agent.branch or "-"),
        ("worktree", agent.worktree or "-"),
        ("tmux", f"{agent.tmux_session or '-'} (socket {socket})"),
        ("pid", str(agent.pid or "-")),
        ("exit code", str(agent.exit_code) if agent.exit_code is not None else "-"),
        ("commits ahead", ahead_text),
        ("last commit", last_commit),
        ("uncommitted", dirty),
        ("preserved", preserved_ref(agent) or "-"),
        ("cost", cost_line(agent)),
        ("tokens", tokens_line(agent)),
    ]
    rows += review_rows(agent, now)
    if d is not None and d.get("log"):
        rows.append(("log", str(d["log"])))
    if agent.ticket:
        rows.append(("ticket", agent.ticket))
    if agent.dependencies:
        rows.append(("after", dependencies_text(agent, d)))
    if agent.kind:
        rows.append(("kind", agent.kind))
    if agent.base:
        rows.append(("base", agent.base))
    if agent.batch:
        width = f" (width {agent.batch_width})" if agent.batch_width else ""
        rows.append(("batch", agent.batch + width))
    if d is not None and d.get("notes"):
        rows.append(("notes", f"{len(d['notes'])} finding(s) recorded (jarvis notes --task {agent.task_id})"))
    if agent.retry_context:
        rows.append(("retry of", agent.retry_context))
    if agent.summary:
        rows.append(("summary", agent.summary))
    return rows


def dependencies_text(agent: Agent, details: dict[str, Any] | None) -> str:
    """``3fa2c1 done, 8b21aa working``: the tasks it starts after (all done: it may start)."""
    known = {d["task_id"]: d["status"] for d in (details or {}).get("dependencies", [])}
    return ", ".join(f"{task} {known[task]}" if task in known else task for task in agent.dependencies)


def note_lines(notes: list[dict[str, Any]], now: float) -> list[tuple[str, str, str]]:
    """(how long ago, by whom, ``[tag] text``) per note record (``details["notes"]``, ``notes --json``)."""
    out = []
    for note in notes:
        who = note.get("attempt_id") or note.get("author") or "-"
        tag = f"[{note['tag']}] " if note.get("tag") else ""
        try:
            when = ago(_dt.datetime.fromisoformat(str(note["at"]).replace("Z", "+00:00")).timestamp(), now)
        except (KeyError, ValueError):
            when = "-"
        out.append((when, str(who), tag + str(note.get("text", ""))))
    return out


def review_rows(agent: Agent, now: float) -> list[tuple[str, str]]:
    """Scope, check, overlaps, out-of-scope paths and the merge, when there are any."""
    rows = []
    if agent.scope:
        rows.append(("scope", ", ".join(agent.scope)))
    if agent.check:
        rows.append(("check", agent.check))
    if agent.live_overlaps:
        rows.append(("overlaps", f"{', '.join(agent.live_overlaps)} (same files; jarvis conflicts)"))
    if agent.out_of_scope:
        rows.append(("out of scope", listed(agent.out_of_scope)))
    if agent.merged_at is not None:
        commit = f" as {agent.merge_commit[:12]}" if agent.merge_commit else ""
        rows.append(("merged", f"into {agent.merged_into or '-'}{commit}, {ago(agent.merged_at, now)}"))
    return rows


def listed(items: list[str], limit: int = 5) -> str:
    """``a.py, b.py and 3 more``."""
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


MARKS = {  # the agent table's marker column: symbol, style, meaning (the help and the README)
    "overlap": ("↔", "yellow", "touches the same files as another live agent"),
    "scope": ("⚠", "bold yellow", "wrote outside its file scope"),
    "running": ("…", "cyan", "its check is running"),
    "passed": ("✓", "green", "its check passed"),
    "failed": ("✗", "bold red", "its check failed"),
}


def marks(agent: Agent) -> list[str]:
    """The agent's marks, in column order: overlap, out of scope, then the check's result."""
    found = []
    if agent.live_overlaps:
        found.append("overlap")
    if agent.out_of_scope:
        found.append("scope")
    if agent.check_state in ("running", "passed", "failed"):
        found.append(agent.check_state)
    return found


def preserved_ref(agent: Agent) -> str | None:
    """Where the agent's files were saved: its preserved ref, else its last fire's ref."""
    if agent.preserved_ref:
        return agent.preserved_ref
    for fire in reversed(agent.fires):
        if fire.ref:
            return fire.ref
    return None


# --------------------------------------------------------------------------- outcomes


def fired_message(agent: Agent, reason: str) -> str:
    """After a fire: where the work is, or that there was none (a queued agent never ran)."""
    ref = agent.fires[-1].ref if agent.fires else None
    head = f"fired {agent.id} ({reason})"
    if not agent.branch:
        return f"{head}; it never started: nothing to preserve, no branch"
    if ref:
        return f"{head}; work preserved at {ref}; branch {agent.branch} kept"
    return f"{head}; no worktree files to preserve; branch {agent.branch} kept"


def released_message(agent: Agent, now: float) -> str:
    """What a release did: the task joined the queue and may have started at once."""
    reason = queue_short(agent, now)
    return f"released {agent.id}: {agent.status}" + (f" ({reason})" if reason else "")


def removed_message(agent: Agent) -> str:
    if not agent.branch:
        return f"removed {agent.id}; it never started: no branch, no files"
    kept = f"; its files are kept at {agent.preserved_ref}" if agent.preserved_ref else ""
    return f"removed {agent.id}; branch {agent.branch} kept{kept}"


def remove_question(agent: Agent) -> str:
    """The ``x`` dialog's text: what goes and, truthfully, where the work stays."""
    head = f"{agent.id} · {one_line(agent.title, 60)} ({agent.status})\n\n"
    if not agent.branch:
        return head + "It never started: only its record leaves the list."
    ref = preserved_ref(agent)
    where = (
        f"its files are already kept at {ref}"
        if ref
        else f"any uncommitted work is saved to refs/jarvis/kept/{agent.id} first"
    )
    return head + f"Its tmux session and worktree are removed. Its branch {agent.branch} stays, and {where}."


def sent_message(agent_id: str, text: str, *, enter: bool) -> str:
    """``sent "yes" + Enter to ab12cd``: what reached whom, on one line."""
    if not text:
        return f"sent Enter to {agent_id}" if enter else f"sent nothing to {agent_id}"
    what = f"{len(text)} characters" if "\n" in text else f'"{one_line(text, 40)}"'
    return f"sent {what}{' + Enter' if enter else ''} to {agent_id}"


def orchestrators_line(connected: list[Orchestrator], now: float, *, short: bool = False) -> str:
    """``orchestrator: claude-code 12m, last call 4s ago``: who drives the workers by MCP
    (``short``: the names only)."""
    if not connected:
        return ""
    parts = []
    for orch in connected:
        last = f", last call {ago(orch.last_call_at, now)}" if orch.last_call_at else ", no call yet"
        parts.append(orch.client if short else f"{orch.client} {duration(now - orch.since)}{last}")
    return ("orchestrator: " if len(parts) == 1 else "orchestrators: ") + "; ".join(parts)


def merged_message(merged: Merged) -> str:
    """After a merge: what moved, and where the agent's files and branch are now."""
    result, agent = merged.result, merged.agent
    if str(result.outcome) == "already merged":
        return f"{agent.id}: {result.into} already has this work; marked merged"
    files = f"{len(result.files)} file{'s' if len(result.files) != 1 else ''}"
    branch = "" if merged.deleted_branch else f"branch {agent.branch} kept" if agent.branch else ""  # (a note says)
    parts = [
        f"merged {agent.id} into {result.into}: {result.outcome}, {files}",
        "its worktree removed",
        branch,
        *merged.notes,
    ]
    return "; ".join(p for p in parts if p)


def conflict_question(agent_id: str, into: str, paths: list[str]) -> str:
    """A merge refused for conflicts: which files, that nothing changed, and the way out."""
    listing = "\n".join(f"  {p}" for p in paths[:12]) + (f"\n  and {len(paths) - 12} more" if len(paths) > 12 else "")
    return (
        f"Merging {agent_id} into {into} conflicts in:\n{listing}\n\nNothing was changed. "
        f"Retry {agent_id} with the conflict as its context? The new attempt starts from its files "
        f"and is told what conflicts with {into}."
    )


def check_message(agent: Agent, log: str) -> str:
    """A check's result, once it has one."""
    if agent.check_state == "failed":
        return f"check of {agent.id} {agent.check}; its output: {log}"
    return f"check of {agent.id} {agent.check}"


def detach_hint(nested: bool) -> str:
    """Inside the user's own tmux, ctrl-b reaches THEIR tmux: only our root-table key works."""
    return "detach with ctrl-q" if nested else "detach with ctrl-q (or ctrl-b d)"


def attach_label(agent: Agent) -> str:
    """The status line of an attached agent session: who this is and how to get out."""
    return f"jarvis · {agent.id} · {one_line(agent.title, 100)} · ctrl-q detach"


__all__ = [
    "MARKS",
    "attach_label",
    "check_message",
    "conflict_question",
    "cost_line",
    "cost_short",
    "countdown",
    "dependencies_text",
    "detach_hint",
    "fact_rows",
    "fired_message",
    "listed",
    "marks",
    "merged_message",
    "note_lines",
    "orchestrators_line",
    "preserved_ref",
    "queue_line",
    "queue_short",
    "queue_text",
    "queue_until",
    "released_message",
    "remove_question",
    "removed_message",
    "review_rows",
    "sent_message",
    "status_source_text",
    "tokens_line",
]
