# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/_aws.py as every AWS module uses it: one client factory, expected codes, the code in the result.

botocore's ``Stubber`` answers the calls (real clients, real paginators, no network).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.org.platform.plugins.module_utils._aws import (
    DEFAULT_MAX_ATTEMPTS,
    RETRY_MODE,
    error_code,
    fail_json_aws_from,
    is_error,
    module_client,
    paginate,
)
from ansible_collections.org.platform.plugins.module_utils.golden_ami import GoldenAmiError, GoldenAmiManager
from ansible_collections.org.platform.plugins.module_utils.shared_rds_credentials import (
    CredentialsError,
    CredentialsManager,
)
from ansible_collections.org.platform.plugins.module_utils.ssm_instances import SsmInstancesError, check_bucket
from botocore.exceptions import ClientError
from botocore.stub import Stubber


def stubbed(service: str) -> tuple[object, Stubber]:
    client = botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="emulator-dummy-access-key",
        aws_secret_access_key="emulator-dummy-secret-access-key-0000",
        endpoint_url="http://127.0.0.1:9",  # never reached: the Stubber answers first
    )
    return client, Stubber(client)


def client_error(code: str, operation: str = "Op") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} says no"}}, operation)


def image(image_id: str, day: int, snapshot: str) -> dict:
    return {
        "ImageId": image_id,
        "Name": f"golden-{day}",
        "State": "available",
        "CreationDate": f"2026-11-{day:02d}T10:00:00.000Z",
        "Architecture": "x86_64",
        "Tags": [{"Key": "Role", "Value": "golden"}, {"Key": "OS", "Value": "al2023"}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshot}}],
    }


class RecordingModule:
    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def client(self, service, **kwargs):
        self.calls.append((service, kwargs))
        return object()


def test_module_client_gives_every_client_the_one_retry_policy():
    module = RecordingModule()
    module_client(module, "ec2")
    module_client(module, "secretsmanager", max_pool_connections=12)
    (ec2_service, ec2_kwargs), (sm_service, sm_kwargs) = module.calls
    assert (ec2_service, sm_service) == ("ec2", "secretsmanager")
    assert ec2_kwargs["config"].retries == {"mode": RETRY_MODE, "total_max_attempts": DEFAULT_MAX_ATTEMPTS}
    assert sm_kwargs["config"].max_pool_connections == 12
    assert set(ec2_kwargs) == {"config"}, "no retry_decorator: one policy, inside botocore"


def test_error_codes_are_read_through_is_boto3_error_code():
    error = client_error("InvalidAMIID.NotFound")
    assert is_error(error, "InvalidSnapshot.NotFound", "InvalidAMIID.NotFound")
    assert not is_error(error, "InvalidSnapshot.NotFound")
    assert not is_error(ValueError("InvalidAMIID.NotFound"), "InvalidAMIID.NotFound")
    assert not is_error(None, "InvalidAMIID.NotFound")
    assert error_code(error) == "InvalidAMIID.NotFound"
    assert error_code(ValueError("x")) == ""


def test_paginate_merges_every_page():
    ec2, stub = stubbed("ec2")
    stub.add_response("describe_images", {"Images": [image("ami-01", 1, "snap-01")], "NextToken": "t"}, {})
    stub.add_response("describe_images", {"Images": [image("ami-02", 2, "snap-02")]}, {"NextToken": "t"})
    with stub:
        merged = paginate(ec2, "describe_images")
    assert [i["ImageId"] for i in merged["Images"]] == ["ami-01", "ami-02"]
    stub.assert_no_pending_responses()


def run_failing(exc: BaseException, capsys) -> dict:
    with patch_module_args({"region": "us-east-1"}):
        module = AnsibleAWSModule(argument_spec={})
        with pytest.raises(SystemExit):
            fail_json_aws_from(module, exc, plan=["kept"])
    return json.loads(capsys.readouterr().out)


def test_the_aws_error_code_reaches_the_result(capsys):
    ec2, stub = stubbed("ec2")
    stub.add_client_error("describe_images", service_error_code="UnauthorizedOperation", service_message="denied")
    with stub, pytest.raises(GoldenAmiError) as raised:
        GoldenAmiManager(ec2, "x86_64").golden_images()
    result = run_failing(raised.value, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("DescribeImages failed: ")
    assert result["error"]["code"] == "UnauthorizedOperation"
    assert result["plan"] == ["kept"]


def test_a_domain_error_without_an_aws_cause_fails_plainly(capsys):
    result = run_failing(CredentialsError("secret x does not exist; nothing to promote"), capsys)
    assert result["msg"] == "secret x does not exist; nothing to promote"
    assert "error" not in result


def test_golden_ami_deregistration_treats_gone_as_done_and_anything_else_as_an_error():
    ec2, stub = stubbed("ec2")
    listed = {"Images": [image("ami-03", 3, "snap-03"), image("ami-02", 2, "snap-02"), image("ami-01", 1, "snap-01")]}
    stub.add_response("describe_images", listed)
    stub.add_client_error("deregister_image", service_error_code="InvalidAMIID.NotFound")
    stub.add_client_error("delete_snapshot", service_error_code="InvalidSnapshot.NotFound")
    stub.add_response("deregister_image", {})
    stub.add_client_error("delete_snapshot", service_error_code="UnauthorizedOperation")
    with stub, pytest.raises(GoldenAmiError, match="DeleteSnapshot snap-01 failed") as raised:
        GoldenAmiManager(ec2, "x86_64").deregister_old(keep=1, protect=[], check_mode=False)
    assert error_code(raised.value.__cause__) == "UnauthorizedOperation"
    stub.assert_no_pending_responses()


def test_credentials_expected_codes_and_unexpected_ones():
    client, stub = stubbed("secretsmanager")
    stub.add_client_error("describe_secret", service_error_code="ResourceNotFoundException")
    stub.add_client_error("describe_secret", service_error_code="AccessDeniedException")
    with stub:
        manager = CredentialsManager(client)
        assert manager.describe("/dev/a/db-credentials") is None
        with pytest.raises(CredentialsError, match="describe_secret on /dev/a/db-credentials") as raised:
            manager.describe("/dev/a/db-credentials")
    assert error_code(raised.value.__cause__) == "AccessDeniedException"


def test_a_programming_error_is_not_taken_for_an_aws_error():
    class Broken:
        def describe_secret(self, **_kwargs):
            raise TypeError("a bug, not AWS")

    with pytest.raises(TypeError, match="a bug"):
        CredentialsManager(Broken()).describe("/dev/a/db-credentials")


def test_transfer_bucket_codes_through_the_one_helper():
    s3, stub = stubbed("s3")
    stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
    with stub:
        with pytest.raises(SsmInstancesError, match="does not exist"):
            check_bucket(s3, "nope")
        with pytest.raises(SsmInstancesError, match="cannot be used: 403"):
            check_bucket(s3, "locked")


PLUGINS = Path(__file__).resolve().parents[3].parent / "plugins"
# What only module_utils/_aws.py may do: a second way of doing one of these is a defect (docs/DEVELOPING.md).
SECOND_IDIOMS = {
    "AWSRetry": re.compile(r"\bAWSRetry\b"),
    "module.client(...) outside _aws.module_client": re.compile(r"\bmodule\.client\("),
    "boto3.client(...)": re.compile(r"\bboto3\.client\("),
    "a hand paginator": re.compile(r"\.get_paginator\(|NextToken.*while|while.*NextToken"),
    "an error code read by hand": re.compile(r"""response\.get\(["']Error["']|\[["']Error["']\]\[["']Code["']\]"""),
}


def plugin_files() -> list[Path]:
    files = sorted((PLUGINS / "modules").glob("*.py")) + sorted((PLUGINS / "module_utils").rglob("*.py"))
    return [f for f in files if f.name != "_aws.py"]


def test_every_aws_module_uses_the_one_helper():
    aws_modules = [f for f in sorted((PLUGINS / "modules").glob("*.py")) if "AnsibleAWSModule(" in f.read_text()]
    assert len(aws_modules) >= 4, aws_modules
    for path in aws_modules:
        text = path.read_text()
        assert "module_utils._aws import" in text, f"{path.name} does not use module_utils/_aws.py"
        assert "module_client(module" in text, f"{path.name} creates its clients another way"


@pytest.mark.parametrize("idiom", SECOND_IDIOMS, ids=SECOND_IDIOMS)
def test_no_second_aws_idiom_outside_the_helper(idiom):
    pattern = SECOND_IDIOMS[idiom]
    found = [
        f"{path.relative_to(PLUGINS)}:{number}"
        for path in plugin_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == [], f"{idiom} outside module_utils/_aws.py: {found}"
