"""The words of ``jarvis --help``: shared option help, the batch file format and every
command's examples (shown under its own ``--help``). :mod:`.parser` builds the commands."""

from __future__ import annotations

from ..engine.vocabulary import FIRE_REASONS, PRIORITIES

ID_HELP = "agent id: any unique prefix of it (see jarvis ls)"
PRIORITY_HELP = (
    "which queued agent starts first when a slot frees up: " + " before ".join(PRIORITIES) + " (default: medium)"
)
SELF_ID_HELP = (
    "this agent's id (default: $JARVIS_AGENT_ID, which its session sets; an id is for scripts acting for an agent)"
)
REASON_HELP = "why, recorded for jarvis stats and told to a retry: " + "; ".join(
    f"{reason} ({help_text})" for reason, help_text in FIRE_REASONS.items()
)

BATCH_HELP = """batch files (--batch FILE, '-' for stdin):
  {"strategy": "parallel", "base": "feature/login",
   "tasks": [{"name": "auth", "prompt": "Analyse src/auth", "agent": "claude", "priority": "high"},
             {"name": "db", "prompt": "Analyse src/db", "ticket": "PROJ-8", "scope": ["src/db/**"]},
             {"prompt": "Write the report from: {findings}", "after": ["auth", "db"]}]}
  task keys: name, prompt (required), title, agent, priority, kind, scope, after (names, indexes or
  agent ids), ticket, hold, max_attempts. strategy: parallel (admission decides), sequential (each
  after the previous), auto (at most as many at once as can start now). Every task is checked
  before any is created: one bad task refuses the batch, naming it (tasks[2])."""

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": ("jarvis init", "jarvis init --agents claude,codex", "jarvis init --repo ../project --exclude-config"),
    "spawn": (
        "jarvis spawn 'Fix the flaky login test'",
        "jarvis spawn -a claude -p high -t 'Login fix' --prompt-file task.md",
        "echo 'Add type hints to utils.py' | jarvis spawn -",
        "jarvis spawn --agent auto --kind test --budget 2.50 'Add tests for the parser'",
        "jarvis spawn --agent auto --kind review --dry-run      (the ranking, nothing spawned)",
        "jarvis spawn --ticket PROJ-7 --hold 'Migrate the billing tables'",
        "jarvis spawn --after ab12 --after cd34 'Summarise the analyses: {findings}'",
        "jarvis spawn --batch tasks.json --json      (the batch file format: below)",
    ),
    "ls": ("jarvis ls", "jarvis ls --status waiting --status failed --json"),
    "show": ("jarvis show ab12", "jarvis show ab12cd --json"),
    "logs": ("jarvis logs ab12 -n 50", "jarvis logs ab12 --follow", "jarvis logs ab12 --screen"),
    "attach": ("jarvis attach ab12        (detach: ctrl-q, or ctrl-b d outside tmux)", "jarvis attach ab12 --print"),
    "send": ("jarvis send ab12 y", "printf 'first line\\nsecond line' | jarvis send ab12 -"),
    "fire": ("jarvis fire ab12 --reason derailed --note 'rewrote the build system'",),
    "retry": ("jarvis retry ab12", "jarvis retry ab12 --fresh"),
    "rm": ("jarvis rm ab12", "jarvis rm ab12 cd34 ef56 --json"),
    "heartbeat": ("jarvis heartbeat --note 'running the test suite'      (inside the agent's session)",),
    "report": (
        "jarvis report --status done --summary 'fixed the login test'      (inside the agent's session)",
        "jarvis report --state waiting --reason 'which database should I use?'",
        "jarvis report --id ab12cd --status failed --force      (from elsewhere, on purpose)",
    ),
    "doctor": (
        "jarvis doctor",
        "jarvis doctor --fix     # end orphans, preserve and remove orphan worktrees",
        "jarvis doctor --adopt   # rebuild a lost registry from the agents' records",
    ),
    "review": ("jarvis review ab12", "jarvis review ab12 --diff src/app.py", "jarvis review ab12 --json"),
    "check": ("jarvis check ab12", "jarvis check ab12 --no-wait"),
    "merge": (
        "jarvis merge ab12",
        "jarvis merge ab12 --squash -m 'Login fix' --delete-branch",
        "jarvis merge ab12 --rebase --into release --dry-run",
    ),
    "conflicts": ("jarvis conflicts", "jarvis conflicts --json"),
    "prune": ("jarvis prune --dry-run", "jarvis prune --merged --older-than 7d"),
    "engine": ("jarvis engine", "jarvis engine --once --json"),
    "stats": ("jarvis stats", "jarvis stats --json", "jarvis stats --by kind"),
    "profiles": ("jarvis profiles", "jarvis profiles --toml claude >> config.toml", "jarvis profiles --json"),
    "tui": ("jarvis", "jarvis --config ~/work/jarvis.toml tui"),
    "demo": ("jarvis demo", "jarvis demo --keep"),
    "wait": (
        "jarvis wait ab12",
        "jarvis wait ab12 cd34 --until done --timeout 600 --json",
        "jarvis wait ab12 cd34 ef56 --any --until waiting,ended",
    ),
    "note": (
        "jarvis note 'the token refresh path is untested' --tag risk      (inside an agent's session)",
        "jarvis note --task ab12 'use the v2 API'      (from outside: on that agent's task)",
    ),
    "notes": ("jarvis notes", "jarvis notes --task ab12 --tag risk --json"),
    "release": ("jarvis release ab12",),
    "dispatch": ("jarvis dispatch --dry-run", "jarvis dispatch --dry-run --json", "jarvis dispatch"),
    "mcp": (
        "claude mcp add jarvis -- jarvis mcp --config /path/to/config.toml",
        "jarvis mcp --config config.toml      (speaks MCP on stdin/stdout; started by the MCP client)",
    ),
}


def agent_help(default_agent: str | None) -> str:
    """``spawn --agent``: names the profile a spawn gets when the config can be read."""
    auto = "; 'auto' picks the best fit for --kind from past outcomes ([routing])"
    if default_agent:
        return f"agent profile from the config (default here: {default_agent}){auto}"
    return f"agent profile from the config (default: [supervisor] default_agent, else the first profile){auto}"


__all__ = [
    "BATCH_HELP",
    "EXAMPLES",
    "ID_HELP",
    "PRIORITY_HELP",
    "REASON_HELP",
    "SELF_ID_HELP",
    "agent_help",
]
