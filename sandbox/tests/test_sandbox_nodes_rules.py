# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulator rules for sandbox nodes (ec2_nodes, ssm_sessions) and the pure parts of sandbox.nodes."""

from __future__ import annotations

import io
import json
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws

from sandbox.emulator import install_rules
from sandbox.emulator.rules import ec2_nodes, ssm_sessions
from sandbox.nodes import agent, image, net
from sandbox.nodes.imds import MetadataServer

REGION = "us-east-1"
SSM_URL = f"https://ssm.{REGION}.amazonaws.com/"


@pytest.fixture
def moto(monkeypatch):
    install_rules()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setitem(ec2_nodes.ATTACHED, "value", True)
    ssm_sessions.reset()
    with mock_aws():
        yield {s: boto3.client(s, region_name=REGION) for s in ("ec2", "iam", "sts", "ssm")}
    ssm_sessions.reset()


def _fleet(c, count=2, golden=True):
    vpc = c["ec2"].create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = c["ec2"].create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    c["iam"].create_role(RoleName="node", AssumeRolePolicyDocument="{}")
    c["iam"].create_instance_profile(InstanceProfileName="node")
    c["iam"].add_role_to_instance_profile(InstanceProfileName="node", RoleName="node")
    tags = [{"ResourceType": "image", "Tags": [{"Key": "Role", "Value": "golden" if golden else "other"}]}]
    ami = c["ec2"].register_image(Name="img", TagSpecifications=tags)["ImageId"]
    answer = c["ec2"].run_instances(
        ImageId=ami, MinCount=count, MaxCount=count, SubnetId=subnet, IamInstanceProfile={"Name": "node"}
    )
    return [i["InstanceId"] for i in answer["Instances"]], answer


def _control(payload=None):
    body = json.dumps(payload or {}).encode()
    environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    status = {}
    chunks = ec2_nodes._control(environ, lambda s, h: status.setdefault("status", s))
    return status["status"], json.loads(b"".join(chunks))


def _state(c, instance_id):
    reservations = c["ec2"].describe_instances(InstanceIds=[instance_id])["Reservations"]
    return reservations[0]["Instances"][0]["State"]["Name"]


def _instance_creds(c, instance_id, session_name=None):
    role = c["iam"].get_role(RoleName="node")["Role"]["Arn"]
    got = c["sts"].assume_role(RoleArn=role, RoleSessionName=session_name or instance_id)["Credentials"]
    return {"AccessKeyId": got["AccessKeyId"], "SecretAccessKey": got["SecretAccessKey"], "Token": got["SessionToken"]}


def _agent_ping(instance_id, creds):
    """What the node's agent sends (its own SigV4 signer), through requests so moto's mock sees it."""
    body = json.dumps({"InstanceId": instance_id, "AgentVersion": "3.3", "PlatformName": "Debian"}).encode()
    signed = agent.signed_request(SSM_URL, REGION, "AmazonSSM.UpdateInstanceInformation", body, creds)
    return requests.post(SSM_URL, data=body, headers=dict(signed.header_items()), timeout=10)


# -- ec2_nodes ---------------------------------------------------------------------------------------------


def test_golden_instances_are_pending_until_the_node_service_reports_them(moto):
    ids, answer = _fleet(moto)
    assert [i["State"]["Name"] for i in answer["Instances"]] == ["pending", "pending"]
    assert _state(moto, ids[0]) == "pending"
    status, listing = _control({"instance_id": ids[0], "state": "running"})
    assert status.startswith("200")
    assert {n["instance_id"]: n["state"] for n in listing["nodes"]} == {ids[0]: "running", ids[1]: "pending"}
    node = next(n for n in listing["nodes"] if n["instance_id"] == ids[0])
    assert node["vpc_cidr"] == "10.7.0.0/16"
    assert node["private_ip"].startswith("10.7.1.")
    # RunInstances' instance profile reaches every instance, not only the first (moto gave it to one).
    assert all(n["role_arn"].endswith(":role/node") for n in listing["nodes"])
    assert _state(moto, ids[0]) == "running"


def test_stop_and_terminate_wait_for_the_machine_and_only_aws_transitions_are_accepted(moto):
    ids = _fleet(moto, count=1)[0]
    (instance_id,) = ids
    status, answer = _control({"instance_id": instance_id, "state": "terminated"})
    assert status.startswith("409")
    assert "pending cannot become terminated" in answer["error"]
    _control({"instance_id": instance_id, "state": "running"})
    moto["ec2"].stop_instances(InstanceIds=[instance_id])
    assert _state(moto, instance_id) == "stopping"
    _control({"instance_id": instance_id, "state": "stopped"})
    moto["ec2"].start_instances(InstanceIds=[instance_id])
    assert _state(moto, instance_id) == "pending"
    _control({"instance_id": instance_id, "state": "running"})
    moto["ec2"].terminate_instances(InstanceIds=[instance_id])
    assert _state(moto, instance_id) == "shutting-down"
    assert _control({"instance_id": instance_id, "state": "terminated"})[0].startswith("200")
    assert _state(moto, instance_id) == "terminated"
    assert _control({"instance_id": instance_id, "state": "bogus"})[0].startswith("400")
    assert _control({"instance_id": "i-00000000000000000", "state": "running"})[0].startswith("404")


def test_without_a_node_service_instances_behave_as_in_moto(moto, monkeypatch):
    monkeypatch.setitem(ec2_nodes.ATTACHED, "value", False)
    ids, _answer = _fleet(moto, count=1)
    assert _state(moto, ids[0]) == "running"


def test_non_golden_images_are_not_nodes(moto):
    ids = _fleet(moto, count=1, golden=False)[0]
    assert _state(moto, ids[0]) == "running"
    assert _control()[1]["nodes"] == []


# -- ssm_sessions ------------------------------------------------------------------------------------------


def _online(moto):
    ids = _fleet(moto, count=2)[0]
    for instance_id in ids:
        _control({"instance_id": instance_id, "state": "running"})
    return ids


def test_an_instance_registers_only_with_its_own_credentials_and_is_then_online(moto):
    ids = _online(moto)
    assert moto["ssm"].describe_instance_information()["InstanceInformationList"] == []
    foreign = _agent_ping(ids[0], _instance_creds(moto, ids[1]))
    assert foreign.status_code == 400
    assert "AccessDeniedException" in foreign.text
    assert _agent_ping(ids[0], _instance_creds(moto, ids[0])).status_code == 200
    listing = moto["ssm"].describe_instance_information()["InstanceInformationList"]
    assert [(i["InstanceId"], i["PingStatus"], i["IamRole"]) for i in listing] == [(ids[0], "Online", "node")]
    only = moto["ssm"].describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [ids[1]]}])
    assert only["InstanceInformationList"] == []


def test_a_stopped_instance_is_connection_lost_and_a_pending_one_cannot_register(moto):
    ids = _fleet(moto, count=1)[0]
    refused = _agent_ping(ids[0], _instance_creds(moto, ids[0]))
    assert refused.status_code == 400
    assert "is not running" in refused.text
    _control({"instance_id": ids[0], "state": "running"})
    assert _agent_ping(ids[0], _instance_creds(moto, ids[0])).status_code == 200
    moto["ec2"].stop_instances(InstanceIds=ids)
    (info,) = moto["ssm"].describe_instance_information()["InstanceInformationList"]
    assert info["PingStatus"] == "ConnectionLost"
    with pytest.raises(ClientError) as excinfo:
        moto["ssm"].start_session(Target=ids[0])
    assert excinfo.value.response["Error"]["Code"] == "TargetNotConnected"


def test_sessions_are_bound_to_target_and_token_and_counted(moto):
    ids = _online(moto)
    with pytest.raises(ClientError) as excinfo:
        moto["ssm"].start_session(Target=ids[0])
    assert excinfo.value.response["Error"]["Code"] == "TargetNotConnected"
    _agent_ping(ids[0], _instance_creds(moto, ids[0]))
    session = moto["ssm"].start_session(Target=ids[0])
    caller = moto["ssm"]._request_signer._credentials.access_key
    assert session["SessionId"].startswith(f"{caller}-")
    assert session["StreamUrl"].startswith("ws")
    bound = ssm_sessions.verify(session["SessionId"], session["TokenValue"])
    assert bound == {"session_id": session["SessionId"], "target": ids[0], "caller": caller}
    assert ssm_sessions.verify(session["SessionId"], "wrong-token") is None
    resumed = moto["ssm"].resume_session(SessionId=session["SessionId"])
    assert resumed["TokenValue"] != session["TokenValue"]
    assert ssm_sessions.verify(session["SessionId"], session["TokenValue"]) is None
    assert ssm_sessions.verify(session["SessionId"], resumed["TokenValue"])["target"] == ids[0]
    moto["ssm"].terminate_session(SessionId=session["SessionId"])
    assert ssm_sessions.verify(session["SessionId"], resumed["TokenValue"]) is None
    with pytest.raises(ClientError) as excinfo:
        moto["ssm"].resume_session(SessionId=session["SessionId"])
    assert excinfo.value.response["Error"]["Code"] == "DoesNotExistException"
    counters = ssm_sessions.snapshot()["counters"][ids[0]]
    assert counters == {"started": 1, "terminated": 1, "resumed": 1}
    assert "token" not in json.dumps(ssm_sessions.snapshot()["sessions"])


def test_the_agents_signature_is_sigv4_as_botocore_computes_it():
    creds = {"AccessKeyId": "AKIDEXAMPLE", "SecretAccessKey": "secret", "Token": "tok"}
    body = b'{"InstanceId": "i-1"}'
    ours = agent.signed_request("http://10.0.0.2:80/", REGION, "AmazonSSM.UpdateInstanceInformation", body, creds)
    headers = {k: v for k, v in ours.header_items() if k.lower() != "authorization"}
    request = botocore.awsrequest.AWSRequest(method="POST", url="http://10.0.0.2:80/", data=body, headers=headers)
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials("AKIDEXAMPLE", "secret", "tok"), "ssm", REGION)
    amz_date = headers["X-amz-date"]
    request.context["timestamp"] = amz_date
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    expected = signer.signature(string_to_sign, request)
    assert ours.get_header("Authorization").endswith(f"Signature={expected}")


# -- sandbox.nodes pure parts ------------------------------------------------------------------------------


def test_image_cache_is_keyed_by_the_recipe(tmp_path):
    base = image.Recipe()
    assert image.Recipe().digest() == base.digest()
    changed = [
        image.Recipe(packages=(*image.PACKAGES, "vim")),
        image.Recipe(configure=image.CONFIGURE_SCRIPT + "true\n"),
        image.Recipe(suite="trixie"),
    ]
    assert len({r.digest() for r in changed} | {base.digest()}) == 4
    path = image.image_path(base, tmp_path)
    assert path.parent == tmp_path / "images"
    assert base.digest() in path.name
    assert not image.is_built(path)
    path.mkdir(parents=True)
    (path / ".org-platform-image.json").write_text("{}")
    assert image.ensure_image(base, tmp_path) == path  # cached: no debootstrap


def test_network_names_and_addresses():
    tag = net.sandbox_tag(Path("/tmp/some-sandbox"))
    assert len(tag) == 4
    assert tag == net.sandbox_tag(Path("/tmp/some-sandbox/../some-sandbox"))
    vpc = net.VpcNet(tag, 0, "vpc-1", "10.7.0.0/16")
    assert vpc.endpoint == "10.7.0.2"
    assert vpc.prefixlen == 16
    node = net.NodeNet(tag, "i-0123456789abcdef0", "10.7.1.4", vpc)
    for name in (vpc.netns, vpc.host_link, node.netns, node.bridge_port):
        assert len(name) <= 15
        assert name.startswith(("op", "n"))
        assert tag in name
    host, router = vpc.host_link_addresses()
    assert host.startswith("198.1")
    assert router.startswith("198.1")
    assert host != router
    other = net.VpcNet("ffff" if tag != "ffff" else "0000", 0, "vpc-1", "10.7.0.0/16")
    assert other.host_link_addresses() != vpc.host_link_addresses()
    with pytest.raises(net.NetworkError, match="outside VPC"):
        net.NodeNet(tag, "i-1", "10.8.0.5", vpc).validate()
    with pytest.raises(net.NetworkError, match="endpoint address"):
        net.NodeNet(tag, "i-1", "10.7.0.2", vpc).validate()
    with pytest.raises(net.NetworkError, match="not an IPv4 block"):
        net.endpoint_address("10.0.0.0/30")


def test_metadata_server_requires_the_imdsv2_token_of_the_caller():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    instance = {
        "instance_id": "i-1", "private_ip": "127.0.0.1", "hostname": "ip-127-0-0-1", "image_id": "ami-1",
        "instance_type": "t3.micro", "region": REGION, "availability_zone": "us-east-1a",
        "account_id": "123456789012", "role": "node",
    }  # fmt: skip
    issued = []

    def credentials(node):
        issued.append(node["instance_id"])
        return {"AccessKeyId": "ASIA1", "SecretAccessKey": "s", "Token": "t"}

    server = MetadataServer(listener, lambda ip: instance if ip == "127.0.0.1" else None, credentials).start()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}/latest"

    def call(path, method="GET", headers=None):
        request = urllib.request.Request(base + path, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    try:
        assert call("/meta-data/instance-id")[0] == 401
        assert call("/api/token", "PUT")[0] == 400
        assert call("/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "99999"})[0] == 400
        status, token = call("/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        assert status == 200
        auth = {"X-aws-ec2-metadata-token": token}
        assert call("/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": "forged"})[0] == 401
        assert call("/meta-data/instance-id", headers=auth) == (200, "i-1")
        assert call("/meta-data/iam/security-credentials/", headers=auth) == (200, "node")
        status, body = call("/meta-data/iam/security-credentials/node", headers=auth)
        assert status == 200
        assert json.loads(body)["AccessKeyId"] == "ASIA1"
        assert issued == ["i-1"]
        assert call("/meta-data/no-such-thing", headers=auth)[0] == 404
    finally:
        server.shutdown()
        listener.close()
        threading.Event().wait(0)
