# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.cluster_cleanup against the sandbox's AWS emulator (moto + sandbox/emulator/rules).

The estate is seeded by benchmarks.cleanup.seed_estate: the Terraform stacks' SGs and instances, and what
RKE2's cloud controllers leave behind (CLBs, ALBs, NLBs with their TGs and ENIs, k8s SGs cross-referencing
the stack SGs, stray ENIs). The emulator raises DependencyViolation like AWS, so these tests fail if the
cleanup misses a dependency.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import boto3
import pytest

from benchmarks.cleanup import (
    ClusterCleanup,
    cleanup_options,
    client_factory,
    emulator_control,
    seed_estate,
    terminate_compute,
    terraform_destroy_security_and_network,
)
from sandbox.pytest_plugin import throwaway_kubeconfig
from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=50)]


@pytest.fixture
def emu(aws):
    """Clients on the emulator, LB ENIs lingering 1 s, no throttling, counters zeroed."""
    emulator_control(aws.aws_endpoint_url, {"eni_linger_s": 1.0, "throttle_share": 0.0, "reset_stats": True})
    clients = {s: boto3.client(s) for s in ("ec2", "elb", "elbv2")}
    yield aws, clients
    emulator_control(aws.aws_endpoint_url, {"eni_linger_s": 3.0, "throttle_share": 0.0, "reset_stats": True})


def run_cleanup(aws, estate, tmp_path=None, **overrides):
    options = cleanup_options(estate, audit_dir=tmp_path, **overrides)
    return ClusterCleanup(options, client_factory(aws.aws_endpoint_url)).run()


def seed(clients, **kwargs):
    return seed_estate(clients["ec2"], clients["elb"], clients["elbv2"], **kwargs)


def full_teardown(aws, clients, estate, tmp_path):
    """destroy.yml's order: LB purge, compute destroy, ENI/SG purge + verify."""
    first = run_cleanup(aws, estate, tmp_path, phases=["lb"])
    terminate_compute(clients["ec2"], estate)
    second = run_cleanup(aws, estate, tmp_path, phases=["eni", "sg", "verify"])
    return first, second


def test_control_dependency_violation_without_cleanup_and_none_with_it(emu, tmp_path):
    aws, clients = emu
    estate = seed(clients)
    assert len(estate.stray_eni_ids) == 20
    assert len(estate.k8s_sg_ids) == 3
    assert {k: len(v) for k, v in estate.load_balancers.items()} == {"clb": 2, "alb": 2, "nlb": 2}
    terminate_compute(clients["ec2"], estate)
    violations = terraform_destroy_security_and_network(clients["ec2"], estate)
    assert violations, "without the cleanup, destroying 10-security and 00-network must hit DependencyViolation"
    assert any(estate.stack_sg_ids[0] in v for v in violations)

    aws.reset_aws()
    emulator_control(aws.aws_endpoint_url, {"reset_stats": True})
    estate = seed(clients)
    first, second = full_teardown(aws, clients, estate, tmp_path)
    assert first["completed"]
    assert second["completed"]
    assert second["verify"]["ok"], second["verify"]
    assert sorted(first["deleted"]["load_balancers"]) == sorted(
        lb for lbs in estate.load_balancers.values() for lb in lbs
    )
    assert sorted(first["deleted"]["target_groups"]) == sorted(estate.target_groups)
    assert sorted(second["deleted"]["security_groups"]) == sorted(estate.k8s_sg_ids)
    assert set(estate.stray_eni_ids) <= set(second["deleted"]["network_interfaces"])
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []
    stats = emulator_control(aws.aws_endpoint_url)["stats"]
    assert stats["errors"].get("DependencyViolation", 0) == 0, stats["errors"]
    assert first["stats"]["dependency_violations"] == second["stats"]["dependency_violations"] == 0
    # The audit log has the full rule before every revoke.
    # Named by the collection's log rule: <stamp>-<run id>_cleanup_<label>.log (module_utils/_runlog.py).
    records = [json.loads(line) for path in tmp_path.glob("*_cleanup_*.log") for line in path.read_text().splitlines()]
    revokes = [r for r in records if r["action"] == "revoke:security_group_rule"]
    assert len(revokes) == len(second["revoked_rules"]) > 0
    assert all(r["rule"]["ReferencedGroupInfo"]["GroupId"] in estate.k8s_sg_ids for r in revokes)
    assert all({"time", "action", "resource", "reason"} <= set(r) for r in records)


def test_decoys_survive_and_the_plan_says_why(emu, tmp_path):
    aws, clients = emu
    estate = seed(clients, decoys=True)
    first, second = full_teardown(aws, clients, estate, tmp_path)
    ec2, elbv2 = clients["ec2"], clients["elbv2"]
    groups = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    for what in ("other_cluster_sg", "shared_sg", "other_vpc_sg", "protected_sg"):
        assert estate.decoys[what] in groups, what
    assert [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]] == [
        estate.decoys["other_cluster_lb"]
    ]
    enis = {e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces()["NetworkInterfaces"]}
    assert estate.decoys["live_primary_eni"] in enis
    live = ec2.describe_instances(InstanceIds=[estate.decoys["live_instance"]])["Reservations"][0]["Instances"][0]
    assert live["State"]["Name"] == "running"

    def reason(result, rid):
        plan = result["plan"]
        entries = [e for k in ("load_balancers", "security_groups", "network_interfaces") for e in plan[k]]
        found = [e for e in entries if e["id"] == rid]
        assert found, f"{rid} not in the plan"
        return found[0]

    assert "another cluster" in reason(first, estate.decoys["other_cluster_lb"])["reason"]
    assert "another cluster" in reason(first, estate.decoys["other_cluster_sg"])["reason"]
    assert "shared" in reason(first, estate.decoys["shared_sg"])["reason"]
    assert "outside VPC" in reason(first, estate.decoys["other_vpc_sg"])["reason"]
    assert "protect list" in reason(first, estate.decoys["protected_sg"])["reason"]
    primary = reason(second, estate.decoys["live_primary_eni"])
    assert primary["action"] == "blocker"
    assert "primary ENI of live instance" in primary["reason"]
    for rid in (estate.decoys[k] for k in ("other_cluster_lb", "other_cluster_sg", "shared_sg", "protected_sg")):
        assert reason(first, rid)["action"] == "skip"
    # Our own leftovers are gone; the verify gate names what still blocks the stacks.
    assert set(estate.k8s_sg_ids) <= set(second["deleted"]["security_groups"])
    assert not second["verify"]["ok"]
    blocking = {b["id"] for b in second["verify"]["blockers"]}
    assert {
        estate.decoys["other_cluster_lb"],
        estate.decoys["shared_sg"],
        estate.decoys["live_primary_eni"],
    } <= blocking
    assert second["stats"]["dependency_violations"] == 0


def test_check_mode_deletes_nothing_and_lists_exactly_what_apply_deletes(emu, tmp_path):
    aws, clients = emu
    emulator_control(aws.aws_endpoint_url, {"eni_linger_s": 20.0})  # LB ENIs stay until we delete them
    estate = seed(clients, nlbs=0)
    terminate_compute(clients["ec2"], estate)
    ec2 = clients["ec2"]

    def snapshot():
        return (
            sorted(e["NetworkInterfaceId"] for e in ec2.describe_network_interfaces()["NetworkInterfaces"]),
            sorted(
                (g["GroupId"], json.dumps(g["IpPermissions"], sort_keys=True))
                for g in ec2.describe_security_groups()["SecurityGroups"]
            ),
            sorted(lb["LoadBalancerArn"] for lb in clients["elbv2"].describe_load_balancers()["LoadBalancers"]),
            sorted(
                lb["LoadBalancerName"] for lb in clients["elb"].describe_load_balancers()["LoadBalancerDescriptions"]
            ),
            sorted(tg["TargetGroupArn"] for tg in clients["elbv2"].describe_target_groups()["TargetGroups"]),
        )

    before = snapshot()
    emulator_control(aws.aws_endpoint_url, {"reset_stats": True})
    planned = run_cleanup(aws, estate, tmp_path, check_mode=True)
    assert snapshot() == before
    mutating = {
        k: v for k, v in emulator_control(aws.aws_endpoint_url)["stats"]["calls"].items() if "Describe" not in k
    }
    assert mutating == {}, mutating
    assert planned["changed"] is True
    todo = planned["plan"]["to_delete"]
    assert todo["security_groups"]
    assert todo["network_interfaces"]
    assert todo["load_balancers"]

    applied = run_cleanup(aws, estate, tmp_path)
    assert applied["verify"]["ok"], applied["verify"]
    for kind in ("load_balancers", "target_groups", "security_groups"):
        assert sorted(applied["deleted"][kind]) == sorted(todo[kind]), kind
    gone = applied["deleted"]["network_interfaces"] + applied["released_network_interfaces"]
    assert sorted(gone) == sorted(todo["network_interfaces"])
    assert applied["released_network_interfaces"] == []
    assert len(applied["revoked_rules"]) == len(todo["rules"])
    # A rerun converges: nothing left to do.
    again = run_cleanup(aws, estate, tmp_path)
    assert again["changed"] is False
    assert not any(again["plan"]["to_delete"].values())


def test_killed_half_way_then_rerun_finishes(emu, tmp_path):
    aws, clients = emu
    emulator_control(aws.aws_endpoint_url, {"eni_linger_s": 3.0})  # verify waits >= 3 s for the NLB ENIs
    estate = seed(clients, stray_enis=60)
    terminate_compute(clients["ec2"], estate)
    stopped = run_cleanup(aws, estate, tmp_path, deadline_s=1.5)
    assert stopped["completed"] is False
    assert stopped["stopped_in_phase"] in ("discover", "lb", "eni", "sg", "verify")
    finished = run_cleanup(aws, estate, tmp_path)
    assert finished["completed"] is True
    assert finished["verify"]["ok"], finished["verify"]
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []
    stats = emulator_control(aws.aws_endpoint_url)["stats"]
    assert stats["errors"].get("DependencyViolation", 0) == 0


def test_throttling_is_retried_and_counted(emu, tmp_path):
    aws, clients = emu
    estate = seed(clients)
    terminate_compute(clients["ec2"], estate)
    emulator_control(aws.aws_endpoint_url, {"throttle_share": 0.25, "throttle_seed": 7, "reset_stats": True})
    try:
        result = run_cleanup(aws, estate, tmp_path, backoff_base_s=0.01, backoff_cap_s=0.05, max_attempts=12)
    finally:
        stats = emulator_control(aws.aws_endpoint_url, {"throttle_share": 0.0})["stats"]
    assert result["completed"]
    assert result["verify"]["ok"], result["verify"]
    assert stats["total_throttled"] > 0
    assert result["stats"]["retries"] == stats["total_throttled"] == result["stats"]["throttled"]
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []


def test_refuses_another_account(emu, tmp_path):
    from benchmarks.cleanup import CleanupOptions

    aws, clients = emu
    estate = seed(clients, clbs=0, albs=0, nlbs=0, k8s_sgs=1, stray_enis=1, workers=0)
    options = cleanup_options(estate, expected_account_id="210987654321", audit_dir=tmp_path)
    assert isinstance(options, CleanupOptions)
    from ansible_collections.org.platform.plugins.module_utils._cleanup import CleanupError

    with pytest.raises(CleanupError, match="expected 210987654321"):
        ClusterCleanup(options, client_factory(aws.aws_endpoint_url)).run()
    assert len(clients["ec2"].describe_network_interfaces()["NetworkInterfaces"]) == 1


def test_playbook_runs_the_aws_path_and_says_the_graceful_phase_was_skipped(emu, playbook, tmp_path):
    aws, clients = emu
    estate = seed(clients)
    terminate_compute(clients["ec2"], estate)
    started = time.time()
    run = playbook(
        "playbooks/teardown_cleanup.yml",
        inventory="inventories/sandbox",
        extra_vars={
            "cluster_cleanup_vpc_id": estate.vpc_id,
            "cluster_cleanup_cluster_names": [estate.cluster],
            "cluster_cleanup_protect_ids": estate.protect_ids,
            "cluster_cleanup_poll_interval": 0.25,
        },
        env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
    )
    assert run.rc == 0, run.output[-3000:]
    assert "SIMULATED: graceful phase skipped: no control plane is reachable" in run.output
    assert "DependencyViolation 0" in run.output
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []
    # (The output masks "sandbox": it is also the dummy secret key, so the file is found by its name, and by
    # this estate's VPC id: another test worker's destroy.yml may write a cleanup_sandbox audit log meanwhile.)
    audit_files = [
        p
        for p in (REPO_ROOT / "logs" / "audit").glob("*_cleanup_sandbox.log")
        if p.stat().st_mtime >= started and estate.vpc_id in p.read_text()
    ]
    assert len(audit_files) == 1, audit_files
    audit_file = audit_files[0]
    actions = [json.loads(line)["action"] for line in audit_file.read_text().splitlines()]
    assert actions[0] == "start"
    assert actions[-1] == "finish"
    assert "revoke:security_group_rule" in actions


def test_playbook_falls_through_when_the_graceful_phase_fails(emu, playbook, tmp_path):
    """A server node that answers but cannot become root: the play goes on to the AWS path."""
    aws, clients = emu
    estate = seed(clients, clbs=1, albs=1, nlbs=0, k8s_sgs=2, stray_enis=2, workers=0)
    inventory = _fake_server_inventory(tmp_path, f"ansible_become_exe: {tmp_path / 'no-such-sudo'}")
    run = playbook(
        "playbooks/teardown_cleanup.yml",
        inventory=inventory,
        extra_vars=_fake_server_vars(estate) | {"cluster_cleanup_connect_timeout": 5},
        env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
    )
    assert run.rc == 0, run.output[-3000:]
    assert "Graceful phase failed on fake-server" in run.output
    assert "graceful phase skipped: the server node or its API did not answer" in run.output
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []


def test_playbook_check_mode_reports_the_plans_blockers(emu, playbook, tmp_path):
    """Issue 18 item 13: in check mode the report counts the plan's blockers, not the (empty) applied ones."""
    aws, clients = emu
    estate = seed(clients)  # compute still running: its primary ENIs hold our SGs and are blockers
    planned = run_cleanup(aws, estate, tmp_path, check_mode=True)
    expected = len(planned["plan"]["blockers"])
    assert expected > 0, "the seeded estate must have planned blockers for this test to mean anything"
    run = playbook(
        "playbooks/teardown_cleanup.yml",
        inventory="inventories/sandbox",
        check=True,
        extra_vars={
            "cluster_cleanup_vpc_id": estate.vpc_id,
            "cluster_cleanup_cluster_names": [estate.cluster],
            "cluster_cleanup_protect_ids": estate.protect_ids,
            "cluster_cleanup_poll_interval": 0.25,
        },
        env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
    )
    assert run.rc == 0, run.output[-3000:]
    assert "Planned: load balancers" in run.output
    assert f"blockers {expected};" in run.output, run.output[-3000:]


@pytest.mark.parametrize(
    ("extra", "rc_ok", "needle"),
    [
        ({}, False, "The teardown cannot say which VPC to clean: no cluster_cleanup_vpc_id (not given"),
        (
            {"cluster_cleanup_network_state": "built"},
            False,
            "the 00-network stack has state but no vpc_id output",
        ),
        ({"cluster_cleanup_network_state": "none"}, True, "00-network has no state (nothing was ever built"),
    ],
)
def test_playbook_without_a_vpc_id_stops_unless_nothing_was_built(emu, playbook, extra, rc_ok, needle):
    """Issue 18 item 11: a missing VPC id never skips the cleanup silently."""
    aws, _ = emu
    run = playbook(
        "playbooks/teardown_cleanup.yml",
        inventory="inventories/sandbox",
        extra_vars={"cluster_cleanup_cluster_names": ["rke2-demo"]} | extra,
        env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
    )
    assert (run.rc == 0) is rc_ok, run.output[-3000:]
    assert needle in run.output, run.output[-3000:]
    assert "Remove the leftovers in the VPC" not in run.output or "skipping" in run.output


def _fake_server_vars(estate) -> dict:
    """The teardown's inputs for a run with the fake-server inventory below (the seeded estate's VPC)."""
    return {
        "platform_root": str(REPO_ROOT),
        "cluster_cleanup_vpc_id": estate.vpc_id,
        "cluster_cleanup_cluster_names": [estate.cluster],
        "cluster_cleanup_protect_ids": estate.protect_ids,
        "cluster_cleanup_poll_interval": 0.25,
    }


def _fake_server_inventory(tmp_path: Path, server_line: str) -> Path:
    """The sandbox's group_vars, localhost, and one local-connection host in rke2_servers."""
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(REPO_ROOT / "inventories" / "sandbox" / "group_vars")
    (inventory / "hosts.yml").write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        "  children:\n    rke2_servers:\n      hosts:\n        fake-server:\n"
        "          ansible_connection: local\n          ansible_python_interpreter: '{{ ansible_playbook_python }}'\n"
        f"          {server_line}\n"
    )
    return inventory


def test_graceful_phase_has_one_deadline_even_when_the_api_never_answers(emu, playbook, tmp_path):
    """Issue 18 item 12: an API that accepts connections and never answers is cut at the graceful deadline."""
    aws, clients = emu
    estate = seed(clients, clbs=1, albs=0, nlbs=0, k8s_sgs=1, stray_enis=0, workers=0)
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog) and never says a word
    port = listener.getsockname()[1]
    kubeconfig = throwaway_kubeconfig(tmp_path, f"https://127.0.0.1:{port}")[2]
    inventory = _fake_server_inventory(tmp_path, "ansible_become: false")
    started = time.monotonic()
    try:
        run = playbook(
            "playbooks/teardown_cleanup.yml",
            inventory=inventory,
            extra_vars=_fake_server_vars(estate)
            | {
                "cluster_cleanup_graceful_deadline": 6,
                "cluster_cleanup_kubeconfig": str(kubeconfig),
                "cluster_cleanup_api_url": f"https://127.0.0.1:{port}",
            },
            env={"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)},
            timeout=600,
        )
        listener.settimeout(0)
        connected = listener.accept()  # the module did connect (and then waited for an answer)
        connected[0].close()
    finally:
        listener.close()
    elapsed = time.monotonic() - started
    assert run.rc == 0, run.output[-3000:]
    assert "Graceful phase failed on fake-server" in run.output
    assert "no answer" in run.output
    assert "graceful phase skipped: the server node or its API did not answer" in run.output
    assert elapsed < 60, f"the graceful phase took {elapsed:.0f}s despite a 6 s deadline"
    assert elapsed >= 6  # it was the deadline that ended it
    assert terraform_destroy_security_and_network(clients["ec2"], estate) == []
