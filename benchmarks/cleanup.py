"""Benchmark of org.platform.cluster_cleanup against a naive "delete everything, retry every 5 s" loop.

    .venv/bin/python -m benchmarks.cleanup [--lbs 50] [--enis 500] [--sgs 40] [--retry-interval 5]
                                           [--eni-linger 3] [--workers 8]

Starts its own AWS emulator (``sandbox.services.Sandbox`` in a temporary directory, with the rules of
``sandbox/emulator/rules``), seeds the same estate twice (load balancers with their target groups, ENIs
and security groups, stray ENIs, security groups with cross-references into the Terraform stack's
groups), and tears it down once with each method down to what `terraform destroy` of the SG stack
leaves: the stack's security groups deleted too. Figures are wall time, AWS API calls per deleted
resource (counted by the emulator) and DependencyViolation errors (counted by the emulator).

The baseline is the aws-nuke model (ekristen/libnuke ``HandleQueue``): resource types in its
registration order (ENIs, SGs, classic ELBs, ELBv2, target groups), each item removed its own way
(ENI: force-detach then delete; SG: revoke its own rules then delete), every failure retried on the
next pass, ``--retry-interval`` seconds between passes (aws-nuke's default ``--run-sleep-delay`` is
5 s), no dependency ordering, sequential deletes.

``seed_estate()`` is also what the integration tests seed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "collections"))

from ansible_collections.org.platform.plugins.module_utils._cleanup import (  # noqa: E402
    CleanupOptions,
    ClusterCleanup,
)

CONTROL_PATH = "/_org_platform/emulator"
ACCOUNT_ID = "123456789012"  # moto's default account
AMI = "ami-12c6146b"  # a moto built-in image id


def _h(*parts: Any, n: int = 10) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:n]  # noqa: S324 - names, not security


def _tags(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in d.items()]


def emulator_control(endpoint_url: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (payload None) or POST the emulator's control endpoint (see sandbox/emulator/README.md)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(endpoint_url + CONTROL_PATH, data=data, method="GET" if data is None else "POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
        return json.loads(response.read())


@dataclass
class Estate:
    cluster: str
    vpc_id: str
    subnet_ids: list[str]
    stack_sg_ids: list[str]
    protect_ids: list[str]
    load_balancers: dict[str, list[str]] = field(default_factory=dict)  # clb/alb/nlb -> ids
    target_groups: list[str] = field(default_factory=list)
    k8s_sg_ids: list[str] = field(default_factory=list)
    stray_eni_ids: list[str] = field(default_factory=list)
    instance_ids: list[str] = field(default_factory=list)  # compute stack (terminated by "terraform destroy")
    decoys: dict[str, str] = field(default_factory=dict)  # what -> id

    @property
    def resource_count(self) -> int:
        lbs = sum(len(v) for v in self.load_balancers.values())
        return lbs + len(self.target_groups) + len(self.k8s_sg_ids) + len(self.stray_eni_ids) + len(self.stack_sg_ids)


def seed_estate(
    ec2: Any,
    elb: Any,
    elbv2: Any,
    *,
    cluster: str = "rke2-demo",
    clbs: int = 2,
    albs: int = 2,
    nlbs: int = 2,
    k8s_sgs: int = 3,
    stray_enis: int = 20,
    stack_sgs: int = 3,
    workers: int = 2,
    decoys: bool = False,
) -> Estate:
    """Seed a VPC as the Terraform stacks plus RKE2's cloud controllers would leave it."""
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i * 32}.0/19", AvailabilityZone=f"us-east-1{'abc'[i]}")[
            "Subnet"
        ]["SubnetId"]
        for i in range(3)
    ]
    # 10-security: the stack's groups (the node group carries the cluster tag, like terraform-aws-eks does).
    stack = []
    for i in range(stack_sgs):
        tags = {"Name": f"tf-{cluster}-{i}", "terraform-stack": "10-security"}
        if i == 0:
            tags[f"kubernetes.io/cluster/{cluster}"] = "owned"
        stack.append(
            ec2.create_security_group(
                GroupName=f"tf-{cluster}-{i}",
                Description="Terraform stack 10-security",
                VpcId=vpc,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(tags)}],
            )["GroupId"]
        )
    node_sg = stack[0]
    estate = Estate(cluster, vpc, subnets, stack, list(stack))
    # Kubernetes-created security groups: classic-ELB groups first, then ALB controller groups.
    owned = {f"kubernetes.io/cluster/{cluster}": "owned"}
    sg_for_lb: list[str] = []
    for i in range(k8s_sgs):
        if i % 3 == 0 and clbs:
            name = f"k8s-elb-a{_h(cluster, 'clb', i, n=31)}"
            desc, tags = f"Security group for Kubernetes ELB {name[8:]} (default/svc{i})", owned
        elif i % 3 == 1:
            name = f"k8s-default-web{i}-{_h(cluster, 'alb', i)}"
            desc = "[k8s] Managed SecurityGroup for LoadBalancer"
            tags = {"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/resource": "ManagedLBSecurityGroup"}
        else:
            name = f"k8s-traffic-{cluster}-{_h(cluster, 'tr', i)}"
            desc = "[k8s] Shared Backend SecurityGroup for LoadBalancer"
            tags = {"elbv2.k8s.aws/cluster": cluster, "elbv2.k8s.aws/resource": "backend-sg"}
        gid = ec2.create_security_group(
            GroupName=name,
            Description=desc,
            VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(tags)}],
        )["GroupId"]
        estate.k8s_sg_ids.append(gid)
        sg_for_lb.append(gid)
        # Cross-references: the stack's node group lets the k8s group in (CCM / TargetGroupBinding) ...
        ec2.authorize_security_group_ingress(
            GroupId=node_sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 30000 + i,
                    "ToPort": 30000 + i,
                    "UserIdGroupPairs": [{"GroupId": gid, "Description": "elbv2.k8s.aws/targetGroupBinding=shared"}],
                }
            ],
        )
        # ... the k8s group talks to the nodes (egress into a stack group) ...
        ec2.authorize_security_group_egress(
            GroupId=gid,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 30000 + i,
                    "ToPort": 30000 + i,
                    "UserIdGroupPairs": [{"GroupId": stack[i % len(stack)]}],
                }
            ],
        )
        # ... and k8s groups reference each other (managed SG -> backend SG), a cycle every third pair.
        if i > 0:
            ec2.authorize_security_group_ingress(
                GroupId=estate.k8s_sg_ids[i - 1],
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": gid}]}
                ],
            )
    # Load balancers and target groups.
    for kind, count in (("clb", clbs), ("alb", albs), ("nlb", nlbs)):
        estate.load_balancers[kind] = []
        for i in range(count):
            sg = (
                [sg_for_lb[(i + len(estate.load_balancers["clb"]) * (kind != "clb")) % len(sg_for_lb)]]
                if sg_for_lb
                else []
            )
            if kind == "clb":
                name = f"a{_h(cluster, kind, i, n=31)}"
                elb.create_load_balancer(
                    LoadBalancerName=name,
                    Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}],
                    Subnets=subnets,
                    SecurityGroups=sg,
                    Tags=_tags(owned | {"kubernetes.io/service-name": f"default/svc-clb{i}"}),
                )
                estate.load_balancers[kind].append(name)
                continue
            if kind == "alb":
                name = f"k8s-default-web{i}-{_h(cluster, kind, i)}"
                tags = {"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": f"default/web{i}"}
            else:
                name = f"a{_h(cluster, kind, i, n=31)}"
                tags = owned | {"kubernetes.io/service-name": f"default/svc-nlb{i}"}
            lb = elbv2.create_load_balancer(
                Name=name,
                Subnets=subnets,
                Type="application" if kind == "alb" else "network",
                Tags=_tags(tags),
                **({"SecurityGroups": sg} if kind == "alb" else {}),
            )["LoadBalancers"][0]
            estate.load_balancers[kind].append(lb["LoadBalancerArn"])
            tg = elbv2.create_target_group(
                Name=f"k8s-default-{kind}{i}-{_h(cluster, 'tg', kind, i, n=8)}",
                Protocol="HTTP" if kind == "alb" else "TCP",
                Port=30080,
                VpcId=vpc,
                TargetType="instance",
                Tags=_tags(tags),
            )["TargetGroups"][0]["TargetGroupArn"]
            estate.target_groups.append(tg)
            elbv2.create_listener(
                LoadBalancerArn=lb["LoadBalancerArn"],
                Protocol="HTTP" if kind == "alb" else "TCP",
                Port=80,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
            )
    # Compute stack: worker instances (terminated by the compute stack's destroy) with secondary ENIs.
    for i in range(workers):
        instance = ec2.run_instances(
            ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnets[i % 3], SecurityGroupIds=[node_sg]
        )["Instances"][0]["InstanceId"]
        estate.instance_ids.append(instance)
        estate.protect_ids.append(instance)
    # Stray ENIs: CNI orphans holding the stack's and the k8s groups; some attached as secondary ENIs.
    groups = [node_sg, *estate.k8s_sg_ids]
    for i in range(stray_enis):
        eni = ec2.create_network_interface(
            SubnetId=subnets[i % 3],
            Groups=[groups[i % len(groups)]],
            Description=f"aws-K8S-i-{_h(cluster, 'eni', i, n=17)}",
            TagSpecifications=[
                {"ResourceType": "network-interface", "Tags": _tags({"cluster.k8s.amazonaws.com/name": cluster})}
            ],
        )["NetworkInterface"]["NetworkInterfaceId"]
        estate.stray_eni_ids.append(eni)
        if i < len(estate.instance_ids):
            ec2.attach_network_interface(NetworkInterfaceId=eni, InstanceId=estate.instance_ids[i], DeviceIndex=1)
    if decoys:
        _seed_decoys(ec2, elbv2, estate)
    return estate


def _seed_decoys(ec2: Any, elbv2: Any, estate: Estate) -> None:
    vpc, c = estate.vpc_id, estate.cluster

    def sg(name: str, tags: dict[str, str], vpc_id: str = vpc) -> str:
        return ec2.create_security_group(
            GroupName=name,
            Description="decoy",
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(tags)}],
        )["GroupId"]

    other_sg = sg("k8s-elb-aother000000000000000000000", {"kubernetes.io/cluster/other": "owned"})
    estate.decoys["other_cluster_sg"] = other_sg
    estate.decoys["other_cluster_lb"] = elbv2.create_load_balancer(
        Name="k8s-default-other-0000000000",
        Subnets=estate.subnet_ids,
        SecurityGroups=[other_sg],
        Tags=_tags({"elbv2.k8s.aws/cluster": "other", "ingress.k8s.aws/stack": "default/other"}),
    )["LoadBalancers"][0]["LoadBalancerArn"]
    estate.decoys["shared_sg"] = sg("k8s-elb-ashared00000000000000000000", {f"kubernetes.io/cluster/{c}": "shared"})
    other_vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    estate.decoys["other_vpc_sg"] = sg(
        "k8s-elb-aothervpc000000000000000000", {f"kubernetes.io/cluster/{c}": "owned"}, other_vpc
    )
    protected = sg("k8s-elb-aprotected00000000000000000", {f"kubernetes.io/cluster/{c}": "owned"})
    estate.decoys["protected_sg"] = protected
    estate.protect_ids.append(protected)
    live = ec2.run_instances(
        ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=estate.subnet_ids[0], SecurityGroupIds=[estate.stack_sg_ids[1]]
    )["Instances"][0]
    estate.decoys["live_instance"] = live["InstanceId"]
    estate.decoys["live_primary_eni"] = live["NetworkInterfaces"][0]["NetworkInterfaceId"]


def terraform_destroy_security_and_network(ec2: Any, estate: Estate) -> list[str]:
    """What `terraform destroy` of 10-security then 00-network does; returns the DependencyViolations."""
    violations: list[str] = []

    def attempt(what: str, func: Any, **kwargs: Any) -> None:
        try:
            func(**kwargs)
        except ec2.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] != "DependencyViolation":
                raise
            violations.append(f"{what}: {exc.response['Error']['Message']}")

    for gid in estate.stack_sg_ids:
        attempt(f"delete {gid}", ec2.delete_security_group, GroupId=gid)
    for subnet in estate.subnet_ids:
        attempt(f"delete {subnet}", ec2.delete_subnet, SubnetId=subnet)
    attempt(f"delete {estate.vpc_id}", ec2.delete_vpc, VpcId=estate.vpc_id)
    return violations


def terminate_compute(ec2: Any, estate: Estate) -> None:
    """What `terraform destroy` of the compute stack does to the estate's instances."""
    if estate.instance_ids:
        ec2.terminate_instances(InstanceIds=estate.instance_ids)


def cleanup_options(estate: Estate, **overrides: Any) -> CleanupOptions:
    values: dict[str, Any] = {
        "cluster_names": [estate.cluster],
        "vpc_id": estate.vpc_id,
        "expected_account_id": ACCOUNT_ID,
        "protect_ids": set(estate.protect_ids),
        "poll_interval_s": 0.25,
        "sg_backoff_base_s": 0.2,
        "sg_backoff_cap_s": 1.0,
        "lb_timeout_s": 60,
        "eni_timeout_s": 60,
        "sg_timeout_s": 60,
        "deadline_s": 300,
    }
    values.update(overrides)
    return CleanupOptions(**values)


# ---------------------------------------------------------------------------------------------- baseline


def naive_nuke(ec2: Any, elb: Any, elbv2: Any, vpc_id: str, retry_interval_s: float, max_seconds: float) -> dict:
    """aws-nuke style: every resource of the VPC, in type order, retried on each pass until all are gone."""
    items: list[tuple[str, Any]] = []
    vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    for page in ec2.get_paginator("describe_network_interfaces").paginate(Filters=vpc):
        items += [("eni", e) for e in page["NetworkInterfaces"]]
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=vpc):
        items += [("sg", g) for g in page["SecurityGroups"] if g["GroupName"] != "default"]
    items += [
        ("clb", lb) for lb in elb.describe_load_balancers()["LoadBalancerDescriptions"] if lb.get("VPCId") == vpc_id
    ]
    items += [("elbv2", lb) for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb.get("VpcId") == vpc_id]
    items += [("tg", tg) for tg in elbv2.describe_target_groups()["TargetGroups"] if tg.get("VpcId") == vpc_id]
    gone = {
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidGroup.NotFound",
        "LoadBalancerNotFound",
        "TargetGroupNotFound",
    }

    def remove(kind: str, item: dict[str, Any]) -> None:
        if kind == "eni":
            attachment = item.get("Attachment") or {}
            if attachment.get("AttachmentId"):
                try:
                    ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
                except ec2.exceptions.ClientError as exc:
                    if exc.response["Error"]["Code"] != "InvalidAttachmentID.NotFound":
                        raise
            ec2.delete_network_interface(NetworkInterfaceId=item["NetworkInterfaceId"])
        elif kind == "sg":
            if item.get("IpPermissions"):
                ec2.revoke_security_group_ingress(GroupId=item["GroupId"], IpPermissions=item["IpPermissions"])
                item["IpPermissions"] = []
            if item.get("IpPermissionsEgress"):
                ec2.revoke_security_group_egress(GroupId=item["GroupId"], IpPermissions=item["IpPermissionsEgress"])
                item["IpPermissionsEgress"] = []
            ec2.delete_security_group(GroupId=item["GroupId"])
        elif kind == "clb":
            elb.delete_load_balancer(LoadBalancerName=item["LoadBalancerName"])
        elif kind == "elbv2":
            elbv2.delete_load_balancer(LoadBalancerArn=item["LoadBalancerArn"])
        else:
            elbv2.delete_target_group(TargetGroupArn=item["TargetGroupArn"])

    pending = list(items)
    passes = 0
    start = time.monotonic()
    while pending and time.monotonic() - start < max_seconds:
        passes += 1
        failed = []
        for kind, item in pending:
            try:
                remove(kind, item)
            except Exception as exc:  # the naive loop retries whatever failed
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
                if code not in gone:
                    failed.append((kind, item))
        pending = failed
        if pending:
            time.sleep(retry_interval_s)
    return {"passes": passes, "left": len(pending), "deleted": len(items) - len(pending)}


# ------------------------------------------------------------------------------------------------- runner


def _clients(endpoint_url: str) -> tuple[Any, Any, Any]:
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    return tuple(session.client(s, endpoint_url=endpoint_url) for s in ("ec2", "elb", "elbv2"))  # type: ignore[return-value]


def client_factory(endpoint_url: str, workers: int = 8) -> Any:
    """boto3 clients for ClusterCleanup with the collection's retry configuration (``module_utils/_aws.py``)."""
    import boto3
    from ansible_collections.org.platform.plugins.module_utils._aws import aws_config

    session = boto3.session.Session(region_name="us-east-1")
    config = aws_config(max_pool_connections=workers + 4)
    return lambda service: session.client(service, endpoint_url=endpoint_url, config=config)


def _reset(endpoint_url: str, linger: float) -> None:
    urllib.request.urlopen(urllib.request.Request(endpoint_url + "/moto-api/reset", method="POST"), timeout=10).close()  # noqa: S310
    emulator_control(endpoint_url, {"eni_linger_s": linger, "throttle_share": 0.0, "reset_stats": True})


def run(args: argparse.Namespace) -> dict[str, Any]:
    from sandbox.services import AwsEmulator

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "sandbox")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "emulator-dummy-secret-access-key-0000")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    seed_args = {
        "clbs": args.lbs * 2 // 5,
        "albs": args.lbs * 2 // 5,
        "nlbs": args.lbs - 2 * (args.lbs * 2 // 5),
        "k8s_sgs": args.sgs - 3,
        "stack_sgs": 3,
        "stray_enis": args.enis,
        "workers": 4,
    }
    results: dict[str, Any] = {
        "seed": seed_args,
        "retry_interval_s": args.retry_interval,
        "eni_linger_s": args.eni_linger,
        "latency_ms": args.latency_ms,
    }
    with tempfile.TemporaryDirectory(prefix="bench-cleanup-") as tmp:
        service = AwsEmulator(Path(tmp))
        service.start()
        try:
            endpoint = service.endpoint()["endpoint_url"]
            ec2, elb, elbv2 = _clients(endpoint)
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "cleanup": []}
            # Alternate the order each repetition, so drifting machine load hits both methods alike.
            order = [
                m for rep in range(args.repeat) for m in (("baseline", "cleanup"), ("cleanup", "baseline"))[rep % 2]
            ]
            for method in order:
                _reset(endpoint, args.eni_linger)
                estate = seed_estate(ec2, elb, elbv2, **seed_args)
                terminate_compute(ec2, estate)
                lb_enis = len(
                    ec2.describe_network_interfaces(Filters=[{"Name": "description", "Values": ["ELB *"]}])[
                        "NetworkInterfaces"
                    ]
                )
                emulator_control(endpoint, {"reset_stats": True, "latency_ms": args.latency_ms})
                start = time.monotonic()
                if method == "baseline":
                    outcome = naive_nuke(ec2, elb, elbv2, estate.vpc_id, args.retry_interval, args.max_seconds)
                    deleted = outcome["deleted"]
                else:
                    options = cleanup_options(estate, workers=args.workers, poll_interval_s=0.5)
                    result = ClusterCleanup(options, client_factory(endpoint, args.workers)).run()
                    for gid in estate.stack_sg_ids:  # terraform destroy of 10-security
                        ec2.delete_security_group(GroupId=gid)
                    deleted = result["stats"]["deleted_resources"] + len(estate.stack_sg_ids)
                    outcome = {
                        "verify_ok": result["verify"].get("ok"),
                        "completed": result["completed"],
                        "phase_seconds": result["stats"]["phase_seconds"],
                        "retries": result["stats"]["retries"],
                    }
                seconds = time.monotonic() - start
                stats = emulator_control(endpoint, {"latency_ms": 0.0})["stats"]
                left = len(
                    ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [estate.vpc_id]}])[
                        "NetworkInterfaces"
                    ]
                )
                left += len(
                    [
                        g
                        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [estate.vpc_id]}])[
                            "SecurityGroups"
                        ]
                        if g["GroupName"] != "default"
                    ]
                )
                runs[method].append(
                    {
                        "seconds": round(seconds, 2),
                        "api_calls": stats["total_calls"],
                        "deleted": deleted,
                        "calls_per_deleted": round(stats["total_calls"] / max(deleted, 1), 2),
                        "dependency_violations": stats["errors"].get("DependencyViolation", 0),
                        "errors": stats["errors"],
                        "left_in_vpc": left,
                        "lb_enis_seeded": lb_enis,
                        **outcome,
                    }
                )
            for method, measured in runs.items():
                median = sorted(measured, key=lambda r: r["seconds"])[len(measured) // 2]
                results[method] = median | {"runs_seconds": [r["seconds"] for r in measured]}
        finally:
            service.stop()
    return results


def table(results: dict[str, Any]) -> str:
    base, ours = results["baseline"], results["cleanup"]

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b else "n/a (0)"

    def spread(r: dict[str, Any]) -> str:
        runs = r.get("runs_seconds", [r["seconds"]])
        return f"{r['seconds']} ({min(runs)}-{max(runs)})" if len(runs) > 1 else str(r["seconds"])

    rows = [
        ("wall time (s), median (min-max)", spread(base), spread(ours), ratio(base["seconds"], ours["seconds"])),
        ("AWS API calls", base["api_calls"], ours["api_calls"], ratio(base["api_calls"], ours["api_calls"])),
        ("resources deleted", base["deleted"], ours["deleted"], ""),
        (
            "API calls per deleted resource",
            base["calls_per_deleted"],
            ours["calls_per_deleted"],
            ratio(base["calls_per_deleted"], ours["calls_per_deleted"]),
        ),
        (
            "DependencyViolation errors",
            base["dependency_violations"],
            ours["dependency_violations"],
            ratio(base["dependency_violations"], ours["dependency_violations"]),
        ),
        ("left in the VPC (ENIs + SGs)", base["left_in_vpc"], ours["left_in_vpc"], ""),
    ]
    lines = ["| metric | naive baseline | cluster_cleanup | baseline/ours |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cleanup", description=__doc__.split("\n")[0])
    parser.add_argument("--lbs", type=int, default=50)
    parser.add_argument("--enis", type=int, default=500)
    parser.add_argument("--sgs", type=int, default=40, help="security groups, 3 of them the Terraform stack's")
    parser.add_argument("--retry-interval", type=float, default=5.0, help="the baseline's sleep between passes")
    parser.add_argument("--eni-linger", type=float, default=3.0, help="emulator: LB ENI linger after LB deletion")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0.0,
        help="emulator: latency added to every AWS call while a method runs (models AWS API latency)",
    )
    parser.add_argument("--max-seconds", type=float, default=600.0, help="the baseline gives up after this")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method; the median run is reported")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args(argv)
    results = run(args)
    print(
        f"cleanup benchmark: {args.lbs} LBs ({results['seed']['clbs']} CLB, {results['seed']['albs']} ALB, "
        f"{results['seed']['nlbs']} NLB), {args.enis} stray ENIs + {results['cleanup']['lb_enis_seeded']} LB ENIs, "
        f"{args.sgs} SGs; baseline retry interval {args.retry_interval:g}s "
        f"({'aws-nuke default, not scaled' if args.retry_interval == 5 else 'SCALED from aws-nuke default 5 s'}), LB ENI linger {args.eni_linger:g}s; "
        f"median of {args.repeat} run(s) per method"
    )
    print(table(results))
    if args.json:
        print(json.dumps(results, indent=2, sort_keys=True))
    ok = results["cleanup"]["dependency_violations"] == 0 and results["cleanup"]["left_in_vpc"] == 0
    if not ok:
        print("cluster_cleanup left resources or hit DependencyViolation", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
