"""The demo agent: a small program that behaves like a coding agent.

    python -m jarvis_tui.demo_agent "Fix the login bug #ask #exit=0"

It prints coloured progress (with ``\\r`` spinners, like real agents), edits and commits
files in its working directory, can ask a question and wait for the answer, and exits with
a chosen code. The prompt is never parsed as options: it is taken whole, byte for byte, and
written to ``demo_prompt.txt`` so tests can check what arrived.

Behaviour comes from ``#tokens`` in the prompt, or the environment (the prompt wins):

    #steps=N      progress steps (DEMO_STEPS, default 5)
    #speed=X      steps per second (DEMO_SPEED, default 1)
    #ask          ask "Apply the changes? [y/N]" and wait for a line (DEMO_ASK=1)
    #exit=N       exit code (DEMO_EXIT, default 0)
    #dirty        leave a modified file and an untracked file uncommitted
    #hang         keep working until stopped
    #silent       print nothing after the banner (for silence detection)
    #spin         burn a core while working (runaway guard demos)
    #mem=MB       hold MB of memory while working
    #daemon       start a detached (setsid) helper that outlives a plain kill-session
    #report       report done/failed through `jarvis report` before exiting
    #stubborn     ignore SIGTERM (a fire must escalate to SIGKILL after kill_grace)
    #note=TEXT    record TEXT as a finding on its task (`jarvis note`), '_' read as spaces; repeatable
    #tokens=N     each step, write a Claude Code transcript entry of N input and N/10 output tokens
                  (only under $CLAUDE_CONFIG_DIR, never the real ~/.claude); #model=NAME its model
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

IDENTITY = {
    "GIT_AUTHOR_NAME": "demo-agent",
    "GIT_AUTHOR_EMAIL": "demo-agent@jarvis.invalid",
    "GIT_COMMITTER_NAME": "demo-agent",
    "GIT_COMMITTER_EMAIL": "demo-agent@jarvis.invalid",
}
SPINNER = "|/-\\"
COLOURS = {
    "dim": "\x1b[2m",
    "green": "\x1b[32m",
    "yellow": "\x1b[33m",
    "cyan": "\x1b[36m",
    "red": "\x1b[31m",
    "bold": "\x1b[1m",
    "reset": "\x1b[0m",
}


def option(prompt: str, name: str, env: str, default: str | None) -> str | None:
    match = re.search(rf"(?:^|\s)#{name}(?:=(\S+))?(?=\s|$)", prompt)
    if match:
        return match.group(1) if match.group(1) is not None else "1"
    return os.environ.get(env, default)


def say(text: str, colour: str = "") -> None:
    prefix = COLOURS.get(colour, "")
    suffix = COLOURS["reset"] if prefix else ""
    sys.stdout.write(f"{prefix}{text}{suffix}\n")
    sys.stdout.flush()


def git(*args: str) -> bool:
    env = {**os.environ, **IDENTITY}
    proc = subprocess.run(["git", *args], env=env, capture_output=True, text=True, check=False)
    return proc.returncode == 0


def in_git_repo() -> bool:
    return git("rev-parse", "--is-inside-work-tree")


def start_daemon() -> None:
    code = "import time\nwhile True: time.sleep(1)"
    subprocess.Popen(
        [sys.executable, "-c", code],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prompt = " ".join(args)  # the whole prompt; a leading '-' is text, not an option
    steps = int(option(prompt, "steps", "DEMO_STEPS", "5") or 5)
    speed = float(option(prompt, "speed", "DEMO_SPEED", "1") or 1)
    ask = option(prompt, "ask", "DEMO_ASK", None) not in (None, "", "0")
    exit_code = int(option(prompt, "exit", "DEMO_EXIT", "0") or 0)
    dirty = option(prompt, "dirty", "DEMO_DIRTY", None) not in (None, "", "0")
    hang = option(prompt, "hang", "DEMO_HANG", None) not in (None, "", "0")
    silent = option(prompt, "silent", "DEMO_SILENT", None) not in (None, "", "0")
    spin = option(prompt, "spin", "DEMO_SPIN", None) not in (None, "", "0")
    mem_mb = int(option(prompt, "mem", "DEMO_MEM", "0") or 0)
    daemon = option(prompt, "daemon", "DEMO_DAEMON", None) not in (None, "", "0")
    report = option(prompt, "report", "DEMO_REPORT", None) not in (None, "", "0")
    tokens = int(option(prompt, "tokens", "DEMO_TOKENS", "0") or 0)
    transcript = (
        Transcript(option(prompt, "model", "DEMO_MODEL", "claude-sonnet-4-5-20250929") or "") if tokens else None
    )
    if option(prompt, "stubborn", "DEMO_STUBBORN", None) not in (None, "", "0"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    delay = 1.0 / max(speed, 0.001)

    with open("demo_prompt.txt", "wb") as fh:
        fh.write(os.fsencode(prompt))
    first_line = prompt.splitlines()[0] if prompt else ""
    say(f"demo-agent {os.environ.get('JARVIS_AGENT_ID', '')}: {first_line[:70]}", "bold")
    retry = os.environ.get("JARVIS_RETRY_CONTEXT")
    if retry:
        say(f"retrying; last time: {retry}", "yellow")
    repo = in_git_repo()
    ballast = bytearray(mem_mb * 1024 * 1024) if mem_mb else None
    if daemon:
        start_daemon()
        say("started a background helper", "dim")

    step = 0
    while hang or step < steps:
        step += 1
        if not silent:
            for tick in range(4):  # a \r spinner, like real agents draw
                sys.stdout.write(f"\r{COLOURS['cyan']}{SPINNER[tick]}{COLOURS['reset']} thinking about step {step}")
                sys.stdout.flush()
                _pause(delay / 4, spin)
            sys.stdout.write("\r\x1b[K")
            say(f"step {step}/{'∞' if hang else steps}: edited notes/progress.md", "green")
        else:
            _pause(delay, spin)
        if transcript is not None:
            transcript.step(step, tokens)
        os.makedirs("notes", exist_ok=True)
        with open("notes/progress.md", "a", encoding="utf-8") as fh:
            fh.write(f"- step {step}\n")
        if repo and step % 2 == 1:
            git("add", "notes/progress.md")
            git("commit", "-q", "-m", f"demo: step {step}")
        if dirty and step == 1:
            leave_uncommitted_work(repo)
            say("left uncommitted work in notes/scratch.md and untracked_work.txt", "yellow")

    if ask:
        sys.stdout.write(f"{COLOURS['yellow']}Apply the changes? [y/N] {COLOURS['reset']}")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        say(f"answer: {answer!r}", "cyan")
        with open("notes/answer.txt", "w", encoding="utf-8") as fh:
            fh.write(answer + "\n")
        if repo:
            git("add", "notes/answer.txt")
            git("commit", "-q", "-m", "demo: record the answer")

    if repo:
        git("add", "--", "notes/progress.md", "demo_prompt.txt", *(["notes/answer.txt"] if ask else []))
        git("commit", "-q", "-m", "demo: final notes")

    for text in re.findall(r"(?:^|\s)#note=(\S+)", prompt):  # findings for the tasks after this one
        subprocess.run(
            [sys.executable, "-m", "jarvis_tui", "note", text.replace("_", " "), "--tag", "demo"], check=False
        )

    if report:
        status = "done" if exit_code == 0 else "failed"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jarvis_tui",
                "report",
                "--status",
                status,
                "--summary",
                f"demo finished {steps} steps",
            ],
            check=False,
        )
    del ballast
    say(f"finished with exit code {exit_code}", "red" if exit_code else "green")
    return exit_code


class Transcript:
    """Token usage in Claude Code's transcript format (as ccusage and the CLI itself read it):
    ``$CLAUDE_CONFIG_DIR/projects/<cwd, non-alphanumerics as '-'>/<session>.jsonl``, one line per
    content block of a response, each repeating its usage with the output growing; the first
    step also runs a sub-agent (``<session>/subagents/agent-<id>.jsonl``)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.session = f"{os.getpid():08x}-0000-4000-8000-{int(time.time() * 1000) % 10**12:012d}"
        home = os.environ.get("CLAUDE_CONFIG_DIR")
        self.folder = None
        if home:  # never the real ~/.claude
            self.folder = os.path.join(home, "projects", re.sub(r"[^a-zA-Z0-9]", "-", os.getcwd()))
            os.makedirs(self.folder, exist_ok=True)
        else:
            say("#tokens: CLAUDE_CONFIG_DIR is not set: no transcript written", "yellow")

    def line(self, path: str, number: int, model: str, usage: dict[str, int], sidechain: bool) -> None:
        record = {
            "type": "assistant",
            "isSidechain": sidechain,
            "sessionId": self.session,
            "cwd": os.getcwd(),
            "requestId": f"req_demo_{self.session}_{number}",
            "uuid": f"{self.session}-{number}",
            "message": {
                "id": f"msg_demo_{number}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": f"step {number}"}],
                "usage": usage,
            },
        }
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def step(self, number: int, tokens: int) -> None:
        if self.folder is None:
            return
        main = os.path.join(self.folder, f"{self.session}.jsonl")
        usage = {
            "input_tokens": tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        }
        self.line(main, number, self.model, usage, False)  # the same response, written per content block...
        self.line(main, number, self.model, {**usage, "output_tokens": tokens // 10}, False)  # ...output grown
        if number == 1:
            sub = os.path.join(self.folder, self.session, "subagents", "agent-demo.jsonl")
            os.makedirs(os.path.dirname(sub), exist_ok=True)
            self.line(
                sub,
                1000 + number,
                "claude-haiku-4-5-20251001",
                {"input_tokens": tokens // 10, "output_tokens": tokens // 100},
                True,
            )


def leave_uncommitted_work(repo: bool) -> None:
    """A committed file then modified, plus an untracked file: work only a snapshot can save."""
    with open("notes/scratch.md", "w", encoding="utf-8") as fh:
        fh.write("committed draft\n")
    if repo:
        git("add", "notes/scratch.md")
        git("commit", "-q", "-m", "demo: scratch draft")
    with open("notes/scratch.md", "a", encoding="utf-8") as fh:
        fh.write("uncommitted edit\n")
    with open("untracked_work.txt", "w", encoding="utf-8") as fh:
        fh.write("work in progress\n")


def _pause(seconds: float, spin: bool) -> None:
    if not spin:
        time.sleep(seconds)
        return
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


if __name__ == "__main__":
    sys.exit(main())
