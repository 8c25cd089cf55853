# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the plan gate (policy/*.rego through regopy, in-process) on a 200-resource plan.

    .venv/bin/python -m benchmarks.plan_gate [--resources 200] [--repeat 20] [--json] [--no-checkov]

The plan is generated here in Terraform's plan JSON format (format_version 1.2), shaped like our stacks:
instances with encrypted root volumes, security groups with identity-referencing ingress rules and a
public load balancer's 443 rule, buckets with their public access blocks and encryption, RDS, KMS keys,
NAT gateways, interface endpoints; one in ten resources breaks a policy, so the deny rules do real work.

Measured in the same run:

- **gate, interpreter reused**: ``PlanGate(policy)`` built once, then ``evaluate(plan)`` ``--repeat``
  times (masking + Rego query + waivers + cost): what a runner pays per stack plan.
- **gate, interpreter per call**: ``PlanGate(policy).evaluate(plan)`` each time (loads and compiles the
  policies, waivers and price table again).
- **baseline**: checkov on the same plan file, ``.venv-checkov/bin/checkov -f plan.json --framework
  terraform_plan`` (its built-in AWS checks; one run, wall time of the process).

Goal (issue 13): <= 50 ms for the policy evaluation of a 200-resource plan, in-process.
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
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "collections"))

from ansible_collections.org.platform.plugins.module_utils.plan_gate import PlanGate  # noqa: E402

POLICY_DIR = REPO_ROOT / "policy"
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
GOAL_MS = 50.0
TAGS = {
    "Environment": "dev",
    "Service": "platform",
    "Team": "platform",
    "Owner": "platform-team@example.com",
    "CostCenter": "platform-dev",
    "ManagedBy": "terraform",
}


def _change(address: str, resource_type: str, after: dict[str, Any], name: str) -> dict[str, Any]:
    tags = {**TAGS, "Name": name, **after.pop("extra_tags", {})}
    values = {**after, "tags": tags, "tags_all": dict(tags)}
    return {
        "address": address,
        "mode": "managed",
        "type": resource_type,
        "name": address.rsplit(".", 1)[-1].split("[", maxsplit=1)[0],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": ["create"],
            "before": None,
            "after": values,
            "after_unknown": {"id": True, "arn": True, "tags_all": False},
            "before_sensitive": False,
            "after_sensitive": {"tags": {}, "tags_all": {}},
        },
    }


def generate_plan(resources: int) -> dict[str, Any]:
    """A plan with ``resources`` resource changes cycling through our stacks' resource kinds."""
    kinds = [
        (
            "aws_instance",
            lambda i: {
                "instance_type": "t3.large",
                "root_block_device": [{"encrypted": i % 10 != 0, "volume_size": 50, "volume_type": "gp3"}],
            },
        ),
        ("aws_security_group", lambda i: {"name": f"dev-platform-sg{i}", "vpc_id": "vpc-1"}),
        (
            "aws_vpc_security_group_ingress_rule",
            lambda i: (
                {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "referenced_security_group_id": "sg-1"}
                if i % 10
                else {"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0"}
            ),
        ),
        (
            "aws_vpc_security_group_ingress_rule",
            lambda i: {
                "ip_protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_ipv4": "0.0.0.0/0",
                "extra_tags": {"Exposure": "public-lb"},
            },
        ),
        ("aws_s3_bucket", lambda i: {"bucket": f"dev-platform-bucket{i}"}),
        (
            "aws_s3_bucket_public_access_block",
            lambda i: {
                "block_public_acls": True,
                "block_public_policy": True,
                "ignore_public_acls": True,
                "restrict_public_buckets": i % 10 != 0,
            },
        ),
        ("aws_s3_bucket_server_side_encryption_configuration", lambda i: {"rule": [{}]}),
        (
            "aws_db_instance",
            lambda i: {
                "identifier": f"dev-platform-db{i}",
                "instance_class": "db.t3.medium",
                "allocated_storage": 20,
                "storage_type": "gp3",
                "storage_encrypted": True,
                "publicly_accessible": i % 10 == 0,
            },
        ),
        ("aws_kms_key", lambda i: {"enable_key_rotation": True}),
        ("aws_nat_gateway", lambda i: {"connectivity_type": "public"}),
        ("aws_vpc_endpoint", lambda i: {"vpc_endpoint_type": "Interface", "subnet_ids": ["subnet-a", "subnet-b"]}),
        ("aws_lb", lambda i: {"name": f"dev-platform-lb{i}", "internal": False, "load_balancer_type": "application"}),
    ]
    changes = []
    for i in range(resources):
        resource_type, make = kinds[i % len(kinds)]
        address = f'module.m{i // 50}.{resource_type}.r["{i}"]'
        changes.append(_change(address, resource_type, make(i), f"dev-platform-r{i}"))
    return {
        "format_version": "1.2",
        "terraform_version": "1.15.5",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": change["address"],
                        "mode": "managed",
                        "type": change["type"],
                        "name": change["name"],
                        "provider_name": change["provider_name"],
                        "schema_version": 0,
                        "values": change["change"]["after"],
                        "sensitive_values": {},
                    }
                    for change in changes
                ]
            }
        },
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "expressions": {"region": {"constant_value": "us-east-1"}}}}
        },
        "applyable": True,
        "complete": True,
        "errored": False,
    }


def _time_ms(function: Any, repeat: int) -> tuple[list[float], list[float], Any]:
    """Wall and CPU (process) milliseconds of each call: CPU time is the steadier figure on a shared machine."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu, result


def checkov_seconds(plan: dict[str, Any]) -> tuple[float | None, str]:
    if not CHECKOV.exists():
        return None, f"{CHECKOV} not found"
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "plan.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(plan))
        start = time.perf_counter()
        completed = subprocess.run(
            [str(CHECKOV), "-f", str(path), "--framework", "terraform_plan", "-o", "json", "--quiet"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
        seconds = time.perf_counter() - start
    try:
        report = json.loads(completed.stdout)
        reports = report if isinstance(report, list) else [report]
        failed = sum(item.get("summary", {}).get("failed", 0) for item in reports)
        passed = sum(item.get("summary", {}).get("passed", 0) for item in reports)
        detail = f"exit {completed.returncode}, {failed} failed / {passed} passed checks"
    except json.JSONDecodeError:
        detail = f"exit {completed.returncode}, output not JSON: {completed.stderr.strip()[-200:]}"
    return seconds, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--no-checkov", action="store_true", help="skip the checkov baseline")
    args = parser.parse_args()

    plan = generate_plan(args.resources)
    build_wall, build_cpu, gate = _time_ms(lambda: PlanGate(POLICY_DIR), args.repeat)
    gate.evaluate(plan)  # warm-up
    reused_wall, reused_cpu, result = _time_ms(
        lambda: gate.evaluate(plan, stack="bench", environment="dev"), args.repeat
    )
    per_call_wall, per_call_cpu, _ = _time_ms(
        lambda: PlanGate(POLICY_DIR).evaluate(plan, stack="bench", environment="dev"), args.repeat
    )
    checkov, checkov_detail = (None, "skipped (--no-checkov)") if args.no_checkov else checkov_seconds(plan)

    median = statistics.median
    figures = {
        "resources": args.resources,
        "repeat": args.repeat,
        "denies": len(result.denies),
        "warns": len(result.warns),
        "load_average_1min": os.getloadavg()[0],
        "build_ms": {"wall": median(build_wall), "cpu": median(build_cpu)},
        "reused_ms": {"wall": median(reused_wall), "cpu": median(reused_cpu), "wall_min": min(reused_wall)},
        "per_call_ms": {"wall": median(per_call_wall), "cpu": median(per_call_cpu), "wall_min": min(per_call_wall)},
        "checkov_s": checkov,
        "checkov_detail": checkov_detail,
        "goal_ms": GOAL_MS,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"plan gate on a {args.resources}-resource plan ({len(result.denies)} denies, {len(result.warns)} warnings), median of {args.repeat}, load average {figures['load_average_1min']:.1f}")  # fmt: skip
    print(f"{'method':46} {'wall':>10} {'cpu':>10} {'wall min':>10}")
    for label, key in (("gate, interpreter built once (per plan)", "reused_ms"), ("gate, interpreter built per call", "per_call_ms")):  # fmt: skip
        row = figures[key]
        print(f"{label:46} {row['wall']:>8.1f}ms {row['cpu']:>8.1f}ms {row['wall_min']:>8.1f}ms")
    print(
        f"{'  building PlanGate alone':46} {figures['build_ms']['wall']:>8.1f}ms {figures['build_ms']['cpu']:>8.1f}ms"
    )
    if checkov is not None:
        print(f"{'baseline: checkov --framework terraform_plan':46} {checkov * 1000:>8.0f}ms   ({checkov_detail})")
        print(f"checkov / gate (reused, wall): {checkov * 1000 / figures['reused_ms']['wall']:.1f}x")
    else:
        print(f"baseline: checkov {checkov_detail}")
    met = figures["reused_ms"]["wall"] <= GOAL_MS
    print(f"goal <= {GOAL_MS:.0f} ms per plan (interpreter reused, wall): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
