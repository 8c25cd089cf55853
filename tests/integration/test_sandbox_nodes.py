# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sandbox nodes booted for real: machines for EC2 instances, a VPC with no way out, SSM, aws_ssm.

One fleet per test session (module): a private sandbox with the node service, two golden-image
instances; every test reads it, the last ones terminate an instance and kill the service. Needs root,
systemd-nspawn and debootstrap (the base image is built once, about a minute, then cached).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.nodes import machine, net
from sandbox.nodes.machine import leader_of, machine_processes
from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=60)]

VENV_BIN = Path(sys.executable).parent
BUCKET = "sandbox-ssm-transfer"
VPC_CIDR = "10.61.0.0/16"
ENDPOINT = net.endpoint_address(VPC_CIDR)
ONLINE_TIMEOUT_S = 120
DUMMY = {
    "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
    "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "sandbox nodes need root (network namespaces, systemd-nspawn)"
    missing = [t for t in ("systemd-nspawn", "debootstrap", "nsenter", "ip", "unshare") if not shutil.which(t)]
    if missing:
        return f"sandbox nodes need {', '.join(missing)} (make deps as root installs them)"
    return None


def _clients(url: str) -> dict:
    return {s: boto3.client(s, endpoint_url=url, region_name="us-east-1") for s in ("ec2", "iam", "ssm", "s3")}


def _states(ec2, ids):
    answer = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return {i["InstanceId"]: i["State"]["Name"] for r in answer for i in r["Instances"]}


def _ping_status(ssm, ids):
    listing = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": ids}])
    return {i["InstanceId"]: i["PingStatus"] for i in listing["InstanceInformationList"]}


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def launch(fleet, count):
    started = time.monotonic()
    answer = fleet["c"]["ec2"].run_instances(
        ImageId=fleet["ami"],
        MinCount=count,
        MaxCount=count,
        SubnetId=fleet["subnet"],
        IamInstanceProfile={"Name": "sandbox-node"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "sandbox-node"}]}],
    )
    ids = [i["InstanceId"] for i in answer["Instances"]]
    assert {i["State"]["Name"] for i in answer["Instances"]} == {"pending"}
    online = {}

    def all_online():
        for instance_id, status in _ping_status(fleet["c"]["ssm"], ids).items():
            if status == "Online" and instance_id not in online:
                online[instance_id] = round(time.monotonic() - started, 2)
        return len(online) == len(ids)

    _wait(all_online, ONLINE_TIMEOUT_S, f"{ids} to be Online in SSM")
    return ids, online


def node_exec(state_dir: Path, instance_id: str, *argv: str, timeout: int = 30) -> subprocess.CompletedProcess:
    """Run argv as root inside the instance's machine (all its namespaces)."""
    leader = leader_of(int((state_dir / "nodes" / instance_id / "pid").read_text()))
    assert leader, f"{instance_id} has no machine"
    command = ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-p", "-n", "--", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def no_leftovers(state_dir: Path) -> dict:
    marker = str(state_dir.resolve())
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if marker in line]
    cgroups = [
        str(group)
        for home in sorted((state_dir / "nodes").glob("*/"))
        for group in machine.cgroup_dirs(machine.cgroup_name(home))
        if group.exists()
    ]
    left = {"machines": machine_processes(state_dir), "mounts": mounts, **net.leftovers(net.sandbox_tag(state_dir))}
    return left | ({"cgroups": cgroups} if cgroups else {})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("nodes-sandbox")
    saved = {k: os.environ.get(k) for k in [*DUMMY, "ORG_PLATFORM_EMULATOR_SSM_ONLINE_S", "AWS_ENDPOINT_URL"]}
    os.environ.update(DUMMY)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # The emulator's Online window (the agent pings every 5 s): short for the fault test, with room for load.
    os.environ["ORG_PLATFORM_EMULATOR_SSM_ONLINE_S"] = "20"
    sandbox = Sandbox(state_dir, nodes=True)
    try:
        endpoints = sandbox.up()["endpoints"]
        url = endpoints["aws"]["endpoint_url"]
        c = _clients(url)
        vpc = c["ec2"].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.61.10.0/24")["Subnet"]["SubnetId"]
        c["iam"].create_role(RoleName="sandbox-node", AssumeRolePolicyDocument="{}")
        c["iam"].create_instance_profile(InstanceProfileName="sandbox-node")
        c["iam"].add_role_to_instance_profile(InstanceProfileName="sandbox-node", RoleName="sandbox-node")
        tags = [
            {"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}, {"Key": "OS", "Value": "al2023"}]}
        ]
        ami = c["ec2"].register_image(Name="golden-sandbox", TagSpecifications=tags)["ImageId"]
        c["s3"].create_bucket(Bucket=BUCKET)
        fleet = {"state_dir": state_dir, "url": url, "c": c, "subnet": subnet, "ami": ami, "sandbox": sandbox}
        fleet["ids"], fleet["online_s"] = launch(fleet, 2)
        print(f"\nboot-to-Online per node (s): {fleet['online_s']}")
        yield fleet
    finally:
        sandbox.down(purge=False)
        left = no_leftovers(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        assert left == {"machines": [], "mounts": [], "netns": [], "links": []}, left


def test_instances_boot_real_machines_and_register_with_ssm(fleet):
    ids, state_dir = fleet["ids"], fleet["state_dir"]
    assert set(_states(fleet["c"]["ec2"], ids).values()) == {"running"}
    assert set(_ping_status(fleet["c"]["ssm"], ids).values()) == {"Online"}
    for instance_id in ids:
        system = node_exec(state_dir, instance_id, "systemctl", "is-system-running").stdout.strip()
        failed = node_exec(state_dir, instance_id, "systemctl", "--failed", "--no-legend", "--plain").stdout
        journal = node_exec(state_dir, instance_id, "journalctl", "-b", "-p", "warning", "--no-pager").stdout[-2000:]
        assert system == "running", f"{instance_id}: {system}; failed units: {failed}\n{journal}"
        agent = node_exec(state_dir, instance_id, "systemctl", "is-active", "amazon-ssm-agent")
        assert agent.stdout.strip() == "active"
        private_ip = fleet["c"]["ec2"].describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        addresses = node_exec(state_dir, instance_id, "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        assert f" {private_ip['PrivateIpAddress']}/16 " in addresses
    assert all(seconds < ONLINE_TIMEOUT_S for seconds in fleet["online_s"].values())


PROBE = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    with socket.create_connection((host, port), timeout=2) as s:
        s.settimeout(2)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n") if port != 3306 else None
        print("OPEN", s.recv(64)[:16])
except OSError as exc:
    print("CLOSED", exc.__class__.__name__, exc.errno)
"""


def _probe(fleet, host, port):
    answer = node_exec(fleet["state_dir"], fleet["ids"][0], "python3", "-c", PROBE, host, str(port))
    return answer.stdout.strip()


def _host_addresses() -> list[str]:
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if not line.split()[3].startswith("127.")]


def test_the_vpc_endpoints_are_all_a_node_can_reach(fleet):
    routes = node_exec(fleet["state_dir"], fleet["ids"][0], "ip", "-4", "route", "show").stdout
    assert "default" not in routes
    assert routes.split()[0] == VPC_CIDR
    for port in (80, 3306, 8775):
        assert _probe(fleet, ENDPOINT, port).startswith("OPEN"), port
    assert _probe(fleet, ENDPOINT, 22).startswith("CLOSED ConnectionRefusedError")  # nothing else listens
    host_side = [a for a in _host_addresses() if a != ENDPOINT]
    assert host_side, "the host has no IPv4 address besides loopback?"
    for address in host_side:  # the host's interfaces, including its side of the endpoint uplink
        assert _probe(fleet, address, 80).startswith("CLOSED"), address
    # The endpoint forwards to the host's loopback services; the node's own loopback is its own.
    assert _probe(fleet, "127.0.0.1", int(fleet["url"].rsplit(":", 1)[1])).startswith("CLOSED")


IMDS = r"""
import json, os, urllib.request, urllib.error
base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/") + "/latest/"
def call(path, method="GET", headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, method=method, headers=headers or {}), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
out = {"no_token": call("meta-data/instance-id")[0]}
status, token = call("api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
auth = {"X-aws-ec2-metadata-token": token}
out["instance_id"] = call("meta-data/instance-id", headers=auth)[1]
role = call("meta-data/iam/security-credentials/", headers=auth)[1]
out["role"] = role
out["key"] = json.loads(call("meta-data/iam/security-credentials/" + role, headers=auth)[1])["AccessKeyId"][:4]
print(json.dumps(out))
"""


def test_instance_metadata_with_the_imdsv2_token_flow_on_the_endpoint(fleet):
    instance_id = fleet["ids"][1]
    env = node_exec(fleet["state_dir"], instance_id, "cat", "/etc/org-platform/endpoints.env").stdout
    assert f"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{ENDPOINT}:8775/" in env
    answer = node_exec(fleet["state_dir"], instance_id, "sh", "-c", '. /etc/profile.d/*.sh; python3 -c "$0"', IMDS)
    assert json.loads(answer.stdout) == {
        "no_token": 401,
        "instance_id": instance_id,
        "role": "sandbox-node",
        "key": "ASIA",
    }
    root = fleet["state_dir"] / "nodes" / instance_id / "upper"
    assert "169.254.169.254" not in (root / "etc/org-platform/endpoints.env").read_text()


PLAY = """
- name: A small play on sandbox nodes over aws_ssm
  hosts: all
  gather_facts: false
  tasks:
    - name: Copy a unit file
      become: true
      ansible.builtin.copy:
        dest: /etc/systemd/system/sandbox-hello.service
        mode: "0644"
        content: |
          [Unit]
          Description=hello from the sandbox
          [Service]
          ExecStart=/bin/sleep infinity
    - name: Run a command
      ansible.builtin.command: id -un
      register: whoami
      changed_when: false
    - name: Stat the unit file
      ansible.builtin.stat:
        path: /etc/systemd/system/sandbox-hello.service
      register: unit_file
    - name: Start the unit
      become: true
      ansible.builtin.systemd_service:
        name: sandbox-hello.service
        state: started
        daemon_reload: true
    - name: Report
      ansible.builtin.assert:
        that:
          - whoami.stdout == 'ssm-user'
          - unit_file.stat.exists
        quiet: true
"""


def _ansible_env(fleet) -> dict:
    return {
        **os.environ,
        **DUMMY,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "AWS_ENDPOINT_URL_SSM": fleet["url"],
        "AWS_ENDPOINT_URL_S3": fleet["url"],  # the plugin's head_bucket client ignores the bucket endpoint
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "ORG_PLATFORM_SANDBOX_DIR": str(fleet["state_dir"]),
    }


def _inventory(fleet, tmp_path) -> Path:
    hosts = "".join(f"    {i}:\n" for i in fleet["ids"])
    path = tmp_path / "nodes.yml"
    path.write_text(
        "all:\n  hosts:\n" + hosts + "  vars:\n"
        "    ansible_connection: amazon.aws.aws_ssm\n"
        f"    ansible_aws_ssm_plugin: {REPO_ROOT / 'sandbox/bin/session-manager-plugin'}\n"
        f"    ansible_aws_ssm_bucket_name: {BUCKET}\n"
        f"    ansible_aws_ssm_bucket_endpoint_url: http://{fleet.get('endpoint', ENDPOINT)}\n"
        "    ansible_aws_ssm_s3_addressing_style: path\n"
        "    ansible_aws_ssm_region: us-east-1\n"
        "    ansible_aws_ssm_timeout: 60\n"
        "    ansible_remote_tmp: /var/tmp/ansible-$USER\n"
    )
    return path


def test_ansible_ping_and_a_play_over_the_real_aws_ssm_connection(fleet, tmp_path):
    inventory, env = _inventory(fleet, tmp_path), _ansible_env(fleet)
    before = _session_counters(fleet)
    ping = subprocess.run(
        [str(VENV_BIN / "ansible"), "all", "-i", str(inventory), "-m", "ansible.builtin.ping"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count('"ping": "pong"') == 2
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    run = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(play)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for instance_id in fleet["ids"]:
        assert f"{instance_id}" in run.stdout
        active = node_exec(fleet["state_dir"], instance_id, "systemctl", "is-active", "sandbox-hello.service")
        assert active.stdout.strip() == "active"
    after = _session_counters(fleet)
    for instance_id in fleet["ids"]:
        started = after[instance_id]["started"] - before.get(instance_id, {}).get("started", 0)
        assert started >= 5, after  # one session per task (ping + 4 node tasks), as on AWS
        assert after[instance_id]["started"] == after[instance_id]["terminated"]
    labels = (fleet["state_dir"] / "nodes" / "sessions.log").read_text().splitlines()
    assert labels
    assert all(line.startswith("SIMULATED: session-manager-plugin stand-in") for line in labels)
    assert fleet["c"]["s3"].list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0  # every transfer deleted


def _plugin(fleet, response: dict, target: str, stdin: str = "") -> subprocess.CompletedProcess:
    argv = [
        str(REPO_ROOT / "sandbox/bin/session-manager-plugin"), json.dumps(response), "us-east-1", "StartSession",
        "", json.dumps({"Target": target}), fleet["url"],
    ]  # fmt: skip
    env = {**os.environ, "ORG_PLATFORM_SANDBOX_DIR": str(fleet["state_dir"])}
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=30, check=False)


def test_the_stand_in_plugin_refuses_a_wrong_token_or_target_and_relays_a_shell(fleet):
    ssm, (first, second) = fleet["c"]["ssm"], fleet["ids"]
    session = ssm.start_session(Target=first)
    forged = _plugin(fleet, {**session, "TokenValue": "forged"}, first)
    assert forged.returncode == 1
    assert "refused by the SSM endpoint (403)" in forged.stderr
    elsewhere = _plugin(fleet, session, second)
    assert elsewhere.returncode == 1
    assert f"is for {first}, not {second}" in elsewhere.stderr
    shell = _plugin(fleet, session, first, stdin="id -un; hostname; exit 3\n")
    assert shell.returncode == 3, shell.stdout + shell.stderr
    assert shell.stdout.startswith("SIMULATED: session-manager-plugin stand-in")
    assert f"Starting session with SessionId: {session['SessionId']}" in shell.stdout
    assert "ssm-user" in shell.stdout
    assert shell.stderr == ""  # the aws_ssm plugin cannot read a plugin's stderr (see the stand-in's docstring)
    ssm.terminate_session(SessionId=session["SessionId"])
    assert _plugin(fleet, session, first).returncode == 1  # a terminated session cannot be attached


def _session_counters(fleet) -> dict:
    import urllib.request

    with urllib.request.urlopen(f"{fleet['url']}/_org_platform/ssm", timeout=10) as answer:  # noqa: S310
        return json.loads(answer.read())["counters"]


def test_the_sandbox_aws_ec2_inventory_groups_the_running_nodes_and_reaches_them(fleet):
    ec2, (server, agent) = fleet["c"]["ec2"], fleet["ids"]
    ec2.create_tags(
        Resources=[server], Tags=[{"Key": "Environment", "Value": "sandbox"}, {"Key": "Role", "Value": "rke2-server"}]
    )
    ec2.create_tags(
        Resources=[agent], Tags=[{"Key": "Environment", "Value": "sandbox"}, {"Key": "Role", "Value": "rke2-agent"}]
    )
    other = launch(fleet, 1)[0][0]  # running, but of no environment: not in the inventory
    fleet["c"]["s3"].create_bucket(Bucket="org-sandbox-ssm-transfer")
    env = _ansible_env(fleet)
    graph = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", "inventories/sandbox", "--graph"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert graph.returncode == 0, graph.stderr
    lines = [line.strip(" |-") for line in graph.stdout.splitlines()]
    assert lines[lines.index("@rke2_servers:") + 1] == server
    assert lines[lines.index("@rke2_agents:") + 1] == agent
    assert other not in graph.stdout
    listing = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", "inventories/sandbox", "--host", server],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(listing.stdout)["ansible_connection"] == "amazon.aws.aws_ssm"
    ping = subprocess.run(
        [str(VENV_BIN / "ansible"), "-i", "inventories/sandbox", "rke2_servers:rke2_agents", "-m", "ansible.builtin.ping"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count('"ping": "pong"') == 2
    # The acceptance command as written (issue 17): `ansible -i inventories/sandbox all -m ansible.builtin.ping`
    # reaches every node of the environment, each through aws_ssm (a session the emulator counts for it).
    before = _session_counters(fleet)
    every = subprocess.run(
        [str(VENV_BIN / "ansible"), "-i", "inventories/sandbox", "all", "-m", "ansible.builtin.ping"],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert every.returncode == 0, every.stdout + every.stderr
    answered = set(re.findall(r"^(\S+) \| SUCCESS => \{", every.stdout, re.MULTILINE))
    assert answered == {"localhost", server, agent}, every.stdout  # the inventory's control node and both nodes
    assert every.stdout.count('"ping": "pong"') == 3
    after = _session_counters(fleet)
    for instance_id in (server, agent):
        assert after[instance_id]["started"] - before.get(instance_id, {}).get("started", 0) == 1, after
    assert after.get(other, {}).get("started", 0) == before.get(other, {}).get("started", 0)
    fleet["c"]["ec2"].terminate_instances(InstanceIds=[other])


def test_stop_powers_the_machine_off_and_start_boots_it_again_with_its_disk(fleet):
    ec2, state_dir, instance_id = fleet["c"]["ec2"], fleet["state_dir"], fleet["ids"][1]
    node_exec(state_dir, instance_id, "sh", "-c", "echo kept > /var/lib/sandbox-marker")
    ec2.stop_instances(InstanceIds=[instance_id])
    assert _states(ec2, [instance_id])[instance_id] in ("stopping", "stopped")
    _wait(lambda: _states(ec2, [instance_id])[instance_id] == "stopped", 60, "stopped")
    assert not (state_dir / "nodes" / instance_id / "pid").exists()
    assert (state_dir / "nodes" / instance_id / "upper" / "var/lib/sandbox-marker").is_file()
    ec2.start_instances(InstanceIds=[instance_id])
    assert _states(ec2, [instance_id])[instance_id] == "pending"
    _wait(lambda: _ping_status(fleet["c"]["ssm"], [instance_id]).get(instance_id) == "Online", 90, "Online again")
    assert _states(ec2, [instance_id])[instance_id] == "running"
    assert node_exec(state_dir, instance_id, "cat", "/var/lib/sandbox-marker").stdout.strip() == "kept"


def test_a_node_that_loses_its_endpoint_route_goes_offline_and_terminate_removes_it(fleet):
    (instance_id,), online = launch(fleet, 1)
    fleet["online_s"].update(online)
    home = fleet["state_dir"] / "nodes" / instance_id
    netns = net.node_netns(net.sandbox_tag(fleet["state_dir"]), instance_id)
    subprocess.run(["ip", "-n", netns, "addr", "flush", "dev", "eth0"], check=True)
    ssm = fleet["c"]["ssm"]
    _wait(lambda: _ping_status(ssm, [instance_id]).get(instance_id) == "ConnectionLost", 60, "ConnectionLost")
    with pytest.raises(ClientError) as excinfo:
        ssm.start_session(Target=instance_id)
    assert excinfo.value.response["Error"]["Code"] == "TargetNotConnected"
    fleet["c"]["ec2"].terminate_instances(InstanceIds=[instance_id])
    assert _states(fleet["c"]["ec2"], [instance_id])[instance_id] in ("shutting-down", "terminated")
    _wait(lambda: _states(fleet["c"]["ec2"], [instance_id])[instance_id] == "terminated", 60, "terminated")
    assert not home.exists()
    assert not (net.NETNS_DIR / netns).exists()
    # The others are untouched: Online (allowing a ping or two lost to a loaded machine).
    try:
        _wait(lambda: set(_ping_status(ssm, fleet["ids"]).values()) == {"Online"}, 40, "the others Online")
    except AssertionError:
        others = _ping_status(ssm, fleet["ids"])
        log = (fleet["state_dir"] / "nodes" / "service.log").read_text()[-3000:]
        for lost in [i for i, status in others.items() if status != "Online"]:
            agent_log = node_exec(fleet["state_dir"], lost, "journalctl", "-u", "amazon-ssm-agent", "--no-pager")
            log += f"\n--- {lost} agent:\n{agent_log.stdout[-3000:]}"
        raise AssertionError(f"{others} {_states(fleet['c']['ec2'], fleet['ids'])}\n{log}") from None


def test_each_machine_has_a_cgroup_of_its_own(fleet):
    """Two containers' systemd in one cgroup remove each other's unit cgroups (a `degraded` boot)."""
    groups = []
    for instance_id in fleet["ids"]:
        leader = leader_of(int((fleet["state_dir"] / "nodes" / instance_id / "pid").read_text()))
        lines = Path(f"/proc/{leader}/cgroup").read_text().splitlines()
        systemd_line = next(line for line in lines if ":name=systemd:" in line or line.startswith("0::"))
        groups.append(systemd_line.split(":", 2)[2])
        assert machine.CGROUP_PARENT in groups[-1], groups[-1]
    assert len(set(groups)) == len(groups), groups


def test_down_after_a_killed_node_service_leaves_nothing(fleet):
    state_dir = fleet["state_dir"]
    assert no_leftovers(state_dir)["machines"], "the fleet should be running before the kill"
    service_pid = int((state_dir / "nodes" / "pid").read_text())
    os.killpg(service_pid, signal.SIGKILL)
    time.sleep(0.5)
    assert no_leftovers(state_dir)["machines"]  # the machines outlive their killed service
    down = subprocess.run(
        [sys.executable, "-m", "sandbox", "down", "--state-dir", str(state_dir)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert no_leftovers(state_dir) == {"machines": [], "mounts": [], "netns": [], "links": []}
