# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RKE2 stand-in on real systemd machines: two sandbox nodes (a server and an agent) pull the
release-shaped artifacts from the emulator's bucket through the VPC endpoint, install them with
install.sh, run the real units, and kubectl (from the host, in the VPC's router namespace) lists both
nodes Ready; the agent is refused while its token is wrong.

Needs root, systemd-nspawn, debootstrap and kubectl (Debian's kubernetes-client, or
``ORG_PLATFORM_KUBECTL``); the base image is cached under ``$ORG_PLATFORM_SANDBOX_CACHE``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sandbox.nodes import net
from sandbox.nodes.machine import leader_of, machine_processes
from sandbox.rke2 import build
from sandbox.services import Sandbox

pytestmark = pytest.mark.integration

VERSION = "v1.33.5+rke2r1"
VPC_CIDR = "10.62.0.0/16"
ENDPOINT = net.endpoint_address(VPC_CIDR)
BUCKET = "sandbox-rke2-artifacts"
SECRET = "sandbox-rke2-canary-7f3a9c"  # the cluster token; it must appear in no journal line
DUMMY = {
    "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
    "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _kubectl() -> str | None:
    return os.environ.get("ORG_PLATFORM_KUBECTL") or shutil.which("kubectl")


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "sandbox nodes need root (network namespaces, systemd-nspawn)"
    missing = [t for t in ("systemd-nspawn", "debootstrap", "nsenter", "ip", "unshare") if not shutil.which(t)]
    if missing:
        return f"sandbox nodes need {', '.join(missing)} (make deps as root installs them)"
    if _kubectl() is None:
        return "kubectl is not installed (Debian package kubernetes-client, or set ORG_PLATFORM_KUBECTL)"
    return None


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def run(state_dir: Path, instance_id: str, *argv: str, stdin: str | None = None, timeout: int = 60):
    """A root command inside the node's machine (all its namespaces); stdin carries secrets, never argv."""
    leader = leader_of(int((state_dir / "nodes" / instance_id / "pid").read_text()))
    assert leader, f"{instance_id} has no machine"
    command = ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-p", "-n", "--", *argv]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)


def ok(state_dir, instance_id, *argv, **kw) -> str:
    result = run(state_dir, instance_id, *argv, **kw)
    assert result.returncode == 0, f"{argv}: rc {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def no_leftovers(state_dir: Path) -> dict:
    marker = str(state_dir.resolve())
    mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if marker in line]
    return {"machines": machine_processes(state_dir), "mounts": mounts, **net.leftovers(net.sandbox_tag(state_dir))}


@pytest.fixture(scope="module")
def cluster_nodes(tmp_path_factory):
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("rke2-nodes")
    saved = {k: os.environ.get(k) for k in [*DUMMY, "AWS_ENDPOINT_URL"]}
    os.environ.update(DUMMY)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sandbox = Sandbox(state_dir, nodes=True)
    try:
        url = sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        c = {s: boto3.client(s, endpoint_url=url, region_name="us-east-1") for s in ("ec2", "iam", "ssm", "s3")}
        vpc = c["ec2"].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.62.10.0/24")["Subnet"]["SubnetId"]
        c["iam"].create_role(RoleName="sandbox-node", AssumeRolePolicyDocument="{}")
        c["iam"].create_instance_profile(InstanceProfileName="sandbox-node")
        c["iam"].add_role_to_instance_profile(InstanceProfileName="sandbox-node", RoleName="sandbox-node")
        tags = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}]}]
        ami = c["ec2"].register_image(Name="golden-sandbox", TagSpecifications=tags)["ImageId"]
        answer = c["ec2"].run_instances(
            ImageId=ami, MinCount=2, MaxCount=2, SubnetId=subnet, IamInstanceProfile={"Name": "sandbox-node"}
        )
        ids = [i["InstanceId"] for i in answer["Instances"]]
        ips = {i["InstanceId"]: i["PrivateIpAddress"] for i in answer["Instances"]}

        def running():
            listing = c["ec2"].describe_instances(InstanceIds=ids)["Reservations"]
            return all(i["State"]["Name"] == "running" for r in listing for i in r["Instances"])

        _wait(running, 180, "two running nodes")
        yield {"state_dir": state_dir, "url": url, "c": c, "ids": ids, "ips": ips}
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


def _pull_and_install(nodes, instance_id: str, kind: str, release: Path) -> str:
    """What the roles will do on a node: a default route, the artifacts from S3 via the endpoint, install.sh."""
    state_dir = nodes["state_dir"]
    ok(state_dir, instance_id, "ip", "route", "add", "blackhole", "default")  # rke2 needs a default route
    presign = boto3.client(
        "s3", endpoint_url=f"http://{ENDPOINT}", region_name="us-east-1", config=Config(s3={"addressing_style": "path"})
    )
    pairs = []
    for path in sorted(release.iterdir()):
        key = f"rke2/{VERSION}/{path.name}"
        pairs += [path.name, presign.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key})]
    fetch = 'mkdir -p /root/rke2-artifacts && cd /root/rke2-artifacts && while [ $# -gt 0 ]; do curl -sSf -o "$1" "$2" || exit 1; shift 2; done'
    ok(state_dir, instance_id, "sh", "-c", fetch, "fetch", *pairs, timeout=120)
    env = [
        "env",
        "INSTALL_RKE2_METHOD=tar",
        "INSTALL_RKE2_ARTIFACT_PATH=/root/rke2-artifacts",
        f"INSTALL_RKE2_TYPE={kind}",
    ]
    return ok(state_dir, instance_id, *env, "sh", "/root/rke2-artifacts/install.sh", timeout=120)


def _write(nodes, instance_id: str, path: str, text: str, mode: str) -> None:
    script = 'umask 077; mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"'
    ok(nodes["state_dir"], instance_id, "sh", "-c", script, "write", path, mode, stdin=text)


def _kubectl_in_vpc(nodes, kubeconfig: Path, *argv: str) -> subprocess.CompletedProcess:
    vpcs = json.loads((nodes["state_dir"] / "nodes" / "vpcs.json").read_text())
    netns = next(iter(vpcs.values()))[
        "netns"
    ]  # the VPC's router namespace: on the bridge, like a controller in the VPC
    command = ["ip", "netns", "exec", netns, _kubectl(), "--kubeconfig", str(kubeconfig), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_a_server_and_an_agent_on_real_systemd_machines(cluster_nodes, tmp_path):
    nodes, state_dir = cluster_nodes, cluster_nodes["state_dir"]
    server, agent = nodes["ids"]
    server_ip = nodes["ips"][server]
    release = tmp_path / "release"
    build.build(VERSION, "amd64", release)
    nodes["c"]["s3"].create_bucket(Bucket=BUCKET)
    build.upload(release, BUCKET, nodes["url"], client=nodes["c"]["s3"])

    installed = _pull_and_install(nodes, server, "server", release)
    assert "SIMULATED: install.sh stand-in" in installed
    assert f"rke2 {VERSION} installed (server)" in installed
    _write(nodes, server, "/etc/rancher/rke2/token", SECRET + "\n", "0600")
    config = (
        f"token-file: /etc/rancher/rke2/token\ntls-san:\n  - {server_ip}\nnode-label:\n  - org.platform/role=server\n"
    )
    _write(nodes, server, "/etc/rancher/rke2/config.yaml", config, "0644")
    started = time.monotonic()
    ok(state_dir, server, "systemctl", "enable", "rke2-server.service")
    ok(state_dir, server, "systemctl", "start", "rke2-server.service", timeout=120)  # returns on READY=1
    print(f"\nrke2-server start (Type=notify, until READY=1): {time.monotonic() - started:.1f}s")
    shown = ok(state_dir, server, "systemctl", "show", "rke2-server.service", "-p", "Type", "-p", "ActiveState")
    assert "Type=notify" in shown
    assert "ActiveState=active" in shown
    assert ok(state_dir, server, "stat", "-c", "%a", "/etc/rancher/rke2/rke2.yaml").strip() == "600"
    assert ok(state_dir, server, "stat", "-c", "%a", "/var/lib/rancher/rke2/server/node-token", "-L").strip() == "600"
    assert ok(state_dir, server, "curl", "-sk", "https://127.0.0.1:9345/ping") == "pong"

    _pull_and_install(nodes, agent, "agent", release)
    agent_config = f"server: https://{server_ip}:9345\ntoken-file: /etc/rancher/rke2/token\n"
    _write(nodes, agent, "/etc/rancher/rke2/config.yaml", agent_config, "0644")
    _write(nodes, agent, "/etc/rancher/rke2/token", "not-the-cluster-token\n", "0600")
    ok(state_dir, agent, "systemctl", "start", "--no-block", "rke2-agent.service")

    def refused():
        journal = run(state_dir, agent, "journalctl", "-u", "rke2-agent.service", "--no-pager").stdout
        return "401 Unauthorized: the token is not valid for this cluster" in journal and journal

    asked = time.monotonic()
    try:
        journal = _wait(refused, 90, "the agent's refusal in its journal")
        print(f"wrong agent token refused after {time.monotonic() - asked:.1f}s")
    except AssertionError:
        status = run(state_dir, agent, "systemctl", "status", "rke2-agent.service", "--no-pager", "-l").stdout
        journal = run(state_dir, agent, "journalctl", "-b", "--no-pager", "-n", "60").stdout
        raise AssertionError(f"no refusal:\n{status}\n{journal}") from None
    assert "level=fatal" in journal
    assert run(state_dir, agent, "systemctl", "is-active", "rke2-agent.service").stdout.strip() != "active"
    ok(state_dir, agent, "systemctl", "stop", "rke2-agent.service")
    _write(nodes, agent, "/etc/rancher/rke2/token", SECRET + "\n", "0600")
    ok(state_dir, agent, "systemctl", "start", "rke2-agent.service", timeout=120)
    assert run(state_dir, agent, "systemctl", "is-active", "rke2-agent.service").stdout.strip() == "active"

    kubeconfig = tmp_path / "kubeconfig"
    text = ok(state_dir, server, "cat", "/etc/rancher/rke2/rke2.yaml").replace(
        "https://127.0.0.1:6443", f"https://{server_ip}:6443"
    )
    kubeconfig.touch(mode=0o600)
    kubeconfig.write_text(text)

    def two_ready():
        result = _kubectl_in_vpc(nodes, kubeconfig, "get", "nodes")
        rows = [line.split() for line in result.stdout.splitlines()[1:]]
        return result.returncode == 0 and len(rows) == 2 and all(r[1] == "Ready" for r in rows) and result.stdout

    listing = _wait(two_ready, 60, "kubectl get nodes to show 2 Ready nodes")
    print(listing)
    assert "control-plane,etcd,master" in listing
    services = _kubectl_in_vpc(nodes, kubeconfig, "get", "services", "-A", "-o", "json")
    assert services.returncode == 0, services.stderr
    assert [s for s in json.loads(services.stdout)["items"] if s["spec"]["type"] == "LoadBalancer"] == []
    for instance_id, unit in ((server, "rke2-server.service"), (agent, "rke2-agent.service")):
        journal = ok(state_dir, instance_id, "journalctl", "-u", unit, "--no-pager")
        assert "SIMULATED: sandbox stand-in for rke2" in journal
        assert SECRET not in journal
    ok(state_dir, agent, "/usr/local/bin/rke2-uninstall.sh")
    assert run(state_dir, agent, "test", "-e", "/usr/local/bin/rke2").returncode == 1
    assert run(state_dir, agent, "test", "-e", "/etc/rancher/rke2").returncode == 1
