# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state backend's look-up (state_backend_info) against what the role's maintained modules converge.

The role skips its nine converge tasks when the look-up finds nothing different, so the look-up must see every
property those tasks set: each one is changed behind the role's back here, must be named as a difference, and
the next run must put it back.
"""

from __future__ import annotations

import re

import boto3
import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils.state_backend import inspect

from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=40)]

PLAYBOOK = "playbooks/state_backend.yml"
INVENTORY = "inventories/sandbox"
BUCKET = "org-terraform-state-123456789012"
TRANSFER = "org-sandbox-ssm-transfer"
TABLE = "terraform-state-lock"
ALIAS = "alias/terraform-state-key"


def recap_changed(output: str) -> int:
    match = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, output[-3000:]
    return int(match.group(1))


def look_up(params: dict) -> dict:
    clients = {service: boto3.client(service) for service in ("sts", "kms", "s3", "dynamodb")}
    return inspect(clients, params)


def params_tag_set(params: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in params["tags"].items()]


@pytest.fixture
def params(aws) -> dict:
    return {
        "org": "org",
        "bucket": "",
        "kms_alias": "terraform-state-key",
        "lock_table": TABLE,
        "noncurrent_version_days": 90,
        "transfer_bucket": TRANSFER,
        "transfer_expiry_days": 1,
        # inventories/sandbox's platform_tags, as the role sets them
        "tags": yaml.safe_load((REPO_ROOT / INVENTORY / "group_vars/all/main.yml").read_text())["platform_tags"],
    }


def test_every_property_the_role_sets_is_checked_and_put_back(aws, playbook, params):
    env = {"ORG_PLATFORM_SANDBOX_DIR": str(aws.state_dir)}
    nothing = look_up(params)
    assert nothing["exists"] == dict.fromkeys(("kms_key", "bucket", "transfer_bucket", "lock_table"), False)
    assert nothing["kms_key_arn"] == ""
    assert not nothing["in_place"]

    built = playbook(PLAYBOOK, inventory=INVENTORY, env=env)
    assert built.rc == 0, built.output[-4000:]
    assert recap_changed(built.stdout) > 0
    found = look_up(params)
    assert found["differences"] == [], "what the role converges must read back as in place"
    assert found["in_place"]
    assert found["bucket"] == BUCKET
    assert found["kms_key_arn"].startswith("arn:aws:kms:")

    kms, s3, dynamodb = boto3.client("kms"), boto3.client("s3"), boto3.client("dynamodb")
    key_id = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
    table_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["TableArn"]
    kms.disable_key_rotation(KeyId=key_id)
    kms.untag_resource(KeyId=key_id, TagKeys=["Environment"])
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket_encryption(Bucket=BUCKET)
    s3.delete_public_access_block(Bucket=BUCKET)
    s3.delete_bucket_ownership_controls(Bucket=BUCKET)
    tags = [tag | ({"Value": "dev"} if tag["Key"] == "Environment" else {}) for tag in params_tag_set(params)]
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": tags})
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] = 7
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})
    s3.put_bucket_versioning(Bucket=TRANSFER, VersioningConfiguration={"Status": "Enabled"})
    s3.delete_bucket_lifecycle(Bucket=TRANSFER)
    dynamodb.untag_resource(ResourceArn=table_arn, TagKeys=["Environment"])

    moved = look_up(params)
    assert not moved["in_place"]
    assert moved["differences"] == [
        f"KMS key {ALIAS}: rotation is off",
        f"KMS key {ALIAS}: tags Environment missing or different",
        f"bucket {BUCKET}: versioning is Suspended, not Enabled",
        f"bucket {BUCKET}: default encryption is not SSE-KMS with the state key and a bucket key",
        f"bucket {BUCKET}: public access is not fully blocked",
        f"bucket {BUCKET}: object ownership is unset, not BucketOwnerEnforced",
        f"bucket {BUCKET}: tags Environment missing or different",
        f"bucket {BUCKET}: lifecycle rule expire-noncurrent-state-versions is different",
        f"bucket {TRANSFER}: versioning is Enabled",
        f"bucket {TRANSFER}: lifecycle rule expire-ssm-transfers is missing",
        f"lock table {TABLE}: tags Environment missing or different",
    ]

    # Check mode predicts a change and makes none; a read-only run (destroy.yml's) reports and changes nothing.
    checked = playbook(PLAYBOOK, inventory=INVENTORY, env=env, check=True)
    assert checked.rc == 0, checked.output[-4000:]
    assert recap_changed(checked.stdout) > 0
    read_only = playbook(PLAYBOOK, inventory=INVENTORY, env=env, extra_vars={"state_backend_read_only": True})
    assert read_only.rc == 0, read_only.output[-4000:]
    assert recap_changed(read_only.stdout) == 0
    assert "looked up only, read-only run" in read_only.stdout
    assert look_up(params)["differences"] == moved["differences"]

    fixed = playbook(PLAYBOOK, inventory=INVENTORY, env=env)
    assert fixed.rc == 0, fixed.output[-4000:]
    assert "state_backend: KMS key alias/terraform-state-key: rotation is off;" in fixed.stdout
    # A suspended versioning is what s3_bucket leaves on a bucket it turns versioning off for.
    assert look_up(params)["differences"] == [], "the converge tasks put every property back"
