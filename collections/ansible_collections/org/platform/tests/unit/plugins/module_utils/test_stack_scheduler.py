# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner's ready-set scheduler (graphlib): order, bounded parallelism, failures stop only dependents."""

from __future__ import annotations

import threading
import time

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.scheduler import INTERRUPTED, Scheduler

# a -> b, c -> d (d needs b and c); z stands alone
DEPENDS = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}, "z": set()}
ORDER = ["a", "z", "b", "c", "d"]


class Harness:
    """Jobs that record start/end and fail on demand; ``cause`` as the runner computes it."""

    def __init__(self, fail=(), sleep_s=0.05):
        self.fail = set(fail)
        self.sleep_s = sleep_s
        self.status: dict[str, str] = {}
        self.blocked_by: dict[str, str] = {}
        self.started: list[str] = []
        self.spans: dict[str, tuple[float, float]] = {}
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def job(self, name: str) -> None:
        begin = time.monotonic()
        with self._lock:
            self.started.append(name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(self.sleep_s)
        with self._lock:
            self.running -= 1
            self.status[name] = "failed" if name in self.fail else "ok"
        self.spans[name] = (begin, time.monotonic())

    def cause(self, name: str) -> str | None:
        for other in sorted(DEPENDS[name]):
            if self.status.get(other) == "failed":
                return other
            if self.status.get(other) == "skipped":
                return self.blocked_by[other]
        return None

    def skip(self, name: str, reason: str) -> None:
        self.status[name] = "skipped"
        self.blocked_by[name] = reason

    def run(self, max_parallel: int) -> bool:
        return Scheduler(max_parallel, lambda *_: None).run(ORDER, DEPENDS.__getitem__, self.job, self.cause, self.skip)


def test_every_job_starts_only_after_its_blockers_and_independent_ones_run_in_parallel():
    harness = Harness()
    assert harness.run(max_parallel=4) is False
    assert harness.status == dict.fromkeys(ORDER, "ok")
    for name, blockers in DEPENDS.items():
        for other in blockers:
            assert harness.spans[other][1] <= harness.spans[name][0], f"{name} started before {other} ended"
    assert harness.started[:2] == ["a", "z"], "ready jobs start in the order of the action"
    assert harness.most_running >= 2, "independent jobs overlap"


@pytest.mark.parametrize("max_parallel", [1, 2])
def test_parallelism_is_bounded(max_parallel):
    harness = Harness()
    harness.run(max_parallel=max_parallel)
    assert harness.most_running == max_parallel
    assert len(harness.started) == len(ORDER)


def test_max_parallel_below_one_still_runs_one_at_a_time():
    harness = Harness()
    Scheduler(0, lambda *_: None).run(ORDER, DEPENDS.__getitem__, harness.job, harness.cause, harness.skip)
    assert harness.most_running == 1
    assert sorted(harness.started) == sorted(ORDER)


def test_a_failure_stops_only_its_dependents_naming_the_root_cause():
    harness = Harness(fail={"b"})
    harness.run(max_parallel=4)
    assert harness.status == {"a": "ok", "z": "ok", "b": "failed", "c": "ok", "d": "skipped"}
    assert harness.blocked_by == {"d": "b"}
    assert "d" not in harness.started


def test_a_root_failure_skips_the_whole_chain_with_the_root_as_cause():
    harness = Harness(fail={"a"})
    harness.run(max_parallel=2)
    assert harness.started == ["a", "z"]
    assert harness.blocked_by == {"b": "a", "c": "a", "d": "a"}


def test_sigint_starts_nothing_new_and_lets_running_jobs_finish(monkeypatch):
    from ansible_collections.org.platform.plugins.module_utils._terraform import scheduler

    real_wait = scheduler.wait
    calls = {"n": 0}

    def interrupted_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(scheduler, "wait", interrupted_once)
    harness = Harness()
    events = []
    interrupted = Scheduler(1, lambda *event: events.append(event)).run(
        ORDER, DEPENDS.__getitem__, harness.job, harness.cause, harness.skip
    )
    assert interrupted is True
    assert harness.started == ["a"], "nothing starts after SIGINT"
    assert harness.status["a"] == "ok", "the running job finished"
    assert harness.blocked_by == dict.fromkeys(["z", "b", "c", "d"], INTERRUPTED)
    assert [e[1] for e in events] == ["WARN"]
