# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `make sandbox` runs, with booted nodes: sandbox/site.yml then sandbox/destroy.yml over aws_ssm.

A module of its own (not beside test_sandbox_lifecycle's plain lifecycle) so that the two longest tests of the
suite run on different pytest-xdist workers (`make test` distributes by module).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import test_sandbox_nodes as nodes
import yaml

from sandbox.pytest_plugin import VENV_BIN
from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=350)]


def test_make_sandbox_path_with_nodes(tmp_path):
    """What `make sandbox` runs, with the node service and the small fleet: the seed launches the bastion and a
    server (booted machines), the runbook waits for SSM and runs the shared-RDS MySQL tasks on the bastion over
    aws_ssm, RKE2 runs on the server from the seeded stand-in release, the teardown terminates the fleet; afterwards the transfer bucket is empty, no password handled is
    in any file under logs/ or on the bastion's disk, and nothing is left (machine, mount, netns, veth, cgroup)."""
    reason = nodes._why_not()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path / "sandbox"
    sandbox = Sandbox(state_dir, nodes=True)
    started = time.time()
    try:
        endpoints = sandbox.up()["endpoints"]
        url = endpoints["aws"]["endpoint_url"]
        env = {
            **os.environ,
            **nodes.DUMMY,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "AWS_ENDPOINT_URL_SSM": url,
            "AWS_ENDPOINT_URL_S3": url,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "ORG_PLATFORM_SANDBOX_DIR": str(state_dir),
            "ORG_PLATFORM_SANDBOX_FLEET": "small",
        }
        env.pop("AWS_ENDPOINT_URL", None)

        def run(*argv):
            began = time.monotonic()
            answer = subprocess.run(
                [str(VENV_BIN / "ansible-playbook"), *argv, "-i", "inventories/sandbox"],
                capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=1500, check=False,
            )  # fmt: skip
            print(f"{argv[0]}: {time.monotonic() - began:.0f} s")
            return answer

        c = nodes._clients(url)
        built = run("sandbox/site.yml")
        assert built.returncode == 0, (built.stdout + built.stderr)[-6000:]
        out = built.stdout
        assert "SIMULATED: the sandbox launches 1 bastion, 1 RKE2 server(s) and 0 agent(s)" in out
        assert "SIMULATED: session-manager-plugin stand-in" not in out  # the stand-in's label goes to the session log
        running = [
            {"Name": "tag:Environment", "Values": ["sandbox"]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
        reservations = c["ec2"].describe_instances(Filters=running)["Reservations"]
        fleet = {{t["Key"]: t["Value"] for t in i["Tags"]}["Role"]: i for r in reservations for i in r["Instances"]}
        assert sorted(fleet) == ["bastion", "rke2-server"]
        bastion = fleet["bastion"]["InstanceId"]
        assert fleet["bastion"]["IamInstanceProfile"]["Arn"].endswith("/sandbox-platform-bastion-profile")
        # The MySQL tasks ran on the bastion (delegated, over aws_ssm), the AWS calls on the control node.
        assert f"[localhost -> {bastion}]" in out
        counters = nodes._session_counters({"url": url})
        assert counters[bastion]["started"] >= 6, counters
        transfer = "org-sandbox-ssm-transfer"
        assert c["s3"].list_objects_v2(Bucket=transfer).get("KeyCount", 0) == 0
        assert "Versions" not in c["s3"].list_object_versions(Bucket=transfer)
        assert c["s3"].get_bucket_versioning(Bucket=transfer).get("Status") != "Enabled"
        rule = c["s3"].get_bucket_encryption(Bucket=transfer)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        lifecycle = c["s3"].get_bucket_lifecycle_configuration(Bucket=transfer)["Rules"]
        assert [r["Expiration"]["Days"] for r in lifecycle] == [1]
        secrets = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1")
        passwords = {Path(endpoints["mysql"]["admin_password_file"]).read_text().strip()}
        for service in ("fileflow", "authhub", "crawler"):
            document = json.loads(
                secrets.get_secret_value(SecretId=f"/sandbox/{service}/db-credentials")["SecretString"]
            )
            assert (document["host"], document["port"]) == ("10.9.0.2", 3306)  # the DB's VPC address (10.9.0.0/16 + 2)
            passwords.add(document["password"])
        bastion_disk = state_dir / "nodes" / bastion / "upper"
        assert bastion_disk.is_dir()
        on_disk = "".join(
            p.read_bytes().decode(errors="replace")
            for p in bastion_disk.rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" in on_disk  # the disk was read (its /etc/org-platform/endpoints.env)
        for password in passwords:
            assert password not in on_disk, "a password was left on the bastion's disk"

        # RKE2 on the server (the seed's stand-in release, pulled by the node through the VPC endpoint): its
        # unit runs, config.yaml names the token file, and the token is a secret like the passwords.
        server = fleet["rke2-server"]["InstanceId"]
        assert "PLAY [RKE2 - first server]" in out
        active = nodes.node_exec(state_dir, server, "systemctl", "is-active", "rke2-server").stdout.strip()
        assert active == "active", active
        config = nodes.node_exec(state_dir, server, "cat", "/etc/rancher/rke2/config.yaml").stdout
        assert "token-file: /etc/rancher/rke2/token" in config
        ssm = boto3.client("ssm", endpoint_url=url, region_name="us-east-1")
        token = ssm.get_parameter(Name="/sandbox/rke2/token", WithDecryption=True)["Parameter"]["Value"]
        assert token not in config
        passwords.add(token)
        kubeconfig = state_dir / "kubeconfig"  # inventories/sandbox's rke2_kubeconfig_path
        assert kubeconfig.stat().st_mode & 0o777 == 0o600
        admin = yaml.safe_load(kubeconfig.read_text())
        assert admin["clusters"][0]["cluster"]["server"] == f"https://{fleet['rke2-server']['PrivateIpAddress']}:6443"
        passwords.add(admin["users"][0]["user"]["client-key-data"])

        destroyed = run("sandbox/destroy.yml", "-e", "confirm_destroy=sandbox")
        assert destroyed.returncode == 0, (destroyed.stdout + destroyed.stderr)[-6000:]
        # The teardown's graceful phase ran on the live server, through its API (the stand-in has no
        # LoadBalancer Service), before the fleet stopped; the teardown did not try it again on a gone node.
        assert (
            f"SIMULATED: the RKE2 stand-in's API, graceful phase on {server}: no LoadBalancer Service and no Ingress"
            in destroyed.stdout
        ), destroyed.stdout[-6000:]
        assert "graceful phase skipped: the server node" not in destroyed.stdout
        assert "graceful phase skipped: no control plane" not in destroyed.stdout
        assert "TargetNotConnected" not in destroyed.stdout + destroyed.stderr
        states = nodes._states(c["ec2"], [i["InstanceId"] for i in fleet.values()])
        assert set(states.values()) == {"terminated"}, states
        assert nodes.machine_processes(state_dir) == []
        assert not (state_dir / "nodes" / bastion).exists()
        written = built.stdout + built.stderr + destroyed.stdout + destroyed.stderr
        logs = [p for p in (REPO_ROOT / "logs").rglob("*") if p.is_file() and p.stat().st_mtime >= started - 1]
        assert logs, "the run wrote no log under logs/"
        for path in logs:
            written += "\n" + path.read_text(errors="replace")
        for password in passwords:
            assert len(password) >= 16
            assert password not in written, "a password is in the run's output or a file under logs/"
    finally:
        sandbox.down(purge=False)
        left = nodes.no_leftovers(state_dir)
        assert left == {"machines": [], "mounts": [], "netns": [], "links": []}, left
        print(f"make sandbox path (small fleet): {time.time() - started:.0f} s")
