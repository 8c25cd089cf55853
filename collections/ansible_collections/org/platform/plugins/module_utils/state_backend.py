# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the Terraform state backend is exactly as the role ``org.platform.state_backend`` would converge it.

One process, read calls only (``state_backend_info``). The role's converge tasks are the maintained modules
(amazon.aws.kms_key, s3_bucket, community.aws.s3_lifecycle, dynamodb_table); each costs a module start-up
(about 1 s: botocore, the amazon.aws module_utils, a client) even when it changes nothing, nine of them on
every run. This module checks, in one start-up, every property those tasks set, and the role skips them when
nothing differs. So the checks below mirror the tasks' arguments one for one; anything they cannot prove
equal is a difference, and a difference only means the maintained modules run, as before.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import (
    BUCKET_MISSING_CODES,
    ClientError,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
    is_error,
    paginate,
)

PUBLIC_ACCESS_BLOCK = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
STATE_RULE_ID = "expire-noncurrent-state-versions"
TRANSFER_RULE_ID = "expire-ssm-transfers"
KMS_DESCRIPTION = "Terraform state encryption (org.platform state backend)"


def _read(call: Any, absent: tuple[str, ...], default: Any = None) -> Any:
    """``call()``, or ``default`` when AWS answers with one of the ``absent`` error codes (any other error raises)."""
    try:
        return call()
    except ClientError as error:
        if is_error(error, *absent):
            return default
        raise


def _tag_difference(what: str, wanted: dict[str, str], have: dict[str, str]) -> list[str]:
    """The tags of ``wanted`` that ``have`` lacks or holds another value for, as the tasks (purge_tags false) see it."""
    missing = sorted(compare_aws_tags(have, wanted, purge_tags=False)[0])
    return [f"{what}: tags {', '.join(missing)} missing or different"] if missing else []


def kms_key(kms: Any, alias: str, tags: dict[str, str]) -> tuple[str, list[str]]:
    """The key ARN behind ``alias/<alias>`` ('' when there is none) and how it differs from the kms_key task."""
    name = f"alias/{alias}"
    key = _read(lambda: kms.describe_key(KeyId=name)["KeyMetadata"], ("NotFoundException",))
    if key is None:
        return "", [f"KMS key {name}: does not exist"]
    arn = key["Arn"]
    differences = []
    if key.get("KeyState") != "Enabled" or not key.get("Enabled", False):
        differences.append(f"KMS key {name}: state {key.get('KeyState')}, not Enabled")
    if key.get("Description", "") != KMS_DESCRIPTION:
        differences.append(f"KMS key {name}: description differs")
    if not kms.get_key_rotation_status(KeyId=key["KeyId"]).get("KeyRotationEnabled", False):
        differences.append(f"KMS key {name}: rotation is off")
    pages = paginate(kms, "list_resource_tags", KeyId=key["KeyId"])
    have = boto3_tag_list_to_ansible_dict(pages.get("Tags", []), "TagKey", "TagValue")
    return arn, differences + _tag_difference(f"KMS key {name}", tags, have)


def _lifecycle_rule(rule_id: str, **actions: Any) -> dict[str, Any]:
    """The rule community.aws.s3_lifecycle builds for our arguments (build_rule), prefix '' and enabled."""
    return {"ID": rule_id, "Filter": {"Prefix": ""}, "Status": "Enabled", **actions}


def _normal_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as S3 returns it, in the form s3_lifecycle builds: a legacy top-level Prefix becomes a Filter."""
    rule = dict(rule)
    if "Filter" not in rule and "Prefix" in rule:
        rule["Filter"] = {"Prefix": rule.pop("Prefix")}
    return rule


def bucket(
    s3: Any,
    name: str,
    *,
    versioning: bool,
    key_arn: str,
    tags: dict[str, str],
    rule: dict[str, Any],
) -> tuple[bool, list[str]]:
    """Whether bucket ``name`` exists, and how it differs from the s3_bucket and s3_lifecycle tasks."""
    what = f"bucket {name}"
    if _read(lambda: s3.head_bucket(Bucket=name), BUCKET_MISSING_CODES) is None:
        return False, [f"{what}: does not exist"]
    differences = []
    status = s3.get_bucket_versioning(Bucket=name).get("Status", "")
    if versioning and status != "Enabled":
        differences.append(f"{what}: versioning is {status or 'off'}, not Enabled")
    if not versioning and status == "Enabled":
        differences.append(f"{what}: versioning is Enabled")
    rules = _read(
        lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"],
        ("ServerSideEncryptionConfigurationNotFoundError",),
        [],
    )
    default = rules[0] if rules else {}
    sse = default.get("ApplyServerSideEncryptionByDefault", {})
    if (
        sse.get("SSEAlgorithm") != "aws:kms"
        or (key_arn and sse.get("KMSMasterKeyID") != key_arn)
        or not default.get("BucketKeyEnabled", False)
    ):
        differences.append(f"{what}: default encryption is not SSE-KMS with the state key and a bucket key")
    block = _read(
        lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
        ("NoSuchPublicAccessBlockConfiguration",),
        {},
    )
    if not all(block.get(setting, False) for setting in PUBLIC_ACCESS_BLOCK):
        differences.append(f"{what}: public access is not fully blocked")
    ownership = _read(
        lambda: s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        ("OwnershipControlsNotFoundError",),
        "",
    )
    if ownership != "BucketOwnerEnforced":
        differences.append(f"{what}: object ownership is {ownership or 'unset'}, not BucketOwnerEnforced")
    have = boto3_tag_list_to_ansible_dict(
        _read(lambda: s3.get_bucket_tagging(Bucket=name)["TagSet"], ("NoSuchTagSet",), [])
    )
    differences += _tag_difference(what, tags, have)
    existing = _read(
        lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"], ("NoSuchLifecycleConfiguration",), []
    )
    found = [_normal_rule(candidate) for candidate in existing if candidate.get("ID") == rule["ID"]]
    if found != [rule]:
        differences.append(f"{what}: lifecycle rule {rule['ID']} is {'different' if found else 'missing'}")
    return True, differences


def lock_table(dynamodb: Any, name: str, tags: dict[str, str]) -> tuple[bool, list[str]]:
    """Whether lock table ``name`` exists, and how it differs from the dynamodb_table task."""
    what = f"lock table {name}"
    table = _read(lambda: dynamodb.describe_table(TableName=name)["Table"], ("ResourceNotFoundException",))
    if table is None:
        return False, [f"{what}: does not exist"]
    differences = []
    if table.get("TableStatus") != "ACTIVE":
        differences.append(f"{what}: status {table.get('TableStatus')}, not ACTIVE")
    if table.get("KeySchema") != [{"AttributeName": "LockID", "KeyType": "HASH"}]:
        differences.append(f"{what}: key schema is not LockID (hash)")
    if {"AttributeName": "LockID", "AttributeType": "S"} not in table.get("AttributeDefinitions", []):
        differences.append(f"{what}: LockID is not a string attribute")
    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        differences.append(f"{what}: billing mode is not PAY_PER_REQUEST")
    pages = paginate(dynamodb, "list_tags_of_resource", ResourceArn=table["TableArn"])
    have = boto3_tag_list_to_ansible_dict(pages.get("Tags", []))
    return True, differences + _tag_difference(what, tags, have)


def inspect(clients: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The module's result: the account, the names and ARN the stacks need, what exists, and every difference."""
    caller = clients["sts"].get_caller_identity()
    account = caller["Account"]
    tags = {str(key): str(value) for key, value in (params["tags"] or {}).items()}
    bucket_name = params["bucket"] or f"{params['org']}-terraform-state-{account}"
    key_arn, differences = kms_key(clients["kms"], params["kms_alias"], tags)
    exists = {"kms_key": bool(key_arn)}
    state_rule = _lifecycle_rule(
        STATE_RULE_ID,
        AbortIncompleteMultipartUpload={"DaysAfterInitiation": 7},
        NoncurrentVersionExpiration={"NoncurrentDays": params["noncurrent_version_days"]},
    )
    exists["bucket"], found = bucket(
        clients["s3"], bucket_name, versioning=True, key_arn=key_arn, tags=tags, rule=state_rule
    )
    differences += found
    if params["transfer_bucket"]:
        transfer_rule = _lifecycle_rule(
            TRANSFER_RULE_ID,
            AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1},
            Expiration={"Days": params["transfer_expiry_days"]},
        )
        exists["transfer_bucket"], found = bucket(
            clients["s3"],
            params["transfer_bucket"],
            versioning=False,
            key_arn=key_arn,
            tags=tags | {"Purpose": "ssm-transfer"},
            rule=transfer_rule,
        )
        differences += found
    exists["lock_table"], found = lock_table(clients["dynamodb"], params["lock_table"], tags)
    differences += found
    return {
        "account": account,
        "arn": caller["Arn"],
        "bucket": bucket_name,
        "kms_key_arn": key_arn,
        "exists": exists,
        "differences": differences,
        "in_place": not differences,
    }
