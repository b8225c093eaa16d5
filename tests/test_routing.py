"""Routing ``spawn --agent auto`` to the best-fit profile: the scoring rule on injected
histories (deterministic with a seed), what counts as a failure, concurrency (alone versus
alongside), and end to end with two demo profiles of different success."""

from __future__ import annotations

import json
import random
from collections import Counter

from jarvis_tui.engine import metrics
from jarvis_tui.engine.metrics import Concurrency
from jarvis_tui.engine.models import DONE, FAILED, FIRED, WORKING, Agent, FireRecord
from jarvis_tui.engine.routing import Candidate, Outcome, choose, rank


def history(
    profile: str, kind: str, wins: int, losses: int, *, seconds: float = 600.0, cost: float | None = 1.0
) -> list[Outcome]:
    return [Outcome(profile, kind, True, seconds, cost)] * wins + [Outcome(profile, kind, False, None, cost)] * losses


def pick(
    hist: list[Outcome], candidates: list[Candidate], kind: str = "test", prefer: str = "balanced", seed: int = 7
) -> str:
    best = choose(rank(hist, candidates, kind, prefer, random.Random(seed)))
    assert best is not None
    return best.profile


GOOD, BAD = Candidate("good", 1.0), Candidate("bad", 1.0)


def test_the_better_record_on_this_kind_wins():
    hist = history("good", "test", 9, 1) + history("bad", "test", 1, 9)
    picks = Counter(pick(hist, [GOOD, BAD], seed=s) for s in range(100))
    assert picks["good"] >= 95


def test_the_record_is_per_kind():
    hist = (
        history("good", "test", 9, 1)
        + history("bad", "test", 1, 9)
        + history("bad", "review", 9, 1)
        + history("good", "review", 1, 9)
    )
    assert Counter(pick(hist, [GOOD, BAD], kind="review", seed=s) for s in range(50))["bad"] >= 45


def test_prefer_cost_takes_the_cheaper_of_two_equally_good():
    hist = history("pricey", "test", 8, 2, cost=10.0) + history("cheap", "test", 8, 2, cost=1.0)
    candidates = [Candidate("pricey", 10.0), Candidate("cheap", 1.0)]
    cheap = Counter(pick(hist, candidates, prefer="cost", seed=s) for s in range(100))["cheap"]
    quality = Counter(pick(hist, candidates, prefer="quality", seed=s) for s in range(100))["cheap"]
    assert cheap >= 95 and cheap >= quality


def test_prefer_speed_takes_the_faster():
    hist = history("slow", "test", 8, 2, seconds=3600) + history("fast", "test", 8, 2, seconds=300)
    picks = Counter(
        pick(hist, [Candidate("slow", 1.0), Candidate("fast", 1.0)], prefer="speed", seed=s) for s in range(100)
    )
    assert picks["fast"] >= 95


def test_a_new_profile_gets_tried_now_and_then():
    hist = history("known", "test", 6, 4)
    picks = Counter(pick(hist, [Candidate("known", 1.0), Candidate("new", 1.0)], seed=s) for s in range(200))
    assert 10 <= picks["new"] <= 190  # explored, not always


def test_deterministic_with_a_seed_and_the_numbers_are_kept():
    hist = history("good", "test", 3, 1) + history("bad", "test", 1, 3)
    first = [s.to_json() for s in rank(hist, [GOOD, BAD], "test", "balanced", random.Random(42))]
    again = [s.to_json() for s in rank(hist, [GOOD, BAD], "test", "balanced", random.Random(42))]
    assert first == again
    assert set(first[0]) >= {
        "profile",
        "successes",
        "failures",
        "theta",
        "mean",
        "cost_per_success",
        "seconds",
        "score",
    }


def test_unavailable_profiles_are_never_picked_and_full_ones_last():
    hist = history("good", "test", 9, 1) + history("bad", "test", 1, 9)
    missing = Candidate("good", 1.0, unavailable="'good' is not installed (not on PATH)")
    assert {pick(hist, [missing, BAD], seed=s) for s in range(30)} == {"bad"}
    full = Candidate("good", 1.0, at_limit=True)
    assert {pick(hist, [full, BAD], seed=s) for s in range(30)} == {"bad"}
    assert pick(hist, [full, Candidate("bad", 1.0, at_limit=True)]) == "good"  # all full: the best (it queues)
    assert choose(rank(hist, [missing], "test", "balanced", random.Random(1))) is None


def attempt(
    status: str,
    *,
    reason: str | None = None,
    started: float | None = 0.0,
    kind: str = "test",
    profile: str = "p",
    ended: float = 100.0,
) -> Agent:
    fires = [FireRecord(reason, "", ended, None)] if reason else []
    return Agent(
        id="a",
        task_id="a",
        title="t",
        prompt="p",
        agent=profile,
        priority="medium",
        status=status,
        attempt=1,
        created_at=0.0,
        started_at=started,
        ended_at=ended,
        kind=kind,
        fires=fires,
    )


def test_what_counts_against_a_profile():
    assert metrics.failed_against(attempt(FAILED))
    assert metrics.failed_against(attempt(FIRED, reason="dumb"))
    assert metrics.failed_against(attempt(FIRED, reason="derailed"))
    assert metrics.failed_against(attempt(FIRED, reason="budget"))
    assert not metrics.failed_against(attempt(FIRED, reason="pressure"))  # the machine's fault
    assert not metrics.failed_against(attempt(FIRED, reason="dumb", started=None))  # cancelled while queued
    assert not metrics.failed_against(attempt(DONE))


def test_mean_concurrency_over_a_run():
    running = Concurrency([(0, 100), (50, 150), (50, 100), (200, 300)])
    assert running.others(0, 100) == 1.0  # alone for 50 s, with two others for 50 s
    assert running.others(200, 300) == 0.0
    assert running.others(100, 150) == 0.0


# --------------------------------------------------------------------------- end to end

TWO = """
[agents.steady]
command = ["python", "-m", "jarvis_tui.demo_agent", "{{prompt}}"]
env = {{ DEMO_SPEED = "20" }}
cost_weight = 2.0
[agents.flaky]
command = ["python", "-m", "jarvis_tui.demo_agent", "{{prompt}}"]
env = {{ DEMO_SPEED = "20", DEMO_EXIT = "3" }}
cost_weight = 1.0
[routing]
prefer = "quality"
profiles = ["steady", "flaky"]
seed = 11
"""


def test_auto_routes_to_the_profile_that_gets_this_kind_done(jarvis_env):
    jarvis_env.write_config(max_agents=10, extra=TWO.replace("{{", "{").replace("}}", "}"))
    sup = jarvis_env.sup()
    ran = [
        sup.spawn(f"Write tests {n} #steps=1", agent=profile, kind="test")
        for n in range(3)
        for profile in ("steady", "flaky")
    ]
    for agent in ran:
        jarvis_env.wait_status(sup, agent.id, DONE, FAILED)
    dry = jarvis_env.cli("spawn", "--agent", "auto", "--kind", "test", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    route = json.loads(dry.stdout)["route"]
    assert route["chosen"] == "steady" and [r["profile"] for r in route["ranking"]] == ["steady", "flaky"]
    assert route["ranking"][0]["successes"] == 3 and route["ranking"][1]["failures"] == 3
    assert sup.registry.agents(statuses={WORKING}) == []  # a dry run spawns nothing
    text = jarvis_env.cli("spawn", "--agent", "auto", "--kind", "test", "--dry-run")
    assert "▶ steady" in text.stdout and "SAMPLED" in text.stdout
    record = json.loads(
        jarvis_env.cli(
            "spawn", "--agent", "auto", "--kind", "test", "--json", "Write more tests #steps=1", check=True
        ).stdout
    )
    assert record["agent"] == "steady" and record["kind"] == "test"
    shown = json.loads(jarvis_env.cli("show", record["id"], "--json").stdout)
    [choice] = [d for d in shown["decisions"] if d["decision"] == "route"]
    assert choice["data"]["route"]["chosen"] == "steady" and choice["data"]["route"]["prefer"] == "quality"
    assert choice["note"].startswith("auto: steady for kind test")
    jarvis_env.wait_status(sup, record["id"], DONE)
    table = json.loads(jarvis_env.cli("stats", "--by", "kind", "--json").stdout)
    [test_kind] = [row for row in table if row["kind"] == "test"]
    rows = {p["profile"]: p for p in test_kind["profiles"]}
    assert (rows["steady"]["successes"], rows["steady"]["failures"]) == (4, 0)
    assert (rows["flaky"]["successes"], rows["flaky"]["failures"]) == (0, 3)
    assert test_kind["alone"]["done"] + test_kind["alongside"]["done"] == 4
    assert "what --agent auto learns from" in jarvis_env.cli("stats", "--by", "kind").stdout
