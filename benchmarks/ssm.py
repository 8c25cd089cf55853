"""Benchmark: what the aws_ssm connection costs per node, counted by the sandbox emulator, on booted nodes.

    .venv/bin/python -m benchmarks.ssm [--nodes 2] [--json]      (root, systemd-nspawn, debootstrap)

A private sandbox with the node service; N golden-image instances launched at once (boot-to-Online per node
is the time from RunInstances to the first ``Online`` in DescribeInstanceInformation, polled every 0.25 s).
Every run goes through ``inventories/sandbox`` (the amazon.aws.aws_ec2 plugin, its group_vars, the real
amazon.aws.aws_ssm connection; only AWS's session-manager-plugin is the sandbox stand-in). Per node and run
the emulator counts sessions started (rules/ssm_sessions.py), in-session commands and S3 transfer objects put
(rules/ssm_transfers.py). Runs, all in this one process tree and sandbox:

* ``ping``: ``ansible aws_ec2 -m ansible.builtin.ping`` with the inventory's settings (``remote_tmp`` without
  ``~``); baseline ``ping, remote_tmp ~``: the same with Ansible's default ``~/.ansible/tmp``.
* ``ssm_nodes fresh`` / ``rerun``: the role org.platform.ssm_nodes, twice; baseline ``readiness, task per
  step``: the usual hand-written readiness play (gathered facts, ``wait_for_connection``, a ``command``).
* ``shared_rds fresh`` / ``rerun``: playbooks/shared_rds_converge.yml (the role org.platform.shared_rds_schemas
  as site.yml runs it, the inventory's three services), its community.mysql tasks delegated to one more
  instance tagged ``Role: bastion`` over aws_ssm, against the sandbox MariaDB at the VPC endpoint address; the
  60-db and 05-kms exports are published in the emulator first (SIMULATED, as sandbox/playbooks/exports.yml
  does). Counted on the bastion only (the other nodes take no part). No baseline: the tunnel it replaced is
  gone and the stand-in plugin has no port forwarding, so there is nothing honest to measure it against.

Ratios are baseline / ours for the same figure, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3

from sandbox.nodes import net
from sandbox.services import REPO_ROOT, Sandbox

VENV_BIN = Path(sys.executable).parent
VPC_CIDR = "10.63.0.0/16"  # its own /16: the endpoint address (base + 2) must not meet another sandbox's
BUCKET = "org-sandbox-ssm-transfer"  # inventories/sandbox/group_vars/all/ssm.yml for platform_env sandbox
ONLINE_TIMEOUT_S = 240
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", re.MULTILINE)  # PLAY RECAP: host, changed=
DUMMY = {
    "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
    "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
ROLE_PLAY = """- name: Wait for the nodes over SSM (org.platform.ssm_nodes)
  hosts: aws_ec2
  gather_facts: false
  roles:
    - role: org.platform.ssm_nodes
"""
NAIVE_PLAY = """- name: Wait for the nodes, one task per step (the usual hand-written readiness check)
  hosts: aws_ec2
  gather_facts: true
  tasks:
    - name: Wait for a connection
      ansible.builtin.wait_for_connection:
        timeout: 180
    - name: Ask systemd
      ansible.builtin.command: systemctl is-system-running
      changed_when: false
"""


def why_not() -> str | None:
    if os.geteuid() != 0:
        return "sandbox nodes need root (network namespaces, systemd-nspawn)"
    missing = [t for t in ("systemd-nspawn", "debootstrap", "nsenter", "ip") if not shutil.which(t)]
    return f"sandbox nodes need {', '.join(missing)} (make deps as root installs them)" if missing else None


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the loopback emulator
        return json.loads(answer.read())


def counters(url: str) -> dict[str, dict[str, int]]:
    """Per instance: sessions started, commands and S3 objects put, as the emulator counted them."""
    sessions = get_json(f"{url}/_org_platform/ssm")["counters"]
    transfers = get_json(f"{url}/_org_platform/ssm/transfers")["counters"]
    return {
        i: {
            "sessions": sessions.get(i, {}).get("started", 0),
            "commands": transfers.get(i, {}).get("commands", 0),
            "s3_objects": transfers.get(i, {}).get("s3_put", 0),
        }
        for i in set(sessions) | set(transfers)
    }


class Fleet:
    """A private sandbox with nodes, seeded as the stacks would (SIMULATED) and reached via inventories/sandbox."""

    def __init__(self, state_dir: Path, nodes: int):
        self.state_dir, self.count = state_dir, nodes
        self.sandbox = Sandbox(state_dir, nodes=True)
        self.ids: list[str] = []
        self.bastion = ""
        self.online_s: dict[str, float] = {}

    def up(self) -> None:
        self.url = self.sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        c = {s: self.client(s) for s in ("ec2", "iam", "ssm", "s3", "kms", "secretsmanager")}
        self.c = c
        print(f"SIMULATED: the VPC, node role, golden image and transfer bucket are made in the emulator at {self.url}")
        vpc = c["ec2"].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.63.10.0/24")["Subnet"]["SubnetId"]
        c["iam"].create_role(RoleName="bench-node", AssumeRolePolicyDocument="{}")
        c["iam"].create_instance_profile(InstanceProfileName="bench-node")
        c["iam"].add_role_to_instance_profile(InstanceProfileName="bench-node", RoleName="bench-node")
        golden = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}]}]
        ami = c["ec2"].register_image(Name="golden-bench", TagSpecifications=golden)["ImageId"]
        c["s3"].create_bucket(Bucket=BUCKET)
        self.ami, self.subnet = ami, subnet
        self.ids = self.launch(self.count, "rke2-agent", self.online_s)

    def client(self, service: str):
        """A boto3 client of the emulator with its dummy credentials (the shell's AWS settings are never read)."""
        return boto3.session.Session(
            aws_access_key_id=DUMMY["AWS_ACCESS_KEY_ID"], aws_secret_access_key=DUMMY["AWS_SECRET_ACCESS_KEY"]
        ).client(service, endpoint_url=self.url, region_name=DUMMY["AWS_DEFAULT_REGION"])

    def launch(self, count: int, role: str, online_s: dict[str, float]) -> list[str]:
        """RunInstances of the golden image with Environment/Role tags; waits until each is Online (times)."""
        tags = [{"Key": "Environment", "Value": "sandbox"}, {"Key": "Role", "Value": role}]
        started = time.monotonic()
        answer = self.c["ec2"].run_instances(
            ImageId=self.ami, MinCount=count, MaxCount=count, SubnetId=self.subnet,
            IamInstanceProfile={"Name": "bench-node"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": [*tags, {"Key": "Name", "Value": f"bench-{role}"}]}],
        )  # fmt: skip
        ids = [i["InstanceId"] for i in answer["Instances"]]
        deadline = started + ONLINE_TIMEOUT_S
        while len(set(ids) & set(online_s)) < len(ids):
            if time.monotonic() > deadline:
                raise SystemExit(f"benchmarks.ssm: not Online after {ONLINE_TIMEOUT_S} s: {set(ids) - set(online_s)}")
            listing = self.c["ssm"].describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ids}])
            for item in listing["InstanceInformationList"]:
                if item["PingStatus"] == "Online":
                    online_s.setdefault(item["InstanceId"], round(time.monotonic() - started, 2))
            time.sleep(0.25)
        return ids

    def add_bastion(self) -> None:
        """One more instance, tagged Role: bastion, and the 60-db / 05-kms exports the shared RDS role reads."""
        self.bastion = self.launch(1, "bastion", {})[0]
        endpoints = json.loads((self.state_dir / "endpoints.json").read_text())
        mysql = endpoints["mysql"]
        print(
            "SIMULATED: the 60-db and 05-kms exports (master secret, /shared/rds/sandbox/*, the KMS key) are"
            f" published in the emulator for the sandbox MariaDB at the VPC endpoint address {self.db_endpoint()}"
        )
        kms, secrets = self.c["kms"], self.c["secretsmanager"]
        key = kms.create_key(Description="bench secrets-manager key")["KeyMetadata"]["Arn"]
        document = {
            "username": mysql["admin_user"],
            "password": Path(mysql["admin_password_file"]).read_text().strip(),
            "engine": "mysql",
            "host": mysql["host"],
            "port": int(mysql["port"]),
        }
        master = secrets.create_secret(
            Name="sandbox-shared-mysql-master", KmsKeyId=key, SecretString=json.dumps(document)
        )["ARN"]
        for name, value in (
            ("/shared/kms/secrets-manager-key-arn", key),
            ("/shared/rds/sandbox/identifier", "sandbox-shared-mysql"),
            ("/shared/rds/sandbox/endpoint", self.db_endpoint()),
            ("/shared/rds/sandbox/master-secret-arn", master),
        ):
            self.c["ssm"].put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    @staticmethod
    def db_endpoint() -> str:
        return f"{net.endpoint_address(VPC_CIDR)}:3306"  # MariaDB on the VPC endpoint (sandbox/nodes/endpoints.py)

    def env(self) -> dict[str, str]:
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **DUMMY,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "AWS_ENDPOINT_URL_SSM": self.url,
            "AWS_ENDPOINT_URL_S3": self.url,  # the plugin's head_bucket client ignores the bucket endpoint
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "ORG_PLATFORM_SANDBOX_DIR": str(self.state_dir),
        }

    def run(self, name: str, argv: list[str], on: list[str] | None = None) -> dict:
        """One run; its counter deltas per node (of ``on``, default the first N nodes) and wall time."""
        before = counters(self.url)
        started = time.monotonic()
        done = subprocess.run(
            argv, capture_output=True, text=True, env=self.env(), cwd=REPO_ROOT, timeout=900, check=False
        )
        wall = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(
                f"benchmarks.ssm: {name} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}"
            )
        after = counters(self.url)
        zero = {"sessions": 0, "commands": 0, "s3_objects": 0}
        per_node = {i: {k: after.get(i, zero)[k] - before.get(i, zero)[k] for k in zero} for i in on or self.ids}
        changed = {m[0]: int(m[1]) for m in RECAP.findall(done.stdout) if int(m[1])}
        return {"name": name, "wall_s": round(wall, 2), "per_node": per_node, "changed": changed}

    def down(self) -> None:
        self.sandbox.down(purge=True)
        left = net.leftovers(net.sandbox_tag(self.state_dir))
        if any(left.values()):
            print(f"benchmarks.ssm: left behind: {left}", file=sys.stderr)


def median_per_node(result: dict, key: str) -> float:
    return statistics.median(node[key] for node in result["per_node"].values())


def spread(result: dict, key: str) -> str:
    values = sorted(node[key] for node in result["per_node"].values())
    middle = statistics.median(values)
    text = f"{middle:g}"
    return text if values[0] == values[-1] else f"{text} ({values[0]}-{values[-1]})"


def measure(fleet: Fleet, work: Path) -> list[dict]:
    ansible, playbook = str(VENV_BIN / "ansible"), str(VENV_BIN / "ansible-playbook")
    inventory = ["-i", "inventories/sandbox"]
    role, naive = work / "role.yml", work / "naive.yml"
    role.write_text(ROLE_PLAY)
    naive.write_text(NAIVE_PLAY)
    return [
        fleet.run("ping", [ansible, *inventory, "aws_ec2", "-m", "ansible.builtin.ping"]),
        fleet.run(
            "ping, remote_tmp ~ (baseline)",
            [ansible, *inventory, "aws_ec2", "-m", "ansible.builtin.ping", "-e", "ansible_remote_tmp=~/.ansible/tmp"],
        ),
        fleet.run("ssm_nodes fresh", [playbook, *inventory, str(role)]),
        fleet.run("ssm_nodes rerun", [playbook, *inventory, str(role)]),
        fleet.run("readiness, task per step (baseline)", [playbook, *inventory, str(naive)]),
        *measure_shared_rds(fleet),
    ]


def measure_shared_rds(fleet: Fleet) -> list[dict]:
    """Case (c): the shared-RDS role with its MySQL tasks on the bastion, fresh and rerun (bastion counts)."""
    fleet.add_bastion()
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/sandbox", "playbooks/shared_rds_converge.yml"]
    fresh = fleet.run("shared_rds fresh (bastion)", argv, on=[fleet.bastion])
    rerun = fleet.run("shared_rds rerun (bastion)", argv, on=[fleet.bastion])
    if rerun["changed"]:
        raise SystemExit(f"benchmarks.ssm: the shared_rds rerun changed something: {rerun['changed']}")
    return [fresh, rerun]


def ratios(results: list[dict]) -> dict[str, dict[str, float]]:
    by_name = {r["name"]: r for r in results}
    pairs = {
        "ping": ("ping, remote_tmp ~ (baseline)", "ping"),
        "ssm_nodes": ("readiness, task per step (baseline)", "ssm_nodes rerun"),
    }
    out = {}
    for label, (base, ours) in pairs.items():
        out[label] = {}
        for key in ("sessions", "commands", "s3_objects"):
            mine = median_per_node(by_name[ours], key)
            out[label][key] = round(median_per_node(by_name[base], key) / mine, 2) if mine else float("nan")
        out[label]["wall_s"] = round(by_name[base]["wall_s"] / by_name[ours]["wall_s"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="instances launched at once (default 2, at most 5)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.nodes <= 5:
        parser.error(f"--nodes must be 1 to 5, not {args.nodes}")
    reason = why_not()
    if reason:
        print(f"benchmarks.ssm: skipped, it cannot run here: {reason}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="org-platform-bench-ssm-"))
    fleet = Fleet(work / "sandbox", args.nodes)
    try:
        fleet.up()
        results = measure(fleet, work)
        left = fleet.c["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    finally:
        fleet.down()
        shutil.rmtree(work, ignore_errors=True)
    figures = {
        "nodes": args.nodes,
        "boot_to_online_s": fleet.online_s,
        "boot_to_online_median_s": statistics.median(fleet.online_s.values()),
        "runs": results,
        "ratios": ratios(results),
        "objects_left_in_transfer_bucket": left,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.nodes} sandbox nodes; boot-to-Online per node (s): {fleet.online_s}")
    print(f"boot-to-Online, median: {figures['boot_to_online_median_s']:.2f} s")
    print("| run | sessions / node | in-session commands / node | S3 objects / node | wall (s) | changed |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        cells = " | ".join(spread(r, k) for k in ("sessions", "commands", "s3_objects"))
        print(f"| {r['name']} | {cells} | {r['wall_s']:.1f} | {sum(r['changed'].values())} |")
    for label, values in figures["ratios"].items():
        print(f"ratio baseline/ours, {label}: " + ", ".join(f"{k} {v:g}x" for k, v in values.items()))
    print(f"objects left in the transfer bucket: {left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
