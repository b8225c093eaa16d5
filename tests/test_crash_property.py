"""The randomized crash test (issue 8), bounded for CI: a Hypothesis state machine whose
rules are jarvis operations and faults on a real system (tests/crashlab.py), with the
invariants checked after every step. The long form: ``python tests/crash_stress.py``."""

from __future__ import annotations

import os

from crashlab import Lab
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

STEPS = int(os.environ.get("JARVIS_CRASH_STEPS", "24"))


class CrashMachine(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 2**16))
    def start(self, seed: int) -> None:
        self.lab = Lab(seed)
        self.lab.spawn()

    @rule(op=st.sampled_from(sorted(Lab.OPERATIONS)))
    def operate(self, op: str) -> None:
        getattr(self.lab, op)()
        self.lab.stats.operations += 1

    @invariant()
    def consistent(self) -> None:
        if hasattr(self, "lab"):
            problems = self.lab.check()
            assert not problems, "\n".join(problems)

    def teardown(self) -> None:
        if hasattr(self, "lab"):
            self.lab.close()


CrashMachine.TestCase.settings = settings(
    max_examples=2,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
test_no_lost_work_no_stuck_agent = CrashMachine.TestCase
