"""Benchmark: what the org.platform.run_log callback costs per task result, and how big its files get.

    .venv/bin/python -m benchmarks.run_log [--tasks 600] [--rounds 3] [--json]

One generated playbook of N trivial tasks (``ansible.builtin.debug`` on localhost, connection local, one fork)
runs without the callback (the project's ansible.cfg minus ``callbacks_enabled``), at level ``tasks`` and at level
``milestones``, in the same process tree and the same run, alternating the order every round. The overhead per
result is (median wall time with the callback - median without) / results; the file size is the run log's size
per 1000 task results at level ``tasks``. The playbook also holds a secret-named variable, so the redactor has a
value to look for on every line, as in real runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.services import REPO_ROOT

VENV_BIN = Path(sys.executable).parent
VARIANTS = ("without", "tasks", "milestones")


def write_playbook(directory: Path, tasks: int) -> Path:
    lines = [
        "- name: Trivial tasks",
        "  hosts: localhost",
        "  connection: local",
        "  gather_facts: false",
        "  vars:",
        "    bench_password: bench-secret-value-1234",
        "  tasks:",
    ]
    for index in range(tasks):
        lines += [
            f"    - name: Trivial task {index}",
            "      ansible.builtin.debug:",
            f'        msg: "step {index} of {tasks}"',
        ]
    path = directory / "trivial.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def config_without_callback(directory: Path) -> Path:
    """The project's ansible.cfg without ``callbacks_enabled`` (its relative paths made absolute)."""
    path = directory / "ansible-without-run-log.cfg"
    if not path.exists():
        text = (REPO_ROOT / "ansible.cfg").read_text().replace("= ./", f"= {REPO_ROOT}/")
        kept = [line for line in text.splitlines() if not line.startswith("callbacks_enabled")]
        path.write_text("\n".join(kept) + "\n")
    return path


CHILD_CODE = """
import atexit, functools, json, os, sys, time
from ansible.plugins.callback import CallbackBase

spent = {"seconds": 0.0, "calls": 0}

def _timed(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - start
            spent["calls"] += 1
    return wrapper

def _hook(cls, **kwargs):
    if cls.__module__.endswith("run_log"):
        for name in [n for n in vars(cls) if n.startswith("v2_")]:
            setattr(cls, name, _timed(getattr(cls, name)))

CallbackBase.__init_subclass__ = classmethod(_hook)
atexit.register(lambda: open(os.environ["BENCH_CALLBACK_TIMES"], "w").write(json.dumps(spent)))
sys.argv = ["ansible-playbook", *sys.argv[1:]]
from ansible.cli.playbook import main
main()
"""


def run_once(playbook: Path, variant: str, log_dir: Path) -> dict:
    env = os.environ | {
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ORG_PLATFORM_RUN_LOG_DIR": str(log_dir),
        "ORG_PLATFORM_RUN_LOG_RETENTION": "0",
    }
    if variant == "without":
        env["ANSIBLE_CONFIG"] = str(config_without_callback(log_dir.parent))
    else:
        env["ORG_PLATFORM_RUN_LOG_LEVEL"] = variant
    times_file = log_dir.parent / f"callback-times-{variant}.json"
    env["BENCH_CALLBACK_TIMES"] = str(times_file)
    # the same interpreter and entry point for every variant; the hook only times run_log's own methods
    argv = [sys.executable, "-c", CHILD_CODE, str(playbook), "-i", "localhost,", "--forks", "1"]
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{variant}: ansible-playbook failed (rc={done.returncode}):\n{done.stdout[-2000:]}")
    spent = json.loads(times_file.read_text())
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall_s": took, "cpu_s": cpu, "callback_s": spent["seconds"], "callback_calls": spent["calls"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.tasks < 500:
        parser.error("--tasks must be at least 500")
    with tempfile.TemporaryDirectory(prefix="bench-run-log-") as tmp:
        tmp_path = Path(tmp)
        playbook = write_playbook(tmp_path, args.tasks)
        runs: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
        log_dirs = {variant: tmp_path / f"logs-{variant}" for variant in VARIANTS}
        for round_index in range(args.rounds):
            order = ("without", "tasks") if round_index % 2 == 0 else ("tasks", "without")
            for variant in order:
                runs[variant].append(run_once(playbook, variant, log_dirs[variant]))
        runs["milestones"].append(run_once(playbook, "milestones", log_dirs["milestones"]))
        if any(log_dirs["without"].glob("*.log")) or any(r["callback_calls"] for r in runs["without"]):
            raise SystemExit("the run without the callback wrote a run log: the comparison is wrong")
        task_logs = sorted(log_dirs["tasks"].glob("*.log"))
        if len(task_logs) != args.rounds:
            raise SystemExit(f"expected {args.rounds} run logs at level tasks, found {len(task_logs)}")
        task_lines = sum(" Trivial task " in line for line in task_logs[0].read_text().splitlines())
        if task_lines != args.tasks:
            raise SystemExit(f"expected {args.tasks} task lines, found {task_lines}")
        sizes = {
            "tasks": statistics.median(p.stat().st_size for p in task_logs),
            "milestones": statistics.median(p.stat().st_size for p in log_dirs["milestones"].glob("*.log")),
        }

    def med(variant: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[variant])

    figures = {
        "tasks": args.tasks,
        "rounds": args.rounds,
        "runs": runs,
        "in_callback_ms_per_result": {
            level: round(med(level, "callback_s") * 1000 / args.tasks, 3) for level in ("tasks", "milestones")
        },
        "wall_overhead_ms_per_result": round(
            (med("tasks", "wall_s") - med("without", "wall_s")) * 1000 / args.tasks, 2
        ),
        "cpu_overhead_ms_per_result": round((med("tasks", "cpu_s") - med("without", "cpu_s")) * 1000 / args.tasks, 2),
        "bytes_per_1000_results": {level: round(size * 1000 / args.tasks) for level, size in sizes.items()},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.tasks} trivial tasks; without/tasks: {args.rounds} rounds, alternating order; milestones: 1 run")
    print(
        "| variant | wall (s), median (min-max) | CPU of the run (s), median | time inside run_log per result (ms) "
        "| bytes per 1000 results |"
    )
    print("|---|---:|---:|---:|---:|")
    for variant in VARIANTS:
        walls = [run["wall_s"] for run in runs[variant]]
        inside = figures["in_callback_ms_per_result"].get(variant, "-")
        size = figures["bytes_per_1000_results"].get(variant, "-")
        print(
            f"| {variant} | {statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {med(variant, 'cpu_s'):.2f} | {inside} | {size} |"
        )
    print(
        f"wall-time difference tasks - without: {figures['wall_overhead_ms_per_result']} ms per result; "
        f"CPU difference: {figures['cpu_overhead_ms_per_result']} ms per result"
    )


if __name__ == "__main__":
    main()
