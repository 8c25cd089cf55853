"""Benchmark: ``sandbox/site.yml`` with nothing to do, this tree against an earlier commit, in one run.

    .venv/bin/python -m benchmarks.converge [--baseline REV] [--rounds 3] [--json]

Users run site.yml far more often to confirm "nothing to do" than to change something (issue #14). The
baseline is the same repository at ``--baseline`` (default: the commit before the no-change converge work),
checked out as a detached ``git worktree`` in a temporary directory and run with the same virtualenv, the
same ansible.cfg settings and the same sandbox, so both trees converge the very same emulator state.

One private sandbox (AWS emulator + MariaDB, no node service: the node plays skip, as in the plain lifecycle
test), built once with this tree; then per round a no-change rerun of each tree, alternating which goes
first. Every rerun must report ``changed=0`` (else the benchmark stops with an error). Wall time per run
(median of the rounds) and the ratio baseline / this tree; ``profile_tasks`` gives each tree's slowest tasks
and the number of tasks that took over 0.5 s (each is, in practice, a module start-up). destroy.yml is not
timed here: a destroy cannot be repeated on the same state (benchmarks/stack_runner.py times the stacks'
destroy). Every exit path stops the sandbox and removes the worktree.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

from benchmarks.trees import alternating, run_playbook
from benchmarks.trees import baseline_and_sandbox as trees_of
from sandbox.services import REPO_ROOT

BASELINE = "689eb8f"  # main before the no-change converge work (state_backend_info, controller-side checks)
TASK_RE = re.compile(r"^(?P<name>.+?) -+ (?P<seconds>[0-9.]+)s$", re.M)
RECAP_RE = re.compile(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0")


def run_site(tree: Path, state_dir: Path) -> tuple[float, str]:
    profiled = {
        "ANSIBLE_CALLBACKS_ENABLED": "org.platform.run_log,ansible.posix.profile_tasks",
        "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    return run_playbook(tree, state_dir, "sandbox/site.yml", env=profiled)


def changed(output: str) -> int:
    match = RECAP_RE.search(output)
    if not match:
        raise SystemExit(f"no clean recap in:\n{output[-3000:]}")
    return int(match.group(1))


def tasks(output: str) -> list[tuple[str, float]]:
    return [(m["name"].strip(), float(m["seconds"])) for m in TASK_RE.finditer(output)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.converge")
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with trees_of(args.baseline, "org-platform-converge-") as (state_dir, trees):
        built, output = run_site(REPO_ROOT, state_dir)
        if changed(output) == 0:
            raise SystemExit("the first build changed nothing: the sandbox was not fresh")
        print(f"built the sandbox with this tree in {built:.1f} s", file=sys.stderr)
        times: dict[str, list[float]] = {"baseline": [], "this tree": []}
        profiles: dict[str, list[tuple[str, float]]] = {}
        for round_number in range(args.rounds):
            for label in alternating(trees, round_number):
                elapsed, output = run_site(trees[label], state_dir)
                if changed(output) != 0:
                    raise SystemExit(f"{label}: a rerun changed something:\n{output[-3000:]}")
                times[label].append(elapsed)
                profiles[label] = tasks(output)
                print(f"round {round_number + 1}: {label} {elapsed:.1f} s", file=sys.stderr)
    medians = {label: statistics.median(values) for label, values in times.items()}
    report = {
        "baseline": args.baseline,
        "rounds": args.rounds,
        "median_s": {label: round(value, 1) for label, value in medians.items()},
        "runs_s": {label: [round(value, 1) for value in values] for label, values in times.items()},
        "ratio_baseline_over_this_tree": round(medians["baseline"] / medians["this tree"], 2),
        "tasks": {label: len(profile) for label, profile in profiles.items()},
        "tasks_over_half_a_second": {label: sum(1 for _, s in p if s > 0.5) for label, p in profiles.items()},
        "slowest": {label: sorted(p, key=lambda item: -item[1])[:10] for label, p in profiles.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"sandbox/site.yml with nothing to do, {args.rounds} rounds (median wall time; profile of the last round)")
    print(f"{'':<12}{'median':>9}{'runs':>24}{'tasks':>7}{'> 0.5 s':>9}")
    for label in ("baseline", "this tree"):
        runs = ", ".join(f"{value:.1f}" for value in times[label])
        print(
            f"{label:<12}{medians[label]:>8.1f}s{runs:>24}{report['tasks'][label]:>7}"
            f"{report['tasks_over_half_a_second'][label]:>9}"
        )
    print(f"ratio baseline / this tree: {report['ratio_baseline_over_this_tree']:.2f}x (baseline {args.baseline})")
    for label in ("baseline", "this tree"):
        print(f"\nslowest tasks, {label}:")
        for name, seconds in report["slowest"][label]:
            print(f"  {seconds:6.2f} s  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
