# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encryption at rest and no public data stores: what the project requires beyond checkov's own checks.

checkov's built-in checks cover the rest of these two rules (see ``devtools/checkov_scan.py``
``RULE_CHECKS``); these add what they leave out:

* CKV_ORG_1: an RDS instance encrypts its storage with a customer KMS key (``kms_key_id``), and its master
  password never passes through Terraform state: ``manage_master_user_password`` with a customer KMS key
  for the secret (``master_user_secret_kms_key_id``), never ``password``.
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
* CKV_ORG_2: an RDS instance says ``publicly_accessible = false`` explicitly (CKV_AWS_17 accepts it unset).
* CKV_ORG_3: every EBS volume of a launch template is encrypted.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _value(conf: dict[str, Any], key: str) -> Any:
    """checkov wraps every attribute value in a one-element list."""
    value = conf.get(key)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _is_false(value: Any) -> bool:
    return value is False or value == "false"


def _blocks(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


class RdsCustomerKeysNoPasswordInState(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="RDS storage and master secret use customer KMS keys; the master password is not in state",
            id="CKV_ORG_1",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if not _value(conf, "kms_key_id"):
            return CheckResult.FAILED
        if _is_true(_value(conf, "manage_master_user_password")):
            return CheckResult.PASSED if _value(conf, "master_user_secret_kms_key_id") else CheckResult.FAILED
        return CheckResult.FAILED if _value(conf, "password") is not None else CheckResult.PASSED


class RdsExplicitlyPrivate(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="RDS instance sets publicly_accessible = false explicitly",
            id="CKV_ORG_2",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_db_instance"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return CheckResult.PASSED if _is_false(_value(conf, "publicly_accessible")) else CheckResult.FAILED


class LaunchTemplateVolumesEncrypted(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Every EBS volume of a launch template is encrypted",
            id="CKV_ORG_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_launch_template"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        for mapping in _blocks(conf.get("block_device_mappings")):
            for ebs in _blocks(mapping.get("ebs")):
                if not _is_true(_value(ebs, "encrypted")):
                    return CheckResult.FAILED
        return CheckResult.PASSED


check_rds_keys = RdsCustomerKeysNoPasswordInState()
check_rds_private = RdsExplicitlyPrivate()
check_launch_template = LaunchTemplateVolumesEncrypted()
