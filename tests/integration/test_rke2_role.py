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
Needs root, systemd-nspawn, debootstrap and kubectl (Debian's kubernetes-client, or ORG_PLATFORM_KUBECTL).
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
import test_sandbox_nodes as nodes
import yaml

from sandbox.nodes import net
from sandbox.rke2 import build
from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=70)]

VERSION = "v1.33.5+rke2r1"
VPC_CIDR = "10.63.0.0/16"
ENDPOINT = net.endpoint_address(VPC_CIDR)
ARTIFACTS = "sandbox-rke2-artifacts"
TOKEN_PARAMETER = "/sandbox/rke2/token"
WRONG_PARAMETER = "/sandbox/rke2/not-the-token"


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


def _inventory(fleet, tmp_path, agent_vars: dict) -> Path:
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


def _play(fleet, tmp_path, agent_vars=None, inventory=None):
    inventory = inventory or _inventory(fleet, tmp_path, agent_vars or {})
    argv = [str(nodes.VENV_BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/rke2.yml"]
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
    assert secret not in out
    assert client_key not in out
    leaked = [
        str(path)
        for path in (REPO_ROOT / "logs").rglob("*")
        if path.is_file() and any(value.encode() in path.read_bytes() for value in (secret, client_key))
    ]
    assert leaked == []
    assert c["s3"].list_objects_v2(Bucket=nodes.BUCKET).get("KeyCount", 0) == 0


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
