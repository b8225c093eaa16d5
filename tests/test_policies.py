"""Supervision policies as pure decisions: a fake clock, made-up readings, seeded dice, no sleeps."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jarvis_tui.engine.admission import admit, priority_key, waits_on_itself
from jarvis_tui.engine.config import Profile, parse_config
from jarvis_tui.engine.lease import Lease, read_lease, vacancy
from jarvis_tui.engine.models import DONE, FAILED, FIRED, QUEUED, WAITING, WORKING, Agent
from jarvis_tui.engine.policies import (
    RunawayTracker,
    attempts_used,
    backoff_delay,
    check_stall,
    check_timeout,
    plan_retry,
    pressure_victim,
)
from jarvis_tui.engine.registry import Registry
from jarvis_tui.engine.resources import Smoother, SystemReading, TreeUsage

MIB = 1024 * 1024


def config(extra: str = "", *, max_agents: int = 5, resources: str = ""):
    text = f"""
[supervisor]
max_agents = {max_agents}
[resources]
{resources}
[agents.demo]
command = ["python", "{{prompt}}"]
max_concurrent = 2
{extra}
[agents.other]
command = ["python", "{{prompt}}"]
"""
    return parse_config(text, Path("/nowhere/config.toml"), check_repo=False)


def make(
    id: str = "a1",
    *,
    status: str = QUEUED,
    priority: str = "medium",
    created: float = 0.0,
    profile: str = "demo",
    attempt: int = 1,
    **fields,
) -> Agent:
    return Agent(
        id=id,
        task_id=fields.pop("task_id", id),
        title=id,
        prompt="p",
        agent=profile,
        priority=priority,
        status=status,
        attempt=attempt,
        created_at=created,
        **fields,
    )


def reading(cpu: float = 10.0, ram: float = 10.0, at: float = 0.0) -> SystemReading:
    return SystemReading(cpu=cpu, ram=ram, at=at)


# --------------------------------------------------------------------------- admission


def test_admission_capacity_reasons():
    cfg = config(max_agents=3)
    running = [make(f"r{i}", status=WORKING, profile="other") for i in range(3)]
    decision = admit(make(), cfg, running, now=0, reading=reading())
    assert (decision.admit, decision.reason) == (False, "max_agents 3 reached")
    running = [make(f"r{i}", status=WORKING) for i in range(2)]
    decision = admit(make(), cfg, running, now=0, reading=reading())
    assert decision.reason == "profile demo: max_concurrent 2"
    assert admit(make(profile="other"), cfg, running, now=0, reading=reading()).admit


def test_admission_zones_and_warning_interval():
    cfg = config(resources="warning_interval = 30")
    assert admit(make(), cfg, [], now=100, reading=reading(cpu=59, ram=69)).admit  # safe: free
    danger = admit(make(), cfg, [], now=100, reading=reading(ram=87))
    assert danger.reason == "RAM 87% >= danger 85%" and not danger.block
    assert admit(make(), cfg, [], now=100, reading=reading(cpu=85)).reason == "CPU 85% >= danger 80%"
    # warning zone: one start per warning_interval
    warn = reading(cpu=70)
    assert admit(make(), cfg, [], now=100, reading=warn, last_start_at=None).admit
    held = admit(make(), cfg, [], now=100, reading=warn, last_start_at=80)
    assert not held.admit and held.reason.startswith("warning zone (CPU 70%, RAM 10%): next start in 10s")
    assert admit(make(), cfg, [], now=111, reading=warn, last_start_at=80).admit


def test_smoothing_forgives_one_spike_but_not_a_plateau():
    cfg = config(resources="window = 10")
    smoother = Smoother(cfg.resources.window)
    for t in range(5):
        smoothed = smoother.add(reading(cpu=20, at=t))
    smoothed = smoother.add(reading(cpu=100, at=5))  # one spike
    assert smoothed.cpu == pytest.approx(200 / 6)
    assert admit(make(), cfg, [], now=5, reading=smoothed).admit
    for t in range(6, 20):
        smoothed = smoother.add(reading(cpu=100, at=t))  # sustained: the window fills with it
    assert smoothed.cpu == 100
    assert admit(make(), cfg, [], now=20, reading=smoothed).reason == "CPU 100% >= danger 80%"


def test_priority_order_then_first_come_first_served():
    queue = [
        make("l1", priority="low", created=1),
        make("m1", created=2),
        make("c1", priority="critical", created=3),
        make("h1", priority="high", created=4),
        make("m0", created=0),
        make("c0", priority="critical", created=5),
    ]
    assert [a.id for a in sorted(queue, key=priority_key)] == ["c1", "c0", "h1", "m0", "m1", "l1"]


def test_dependencies_wait_then_block():
    cfg = config()
    dependant = make("b", after_task_id="a")
    waiting = admit(dependant, cfg, [], now=0, tasks_latest={"a": make("a", status=WORKING)})
    assert (waiting.admit, waiting.block, waiting.reason) == (False, False, "waiting for task a (working)")
    assert admit(dependant, cfg, [], now=0, tasks_latest={"a": make("a", status=DONE)}).admit
    failed = admit(
        dependant, cfg, [], now=0, tasks_latest={"a": make("a", status=FAILED, status_reason="exited with code 3")}
    )
    assert failed.block and failed.reason == "dependency a failed (exited with code 3)"
    assert admit(dependant, cfg, [], now=0, tasks_latest={"a": make("a", status=FIRED)}).block


def test_backoff_reason_and_own_reasons_do_not_stop_the_queue():
    cfg = config("max_attempts = 3")
    decision = admit(make(attempt=2, not_before=120.0), cfg, [], now=100.5, reading=reading())
    assert decision.reason == "retry 2/3 in 20s (backoff)"
    assert admit(make(attempt=2, not_before=120.0), cfg, [], now=120, reading=reading()).admit
    assert decision.queue.kind == "backoff" and decision.queue.until == 120.0
    assert waits_on_itself(decision.queue)
    assert waits_on_itself(admit(make(after_task_id="a"), cfg, [], now=0, tasks_latest={}).queue)
    two = [make(f"w{i}", status=WORKING) for i in range(2)]
    assert waits_on_itself(admit(make(), cfg, two, now=0, reading=reading()).queue)  # profile limit
    full = [make(f"w{i}", status=WORKING, profile="other") for i in range(5)]
    assert admit(make(), cfg, full, now=0, reading=reading()).queue.kind == "capacity"
    assert not waits_on_itself(admit(make(), cfg, full, now=0, reading=reading()).queue)
    assert not waits_on_itself(admit(make(), cfg, [], now=0, reading=reading(ram=87)).queue)


# --------------------------------------------------------------------------- retries


def test_backoff_is_exponential_jittered_and_capped():
    assert [backoff_delay(n, 10, 600, rand=lambda: 0.5) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_delay(1, 10, 600, rand=lambda: 0.0) == pytest.approx(8.0)  # -20%
    assert backoff_delay(1, 10, 600, rand=lambda: 1.0) == pytest.approx(12.0)  # +20%
    assert backoff_delay(7, 10, 600, rand=lambda: 1.0) == 600  # capped, jitter included
    assert backoff_delay(5000, 10, 600, rand=lambda: 0.5) == 600  # no overflow
    assert backoff_delay(3, 10, 0, rand=lambda: 0.5) == 40  # cap 0: uncapped
    assert backoff_delay(3, 0, 600) == 0.0
    seeded = random.Random(42)
    first = [backoff_delay(n, 10, 600, rand=seeded.random) for n in (1, 2, 3)]
    seeded = random.Random(42)
    assert first == [backoff_delay(n, 10, 600, rand=seeded.random) for n in (1, 2, 3)]
    assert all(8 <= d <= 12 for d in first[:1]) and 16 <= first[1] <= 24 and 32 <= first[2] <= 48


def attempt(n: int, status: str, runtime: float | None, **fields) -> Agent:
    started = None if runtime is None else 1000.0 * n
    ended = None if runtime is None else started + runtime
    return make(f"t{n}", status=status, attempt=n, task_id="t", started_at=started, ended_at=ended, **fields)


def test_crash_loop_guard_counts_quick_deaths_double():
    assert attempts_used([attempt(1, FAILED, 100)], min_uptime=10) == 1
    assert attempts_used([attempt(1, FAILED, 2)], min_uptime=10) == 2
    assert attempts_used([attempt(1, FAILED, None)], min_uptime=10) == 2  # never even started
    assert attempts_used([attempt(1, FAILED, 2)], min_uptime=0) == 1  # guard off
    assert attempts_used([attempt(1, FIRED, 2)], min_uptime=10) == 1  # only failures count double


def test_plan_retry_follows_max_attempts_and_backoff():
    profile = Profile(name="demo", command=("x",), max_attempts=3, backoff=10, backoff_max=600, min_uptime=10)
    plan = plan_retry([attempt(1, FAILED, 100)], profile, rand=lambda: 0.5)
    assert plan.retry and (plan.next_attempt, plan.used, plan.max_attempts, plan.delay) == (2, 1, 3, 10)
    assert plan.note == "retry 2/3 in 10s (backoff)"
    plan = plan_retry([attempt(1, FAILED, 100), attempt(2, FAILED, 100)], profile, rand=lambda: 0.5)
    assert plan.retry and plan.next_attempt == 3 and plan.delay == 20
    plan = plan_retry([attempt(1, FAILED, 100), attempt(2, FAILED, 100), attempt(3, FAILED, 100)], profile)
    assert not plan.retry and plan.note == "no retry: 3 of max_attempts 3 used"
    # crash loop: two quick deaths use up four "attempts"
    plan = plan_retry([attempt(1, FAILED, 1)], profile, rand=lambda: 0.5)
    assert plan.retry and plan.used == 2 and plan.crash_loop and "crash loop" in plan.note
    plan = plan_retry([attempt(1, FAILED, 1), attempt(2, FAILED, 1)], profile)
    assert not plan.retry and plan.used == 4
    # fired, done or running: never retried automatically
    assert plan_retry([attempt(1, FIRED, 100)], profile) is None
    assert plan_retry([attempt(1, DONE, 100)], profile) is None
    assert plan_retry([attempt(1, FAILED, 100), attempt(2, WORKING, 5)], profile) is None
    # the default (max_attempts 1) never retries; a per-task override wins
    default = Profile(name="demo", command=("x",))
    assert not plan_retry([attempt(1, FAILED, 100)], default).retry
    assert plan_retry([attempt(1, FAILED, 100, max_attempts=2)], default).retry


# --------------------------------------------------------------------------- watch


def test_timeout():
    profile = Profile(name="demo", command=("x",), max_runtime=60)
    agent = make(status=WORKING, started_at=1000.0)
    assert check_timeout(agent, profile, 1060) is None
    verdict = check_timeout(agent, profile, 1061)
    assert verdict.fire == "timeout" and verdict.note == "ran 61s > max_runtime 60s"
    assert verdict.data["runtime"] == 61 and verdict.data["max_runtime"] == 60
    assert check_timeout(make(status=WAITING, started_at=1000.0), profile, 2000).fire == "timeout"
    assert check_timeout(agent, Profile(name="demo", command=("x",)), 99999) is None  # 0: off


def test_stall_flag_fire_and_recovery():
    profile = Profile(name="demo", command=("x",), stall_timeout=30)
    agent = make(status=WORKING, started_at=1000.0, last_output_at=1010.0, heartbeat_at=1020.0)
    assert check_stall(agent, profile, 1049) is None  # heartbeat counts as a sign of life
    verdict = check_stall(agent, profile, 1050)
    assert verdict.kind == "stalled" and verdict.fire is None and verdict.data["silent"] == 30
    flagged = make(
        status=WORKING, started_at=1000.0, last_output_at=1010.0, stalled=True, status_reason="stalled: silent 30s"
    )
    assert check_stall(flagged, profile, 1100) is None  # flagged once, not every tick
    assert (
        check_stall(
            make(
                status=WORKING,
                started_at=1000.0,
                last_output_at=1095.0,
                stalled=True,
                status_reason="stalled: silent 30s",
            ),
            profile,
            1100,
        ).kind
        == "unstalled"
    )
    # waiting for input is not a stall; waiting merely because of silence is
    asking = make(status=WAITING, started_at=1000.0, waiting_kind="question", status_reason="asks: Apply? [y/N]")
    assert check_stall(asking, profile, 5000) is None
    silent = make(status=WAITING, started_at=1000.0, waiting_kind="silence", status_reason="silent for 200s")
    assert check_stall(silent, profile, 5000).kind == "stalled"
    firing = Profile(name="demo", command=("x",), stall_timeout=30, fire_stalled=True)
    assert check_stall(agent, firing, 1050).fire == "unresponsive"
    assert check_stall(flagged, firing, 1100).fire == "unresponsive"


def test_runaway_needs_the_limit_sustained_for_the_grace():
    profile = Profile(name="demo", command=("x",), max_rss_mb=500, max_cpu_percent=150, runaway_grace=30)
    tracker = RunawayTracker()
    agent = make(status=WORKING)
    hot = TreeUsage(cpu=190, rss=100 * MIB, procs=3)
    assert tracker.update(agent, profile, hot, 1000) is None
    assert tracker.update(agent, profile, hot, 1029) is None
    assert tracker.update(agent, profile, TreeUsage(cpu=20, rss=100 * MIB, procs=3), 1030) is None  # reset
    assert tracker.update(agent, profile, hot, 1031) is None
    assert tracker.update(agent, profile, None, 1040) is None  # no reading: state kept
    verdict = tracker.update(agent, profile, hot, 1061)
    assert verdict.fire == "runaway"
    assert verdict.note == "CPU 190% > max_cpu_percent 150 for 30s (runaway_grace 30s)"
    assert verdict.data["cpu"] == 190 and verdict.data["over_for"] == 30
    big = tracker.update(make("b2", status=WORKING), profile, TreeUsage(cpu=0, rss=600 * MIB, procs=1), 0)
    assert big is None and tracker.over_since == {"a1": 1031, "b2": 0}
    tracker.forget(["b2"])
    assert tracker.over_since == {"b2": 0}
    assert tracker.update(agent, Profile(name="demo", command=("x",)), hot, 99999) is None  # off


def test_pressure_picks_lowest_priority_most_recent_one_at_a_time():
    agents = [
        make("crit", status=WORKING, priority="critical", started_at=50.0),
        make("low-old", status=WORKING, priority="low", started_at=10.0),
        make("low-new", status=WORKING, priority="low", started_at=20.0),
        make("med", status=WAITING, priority="medium", started_at=30.0),
        make("queued-low", status=QUEUED, priority="low"),
    ]
    high = reading(ram=95)
    victim, verdict = pressure_victim(agents, high, 90, now=100, last_fire_at=None, cooldown=10)
    assert victim.id == "low-new" and verdict.fire == "pressure" and verdict.data["ram"] == 95
    assert pressure_victim(agents, high, 90, now=105, last_fire_at=100, cooldown=10) is None  # one at a time
    assert pressure_victim(agents, high, 90, now=110, last_fire_at=100, cooldown=10) is not None
    assert pressure_victim(agents, reading(ram=89), 90, now=100, last_fire_at=None, cooldown=10) is None
    assert pressure_victim(agents, high, 0, now=100, last_fire_at=None, cooldown=10) is None  # off
    rest = [a for a in agents if a.id not in ("low-new", "low-old")]
    assert pressure_victim(rest, high, 90, now=100, last_fire_at=None, cooldown=10)[0].id == "med"


# --------------------------------------------------------------------------- lease


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_lease_acquire_renew_and_takeover(tmp_path):
    registry = Registry(tmp_path / "registry.db")
    clock = FakeClock()
    alive = {111: True, 222: True}
    check = lambda pid, started: alive[pid]  # noqa: E731
    first = Lease(registry, "one", ttl=30, clock=clock, pid=111, host="box", alive=check)
    second = Lease(registry, "two", ttl=30, clock=clock, pid=222, host="box", alive=check)

    assert first.acquire() and not second.acquire()
    clock.now += 20
    assert first.acquire()  # renew
    info = read_lease(registry)
    assert (info.owner, info.acquired_at, info.renewed_at) == ("one", 1000.0, 1020.0)
    clock.now += 29
    assert not second.acquire()  # still within ttl, holder alive

    alive[111] = False  # the holder was killed: taken over at once, no need to wait for the ttl
    assert second.acquire() and read_lease(registry).owner == "two"
    event = [e for e in registry.events() if e["kind"] == "lease"][-1]
    assert event["data"]["decision"] == "taken_over" and event["data"]["why"] == "holder pid 111 is dead"
    assert event["data"]["previous"]["owner"] == "one"
    assert not first.acquire()

    # a hung (or other-host) holder loses the lease once it stops renewing for ttl seconds
    other_host = Lease(registry, "three", ttl=30, clock=clock, pid=333, host="elsewhere", alive=check)
    assert not other_host.acquire()
    clock.now += 31
    assert vacancy(read_lease(registry), clock.now, host="elsewhere").startswith("expired")
    assert other_host.acquire()
    other_host.release()
    assert read_lease(registry) is None
    assert second.acquire()  # free again
    registry.close()


def test_which_agents_need_a_headless_engine():
    from types import SimpleNamespace

    from jarvis_tui.engine.headless import needs_engine

    plain = SimpleNamespace(config=config())
    assert needs_engine(plain, make(status=QUEUED))  # someone must start it later
    assert not needs_engine(plain, make(status=WORKING))  # nothing to enforce while it runs
    assert not needs_engine(plain, make(status=DONE))
    assert needs_engine(plain, make(status=DONE, reported_status=DONE))  # what still runs must be stopped
    assert not needs_engine(plain, make(status=DONE, reported_status=DONE, removed=True))
    assert needs_engine(plain, make(status=WORKING, max_attempts=2))  # a failure must be retried
    for key in (
        "max_runtime = 60",
        "stall_timeout = 60",
        "max_rss_mb = 500",
        "max_cpu_percent = 150",
        "max_attempts = 3",
    ):
        assert needs_engine(SimpleNamespace(config=config(key)), make(status=WORKING)), key
    assert needs_engine(SimpleNamespace(config=config(resources="emergency_ram = 95")), make(status=WAITING))
