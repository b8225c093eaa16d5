"""Token usage from the agents' own transcripts, and its price.

The files are shaped exactly like the real ones (tests/fixtures/transcripts/, sources in
tests/fixtures/README.md): Claude Code's JSONL session transcripts with a sub-agent's (format:
ccusage src/data-loader.ts, anthropics/claude-code#87303 for the repeated lines), Codex's
rollout files (openai/codex#5276), Gemini CLI's chat recordings (chatRecordingService.ts),
Aider's analytics log (aider/analytics.py). Reads are incremental and de-duplicated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jarvis_tui.engine import pricing, transcripts
from jarvis_tui.engine.transcripts import Where, new_state, read_lines, totals, update
from jarvis_tui.engine.transcripts.claude import ClaudeReader, claude_project_dir

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
SONNET, HAIKU = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"


def where(tmp_path: Path, **homes: str) -> Where:
    worktree = tmp_path / "worktrees" / "a1b2c3"
    worktree.mkdir(parents=True, exist_ok=True)
    session_dir = tmp_path / "sessions" / "a1b2c3"
    session_dir.mkdir(parents=True, exist_ok=True)
    return Where(
        worktree=str(worktree),
        session_dir=str(session_dir),
        agent_id="a1b2c3",
        started_at=time.time() - 60,
        now=time.time(),
        homes=homes,
    )


def claude_files(tmp_path: Path, w: Where) -> tuple[Path, Path]:
    folder = tmp_path / "claude" / "projects" / claude_project_dir(w.worktree)
    main = folder / "3f2b9c1e-8d4a-4f6b-9a57-1c2d3e4f5a6b.jsonl"
    sub = folder / "3f2b9c1e-8d4a-4f6b-9a57-1c2d3e4f5a6b" / "subagents" / "agent-a7f3c2.jsonl"
    sub.parent.mkdir(parents=True)
    main.write_bytes((FIXTURES / "claude-session.jsonl").read_bytes())
    sub.write_bytes((FIXTURES / "claude-subagent-agent-a7f3c2.jsonl").read_bytes())
    return main, sub


# --------------------------------------------------------------------------- Claude Code


def test_claude_session_and_subagent_counted_once_per_response(tmp_path):
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    claude_files(tmp_path, w)
    state = new_state("claude")
    assert update(state, w) is True
    found = totals(state)
    models, tool_cost = found.models, found.tool_cost
    # lines 2-4 of the session are ONE response (same message.id + requestId): input once, output 260
    assert models[SONNET] == [4, 260, 15030, 8655, 8655]  # input, output, cache read, cache write (of it 1h)
    assert models[HAIKU] == [9, 42, 0, 5120, 0]  # the sub-agent's transcript counts too
    assert tool_cost is None
    assert update(state, w) is False  # nothing new: nothing counted again


def test_claude_price_from_genai_prices(tmp_path):
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    claude_files(tmp_path, w)
    state = new_state("claude")
    update(state, w)
    found = totals(state)
    price = pricing.price(found.models, found.usd, found.unpriced)
    # Sonnet 4.5: $3/M input, $6/M 1h cache write, $0.30/M cache read, $15/M output;
    # Haiku 4.5: $1/M input, $1.25/M 5m cache write, $5/M output
    sonnet = 4 * 3e-6 + 8655 * 6e-6 + 15030 * 0.3e-6 + 260 * 15e-6
    haiku = 9 * 1e-6 + 5120 * 1.25e-6 + 42 * 5e-6
    assert price.source == "transcript" and price.usd == pytest.approx(sonnet + haiku, abs=1e-6)


def test_incremental_reads_take_whole_lines_and_never_reread(tmp_path):
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    main, _ = claude_files(tmp_path, w)
    whole = main.read_bytes()
    once = new_state("claude")
    update(once, w)
    for cut in (1, len(whole) // 3, len(whole) // 2 + 7, len(whole) - 2):  # mid-line cuts included
        main.write_bytes(whole[:cut])
        state = new_state("claude")
        update(state, w)
        offset = state["files"][str(main)]["offset"]
        assert offset == 0 or (offset <= cut and whole[:offset].endswith(b"\n"))  # only whole lines
        with main.open("ab") as fh:
            fh.write(whole[cut:])
        update(state, w)
        assert totals(state) == totals(once), cut
        assert state["files"][str(main)]["offset"] == len(whole)
    lines, offset = read_lines(str(main), len(whole))
    assert (lines, offset) == ([], len(whole))  # at the end: nothing read


def test_a_response_whose_output_grows_across_passes_counts_its_growth_only(tmp_path):
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    main, sub = claude_files(tmp_path, w)
    sub.unlink()
    lines = (FIXTURES / "claude-session.jsonl").read_bytes().splitlines(keepends=True)
    main.write_bytes(b"".join(lines[:2]))  # the response's first block: output_tokens 1
    state = new_state("claude")
    update(state, w)
    assert totals(state).models[SONNET][:2] == [4, 1]
    with main.open("ab") as fh:
        fh.write(b"".join(lines[2:]))  # the same response again, output 1 then 260
    update(state, w)
    assert totals(state).models[SONNET] == [4, 260, 15030, 8655, 8655]
    whole = new_state("claude")
    main.write_bytes(b"".join(lines))
    update(whole, w)
    assert totals(state).usd == pytest.approx(totals(whole).usd)  # the growth priced as the difference


def test_claude_transcripts_of_other_folders_are_not_this_agents(tmp_path):
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    other = tmp_path / "claude" / "projects" / claude_project_dir(w.worktree + "-other")
    other.mkdir(parents=True)
    (other / "x.jsonl").write_bytes((FIXTURES / "claude-session.jsonl").read_bytes())
    state = new_state("claude")
    assert update(state, w) is False and totals(state).models == {}


# --------------------------------------------------------------------------- Codex


def test_codex_rollout_of_this_worktree(tmp_path):
    codex = tmp_path / "codex"
    w = where(tmp_path, CODEX_HOME=str(codex))
    today = dt.datetime.now()
    folder = codex / "sessions" / f"{today:%Y}" / f"{today:%m}" / f"{today:%d}"
    folder.mkdir(parents=True)
    text = (FIXTURES / "codex-rollout-2026-08-20T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl").read_text()
    mine = folder / "rollout-2026-08-20T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl"
    mine.write_text(text.replace("/work/wt/feature-y", w.worktree))
    (folder / "rollout-2026-08-20T10-00-00-other.jsonl").write_text(text)  # another project's session
    state = new_state("codex")
    assert update(state, w) is True
    models = totals(state).models
    # total_token_usage: input 26549 of which 22272 cached, output 1590 (reasoning inside)
    assert models == {"gpt-5": [26549 - 22272, 1590, 22272, 0, 0]}
    assert list(state["files"]) == [str(mine)]
    with mine.open("a") as fh:  # a later token_count is cumulative: only the difference is new
        total = {
            "input_tokens": 30000,
            "cached_input_tokens": 25000,
            "output_tokens": 2000,
            "reasoning_output_tokens": 1300,
            "total_tokens": 32000,
        }
        fh.write(
            json.dumps({"type": "event_msg", "payload": {"type": "token_count", "info": {"total_token_usage": total}}})
            + "\n"
        )
    update(state, w)
    found = totals(state)
    assert found.models == {"gpt-5": [5000, 2000, 25000, 0, 0]}
    # GPT-5: $1.25/M input, $0.125/M cached input, $10/M output
    assert found.usd == pytest.approx(5000 * 1.25e-6 + 25000 * 0.125e-6 + 2000 * 10e-6)


# --------------------------------------------------------------------------- Gemini CLI and Aider


def test_gemini_last_record_of_each_message_counts(tmp_path):
    w = where(tmp_path, GEMINI_CLI_HOME=str(tmp_path / "gem"))
    chats = tmp_path / "gem" / ".gemini" / "tmp" / "a1b2c3" / "chats"
    chats.mkdir(parents=True)
    lines = (FIXTURES / "gemini-session-2026-08-20T10-00-3f2b9c1e.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])
    meta["projectHash"] = hashlib.sha256(w.worktree.encode()).hexdigest()  # gemini-cli getProjectHash
    (chats / "session-2026-08-20T10-00-3f2b9c1e.jsonl").write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    (chats / "session-2026-08-20T10-00-00000000.jsonl").write_text(lines[0] + "\n" + lines[2] + "\n")  # not ours
    state = new_state("gemini")
    update(state, w)
    # message m-0002 written twice: counted once; input 20000 of which 5000 cached; output 2000 + 800 thoughts
    assert totals(state).models == {"gemini-2.5-pro": [15000, 2800, 5000, 0, 0]}


def test_aider_analytics_log_with_aiders_own_price(tmp_path):
    w = where(tmp_path)
    (Path(w.session_dir) / "aider-analytics.jsonl").write_bytes((FIXTURES / "aider-analytics.jsonl").read_bytes())
    state = new_state("aider")
    update(state, w)
    found = totals(state)
    assert found.models == {"anthropic/claude-sonnet-4-5": [14230, 512, 0, 0, 0]}
    price = pricing.price(found.models, found.usd, found.unpriced, found.tool_cost)
    assert price.usd == pytest.approx(0.05037) and price.note == "priced by the agent itself"


# --------------------------------------------------------------------------- pricing


def test_an_unknown_model_is_not_guessed(tmp_path):
    w = where(tmp_path)
    log = Path(w.session_dir) / "aider-analytics.jsonl"
    state = new_state("claude")
    info = {"offset": 0, "models": {}}
    ClaudeReader().line(
        info,
        {
            "type": "assistant",
            "message": {"id": "m1", "model": "my-local-llama", "usage": {"input_tokens": 1000, "output_tokens": 100}},
        },
    )
    state["files"][str(log)] = info
    found = totals(state)
    price = pricing.price(found.models, found.usd, found.unpriced)
    assert price.usd is None and price.source == "estimate" and "my-local-llama" in price.note
    estimate = pricing.estimate(3.0, 0.5, price.note)
    assert estimate.usd == 1.5 and "cost_weight 3 x 0.50 h" in estimate.note and "my-local-llama" in estimate.note


def test_provider_prefixed_models_are_priced():
    assert pricing.model_cost("anthropic/claude-sonnet-4-5", [100_000, 0, 0, 0, 0]) == pytest.approx(0.3)


def test_tiers_apply_per_request_not_to_the_sum(tmp_path):
    """Sonnet 4.5 costs $6/M input above 200k tokens in ONE request: ten requests of 100k are $3."""
    w = where(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    folder = tmp_path / "claude" / "projects" / claude_project_dir(w.worktree)
    folder.mkdir(parents=True)
    with (folder / "s.jsonl").open("w") as fh:
        for n in range(10):
            fh.write(
                json.dumps(
                    {
                        "type": "assistant",
                        "requestId": f"r{n}",
                        "message": {
                            "id": f"m{n}",
                            "model": SONNET,
                            "usage": {"input_tokens": 100_000, "output_tokens": 0},
                        },
                    }
                )
                + "\n"
            )
    state = new_state("claude")
    update(state, w)
    assert totals(state).usd == pytest.approx(3.0)
    assert pricing.model_cost(SONNET, [1_000_000, 0, 0, 0, 0]) == pytest.approx(6.0)  # one huge request


def test_the_cli_does_not_import_the_price_table():
    code = (
        "import sys, jarvis_tui.cli, jarvis_tui.engine.supervisor, jarvis_tui.engine.loop; "
        "print('genai_prices' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_readers_cover_the_documented_formats():
    assert set(transcripts.READERS) == {"claude", "codex", "gemini", "aider"}
