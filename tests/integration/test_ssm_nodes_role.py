# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role org.platform.ssm_nodes on booted sandbox nodes: waits for SSM Online and a session, names the failures.

One private sandbox with the node service for the module: three golden-image nodes (two for the play, one
whose route to the endpoints is broken) and one instance of a plain image, which never boots a node and so
never registers with SSM. Needs what tests/integration/test_sandbox_nodes.py needs (root, systemd-nspawn).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import test_sandbox_nodes as nodes

from sandbox.nodes import net
from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=85)]

MISSING = "i-0000000000000dead"
# Each node test module has a VPC range of its own: its endpoint address gets a host route, so two fleets
# booted at once by two test workers must not share one (test_sandbox_nodes has 10.61, RKE2 10.62 and 10.63).
VPC_CIDR = "10.65.0.0/16"
ENDPOINT = net.endpoint_address(VPC_CIDR)
PLAY = """
- name: Wait for the nodes over SSM
  hosts: all
  gather_facts: false
  roles:
    - role: org.platform.ssm_nodes
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    reason = nodes._why_not()
    if reason:
        pytest.skip(reason)
    state_dir = tmp_path_factory.mktemp("ssm-nodes-sandbox")
    saved = {k: os.environ.get(k) for k in [*nodes.DUMMY, "ORG_PLATFORM_EMULATOR_SSM_ONLINE_S", "AWS_ENDPOINT_URL"]}
    os.environ.update(nodes.DUMMY)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["ORG_PLATFORM_EMULATOR_SSM_ONLINE_S"] = "20"
    sandbox = Sandbox(state_dir, nodes=True)
    try:
        url = sandbox.up()["endpoints"]["aws"]["endpoint_url"]
        c = nodes._clients(url)
        vpc = c["ec2"].create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.65.10.0/24")["Subnet"]["SubnetId"]
        c["iam"].create_role(RoleName="sandbox-node", AssumeRolePolicyDocument="{}")
        c["iam"].create_instance_profile(InstanceProfileName="sandbox-node")
        c["iam"].add_role_to_instance_profile(InstanceProfileName="sandbox-node", RoleName="sandbox-node")
        golden = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden"}]}]
        ami = c["ec2"].register_image(Name="golden-sandbox", TagSpecifications=golden)["ImageId"]
        plain = c["ec2"].register_image(Name="plain-image")["ImageId"]
        c["s3"].create_bucket(Bucket=nodes.BUCKET)
        fleet = {"state_dir": state_dir, "url": url, "c": c, "subnet": subnet, "ami": ami, "endpoint": ENDPOINT}
        fleet["ids"], online = nodes.launch(fleet, 3)
        print(f"\nboot-to-Online per node (s): {online}")
        answer = c["ec2"].run_instances(
            ImageId=plain, MinCount=1, MaxCount=1, SubnetId=subnet,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "never-up"}]}],
        )  # fmt: skip
        fleet["plain"] = answer["Instances"][0]["InstanceId"]
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


def run_role(fleet, tmp_path, hosts, *extra, check=False):
    inventory = nodes._inventory({**fleet, "ids": hosts}, tmp_path)
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    argv = [str(nodes.VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(play)]
    argv += ["-e", json.dumps({"ssm_nodes_aws_endpoint_url": fleet["url"], **dict(e for e in extra)})]
    argv += ["--check"] if check else []
    started = time.monotonic()
    run = subprocess.run(
        argv, capture_output=True, text=True, env=nodes._ansible_env(fleet), cwd=REPO_ROOT, timeout=600, check=False
    )
    print(f"ssm_nodes run ({len(hosts)} hosts{', check' if check else ''}): {time.monotonic() - started:.1f} s")
    return run, run.stdout + run.stderr


def started(fleet) -> dict:
    return {i: c["started"] for i, c in nodes._session_counters(fleet).items()}


def test_every_node_online_and_answering_in_check_mode_and_for_real(fleet, tmp_path):
    ready = fleet["ids"][:2]
    for check in (True, False):
        before = started(fleet)
        run, out = run_role(fleet, tmp_path, ready, check=check)
        assert run.returncode == 0, out
        for instance_id in ready:
            assert f"{instance_id}" in out
            assert "changed=0" in out.split(instance_id)[-1].splitlines()[0], out
            assert started(fleet)[instance_id] > before.get(instance_id, 0)  # a session answered, check mode too
    assert fleet["c"]["s3"].list_objects_v2(Bucket=nodes.BUCKET).get("KeyCount", 0) == 0


INVENTORY_PLAY = """
- name: The inventory found the nodes
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Fail, naming the group, when the aws_ec2 inventory matched no instance
      ansible.builtin.include_role:
        name: org.platform.ssm_nodes
        tasks_from: inventory
""" + PLAY.replace("hosts: all", "hosts: aws_ec2")


def test_an_inventory_with_no_matching_instance_is_an_error_naming_the_group(fleet, tmp_path):
    """inventories/sandbox/aws_ec2.yml against this fleet: running nodes, but none tagged Environment=sandbox."""
    before = started(fleet)
    play = tmp_path / "inventory-play.yml"
    play.write_text(INVENTORY_PLAY)
    run = subprocess.run(
        [str(nodes.VENV_BIN / "ansible-playbook"), "-i", "inventories/sandbox", str(play)],
        capture_output=True, text=True, env=nodes._ansible_env(fleet), cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert f"ssm_nodes: the inventory ({REPO_ROOT / 'inventories/sandbox'}) has no instance in aws_ec2" in out, out
    assert "nothing was changed" in out
    assert "Wait for the nodes over SSM" not in out  # the node play never started
    assert started(fleet) == before


def test_an_instance_that_does_not_exist_is_named_at_once(fleet, tmp_path):
    before = started(fleet)
    run, out = run_role(fleet, tmp_path, [fleet["ids"][0], MISSING])
    assert run.returncode != 0
    assert f"ssm_nodes: {MISSING}: not-found, SSM NotRegistered: no such running instance" in out, out
    assert fleet["ids"][0] not in out.split("ssm_nodes:")[1].split("nothing was changed")[0]
    assert started(fleet) == before  # no session on the good node either: nothing half-done


def test_an_instance_that_never_comes_online_is_named_with_its_name_tag(fleet, tmp_path):
    before = started(fleet)
    wait = [("ssm_nodes_online_timeout", 6), ("ssm_nodes_poll_interval", 2)]
    run, out = run_role(fleet, tmp_path, [fleet["ids"][0], fleet["plain"]], *wait)
    assert run.returncode != 0
    message = f"not Online in SSM after 6 s: {fleet['plain']} (never-up): running, SSM NotRegistered"
    assert message in out, out
    assert started(fleet) == before


def test_a_missing_transfer_bucket_is_refused_before_any_wait(fleet, tmp_path):
    before = started(fleet)
    run, out = run_role(fleet, tmp_path, fleet["ids"][:2], ("ansible_aws_ssm_bucket_name", "no-such-bucket"))
    assert run.returncode != 0
    assert "the aws_ssm transfer bucket 'no-such-bucket' does not exist" in out, out
    assert started(fleet) == before


def test_a_node_with_no_route_to_the_endpoints_is_named(fleet, tmp_path):
    broken = fleet["ids"][2]
    netns = net.node_netns(net.sandbox_tag(fleet["state_dir"]), broken)
    subprocess.run(["ip", "-n", netns, "addr", "flush", "dev", "eth0"], check=True)
    ssm = fleet["c"]["ssm"]
    nodes._wait(lambda: nodes._ping_status(ssm, [broken]).get(broken) == "ConnectionLost", 60, "ConnectionLost")
    wait = [("ssm_nodes_online_timeout", 4), ("ssm_nodes_poll_interval", 2)]
    run, out = run_role(fleet, tmp_path, [fleet["ids"][0], broken], *wait)
    assert run.returncode != 0
    assert f"not Online in SSM after 4 s: {broken} (sandbox-node): running, SSM ConnectionLost" in out, out


def test_a_session_that_hangs_is_named_after_the_session_timeout(fleet, tmp_path):
    good, hung = fleet["ids"][:2]
    hang = Path("/etc/profile.d/zz-hang.sh")
    assert nodes.node_exec(fleet["state_dir"], hung, "sh", "-c", f"echo 'sleep 3600' > {hang}").returncode == 0
    try:
        extra = [("ansible_aws_ssm_timeout", 8), ("ssm_nodes_session_timeout", 10)]
        run, out = run_role(fleet, tmp_path, [good, hung], *extra)
    finally:
        nodes.node_exec(fleet["state_dir"], hung, "rm", "-f", str(hang))
    assert run.returncode != 0
    assert f"Online in SSM but no session answered within 10 s: {hung} (sandbox-node): " in out, out
    report = out.split("no session answered")[1].split("nothing was changed")[0]
    assert good not in report
