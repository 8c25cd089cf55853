# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ready-set scheduling of the stacks' jobs: stdlib ``graphlib.TopologicalSorter`` and a bounded thread pool.

A job starts as soon as every job it waits for is done, at most ``max_parallel`` at a time, in the order of the
action among those ready. A job whose blocker failed is not started: ``cause`` names the root cause, and its own
dependents are then skipped in turn, while independent jobs carry on. Ctrl-C (SIGINT) starts nothing new and
lets the running jobs finish (Terraform runs in its own session, so the terminal's SIGINT does not reach it and
it releases its lock). https://docs.python.org/3/library/graphlib.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from graphlib import TopologicalSorter

from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError

INTERRUPTED = "SIGINT"


class Scheduler:
    """Runs ``job(name)`` for every name of ``order``, each after the ones ``blockers(name)`` names."""

    def __init__(self, max_parallel: int, on_event: Callable[[str, str, str], None]):
        self.max_parallel = max(1, int(max_parallel))
        self.on_event = on_event

    def run(
        self,
        order: Sequence[str],
        blockers: Callable[[str], Iterable[str]],
        job: Callable[[str], None],
        cause: Callable[[str], str | None],
        skip: Callable[[str, str], None],
    ) -> bool:
        """Run the jobs; returns True when SIGINT stopped the run (running jobs are let finish).

        ``cause(name)`` is checked when ``name`` is ready: a root cause (a failed blocker) skips it through
        ``skip(name, cause)``; after SIGINT every job not started is skipped with cause ``SIGINT``.
        """
        position = {name: index for index, name in enumerate(order)}
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in order:
            sorter.add(name, *(other for other in blockers(name) if other in position))
        sorter.prepare()  # a cycle raises graphlib.CycleError; a validated graph has none
        ready: list[str] = []
        running: dict[Future[None], str] = {}
        settled: set[str] = set()
        interrupted = False
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="stack") as pool:
            while sorter.is_active():
                ready = sorted({*ready, *sorter.get_ready()}, key=position.__getitem__)
                skipped = False
                for name in list(ready):
                    reason = INTERRUPTED if interrupted else cause(name)
                    if reason:
                        ready.remove(name)
                        skip(name, reason)
                        sorter.done(name)
                        settled.add(name)
                        skipped = True
                    elif len(running) < self.max_parallel:
                        ready.remove(name)
                        running[pool.submit(job, name)] = name
                if skipped:
                    continue  # what waited only for the skipped ones is ready now: skip or start it first
                if not running:
                    if sorter.is_active():  # cannot happen in a DAG that prepare() accepted; never spin
                        left = [name for name in order if name not in settled]
                        raise StackRunnerError(f"no runnable stack among {', '.join(left)}")
                    continue
                try:
                    finished = wait(list(running), return_when=FIRST_COMPLETED).done
                except KeyboardInterrupt:
                    if not interrupted:
                        self.on_event("-", "WARN", "interrupted: letting running Terraform commands finish")
                    interrupted = True
                    continue
                for future in finished:
                    name = running.pop(future)
                    sorter.done(name)
                    settled.add(name)
        return interrupted
