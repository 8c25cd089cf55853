# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sandbox/site.yml and sandbox/destroy.yml (the seed, the runbook, the unseed), end to end: what `make sandbox` runs.

build (at -vvv) -> rerun changes nothing -> check mode changes nothing -> drift.yml all clean, then one stack
pending (fails), state untouched -> destroy refuses without confirmation -> destroy -> every stack's state is empty.

Issue 16: the AWX job templates run on the same lifecycle, as AWX's execution nodes run them (sandbox/awx_job.py:
ansible-runner, AWX's inventory script, injected credentials, the survey; no AWX server runs here, SIMULATED).
The `site` job after the build changes nothing, the `drift` job is the clean drift run, the `destroy` job with a
wrong survey answer is refused (one that does not fit the survey is not even started), and the last teardown is
the `destroy` job with the right answer.

Issue 9 item 10 rides on the same lifecycle: while the build and the destroy run, a thread samples every
process's /proc/<pid>/cmdline every few milliseconds. The test fails if the dummy AWS secret key, the MariaDB
admin password or any service password appears on a sampled command line or in the runs' output, and also if
the sampler saw no Ansible module process at all (a sampler that sees nothing proves nothing). Only this test's
own processes (descendants of the pytest process: the playbooks, their modules, the sandbox services) are
looked at, so other work on the machine cannot make it fail.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import threading
import time
from pathlib import Path

import boto3
import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import local_identity

from sandbox import awx_job
from sandbox.pytest_plugin import VENV_BIN
from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=380)]

DUMMY_SECRET_KEY = "emulator-dummy-secret-access-key-0000"  # the sandbox's published dummy key
SERVICES = ("fileflow", "authhub", "crawler")  # inventories/sandbox/group_vars/all/shared_rds.yml
STACKS = ["00-network", "05-kms", "10-security", "40-bastion", "45-harbor", "50-rke2", "60-db", "70-observability"]


class CommandLineSampler:
    """Collects every distinct command line of every descendant process until stopped.

    Each process's parent is read once, when its pid first appears (a pid that vanishes is forgotten, so a
    reused pid is read again); after that a sample reads only the descendants' command lines, which change
    on exec. A full /proc scan per sample cost about 9 ms of CPU, two thirds of a core at this interval.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.command_lines: set[str] = set()
        self.samples = 0
        self._parents: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _descendants(self, root: int) -> list[int]:
        pids = {int(entry) for entry in os.listdir("/proc") if entry.isdigit()}
        for gone in self._parents.keys() - pids:
            del self._parents[gone]
        for pid in pids - self._parents.keys():
            try:
                stat = Path("/proc", str(pid), "stat").read_text()
            except OSError:  # the process ended meanwhile
                continue
            # pid (comm) state ppid ...; comm may contain spaces and parentheses
            self._parents[pid] = int(stat[stat.rindex(")") + 2 :].split()[1])
        found = []
        for pid in self._parents:
            ancestor, hops = pid, 0
            while ancestor not in (root, 0, 1) and hops < 64:
                ancestor, hops = self._parents.get(ancestor, 0), hops + 1
            if ancestor == root and pid != root:
                found.append(pid)
        return found

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            for pid in self._descendants(root):
                try:
                    raw = Path("/proc", str(pid), "cmdline").read_bytes()
                except OSError:
                    continue
                if raw:
                    self.command_lines.add(raw.replace(b"\0", b" ").decode(errors="replace"))
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self) -> CommandLineSampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


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


def state_serials(bucket: str) -> dict[str, tuple[int, str]]:
    s3 = boto3.client("s3")
    found = {}
    for stack in STACKS:
        state = json.loads(s3.get_object(Bucket=bucket, Key=f"sandbox/{stack}/terraform.tfstate")["Body"].read())
        found[stack] = (state["serial"], state["lineage"])
    return found


def drift_statuses(output: str) -> dict[str, str]:
    return dict(re.findall(r"(\d\d-[a-z0-9]+) SIMULATED: (\w+) \(drift;", output))


# The sandbox's credentials as AWX would hold them (awx/controller.yml's aws-<env> and platform-<env>).
AWX_CREDENTIALS = {
    "aws-sandbox": {"username": "emulator-dummy-access-key", "password": DUMMY_SECRET_KEY},
    "platform-sandbox": {"platform_account_id": "123456789012"},
}


def test_site_then_destroy(sandbox, aws, playbook, tmp_path):
    env = {"ORG_PLATFORM_SANDBOX_DIR": str(sandbox.state_dir)}
    bucket = "org-terraform-state-123456789012"

    def job(name, private, **answers):
        return awx_job.run_job(
            name, "sandbox", tmp_path / private, credentials=AWX_CREDENTIALS, answers=answers, environment=env
        )

    sampler = CommandLineSampler()
    with sampler:
        built = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env | {"ANSIBLE_VERBOSITY": "3"})
    assert built.rc == 0, built.output[-4000:]
    assert recap_changed(built.stdout) > 0
    secrets = boto3.client("secretsmanager")
    passwords = {
        json.loads(secrets.get_secret_value(SecretId=f"/sandbox/{service}/db-credentials")["SecretString"])["password"]
        for service in SERVICES
    }
    assert "SIMULATED: 05-kms, 00-network, 10-security" in built.stdout
    assert state_resources(bucket) == dict.fromkeys(STACKS, 1)

    rerun = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env)
    assert rerun.rc == 0, rerun.output[-4000:]
    assert recap_changed(rerun.stdout) == 0, "a rerun with nothing new must change nothing"

    site_job = job("site", "job-site")
    assert site_job.rc == 0, site_job.stdout[-4000:]
    assert site_job.changed == 0, "the AWX site job after a build must change nothing"
    assert "PLAY [Preflight]" in site_job.stdout
    assert not (tmp_path / "job-site").exists(), "the job's private data directory (its credentials) was left"

    checked = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env, check=True)
    assert checked.rc == 0, checked.output[-4000:]
    assert recap_changed(checked.stdout) == 0

    # Drift (playbooks/drift.yml): all clean after the apply; one stack's inputs changed -> exactly that stack
    # pending and the play fails; neither run writes any state.
    serials = state_serials(bucket)
    clean = job("drift", "job-drift")
    assert clean.rc == 0, clean.output[-4000:]
    assert drift_statuses(clean.stdout) == dict.fromkeys(STACKS, "clean"), clean.stdout[-4000:]
    stack_vars = yaml.safe_load((REPO_ROOT / "inventories/sandbox/group_vars/all/stacks.yml").read_text())
    stack_vars["terraform_stack_vars"]["50-rke2"]["agent_count"] += 1
    pending = playbook("playbooks/drift.yml", inventory="inventories/sandbox", env=env, extra_vars=stack_vars)
    assert pending.rc != 0
    assert drift_statuses(pending.stdout) == dict.fromkeys(STACKS, "clean") | {"50-rke2": "pending"}
    assert "drift found: 50-rke2: pending; report " in pending.stdout
    assert state_serials(bucket) == serials, "a drift run writes no state"

    refused = playbook("sandbox/destroy.yml", inventory="inventories/sandbox", env=env)
    assert refused.rc != 0
    assert "-e confirm_destroy=sandbox" in refused.output
    with pytest.raises(awx_job.SurveyRefused, match="'confirm_destroy' value 's' is too short"):
        job("destroy", "job-short", confirm_destroy="s")
    with pytest.raises(awx_job.SurveyRefused, match="Type the environment name to confirm the teardown' value missing"):
        job("destroy", "job-none")
    wrong = job("destroy", "job-wrong", confirm_destroy="dev")
    assert wrong.rc != 0
    assert "type sandbox in the destroy template's survey) to confirm; nothing was changed" in wrong.output, (
        wrong.output[-3000:]
    )
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

    with sampler:
        destroyed = job("destroy", "job-destroy", confirm_destroy="sandbox")
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
    assert not (tmp_path / "job-destroy").exists()
    # The rest of sandbox/destroy.yml after the runbook's teardown: the unseed (the sandbox has no fleet here).
    unseeded = playbook("sandbox/playbooks/unseed.yml", inventory="inventories/sandbox", env=env)
    assert unseeded.rc == 0, unseeded.output[-4000:]
    # The sandbox network was cleaned and deleted under the emulator's DependencyViolation rules.
    assert boto3.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["sandbox"]}])["Vpcs"] == []

    # No secret on a command line or in the output of the build and the destroy.
    secret_values = {DUMMY_SECRET_KEY, os.environ["AWS_SECRET_ACCESS_KEY"], sandbox.mysql_admin_password} | passwords
    assert all(len(value) >= 16 for value in secret_values)
    modules = [line for line in sampler.command_lines if "AnsiballZ_" in line]
    print(
        f"sampled /proc {sampler.samples} times: {len(sampler.command_lines)} distinct command lines, "
        f"{len(modules)} of them Ansible modules"
    )
    assert sampler.samples > 100, "the sampler did not run"
    assert len(modules) >= 20, f"the sampler saw only {len(modules)} module command lines"
    leaked = [line for line in sampler.command_lines if any(value in line for value in secret_values)]
    assert leaked == [], f"secrets on {len(leaked)} command lines, e.g. {leaked[0][:300]!r}".replace(
        DUMMY_SECRET_KEY, "<dummy secret key>"
    )
    # -vvv prints every module's command line; none carries a credential.
    assert "EXEC /bin/sh -c" in built.stdout
    for run in (built, destroyed):
        assert not any(value in run.output for value in secret_values), "a secret appears in the run's output"


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
