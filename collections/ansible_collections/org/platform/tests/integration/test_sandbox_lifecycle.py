# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sandbox/site.yml and sandbox/destroy.yml (the seed, the runbook, the unseed), end to end: what `make sandbox` runs.

build -> rerun changes nothing -> check mode changes nothing -> destroy refuses without confirmation
-> destroy -> every stack's state is empty.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import local_identity
from conftest import VENV_BIN

from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STACKS = ["00-network", "05-kms", "10-security", "40-bastion", "45-harbor", "50-rke2", "60-db", "70-observability"]


def recap_changed(output: str) -> int:
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, f"no clean recap in:\n{output[-3000:]}"
    return int(match.group(1))


def state_resources(bucket: str) -> dict[str, int]:
    s3 = boto3.client("s3")
    counts = {}
    for stack in STACKS:
        try:
            body = s3.get_object(Bucket=bucket, Key=f"sandbox/{stack}/terraform.tfstate")["Body"].read()
        except s3.exceptions.NoSuchKey:
            continue
        counts[stack] = len(json.loads(body).get("resources", []))
    return counts


def test_site_then_destroy(sandbox, aws, playbook, tmp_path):
    env = {"ORG_PLATFORM_SANDBOX_DIR": str(sandbox.state_dir)}
    bucket = "org-terraform-state-123456789012"

    built = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env)
    assert built.rc == 0, built.output[-4000:]
    assert recap_changed(built.stdout) > 0
    assert "SIMULATED: 05-kms, 00-network, 10-security" in built.stdout
    assert state_resources(bucket) == dict.fromkeys(STACKS, 1)

    rerun = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env)
    assert rerun.rc == 0, rerun.output[-4000:]
    assert recap_changed(rerun.stdout) == 0, "a rerun with nothing new must change nothing"

    checked = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env, check=True)
    assert checked.rc == 0, checked.output[-4000:]
    assert recap_changed(checked.stdout) == 0

    refused = playbook("sandbox/destroy.yml", inventory="inventories/sandbox", env=env)
    assert refused.rc != 0
    assert "-e confirm_destroy=sandbox" in refused.output
    wrong = playbook(
        "sandbox/destroy.yml", inventory="inventories/sandbox", env=env, extra_vars={"confirm_destroy": "dev"}
    )
    assert wrong.rc != 0
    assert state_resources(bucket) == dict.fromkeys(STACKS, 1), "a refused destroy changes nothing"

    # destroy.yml --check previews the destroy (issue 18 item 5): every stack plans -destroy and the
    # diff lists the resources that would be deleted; nothing changes.
    previewed = playbook(
        "sandbox/destroy.yml",
        inventory="inventories/sandbox",
        env=env,
        extra_vars={"confirm_destroy": "sandbox"},
        check=True,
        diff=True,
    )
    assert previewed.rc == 0, previewed.output[-4000:]
    for stack in STACKS:
        assert f"{stack} SIMULATED: planned (plan-destroy; delete=1)" in previewed.stdout, stack
    assert "- terraform_data." in previewed.stdout, "the diff lists the deletions"
    assert "Planned: load balancers" in previewed.stdout
    assert state_resources(bucket) == dict.fromkeys(STACKS, 1), "destroy --check changes nothing"

    # A lock left by a run that died (issue 18 item 8): the error names one command, which works as printed.
    lock_key = f"{bucket}/sandbox/70-observability/terraform.tfstate"
    lock_id = "0b5e6f3a-9c1d-4e2f-8a7b-6c5d4e3f2a1b"
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": local_identity(), "Path": lock_key}
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(
        TableName="terraform-state-lock", Item={"LockID": {"S": lock_key}, "Info": {"S": json.dumps(info)}}
    )
    locked = playbook(
        "sandbox/destroy.yml",
        inventory="inventories/sandbox",
        env=env,
        extra_vars={"confirm_destroy": "sandbox", "terraform_lock_timeout": "1s"},
        check=True,
    )
    assert locked.rc != 0
    assert "locked by this user and host" in locked.stdout, locked.output[-4000:]
    printed = re.search(
        r"ansible-playbook (playbooks/stacks_unlock\.yml -i inventories/sandbox [^(]*?)\s*\(", locked.stdout
    )
    assert printed, locked.stdout[-4000:]
    command = shlex.split(printed.group(1))
    assert command[-2:] == ["-e", f"terraform_unlock_id={lock_id}"]
    unlocked = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), *command],
        cwd=REPO_ROOT,
        env=os.environ
        | {"ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
        | env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert unlocked.returncode == 0, (unlocked.stdout + unlocked.stderr)[-3000:]
    assert f"released state lock {lock_id} of 70-observability" in unlocked.stdout
    assert "Info" not in dynamodb.get_item(TableName="terraform-state-lock", Key={"LockID": {"S": lock_key}}).get(
        "Item", {}
    )

    destroyed = playbook(
        "sandbox/destroy.yml", inventory="inventories/sandbox", env=env, extra_vars={"confirm_destroy": "sandbox"}
    )
    assert destroyed.rc == 0, destroyed.output[-4000:]
    assert state_resources(bucket) == dict.fromkeys(STACKS, 0)
    # Compute stacks go first (before the ENI/SG purge), then the security, network and KMS stacks.
    reports = re.findall(r'"msg": "(70-observability.*?)"', destroyed.stdout)
    assert len(reports) == 2, destroyed.stdout[-3000:]
    first = [part.split(" ")[0] for part in reports[0].split("; ")]
    assert "10-security" not in first
    assert "00-network" not in first
    last = [part.split(" ")[0] for part in reports[1].split("; ")]
    assert last.index("10-security") < last.index("00-network") < last.index("05-kms")
    # The simulated Service's classic ELB went first, then its k8s-elb SG and the rule admitting it.
    assert "Done: load balancers 1, target groups 0" in destroyed.stdout
    assert "SGs 1, rules 1" in destroyed.stdout
    assert "DependencyViolation 0" in destroyed.stdout
    # The sandbox network was cleaned and deleted under the emulator's DependencyViolation rules.
    assert boto3.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["sandbox"]}])["Vpcs"] == []


def test_unknown_environment_is_refused(playbook, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    run = playbook("site.yml", inventory=inventory)
    assert run.rc != 0
    assert "Unknown or missing environment" in run.output


def test_prod_needs_the_second_switch(playbook):
    run = playbook("destroy.yml", inventory="inventories/prod", extra_vars={"confirm_destroy": "prod"})
    assert run.rc != 0
    assert "allow_prod_destroy=true" in run.output
