# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS rules the sandbox emulator adds to moto (sandbox/emulator/rules): in-process, then through the server."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.emulator import install_rules
from sandbox.emulator.rules import _state

REGION = "us-east-1"


@pytest.fixture
def moto(monkeypatch):
    """In-process moto with our rules installed; LB ENIs linger 0.3 s."""
    install_rules()
    for key in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(_state.CONFIG, "eni_linger_s", 0.3)
    with mock_aws():
        yield {s: boto3.client(s, region_name=REGION) for s in ("ec2", "elb", "elbv2")}


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def network(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{'ab'[i]}")["Subnet"][
            "SubnetId"
        ]
        for i in range(2)
    ]
    return vpc, subnets


def sg(ec2, vpc, name):
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]


def test_sg_used_by_eni_is_a_dependency_violation(moto):
    ec2 = moto["ec2"]
    vpc, subnets = network(ec2)
    group = sg(ec2, vpc, "g")
    eni = ec2.create_network_interface(SubnetId=subnets[0], Groups=[group])["NetworkInterface"]["NetworkInterfaceId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_security_group(GroupId=group)
    assert code_of(excinfo) == "DependencyViolation"
    assert eni in excinfo.value.response["Error"]["Message"]
    ec2.delete_network_interface(NetworkInterfaceId=eni)
    ec2.delete_security_group(GroupId=group)


def test_sg_referenced_by_another_groups_rule_ingress_and_egress(moto):
    ec2 = moto["ec2"]
    vpc = network(ec2)[0]
    target, holder = sg(ec2, vpc, "target"), sg(ec2, vpc, "holder")
    for direction in ("ingress", "egress"):
        perm = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": target}]}]
        getattr(ec2, f"authorize_security_group_{direction}")(GroupId=holder, IpPermissions=perm)
        with pytest.raises(ClientError) as excinfo:
            ec2.delete_security_group(GroupId=target)
        assert code_of(excinfo) == "DependencyViolation"
        getattr(ec2, f"revoke_security_group_{direction}")(GroupId=holder, IpPermissions=perm)
    # A group's references to itself do not block its own deletion.
    self_ref = [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1, "UserIdGroupPairs": [{"GroupId": target}]}]
    ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=self_ref)
    ec2.delete_security_group(GroupId=target)


def test_sg_used_by_live_instance_and_termination_releases_enis(moto):
    ec2 = moto["ec2"]
    vpc, subnets = network(ec2)
    group = sg(ec2, vpc, "nodes")
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnets[0], SecurityGroupIds=[group]
    )["Instances"][0]
    primary = instance["NetworkInterfaces"][0]
    secondary = ec2.create_network_interface(SubnetId=subnets[0], Groups=[group])["NetworkInterface"]
    ec2.attach_network_interface(
        NetworkInterfaceId=secondary["NetworkInterfaceId"], InstanceId=instance["InstanceId"], DeviceIndex=1
    )
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_security_group(GroupId=group)
    assert code_of(excinfo) == "DependencyViolation"
    # Primary ENI: not detachable; attached ENI: not deletable.
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_network_interface(AttachmentId=primary["Attachment"]["AttachmentId"])
    assert code_of(excinfo) == "OperationNotPermitted"
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_network_interface(NetworkInterfaceId=secondary["NetworkInterfaceId"])
    assert code_of(excinfo) == "InvalidNetworkInterface.InUse"
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    left = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"]
    assert [(e["NetworkInterfaceId"], e["Status"]) for e in left] == [(secondary["NetworkInterfaceId"], "available")]
    ec2.delete_network_interface(NetworkInterfaceId=secondary["NetworkInterfaceId"])
    ec2.delete_security_group(GroupId=group)


def _lb_enis(ec2, vpc):
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"]
    return {e["Description"]: e for e in enis}, enis


def test_load_balancers_get_enis_with_the_right_shape(moto):
    ec2, elb, elbv2 = moto["ec2"], moto["elb"], moto["elbv2"]
    vpc, subnets = network(ec2)
    group = sg(ec2, vpc, "k8s-elb-x")
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets, SecurityGroups=[group])["LoadBalancers"][0]
    nlb = elbv2.create_load_balancer(Name="nlb", Subnets=subnets, Type="network")["LoadBalancers"][0]
    elb.create_load_balancer(
        LoadBalancerName="clb",
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Subnets=subnets[:1],
        SecurityGroups=[group],
    )
    enis = _lb_enis(ec2, vpc)[1]
    assert len(enis) == 5
    by_kind = {}
    for eni in enis:
        by_kind.setdefault(eni["Description"].split("/")[0], []).append(eni)
    alb_id = alb["LoadBalancerArn"].split("/", 2)[2]
    nlb_id = nlb["LoadBalancerArn"].split("/", 2)[2]
    assert {e["Description"] for e in by_kind["ELB app"]} == {f"ELB app/{alb_id}"}
    assert {e["Description"] for e in by_kind["ELB net"]} == {f"ELB net/{nlb_id}"}
    assert [e["Description"] for e in by_kind["ELB clb"]] == ["ELB clb"]
    for eni in by_kind["ELB app"] + by_kind["ELB clb"]:
        assert eni["RequesterManaged"] is True
        assert eni["Attachment"]["InstanceOwnerId"] == "amazon-elb"
        assert eni["Attachment"]["AttachmentId"].startswith("eni-attach-")
        assert [g["GroupId"] for g in eni["Groups"]] == [group]
        assert eni["Status"] == "in-use"
    for eni in by_kind["ELB net"]:
        assert eni["InterfaceType"] == "network_load_balancer"
        assert eni["Attachment"]["AttachmentId"].startswith("ela-attach-")
        assert eni["Attachment"]["InstanceOwnerId"] == "amazon-aws"
        assert eni["Groups"] == []
    owned = ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-owner-id", "Values": ["amazon-aws"]}]
    )
    assert len(owned["NetworkInterfaces"]) == 2
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_security_group(GroupId=group)
    assert code_of(excinfo) == "DependencyViolation"


def test_lb_enis_detach_rules_and_linger(moto):
    ec2, elb, elbv2 = moto["ec2"], moto["elb"], moto["elbv2"]
    vpc, subnets = network(ec2)
    group = sg(ec2, vpc, "k8s-elb-x")
    alb = elbv2.create_load_balancer(Name="alb", Subnets=subnets[:1], SecurityGroups=[group])["LoadBalancers"][0]
    nlb = elbv2.create_load_balancer(Name="nlb", Subnets=subnets[:1], Type="network")["LoadBalancers"][0]
    elb.create_load_balancer(
        LoadBalancerName="clb",
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Subnets=subnets[:1],
        SecurityGroups=[group],
    )
    by_desc = _lb_enis(ec2, vpc)[0]
    alb_eni = next(e for d, e in by_desc.items() if d.startswith("ELB app/"))
    nlb_eni = next(e for d, e in by_desc.items() if d.startswith("ELB net/"))
    clb_eni = by_desc["ELB clb"]
    # While the load balancer exists its ENIs cannot be detached; ela-attach never.
    for eni in (alb_eni, clb_eni, nlb_eni):
        with pytest.raises(ClientError) as excinfo:
            ec2.detach_network_interface(AttachmentId=eni["Attachment"]["AttachmentId"], Force=True)
        assert code_of(excinfo) == "OperationNotPermitted"
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_subnet(SubnetId=subnets[0])
    assert code_of(excinfo) == "DependencyViolation"
    elbv2.delete_load_balancer(LoadBalancerArn=alb["LoadBalancerArn"])
    elbv2.delete_load_balancer(LoadBalancerArn=nlb["LoadBalancerArn"])
    elb.delete_load_balancer(LoadBalancerName="clb")
    # After deletion: ALB/CLB ENIs detachable and deletable; the NLB's still refuses, and lingers.
    ec2.detach_network_interface(AttachmentId=alb_eni["Attachment"]["AttachmentId"], Force=True)
    ec2.delete_network_interface(NetworkInterfaceId=alb_eni["NetworkInterfaceId"])
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_network_interface(AttachmentId=nlb_eni["Attachment"]["AttachmentId"], Force=True)
    assert "ela-attach" in excinfo.value.response["Error"]["Message"]
    remaining = {e["NetworkInterfaceId"] for e in _lb_enis(ec2, vpc)[1]}
    assert remaining == {nlb_eni["NetworkInterfaceId"], clb_eni["NetworkInterfaceId"]}
    with pytest.raises(ClientError):
        ec2.delete_security_group(GroupId=group)  # the CLB's lingering ENI still holds it
    time.sleep(0.4)
    assert _lb_enis(ec2, vpc)[1] == []
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnets[0])


def test_elbv2_deletion_protection_is_honoured(moto):
    ec2, elbv2 = moto["ec2"], moto["elbv2"]
    subnets = network(ec2)[1]
    arn = elbv2.create_load_balancer(Name="keep", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert code_of(excinfo) == "OperationNotPermitted"
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}]
    )
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []


def test_requester_managed_eni_is_not_detachable(moto):
    ec2 = moto["ec2"]
    vpc, subnets = network(ec2)
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnets[0])["Instances"][0]
    eni_id = ec2.create_network_interface(SubnetId=subnets[0])["NetworkInterface"]["NetworkInterfaceId"]
    attachment = ec2.attach_network_interface(
        NetworkInterfaceId=eni_id, InstanceId=instance["InstanceId"], DeviceIndex=1
    )
    backend_eni = next(
        e for e in _ec2_backend().enis.values() if e.id == eni_id
    )  # no public API creates one: mark it as a service would
    backend_eni.requester_managed = True
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
    assert code_of(excinfo) == "OperationNotPermitted"
    backend_eni.requester_managed = False
    ec2.detach_network_interface(AttachmentId=attachment["AttachmentId"], Force=True)
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    assert vpc


def test_vpc_with_non_default_group_is_a_dependency_violation(moto):
    ec2 = moto["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    group = sg(ec2, vpc, "left")
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_vpc(VpcId=vpc)
    assert code_of(excinfo) == "DependencyViolation"
    ec2.delete_security_group(GroupId=group)
    ec2.delete_vpc(VpcId=vpc)


def _ec2_backend():
    from moto.ec2 import ec2_backends

    return ec2_backends["123456789012"][REGION]


# ------------------------------------------------------------------------------------- through the server


def _control(url, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    method = "GET" if data is None else "POST"
    request = urllib.request.Request(f"{url}/_org_platform/emulator", data=data, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
        return json.loads(response.read())


@pytest.mark.integration
def test_rules_are_live_in_the_server_with_control_endpoint_and_throttling(aws):
    url = aws.aws_endpoint_url
    _control(url, {"eni_linger_s": 0.2, "throttle_share": 0.0, "reset_stats": True})
    try:
        ec2 = boto3.client("ec2", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        vpc, subnets = network(ec2)
        group = sg(ec2, vpc, "g")
        ec2.create_network_interface(SubnetId=subnets[0], Groups=[group])
        with pytest.raises(ClientError) as excinfo:
            ec2.delete_security_group(GroupId=group)
        assert code_of(excinfo) == "DependencyViolation"
        elbv2 = boto3.client("elbv2", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        elbv2.create_load_balancer(Name="alb", Subnets=subnets, SecurityGroups=[group])
        assert len(_lb_enis(ec2, vpc)[1]) == 3
        stats = _control(url)["stats"]
        assert stats["errors"] == {"DependencyViolation": 1}
        assert stats["calls"]["ec2:DeleteSecurityGroup"] == 1
        assert stats["calls"]["elasticloadbalancing:CreateLoadBalancer"] == 1
        # Every call throttled: EC2 says RequestLimitExceeded, ELB says Throttling.
        _control(url, {"throttle_share": 1.0})
        with pytest.raises(ClientError) as excinfo:
            ec2.describe_vpcs()
        assert code_of(excinfo) == "RequestLimitExceeded"
        with pytest.raises(ClientError) as excinfo:
            elbv2.describe_load_balancers()
        assert code_of(excinfo) == "Throttling"
        state = _control(url)
        assert state["stats"]["total_throttled"] == 2
        assert state["config"]["throttle_share"] == 1.0
        # Bad settings are refused.
        with pytest.raises(urllib.error.HTTPError) as bad:
            _control(url, {"throttle_share": 2})
        assert bad.value.code == 400
    finally:
        _control(url, {"eni_linger_s": 3.0, "throttle_share": 0.0, "reset_stats": True})
