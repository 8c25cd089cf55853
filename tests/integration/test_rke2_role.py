# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role org.platform.rke2 (playbooks/rke2.yml) on a small booted fleet: one server, one agent, over SSM.

The nodes pull the sandbox's release-shaped artifacts (sandbox/rke2, SIMULATED stand-in) from the emulator's
artifact bucket through the VPC endpoint with their instance credentials, read the token from SSM themselves,
and run the real units. The first test, in order: an agent with a wrong token is refused (the play fails
naming it), the right one joins, kubectl lists 2 Ready nodes through the admin kubeconfig the role fetched,
a rerun changes nothing in at most 3 node tasks per node, and neither the generated token nor the
kubeconfig's client key is in any log, result, config.yaml or transfer object. The second gives a third,
untouched node a corrupt tarball, a missing image archive and a checksum file that does not list one: each
fails naming the file and installs nothing. The third refuses a token parameter under another KMS key.
Day 2 on the same nodes: an upgrade rolls and drains the agent and a broken release stops at the server; a
label change restarts the agent alone; the uninstall playbook refuses a bad request, uninstalls the agent
(which then joins again), and a whole one-node cluster; bake mode with the CIS profile's host prerequisites.
Needs root, systemd-nspawn, debootstrap and kubectl (Debian's kubernetes-client, or ORG_PLATFORM_KUBECTL).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import test_sandbox_nodes as nodes
import yaml

from sandbox.nodes import net
from sandbox.rke2 import build
from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=270)]

VERSION = "v1.33.5+rke2r1"
NEXT = "v1.33.6+rke2r1"  # the upgrade
BROKEN = "v1.33.7+rke2r1"  # an upgrade whose tarball fails its checksum
VPC_CIDR = "10.63.0.0/16"
ENDPOINT = net.endpoint_address(VPC_CIDR)
ARTIFACTS = "sandbox-rke2-artifacts"
TOKEN_PARAMETER = "/sandbox/rke2/token"
WRONG_PARAMETER = "/sandbox/rke2/not-the-token"


def build_release(state_dir: Path, version: str) -> Path:
    out = state_dir / f"release-{version}"
    build.build(version, "amd64", out)
    return out


def _kubectl() -> str | None:
    return os.environ.get("ORG_PLATFORM_KUBECTL") or shutil.which("kubectl")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    reason = nodes._why_not() or (None if _kubectl() else "kubectl is not installed (Debian kubernetes-client)")
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("rke2-role-sandbox")
    saved = {k: os.environ.get(k) for k in [*nodes.DUMMY, "AWS_ENDPOINT_URL"]}
    os.environ.update(nodes.DUMMY)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sandbox = Sandbox(state_dir, nodes=True)
    try:
        url = sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        c = nodes._clients(url)
        vpc = c["ec2"].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.63.10.0/24")["Subnet"]["SubnetId"]
        c["iam"].create_role(RoleName="sandbox-node", AssumeRolePolicyDocument="{}")
        c["iam"].create_instance_profile(InstanceProfileName="sandbox-node")
        c["iam"].add_role_to_instance_profile(InstanceProfileName="sandbox-node", RoleName="sandbox-node")
        golden = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}]}]
        ami = c["ec2"].register_image(Name="golden-sandbox", TagSpecifications=golden)["ImageId"]
        c["s3"].create_bucket(Bucket=nodes.BUCKET)
        c["s3"].create_bucket(Bucket=ARTIFACTS)
        release = state_dir / "release"
        build.build(VERSION, "amd64", release)
        build.upload(release, ARTIFACTS, url, client=c["s3"])
        print("\nSIMULATED: the RKE2 release is the sandbox stand-in (sandbox/rke2/README.md)")
        fleet = {"state_dir": state_dir, "url": url, "c": c, "subnet": subnet, "ami": ami}
        ids, online = nodes.launch(fleet, 3)
        print(f"boot-to-Online per node (s): {online}")
        # A server and an agent for the cluster; a third node that never gets a release (the artifact faults).
        fleet["ids"], fleet["fresh"] = ids[:2], ids[2]
        listing = c["ec2"].describe_instances(InstanceIds=ids)["Reservations"]
        fleet["ips"] = {i["InstanceId"]: i["PrivateIpAddress"] for r in listing for i in r["Instances"]}
        yield fleet
    finally:
        sandbox.down(purge=False)
        left = nodes.no_leftovers(state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        assert left == {"machines": [], "mounts": [], "netns": [], "links": []}, left


def _inventory(fleet, tmp_path, agent_vars: dict, **all_vars) -> Path:
    server, agent = fleet["ids"]
    hostvars = {
        server: {"private_ip_address": fleet["ips"][server]},
        agent: {"private_ip_address": fleet["ips"][agent], **agent_vars},
    }
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "amazon.aws.aws_ssm",
                "ansible_aws_ssm_plugin": str(REPO_ROOT / "sandbox/bin/session-manager-plugin"),
                "ansible_aws_ssm_bucket_name": nodes.BUCKET,
                "ansible_aws_ssm_bucket_endpoint_url": f"http://{ENDPOINT}",
                "ansible_aws_ssm_s3_addressing_style": "path",
                "ansible_aws_ssm_region": "us-east-1",
                "ansible_aws_ssm_timeout": 120,
                "ansible_remote_tmp": "/var/tmp/ansible-$USER",
                "ansible_python_interpreter": "/usr/bin/python3",
                "rke2_version": VERSION,
                "rke2_artifact_bucket": ARTIFACTS,
                "rke2_token_parameter": TOKEN_PARAMETER,
                "rke2_region": "us-east-1",
                "rke2_aws_endpoint_url": fleet["url"],
                # Sandbox: the nodes' S3/SSM/IMDS are the VPC endpoint's (sudo drops the login environment).
                "rke2_node_aws_endpoint_url": f"http://{ENDPOINT}",
                "rke2_node_imds_endpoint": f"http://{ENDPOINT}:8775/",
                "rke2_default_route": "blackhole",  # the sandbox VPC has no route out, as in the airgap docs
                "rke2_node_labels": ["org.platform/cluster=sandbox"],
                "rke2_kubeconfig_path": str(tmp_path / "admin.kubeconfig"),
                **all_vars,
            },
            "children": {
                "rke2_servers": {"hosts": {server: hostvars[server]}},
                "rke2_agents": {"hosts": {agent: hostvars[agent]}},
            },
        }
    }
    path = tmp_path / "rke2-inventory.json"
    path.write_text(json.dumps(inventory))
    return path


def _play(fleet, tmp_path, agent_vars=None, inventory=None, playbook="playbooks/rke2.yml", extra=None):
    inventory = inventory or _inventory(fleet, tmp_path, agent_vars or {})
    argv = [str(nodes.VENV_BIN / "ansible-playbook"), "-i", str(inventory), playbook]
    argv += ["-e", json.dumps(extra)] if extra else []
    before = {i: c["started"] for i, c in nodes._session_counters(fleet).items()}
    started = time.monotonic()
    run = subprocess.run(
        argv, capture_output=True, text=True, env=nodes._ansible_env(fleet), cwd=REPO_ROOT, timeout=900, check=False
    )
    seconds = time.monotonic() - started
    after = {i: c["started"] for i, c in nodes._session_counters(fleet).items()}
    sessions = {i: after.get(i, 0) - before.get(i, 0) for i in fleet["ids"]}
    return run, run.stdout + run.stderr, seconds, sessions


def _recap(out: str, host: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(host) and "ok=" in line)


def _kubectl_in_vpc(fleet, kubeconfig: Path, *argv: str) -> subprocess.CompletedProcess:
    vpcs = json.loads((fleet["state_dir"] / "nodes" / "vpcs.json").read_text())
    netns = next(iter(vpcs.values()))["netns"]  # the VPC's router namespace, like a controller in the VPC
    command = ["ip", "netns", "exec", netns, _kubectl(), "--kubeconfig", str(kubeconfig), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_install_refuse_a_wrong_token_join_ready_and_rerun_changes_nothing(fleet, tmp_path):
    c, state_dir = fleet["c"], fleet["state_dir"]
    server, agent = fleet["ids"]
    c["ssm"].put_parameter(Name=WRONG_PARAMETER, Value="not-the-cluster-token", Type="SecureString")

    # 1. Fresh install; the agent reads a wrong token: the server is up, the agent refused, the play fails.
    run, out, seconds, sessions = _play(fleet, tmp_path, {"rke2_token_parameter": WRONG_PARAMETER})
    print(f"fresh install, agent with a wrong token: {seconds:.1f} s, node tasks (sessions) {sessions}")
    assert run.returncode != 0, out
    assert "the server refused this node's token" in out, out
    assert f"fatal: [{agent}]" in out, out
    assert "failed=0" in _recap(out, server), out
    assert "failed=1" in _recap(out, agent), out
    token = c["ssm"].get_parameter(Name=TOKEN_PARAMETER, WithDecryption=True)["Parameter"]
    assert token["Type"] == "SecureString"
    secret = token["Value"]
    assert len(secret) == 48

    # 2. The right token: the agent's token file changes, it restarts and joins; both nodes Ready.
    run, out, seconds, sessions = _play(fleet, tmp_path)
    print(f"run with the right token: {seconds:.1f} s, node tasks (sessions) {sessions}")
    assert run.returncode == 0, out
    assert "changed=0" in _recap(out, server), out
    assert "changed=1" in _recap(out, agent), out
    assert c["ssm"].get_parameter(Name=TOKEN_PARAMETER, WithDecryption=True)["Parameter"]["Value"] == secret

    # The role fetched the admin kubeconfig to the controller: 0600, the API at the server's address, and
    # its client key shown nowhere.
    kubeconfig = tmp_path / "admin.kubeconfig"
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    fetched = yaml.safe_load(kubeconfig.read_text())
    assert fetched["clusters"][0]["cluster"]["server"] == f"https://{fleet['ips'][server]}:6443"
    client_key = fetched["users"][0]["user"]["client-key-data"]
    assert len(client_key) > 40
    assert client_key not in out
    listing = _kubectl_in_vpc(fleet, kubeconfig, "get", "nodes", "--show-labels")
    rows = [line.split() for line in listing.stdout.splitlines()[1:]]
    print(listing.stdout)
    assert listing.returncode == 0, listing.stderr
    assert len(rows) == 2, listing.stdout
    assert all(row[1] == "Ready" for row in rows), listing.stdout
    assert all("org.platform/cluster=sandbox" in row[-1] for row in rows), listing.stdout
    taints = json.loads(_kubectl_in_vpc(fleet, kubeconfig, "get", "nodes", "-o", "json").stdout)
    server_node = next(n for n in taints["items"] if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"])
    assert {"key": "CriticalAddonsOnly", "value": "true", "effect": "NoExecute"} in server_node["spec"]["taints"]

    # 3. A rerun changes nothing, in at most 3 node tasks (SSM sessions) per node.
    run, out, seconds, sessions = _play(fleet, tmp_path)
    print(f"no-change rerun: {seconds:.1f} s, node tasks (sessions) {sessions}")
    assert run.returncode == 0, out
    for host in (server, agent):
        assert "changed=0" in _recap(out, host), out
        assert "failed=0" in _recap(out, host), out
        assert 1 <= sessions[host] <= 3, sessions

    # A rerun fetches the kubeconfig again only when the server changed or the controller's file is gone.
    kubeconfig.unlink()
    run, out, seconds, sessions = _play(fleet, tmp_path)
    assert run.returncode == 0, out
    assert "changed=1" in _recap(out, server), out
    assert yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["client-key-data"] == client_key
    assert client_key not in out

    # 4. The token: 0600 token file, never in config.yaml, the output, logs/ or the transfer bucket.
    for host in (server, agent):
        mode = nodes.node_exec(state_dir, host, "stat", "-c", "%a %U", "/etc/rancher/rke2/token").stdout.split()
        assert mode == ["600", "root"]
        config = nodes.node_exec(state_dir, host, "cat", "/etc/rancher/rke2/config.yaml").stdout
        assert "token-file: /etc/rancher/rke2/token" in config
        assert secret not in config
        # The kernel's part, for every boot: the CNI's modules and the bridge/forwarding sysctls.
        kernel = nodes.node_exec(state_dir, host, "cat", "/etc/modules-load.d/rke2.conf", "/etc/sysctl.d/90-rke2.conf")
        assert kernel.stdout.startswith("br_netfilter\noverlay\n"), kernel.stdout
        assert "net.bridge.bridge-nf-call-iptables = 1" in kernel.stdout
        assert "net.ipv4.ip_forward = 1" in kernel.stdout
    assert secret not in out
    assert client_key not in out
    leaked = [
        str(path)
        for path in (REPO_ROOT / "logs").rglob("*")
        if path.is_file() and any(value.encode() in path.read_bytes() for value in (secret, client_key))
    ]
    assert leaked == []
    assert c["s3"].list_objects_v2(Bucket=nodes.BUCKET).get("KeyCount", 0) == 0


def _nodes_json(fleet, kubeconfig: Path) -> dict[str, dict]:
    listing = _kubectl_in_vpc(fleet, kubeconfig, "get", "nodes", "-o", "json")
    assert listing.returncode == 0, listing.stderr
    return {item["status"]["addresses"][0]["address"]: item for item in json.loads(listing.stdout)["items"]}


def _node_task(out: str, host: str) -> str:
    """ok or changed: how the host's rke2_node task (install, configure, start) ended in this run."""
    blocks = out.split("TASK [org.platform.rke2 : Install, configure and start RKE2")[1:]
    found = [re.search(rf"^(ok|changed): \[{host}\]", block.split("TASK [")[0], re.M) for block in blocks]
    return next(match.group(1) for match in found if match)


def _journal(fleet, host: str, unit: str) -> str:
    return nodes.node_exec(fleet["state_dir"], host, "journalctl", "-u", unit, "--no-pager", "-o", "cat").stdout


def test_an_upgrade_drains_the_agent_rolls_on_and_stops_at_the_first_failure(fleet, tmp_path):
    """Day 2 on the cluster of the first test: a new release rolls the server, then drains the agent (it
    carries the workloads: the server is tainted CriticalAddonsOnly), upgrades it, waits until it is Ready on
    the new version and uncordons it. A release whose tarball fails its checksum stops the rollout at the
    server: the agent is not touched. SIMULATED: the stand-in runs no pods, so the drain has none to evict."""
    c, state_dir = fleet["c"], fleet["state_dir"]
    server, agent = fleet["ids"]
    build.upload(build_release(state_dir, NEXT), ARTIFACTS, fleet["url"], client=c["s3"])
    kubeconfig = tmp_path / "admin.kubeconfig"

    run, out, seconds, sessions = _play(fleet, tmp_path, inventory=_inventory(fleet, tmp_path, {}, rke2_version=NEXT))
    print(f"upgrade {VERSION} -> {NEXT}: {seconds:.1f} s, node tasks (sessions) {sessions}")
    assert run.returncode == 0, out
    for host in (server, agent):
        assert "failed=0" in _recap(out, host), out
    assert out.index("PLAY [RKE2 - first server]") < out.index("PLAY [RKE2 - agents, in batches]")
    listed = _nodes_json(fleet, kubeconfig)
    assert {ip: n["status"]["nodeInfo"]["kubeletVersion"] for ip, n in listed.items()} == {
        fleet["ips"][server]: NEXT,
        fleet["ips"][agent]: NEXT,
    }
    assert not any(n["spec"].get("unschedulable") for n in listed.values()), listed
    agent_name = listed[fleet["ips"][agent]]["metadata"]["name"]
    journal = _journal(fleet, server, "rke2-server")
    assert f"Node {agent_name} cordoned" in journal, journal
    assert journal.index(f"Node {agent_name} cordoned") < journal.index(f"Node {agent_name} uncordoned"), journal
    server_name = listed[fleet["ips"][server]]["metadata"]["name"]
    assert f"Node {server_name} cordoned" not in journal  # a dedicated server carries no workload: not drained

    # A rerun on the new release changes nothing and drains nothing.
    run, out, seconds, sessions = _play(fleet, tmp_path, inventory=_inventory(fleet, tmp_path, {}, rke2_version=NEXT))
    assert run.returncode == 0, out
    for host in (server, agent):
        assert "changed=0" in _recap(out, host), out
        assert sessions[host] <= 3, sessions

    # The next release is broken (its tarball fails the checksum): the server fails, the rollout stops there.
    broken = build_release(state_dir, BROKEN)
    build.upload(broken, ARTIFACTS, fleet["url"], client=c["s3"])
    c["s3"].put_object(Bucket=ARTIFACTS, Key=f"rke2/{BROKEN}/rke2.linux-amd64.tar.gz", Body=b"truncated")
    before = nodes._session_counters(fleet)[agent]["started"]
    run, out, _, _ = _play(fleet, tmp_path, inventory=_inventory(fleet, tmp_path, {}, rke2_version=BROKEN))
    assert run.returncode != 0, out
    assert f"fatal: [{server}]" in out, out
    assert "checksum mismatch for rke2.linux-amd64.tar.gz" in out, out
    assert "PLAY [RKE2 - agents, in batches]" not in out, out
    assert nodes._session_counters(fleet)[agent]["started"] == before, "the agent was touched"
    listed = _nodes_json(fleet, kubeconfig)
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in listed.values()} == {NEXT}
    assert not any(n["spec"].get("unschedulable") for n in listed.values()), listed


def test_a_config_change_restarts_only_its_node_and_an_agent_is_uninstalled_and_rejoins(fleet, tmp_path):
    """A label change on the agent restarts the agent alone; an agent that never becomes Ready stops the rollout
    naming it. playbooks/rke2_uninstall.yml refuses an unconfirmed
    request and the first server without the whole cluster, touching no node; then it drains the agent, runs
    rke2-uninstall.sh, removes the artifacts and the token file, and deletes the Node (the broken agent goes).
    A rerun of playbooks/rke2.yml installs the agent again and it joins (a reinstall after uninstall works)."""
    state_dir = fleet["state_dir"]
    server, agent = fleet["ids"]
    labels = {"rke2_node_labels": ["org.platform/cluster=sandbox", "org.platform/pool=batch"]}
    inventory = _inventory(fleet, tmp_path, labels, rke2_version=NEXT)
    run, out, _, _ = _play(fleet, tmp_path, inventory=inventory)
    assert run.returncode == 0, out
    # The server's config did not change: its node task reports ok and it is not restarted; the agent restarts.
    assert _node_task(out, server) == "ok", out
    assert _node_task(out, agent) == "changed", out
    kubeconfig = tmp_path / "admin.kubeconfig"
    labelled = _nodes_json(fleet, kubeconfig)[fleet["ips"][agent]]["metadata"]["labels"]
    assert labelled["org.platform/pool"] == "batch"

    # A node that never becomes Ready stops the rollout, named: the agent loses its core image archive (the
    # stand-in then reports KubeletNotReady) and the release's archive list leaves it out, so nothing mends it.
    agent_name = _nodes_json(fleet, kubeconfig)[fleet["ips"][agent]]["metadata"]["name"]
    nodes.node_exec(state_dir, agent, "sh", "-c", "rm /var/lib/rancher/rke2/agent/images/rke2-images-core.*")
    broken = _inventory(
        fleet,
        tmp_path,
        labels | {"rke2_image_archives": ["rke2-images-canal"]},
        rke2_version=NEXT,
        rke2_wait_timeout=15,
    )
    run, out, _, _ = _play(fleet, tmp_path, inventory=broken)
    assert run.returncode != 0, out
    assert f"still waiting after 15 s for nodes Ready on {NEXT}: {agent_name}; the rollout stops here" in out, out
    inventory = _inventory(fleet, tmp_path, labels, rke2_version=NEXT)  # the same file again, as it was

    before = {h: nodes._session_counters(fleet)[h]["started"] for h in (server, agent)}
    for extra, message in [
        ({"rke2_uninstall": agent, "confirm_uninstall": server}, "confirm_uninstall must repeat rke2_uninstall"),
        (
            {"rke2_uninstall": server, "confirm_uninstall": server},
            f"the first server {server} goes only with the whole",
        ),
        ({"rke2_uninstall": "i-nosuch", "confirm_uninstall": "i-nosuch"}, "names no host"),
    ]:
        run, out, _, _ = _play(
            fleet, tmp_path, inventory=inventory, playbook="playbooks/rke2_uninstall.yml", extra=extra
        )
        assert run.returncode != 0, out
        assert message in out, out
        assert "nothing was changed" in out, out
    assert {h: nodes._session_counters(fleet)[h]["started"] for h in (server, agent)} == before, "a node was touched"

    extra = {"rke2_uninstall": agent, "confirm_uninstall": agent}
    run, out, seconds, _ = _play(
        fleet, tmp_path, inventory=inventory, playbook="playbooks/rke2_uninstall.yml", extra=extra
    )
    print(f"uninstall of the agent: {seconds:.1f} s")
    assert run.returncode == 0, out
    assert "failed=0" in _recap(out, agent), out
    left = nodes.node_exec(
        state_dir, agent, "sh", "-c",
        "ls -d /usr/local/bin/rke2 /usr/local/lib/systemd/system/rke2-agent.service /etc/rancher/rke2 "
        "/var/lib/rancher/rke2 /var/lib/rancher/rke2-artifacts 2>/dev/null; systemctl is-active rke2-agent; true",
    ).stdout  # fmt: skip
    assert left.split() == ["inactive"], left
    assert list(_nodes_json(fleet, kubeconfig)) == [fleet["ips"][server]]
    assert f"Node {agent_name} deleted from the cluster" in _journal(fleet, server, "rke2-server")

    run, out, seconds, _ = _play(fleet, tmp_path, inventory=inventory)
    print(f"reinstall of the agent: {seconds:.1f} s")
    assert run.returncode == 0, out
    listed = _nodes_json(fleet, kubeconfig)
    assert set(listed) == {fleet["ips"][server], fleet["ips"][agent]}
    assert all(n["status"]["conditions"][0]["status"] == "True" for n in listed.values()), listed


def _fresh_server_inventory(fleet, tmp_path, bucket: str, **overrides) -> Path:
    """The third node alone, as the first server, pulling its release from ``bucket``."""
    path = _inventory(fleet, tmp_path, {})
    inventory = json.loads(path.read_text())
    fresh = fleet["fresh"]
    inventory["all"]["vars"] |= {"rke2_artifact_bucket": bucket, **overrides}
    inventory["all"]["children"] = {
        "rke2_servers": {"hosts": {fresh: {"private_ip_address": fleet["ips"][fresh]}}},
        "rke2_agents": {"hosts": {}},
    }
    path.write_text(json.dumps(inventory))
    return path


def _installed_nothing(fleet) -> None:
    found = nodes.node_exec(
        fleet["state_dir"], fleet["fresh"], "sh", "-c",
        "ls /usr/local/bin/rke2 /usr/local/lib/systemd/system/rke2-server.service "
        "/var/lib/rancher/rke2/agent/images/* 2>/dev/null; true",
    ).stdout  # fmt: skip
    assert found.strip() == "", found


def test_a_corrupt_missing_or_unlisted_artifact_fails_naming_it_and_installs_nothing(fleet, tmp_path):
    """The node verifies every file against the release's sha256sum-<arch>.txt before install.sh runs: a
    tarball whose bytes do not match, an image archive missing from the bucket, and an archive the checksum
    file does not list each fail the play naming the file, and leave no rke2 binary, unit or image behind."""
    c, state_dir, fresh = fleet["c"], fleet["state_dir"], fleet["fresh"]
    bucket, prefix = "sandbox-rke2-faulty", f"rke2/{VERSION}"
    release = state_dir / "release"
    c["s3"].create_bucket(Bucket=bucket)
    build.upload(release, bucket, fleet["url"], client=c["s3"])
    inventory = _fresh_server_inventory(fleet, tmp_path, bucket)
    tarball, archive, sums = "rke2.linux-amd64.tar.gz", "rke2-images-core.linux-amd64.tar.zst", "sha256sum-amd64.txt"
    assert (release / archive).is_file()
    assert archive in (release / sums).read_text()

    faults = [
        ("corrupt", tarball, b"not the release tarball", f"checksum mismatch for {tarball}: sha256 "),
        ("missing", archive, None, "download failed (missing artifact?)"),
        ("unlisted", sums, None, f"lists no {archive} (missing artifact"),
    ]
    for fault, name, body, message in faults:
        build.upload(release, bucket, fleet["url"], client=c["s3"])  # the good release, then one fault
        if fault == "corrupt":
            c["s3"].put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)
        elif fault == "missing":
            c["s3"].delete_object(Bucket=bucket, Key=f"{prefix}/{name}")
        else:
            listed = (release / sums).read_text().splitlines()
            kept = "".join(f"{line}\n" for line in listed if not line.endswith(f"  {archive}"))
            c["s3"].put_object(Bucket=bucket, Key=f"{prefix}/{sums}", Body=kept.encode())
        run, out, seconds, _ = _play(fleet, tmp_path, inventory=inventory)
        print(f"{fault} {name}: {seconds:.1f} s")
        assert run.returncode != 0, out
        assert message in out, out
        assert f"fatal: [{fresh}]" in out, out
        _installed_nothing(fleet)
        if fault == "corrupt":  # the file that failed its checksum is not kept
            assert name not in nodes.node_exec(state_dir, fresh, "ls", "/var/lib/rancher/rke2-artifacts").stdout


def test_a_token_parameter_under_another_kms_key_is_refused_before_any_node_changes(fleet, tmp_path):
    """An existing token parameter keeps its key (the role never overwrites it): one encrypted with another
    key than rke2_token_kms_key fails the play on the controller, naming both keys, before the node is touched;
    the same key spelled another way (its ARN for its alias) is recognised as the same key."""
    c = fleet["c"]
    kms = boto3.client("kms", endpoint_url=fleet["url"], region_name="us-east-1")
    key_arn = kms.create_key(Description="not the RKE2 token key")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/sandbox-other", TargetKeyId=key_arn)
    parameter = "/sandbox/rke2/token-under-another-key"
    c["ssm"].put_parameter(Name=parameter, Value="t" * 48, Type="SecureString", KeyId="alias/sandbox-other")

    inventory = _fresh_server_inventory(fleet, tmp_path, ARTIFACTS, rke2_token_parameter=parameter)
    before = nodes._session_counters(fleet).get(fleet["fresh"], {}).get("started", 0)
    run, out, _, _ = _play(fleet, tmp_path, inventory=inventory)
    assert run.returncode != 0, out
    assert (
        f"SSM parameter {parameter} is encrypted with KMS key alias/sandbox-other, not rke2_token_kms_key "
        "alias/aws/ssm" in out
    ), out
    assert nodes._session_counters(fleet)[fleet["fresh"]]["started"] == before, "a node task ran"
    _installed_nothing(fleet)

    # The same key named by its ARN: resolved to one key, so the check passes and the install goes on.
    inventory = _fresh_server_inventory(
        fleet, tmp_path, ARTIFACTS, rke2_token_parameter=parameter, rke2_token_kms_key=key_arn
    )
    run, out, _, _ = _play(fleet, tmp_path, inventory=inventory)
    assert "is encrypted with KMS key" not in out, out
    assert run.returncode == 0, out


def test_the_whole_cluster_uninstalled_then_a_cis_node_baked_and_started(fleet, tmp_path):
    """The third node, a one-server cluster after the test above, is uninstalled whole (no drain, no Node
    deletion: there is no cluster left to ask). Then bake mode with rke2_profile cis: the release installed and
    the CIS host prerequisites in place (an etcd system user in /etc/passwd, the release's CIS sysctl file in
    /etc/sysctl.d), nothing started, no token on the node, and a rerun changes nothing. Started, the stand-in
    server accepts profile: cis only because the etcd user exists, and with rke2_cloud_provider external the
    server gets the cloud controller's keys and HelmChart. SIMULATED: a container cannot apply the kernel
    parameters, and the stand-in says so."""
    state_dir, fresh = fleet["state_dir"], fleet["fresh"]
    extra = {"rke2_uninstall": fresh, "confirm_uninstall": fresh}
    inventory = _fresh_server_inventory(fleet, tmp_path, ARTIFACTS)
    run, out, _, _ = _play(fleet, tmp_path, inventory=inventory, playbook="playbooks/rke2_uninstall.yml", extra=extra)
    assert run.returncode == 0, out
    for task in ("Drain the node", "Delete the node from the cluster"):
        assert re.search(rf"{task} \(the cluster stays\)\] \**\nskipping: \[", out), out
    _installed_nothing(fleet)
    assert nodes.node_exec(state_dir, fresh, "ls", "/etc/rancher/rke2").returncode != 0

    baked = _fresh_server_inventory(fleet, tmp_path, ARTIFACTS, rke2_state="installed", rke2_profile="cis")
    for attempt in ("bake", "rerun"):
        run, out, _, _ = _play(fleet, tmp_path, inventory=baked)
        assert run.returncode == 0, out
        assert ("changed=0" in _recap(out, fresh)) == (attempt == "rerun"), out
    passwd = nodes.node_exec(state_dir, fresh, "grep", "^etcd:", "/etc/passwd").stdout
    assert passwd.startswith("etcd:x:"), passwd
    assert passwd.strip().endswith(":/sbin/nologin"), passwd
    sysctl = nodes.node_exec(state_dir, fresh, "cat", "/etc/sysctl.d/60-rke2-cis.conf").stdout
    shipped = nodes.node_exec(state_dir, fresh, "cat", "/usr/local/share/rke2/rke2-cis-sysctl.conf").stdout
    assert sysctl == shipped, sysctl
    assert "vm.overcommit_memory" in sysctl, sysctl
    state = nodes.node_exec(
        state_dir, fresh, "sh", "-c", "systemctl is-active rke2-server; ls /etc/rancher/rke2/token; true"
    )
    assert state.stdout.split() == ["inactive"], state.stdout

    # Started, with the AWS cloud controller too: the VPC's ec2 and elasticloadbalancing endpoints and the node's
    # cluster tag pass the controller's checks; the server writes the controller's HelmChart (0600) and the
    # cloud-provider=external keys. SIMULATED: the chart is a placeholder and the stand-in deploys no manifest.
    c = fleet["c"]
    vpc = c["ec2"].describe_vpcs(Filters=[{"Name": "cidr", "Values": [VPC_CIDR]}])["Vpcs"][0]["VpcId"]
    for service in ("ec2", "elasticloadbalancing"):
        name = f"com.amazonaws.us-east-1.{service}"
        c["ec2"].create_vpc_endpoint(VpcId=vpc, ServiceName=name, VpcEndpointType="Interface")
    chart = tmp_path / "aws-cloud-controller-manager-0.0.8.tgz"
    chart.write_bytes(gzip.compress(b"SIMULATED: a placeholder, not the chart"))
    ccm = {"rke2_cloud_provider": "external", "rke2_aws_ccm_chart_file": str(chart), "rke2_vpc_id": vpc}
    started = _fresh_server_inventory(fleet, tmp_path, ARTIFACTS, rke2_profile="cis", rke2_cluster_id="sandbox", **ccm)
    document = json.loads(started.read_text())
    document["all"]["children"]["rke2_servers"]["hosts"][fresh]["tags"] = {"kubernetes.io/cluster/sandbox": "owned"}
    started.write_text(json.dumps(document))
    run, out, _, _ = _play(fleet, tmp_path, inventory=started)
    assert run.returncode == 0, out
    config = nodes.node_exec(state_dir, fresh, "cat", "/etc/rancher/rke2/config.yaml").stdout
    for line in (
        'profile: "cis"',
        'kubelet-arg: ["cloud-provider=external"]',
        "disable-cloud-controller: true",
        'kube-apiserver-arg: ["cloud-provider=external"]',
        "node-name-from-cloud-provider-metadata: true",
    ):
        assert line in config, config
    manifest = "/var/lib/rancher/rke2/server/manifests/aws-cloud-controller-manager.yaml"
    assert nodes.node_exec(state_dir, fresh, "stat", "-c", "%a", manifest).stdout.strip() == "600"
    written = yaml.safe_load(nodes.node_exec(state_dir, fresh, "cat", manifest).stdout)
    assert base64.b64decode(written["spec"]["chartContent"]) == chart.read_bytes()
    assert "--cluster-name=sandbox" in yaml.safe_load(written["spec"]["valuesContent"])["args"]
    assert "SIMULATED" in _journal(fleet, fresh, "rke2-server")
