"""Benchmark: ``destroy.yml`` (the runbook's teardown) of a built sandbox, this tree against an earlier commit.

    .venv/bin/python -m benchmarks.teardown [--baseline REV] [--rounds 2] [--json]

A teardown cannot be repeated on the same state, so each run gets a fresh build: one private sandbox (AWS
emulator + MariaDB, no node service, as in the plain lifecycle test); per round and tree, ``sandbox/site.yml``
with this tree, then ``destroy.yml -e confirm_destroy=sandbox`` with the tree under test (timed), then the
sandbox's unseed with this tree, so the next build starts from the same emulator state. The baseline is the
repository at ``--baseline`` as a detached ``git worktree`` (same virtualenv, same sandbox), alternating which
tree goes first. Reported: wall time of destroy.yml (median), its Terraform commands (one log file each, under
the tree's ``logs/terraform``), the ratio baseline / this tree. Every exit path stops the sandbox and removes
the worktree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from benchmarks.trees import alternating, run_playbook
from benchmarks.trees import baseline_and_sandbox as trees_of
from sandbox.services import REPO_ROOT

BASELINE = "9ee78ed"  # main before the destroy work of issue #14 items 1-2 (state list check, parallel reads)


def terraform_logs(tree: Path) -> set[Path]:
    return set((tree / "logs" / "terraform").rglob("*.log"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.teardown")
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"baseline": [], "this tree": []}
    calls: dict[str, list[int]] = {"baseline": [], "this tree": []}
    with trees_of(args.baseline, "org-platform-teardown-") as (state_dir, trees):
        for round_number in range(args.rounds):
            for label in alternating(trees, round_number):
                run_playbook(REPO_ROOT, state_dir, "sandbox/site.yml")
                before = terraform_logs(trees[label])
                elapsed, _ = run_playbook(trees[label], state_dir, "destroy.yml", "-e", "confirm_destroy=sandbox")
                calls[label].append(len(terraform_logs(trees[label]) - before))
                times[label].append(elapsed)
                run_playbook(REPO_ROOT, state_dir, "sandbox/playbooks/unseed.yml")
                print(
                    f"round {round_number + 1}: {label} {elapsed:.1f} s, {calls[label][-1]} commands", file=sys.stderr
                )
    medians = {label: statistics.median(values) for label, values in times.items()}
    report = {
        "baseline": args.baseline,
        "rounds": args.rounds,
        "median_s": {label: round(value, 1) for label, value in medians.items()},
        "runs_s": {label: [round(value, 1) for value in values] for label, values in times.items()},
        "terraform_commands": calls,
        "ratio_baseline_over_this_tree": round(medians["baseline"] / medians["this tree"], 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"destroy.yml of a built sandbox, {args.rounds} rounds (median wall time)")
    print(f"{'':<12}{'median':>9}{'runs':>20}{'Terraform commands':>22}")
    for label in ("baseline", "this tree"):
        runs = ", ".join(f"{value:.1f}" for value in times[label])
        print(f"{label:<12}{medians[label]:>8.1f}s{runs:>20}{', '.join(map(str, calls[label])):>22}")
    print(f"ratio baseline / this tree: {report['ratio_baseline_over_this_tree']:.2f}x (baseline {args.baseline})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
